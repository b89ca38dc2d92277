// #/dashboards: the saved dashboards (title, name, tiles, last change) and New dashboard, which
// asks for a name inline and opens the new dashboard in edit mode (nothing is saved until Save).
import { isAbortError, listDashboards } from "../api";
import { cell, errorBox, h, note, setChildren, table } from "../dom";
import { formatCount, formatTime } from "../format";
import { navigate, type PageContext } from "../router";
import type { DashboardSummary } from "../types";

/** Dashboard names as the console accepts them (the server has the last word). */
export const DASHBOARD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function dashboardHash(name: string): string {
  return `/dashboards/${encodeURIComponent(name)}`;
}

export function renderDashboards(view: HTMLElement, { signal }: PageContext): void {
  const list = h("div", {}, note("Loading…"));
  const nameInput = h("input", {
    testid: "new-dashboard-name",
    attrs: {
      placeholder: "Name, e.g. sales",
      "aria-label": "New dashboard name",
      autocapitalize: "off",
      spellcheck: "false",
    },
  });
  const formMessage = h("div");
  const form = h(
    "form",
    { class: "inline-form panel", attrs: { "aria-label": "New dashboard" } },
    h(
      "div",
      { class: "toolbar" },
      nameInput,
      h(
        "button",
        { class: "primary", testid: "new-dashboard-confirm", attrs: { type: "submit" } },
        "Create",
      ),
      h(
        "button",
        { attrs: { type: "button" }, on: { click: () => (form.hidden = true) } },
        "Cancel",
      ),
    ),
    formMessage,
  );
  form.hidden = true;
  const newButton = h(
    "button",
    {
      class: "primary",
      testid: "new-dashboard",
      attrs: { type: "button" },
      on: {
        click: () => {
          form.hidden = false;
          nameInput.focus();
        },
      },
    },
    "New dashboard",
  );

  let known: DashboardSummary[] = [];
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!DASHBOARD_NAME.test(name)) {
      setChildren(
        formMessage,
        errorBox("Use letters, digits, _ . and - (starting with a letter, digit or _)."),
      );
      return;
    }
    if (known.some((dashboard) => dashboard.name === name)) {
      setChildren(formMessage, errorBox(`There is already a dashboard named ${name}.`));
      return;
    }
    navigate(dashboardHash(name), { new: "1" });
  });

  view.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, "Dashboards"),
      h("div", { class: "spacer" }),
      newButton,
    ),
    form,
    h("section", { class: "panel" }, list),
  );

  listDashboards(signal).then(
    (dashboards) => {
      known = dashboards;
      if (dashboards.length === 0) {
        setChildren(list, note("No dashboards yet: New dashboard makes one from saved queries."));
        return;
      }
      const rows = dashboards.map((dashboard) =>
        h(
          "tr",
          { testid: "dashboard-row", attrs: { "data-name": dashboard.name } },
          cell(
            h(
              "a",
              { testid: "dashboard-link", attrs: { href: "#" + dashboardHash(dashboard.name) } },
              dashboard.title || dashboard.name,
            ),
          ),
          cell(h("code", {}, dashboard.name)),
          cell(formatCount(dashboard.tiles), true),
          cell(dashboard.version, true),
          cell(
            `${formatTime(dashboard.updated_at)}${dashboard.updated_by ? ` by ${dashboard.updated_by}` : ""}`,
          ),
        ),
      );
      setChildren(list, table(["Title", "Name", "Tiles", "Version", "Last saved"], rows));
    },
    (error: unknown) => {
      if (!isAbortError(error)) setChildren(list, errorBox(error));
    },
  );
}
