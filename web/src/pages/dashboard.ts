// #/dashboards/{name}: one dashboard, its parameters and tiles (refreshed every refresh_seconds
// and when a source table gets a commit, through the server's event stream). Edit mode changes
// the title, refresh interval, parameters and tiles locally, with undo/redo (Ctrl/Cmd-Z), until
// Save (sent with the version it started from: a save by someone else in between is refused, not
// overwritten). Also: the version history (Restore loads an old definition as an edit) and share
// links. A new dashboard (#/dashboards/{name}?new=1) opens in edit mode and is saved as version 1.
import {
  ApiError,
  errorMessage,
  getDashboard,
  isAbortError,
  listDashboards,
  listDashboardVersions,
  listSavedQueries,
  putDashboard,
  runDashboardTile,
  shareDashboard,
  unshareDashboard,
} from "../api";
import { createDashboardView } from "../components/dashboard_view";
import { confirmDialog } from "../components/dialog";
import { errorBox, h, note, setChildren } from "../dom";
import { EditHistory } from "../edit_history";
import { watchTableEvents } from "../events";
import { formatTime } from "../format";
import { navigate, type PageContext } from "../router";
import type {
  ChartKind,
  DashboardDefinition,
  DashboardParameter,
  DashboardTile,
  ParameterType,
} from "../types";
import { dashboardHash } from "./dashboards";

const PARAMETER_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const PARAMETER_TYPES: ParameterType[] = ["date", "text", "number"];
const CHART_KINDS: { kind: ChartKind; label: string }[] = [
  { kind: "line", label: "Line" },
  { kind: "bar", label: "Bar" },
  { kind: "area", label: "Area" },
  { kind: "pie", label: "Pie" },
  { kind: "table", label: "Table" },
  { kind: "number", label: "Big number" },
];
const UNSAVED_TILE = "Save the dashboard to run this tile.";

interface SavedState {
  version: number; // 0: never saved
  definition: DashboardDefinition;
  shared: boolean;
  updatedAt?: string;
  updatedBy?: string;
}

/** JSON with sorted keys, to compare definitions whatever order their fields came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

/** A definition as the server may send it (fields missing), made whole for editing. */
function normalize(definition: Partial<DashboardDefinition> | undefined, name: string) {
  return {
    ...definition,
    title: definition?.title ?? name,
    refresh_seconds: definition?.refresh_seconds ?? 0,
    parameters: definition?.parameters ?? [],
    tiles: definition?.tiles ?? [],
  } satisfies DashboardDefinition;
}

function select(testid: string, label: string, options: [string, string][]): HTMLSelectElement {
  return h(
    "select",
    { testid, attrs: { "aria-label": label } },
    ...options.map(([value, text]) => h("option", { attrs: { value } }, text)),
  );
}

function button(
  text: string,
  testid: string,
  onClick: () => void,
  className?: string,
): HTMLButtonElement {
  return h(
    "button",
    { class: className, testid, attrs: { type: "button" }, on: { click: onClick } },
    text,
  );
}

export function renderDashboard(view: HTMLElement, context: PageContext): void {
  const { signal } = context;
  const name = context.captures[0] ?? "";
  const isNew = context.params.get("new") === "1";
  view.append(note(`Loading ${name}…`));

  // A new one is looked up in the list first (rather than answered 404): the name may be taken.
  const exists = isNew
    ? listDashboards(signal).then((dashboards) => dashboards.some((item) => item.name === name))
    : Promise.resolve(true);
  exists
    .then(async (found) => {
      if (!found)
        return open({ version: 0, definition: normalize(undefined, name), shared: false });
      const dashboard = await getDashboard(name, undefined, signal);
      open({
        version: dashboard.version,
        definition: normalize(dashboard.definition, name),
        shared: dashboard.shared === true,
        updatedAt: dashboard.updated_at,
        updatedBy: dashboard.updated_by,
      });
    })
    .catch((error: unknown) => {
      if (!isAbortError(error)) setChildren(view, h("h1", {}, name), errorBox(error));
    });

  function open(initial: SavedState): void {
    let saved = initial;
    const edits = new EditHistory<DashboardDefinition>(saved.definition);
    let editing = saved.version === 0;
    let abandoned = false; // a new dashboard the user chose not to keep
    let shareToken: string | null = null;

    const dirty = () =>
      !abandoned && (saved.version === 0 || canonical(edits.value) !== canonical(saved.definition));
    context.setLeaveGuard(() =>
      dirty() ? "This dashboard has unsaved changes. Leave without saving them?" : null,
    );

    const edit = (
      change: (definition: DashboardDefinition) => DashboardDefinition,
      key?: string,
    ) => {
      edits.apply(change(edits.value), key);
      update();
    };

    // --- The tiles -----------------------------------------------------------------------

    const dashboardView = createDashboardView({
      signal,
      initialValues: context.params,
      blocked(tile) {
        const savedTile = saved.definition.tiles.find((candidate) => candidate.id === tile.id);
        return saved.version === 0 || !savedTile || savedTile.query !== tile.query
          ? UNSAVED_TILE
          : null;
      },
      run(tile, values, runSignal) {
        // The server knows only the saved parameters.
        const known: Record<string, string> = {};
        for (const parameter of saved.definition.parameters) {
          if (parameter.name in values) known[parameter.name] = values[parameter.name]!;
        }
        return runDashboardTile(name, tile.id, known, runSignal);
      },
      onRemoveTile: (id) =>
        edit((definition) => ({
          ...definition,
          tiles: definition.tiles.filter((tile) => tile.id !== id),
        })),
    });

    // --- Header: title, unsaved marker, actions ------------------------------------------

    const heading = h("h1", { testid: "dashboard-title" });
    const titleInput = h("input", {
      class: "title-input",
      testid: "dashboard-title-input",
      attrs: { "aria-label": "Dashboard title" },
    });
    titleInput.addEventListener("input", () =>
      edit((definition) => ({ ...definition, title: titleInput.value }), "title"),
    );
    const titleSlot = h("div", { class: "dashboard-heading" });
    const unsavedSlot = h("span");
    const actions = h("div", { class: "toolbar" });
    const meta = h("p", { class: "muted", testid: "dashboard-meta" });
    const message = h("div", { attrs: { "aria-live": "polite" } });
    const showMessage = (child: HTMLElement | null) => setChildren(message, child);

    // --- Edit panel ------------------------------------------------------------------------

    const refreshInput = h("input", {
      testid: "refresh-input",
      attrs: { type: "number", min: "0", step: "1", "aria-label": "Refresh every (seconds)" },
    });
    refreshInput.addEventListener("input", () => {
      const seconds = Math.max(0, Math.floor(Number(refreshInput.value) || 0));
      edit((definition) => ({ ...definition, refresh_seconds: seconds }), "refresh");
    });
    const parameterList = h("ul", { class: "chips" });

    const paramName = h("input", {
      testid: "param-name-input",
      attrs: { placeholder: "name", "aria-label": "Parameter name", autocapitalize: "off" },
    });
    const paramType = select(
      "param-type-input",
      "Parameter type",
      PARAMETER_TYPES.map((type) => [type, type]),
    );
    const paramDefault = h("input", {
      testid: "param-default-input",
      attrs: { type: "date", "aria-label": "Default value" },
    });
    paramType.addEventListener("change", () => {
      paramDefault.type = paramType.value === "text" ? "text" : paramType.value;
    });
    const paramMessage = h("div");
    const paramForm = h(
      "form",
      { class: "inline-form", attrs: { "aria-label": "Add a parameter" } },
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "field" }, "Name", paramName),
        h("label", { class: "field" }, "Type", paramType),
        h("label", { class: "field" }, "Default", paramDefault),
        h(
          "button",
          { class: "primary", testid: "add-param-confirm", attrs: { type: "submit" } },
          "Add",
        ),
        button("Cancel", "add-param-cancel", () => (paramForm.hidden = true)),
      ),
      paramMessage,
    );
    paramForm.hidden = true;
    paramForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const parameterName = paramName.value.trim();
      const type = paramType.value as ParameterType;
      if (!PARAMETER_NAME.test(parameterName)) {
        return setChildren(
          paramMessage,
          errorBox("A name is lower-case letters, digits and _, starting with a letter or _."),
        );
      }
      if (edits.value.parameters.some((parameter) => parameter.name === parameterName)) {
        return setChildren(
          paramMessage,
          errorBox(`There is already a parameter ${parameterName}.`),
        );
      }
      const parameter: DashboardParameter = { name: parameterName, type };
      const value = paramDefault.value;
      if (value !== "") parameter.default = type === "number" ? Number(value) : value;
      setChildren(paramMessage);
      paramName.value = "";
      paramDefault.value = "";
      paramForm.hidden = true;
      edit((definition) => ({ ...definition, parameters: [...definition.parameters, parameter] }));
    });

    const tileTitle = h("input", {
      testid: "tile-title-input",
      attrs: { placeholder: "Title", "aria-label": "Tile title" },
    });
    const tileQuery = h("select", {
      testid: "tile-query-select",
      attrs: { "aria-label": "Saved query" },
    });
    const tileChart = select(
      "tile-chart-select",
      "Chart",
      CHART_KINDS.map(({ kind, label }) => [kind, label]),
    );
    const tileMessage = h("div");
    const tileForm = h(
      "form",
      { class: "inline-form", attrs: { "aria-label": "Add a tile" } },
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "field" }, "Title", tileTitle),
        h("label", { class: "field" }, "Saved query", tileQuery),
        h("label", { class: "field" }, "Chart", tileChart),
        h(
          "button",
          { class: "primary", testid: "add-tile-confirm", attrs: { type: "submit" } },
          "Add",
        ),
        button("Cancel", "add-tile-cancel", () => (tileForm.hidden = true)),
      ),
      tileMessage,
    );
    tileForm.hidden = true;
    const loadQueryNames = async () => {
      setChildren(tileMessage);
      try {
        const queries = await listSavedQueries(signal);
        const chosen = tileQuery.value;
        setChildren(
          tileQuery,
          ...queries.map((query) => h("option", { attrs: { value: query.name } }, query.name)),
        );
        if (queries.some((query) => query.name === chosen)) tileQuery.value = chosen;
        if (queries.length === 0) {
          setChildren(tileMessage, note("No saved queries yet: save one on the Query page first."));
        }
      } catch (error) {
        if (!isAbortError(error)) setChildren(tileMessage, errorBox(error));
      }
    };
    const nextTileId = () => {
      const used = new Set(
        [...edits.value.tiles, ...saved.definition.tiles].map((tile) => tile.id),
      );
      let counter = edits.value.tiles.length + 1;
      while (used.has(`t${counter}`)) counter++;
      return `t${counter}`;
    };
    tileForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = tileQuery.value;
      if (!query) return setChildren(tileMessage, errorBox("Choose a saved query."));
      const tile: DashboardTile = {
        id: nextTileId(),
        title: tileTitle.value.trim() || query,
        query,
        chart: tileChart.value as ChartKind,
      };
      setChildren(tileMessage);
      tileTitle.value = "";
      tileForm.hidden = true;
      edit((definition) => ({ ...definition, tiles: [...definition.tiles, tile] }));
    });

    const editPanel = h(
      "section",
      { class: "panel edit-panel", attrs: { "aria-label": "Edit the dashboard" } },
      h(
        "div",
        { class: "toolbar" },
        h("label", { class: "field inline" }, "Refresh every (s, 0 = never)", refreshInput),
        h("div", { class: "spacer" }),
        button("Add parameter", "add-param", () => {
          paramForm.hidden = false;
          paramName.focus();
        }),
        button("Add tile", "add-tile", () => {
          tileForm.hidden = false;
          void loadQueryNames();
          tileTitle.focus();
        }),
      ),
      parameterList,
      paramForm,
      tileForm,
    );

    // --- Versions ----------------------------------------------------------------------------

    const versionsPanel = h("section", { class: "panel" });
    versionsPanel.hidden = true;
    const loadVersions = async () => {
      setChildren(versionsPanel, h("h2", {}, "Version history"), note("Loading…"));
      try {
        const versions = await listDashboardVersions(name, signal);
        const items = versions.map((version) =>
          h(
            "li",
            {
              class: "version",
              testid: "version-item",
              attrs: { "data-version": String(version.version) },
            },
            h("strong", {}, `Version ${version.version}`),
            h(
              "span",
              { class: "muted" },
              ` ${formatTime(version.updated_at)}${version.updated_by ? ` by ${version.updated_by}` : ""}`,
              version.title ? ` · ${version.title}` : "",
            ),
            version.version === saved.version ? h("span", { class: "tag" }, "current") : null,
            button("Restore", "restore-version", () => void restore(version.version), "small"),
          ),
        );
        setChildren(
          versionsPanel,
          h("h2", {}, "Version history"),
          items.length > 0
            ? h("ol", { class: "versions" }, ...items)
            : note("No saved versions yet."),
        );
      } catch (error) {
        if (!isAbortError(error))
          setChildren(versionsPanel, h("h2", {}, "Version history"), errorBox(error));
      }
    };
    const restore = async (version: number) => {
      try {
        const old = await getDashboard(name, version, signal);
        editing = true;
        edit(() => normalize(old.definition, name));
        showMessage(
          h(
            "div",
            { class: "info-box", testid: "restore-note" },
            `Version ${version} is loaded as an edit: Save makes it a new version.`,
          ),
        );
      } catch (error) {
        if (!isAbortError(error)) showMessage(errorBox(error));
      }
    };

    // --- Sharing -----------------------------------------------------------------------------

    const sharePanel = h("section", { class: "panel share-panel" });
    const renderShare = () => {
      sharePanel.hidden = !shareToken && !saved.shared;
      if (sharePanel.hidden) return setChildren(sharePanel);
      const children: HTMLElement[] = [h("h2", {}, "Shared read-only")];
      if (shareToken) {
        const url = h("input", {
          testid: "share-url",
          attrs: { readonly: "", "aria-label": "Share link" },
        });
        url.value = `${location.origin}/#/shared/${shareToken}`;
        const copy = button("Copy", "copy-share-url", async () => {
          url.select();
          try {
            await navigator.clipboard.writeText(url.value);
            copy.textContent = "Copied";
          } catch {
            copy.textContent = "Press Ctrl-C to copy";
          }
        });
        children.push(
          h("div", { class: "toolbar" }, url, copy),
          note("Anyone with this link can see the dashboard without signing in."),
        );
      } else {
        children.push(note("This dashboard has read-only links. Share makes another one."));
      }
      children.push(
        button("Stop sharing", "unshare-dashboard", async () => {
          try {
            await unshareDashboard(name);
            shareToken = null;
            saved = { ...saved, shared: false };
            renderShare();
            showMessage(note("Every share link of this dashboard has stopped working."));
          } catch (error) {
            showMessage(errorBox(error));
          }
        }),
      );
      setChildren(sharePanel, ...children);
    };
    const share = async () => {
      try {
        shareToken = await shareDashboard(name);
        saved = { ...saved, shared: true };
        renderShare();
      } catch (error) {
        showMessage(errorBox(error));
      }
    };

    // --- Saving ------------------------------------------------------------------------------

    const save = async () => {
      const definition = edits.value;
      showMessage(null);
      try {
        const answer = await putDashboard(name, definition, saved.version);
        saved = {
          version: answer.version,
          definition: normalize(answer.definition ?? definition, name),
          shared: answer.shared ?? saved.shared,
          updatedAt: answer.updated_at,
          updatedBy: answer.updated_by,
        };
        edits.reset(saved.definition);
        editing = false;
        if (isNew) history.replaceState(history.state, "", "#" + dashboardHash(name));
        update();
        dashboardView.runAll();
        if (!versionsPanel.hidden) void loadVersions();
      } catch (error) {
        const text =
          error instanceof ApiError && error.status === 409
            ? `Not saved: ${error.message} Your changes are still here; reload to see the saved version.`
            : `Not saved: ${errorMessage(error)}`;
        showMessage(errorBox(text, "dashboard-error"));
      }
    };

    const discard = async () => {
      if (
        dirty() &&
        !(await confirmDialog("Discard the unsaved changes?", { confirmLabel: "Discard" }))
      ) {
        return;
      }
      if (saved.version === 0) {
        abandoned = true;
        navigate("/dashboards");
        return;
      }
      edits.apply(saved.definition);
      editing = false;
      showMessage(null);
      update();
    };

    const undo = () => edits.undo() && update();
    const redo = () => edits.redo() && update();
    const onKey = (event: KeyboardEvent) => {
      if (!editing || !(event.ctrlKey || event.metaKey) || event.altKey) return;
      const key = event.key.toLowerCase();
      if (key !== "z" && key !== "y") return;
      // The add forms' fields keep the browser's own undo of their text.
      if (event.target instanceof Element && event.target.closest(".inline-form")) return;
      event.preventDefault();
      if (key === "y" || event.shiftKey) redo();
      else undo();
    };
    document.addEventListener("keydown", onKey);
    signal.addEventListener("abort", () => document.removeEventListener("keydown", onKey), {
      once: true,
    });

    // --- Drawing the state ---------------------------------------------------------------------

    function update(): void {
      const definition = edits.value;
      if (titleInput.value !== definition.title) titleInput.value = definition.title;
      const refresh = String(definition.refresh_seconds ?? 0);
      if (refreshInput.value !== refresh && document.activeElement !== refreshInput) {
        refreshInput.value = refresh;
      }
      heading.textContent = definition.title || name;
      setChildren(titleSlot, editing ? titleInput : heading);
      setChildren(
        unsavedSlot,
        dirty()
          ? h("span", { class: "unsaved", testid: "unsaved-marker" }, "● Unsaved changes")
          : null,
      );
      meta.textContent =
        saved.version === 0
          ? `New dashboard ${name}: not saved yet.`
          : `${name} · version ${saved.version}` +
            (saved.updatedAt ? ` · saved ${formatTime(saved.updatedAt)}` : "") +
            (saved.updatedBy ? ` by ${saved.updatedBy}` : "");
      setChildren(
        parameterList,
        ...definition.parameters.map((parameter) =>
          h(
            "li",
            { class: "chip", testid: "param-chip" },
            `${parameter.name} (${parameter.type})`,
            parameter.default !== undefined && parameter.default !== null
              ? ` = ${parameter.default}`
              : "",
            button(
              "✕",
              "remove-param",
              () =>
                edit((current) => ({
                  ...current,
                  parameters: current.parameters.filter((item) => item.name !== parameter.name),
                })),
              "small ghost",
            ),
          ),
        ),
      );
      editPanel.hidden = !editing;
      renderActions();
      dashboardView.setEditing(editing);
      dashboardView.setDefinition(definition);
    }

    function renderActions(): void {
      const savedOnce = saved.version > 0;
      const versions = button("Versions", "versions-button", () => {
        versionsPanel.hidden = !versionsPanel.hidden;
        if (!versionsPanel.hidden) void loadVersions();
      });
      versions.disabled = !savedOnce;
      const shareButton = button("Share", "share-dashboard", () => void share());
      shareButton.disabled = !savedOnce;
      if (!editing) {
        setChildren(
          actions,
          button(
            "Edit",
            "edit-dashboard",
            () => {
              editing = true;
              update();
              titleInput.focus();
            },
            "primary",
          ),
          versions,
          shareButton,
        );
        return;
      }
      const undoButton = button("↶ Undo", "undo", undo);
      undoButton.disabled = !edits.canUndo;
      undoButton.title = "Ctrl-Z / ⌘-Z";
      const redoButton = button("↷ Redo", "redo", redo);
      redoButton.disabled = !edits.canRedo;
      redoButton.title = "Ctrl-Shift-Z / ⌘-Shift-Z";
      const saveButton = button("Save", "save-dashboard", () => void save(), "primary");
      saveButton.disabled = !dirty();
      setChildren(
        actions,
        undoButton,
        redoButton,
        saveButton,
        button("Discard", "discard-changes", () => void discard()),
        versions,
        shareButton,
      );
    }

    setChildren(
      view,
      h(
        "div",
        { class: "toolbar dashboard-header" },
        titleSlot,
        unsavedSlot,
        h("div", { class: "spacer" }),
        actions,
      ),
      meta,
      message,
      editPanel,
      versionsPanel,
      sharePanel,
      dashboardView.element,
    );
    update();
    renderShare();
    // Tiles re-run when one of their tables gets a commit or changes freshness.
    watchTableEvents(
      ["commit", "freshness"],
      (event) => dashboardView.tableChanged(event.table),
      signal,
    );
  }
}
