// Saved queries on the query page: Save (data-testid="save-query") asks for a name inline and
// saves the editor's SQL; the list (data-testid="saved-query-item") loads one into the editor.
// Saving the name that was loaded sends the version it came with, so a save by someone else in
// between is refused (409) with the server's message rather than overwritten.
import { ApiError, deleteSavedQuery, isAbortError, listSavedQueries, putSavedQuery } from "../api";
import { errorBox, h, note, setChildren } from "../dom";
import { formatTime } from "../format";
import type { SavedQuery } from "../types";
import { confirmDialog } from "./dialog";

export interface SavedQueriesOptions {
  signal: AbortSignal;
  getSql(): string;
  loadSql(sql: string): void;
}

export interface SavedQueries {
  saveButton: HTMLElement; // for the editor's toolbar
  form: HTMLElement; // the inline name form, under the toolbar
  list: HTMLElement; // the list, for the side panel
}

export function createSavedQueries(options: SavedQueriesOptions): SavedQueries {
  const { signal } = options;
  /** The saved query loaded into the editor (or last saved from it), with its version. */
  let opened: { name: string; version: number } | null = null;

  const saveButton = h(
    "button",
    { testid: "save-query", attrs: { type: "button" }, title: "Save this SQL under a name" },
    "Save…",
  );
  const nameInput = h("input", {
    testid: "save-query-name",
    attrs: {
      placeholder: "Name, e.g. orders_per_day",
      "aria-label": "Saved query name",
      autocapitalize: "off",
      spellcheck: "false",
    },
  });
  const confirmButton = h(
    "button",
    { class: "primary", testid: "save-query-confirm", attrs: { type: "submit" } },
    "Save",
  );
  const cancelButton = h("button", { attrs: { type: "button" } }, "Cancel");
  const message = h("div", { attrs: { "aria-live": "polite" } });
  const form = h(
    "form",
    { class: "inline-form", attrs: { "aria-label": "Save query" } },
    h("div", { class: "toolbar" }, nameInput, confirmButton, cancelButton),
    message,
  );
  form.hidden = true;
  const list = h("ul", { class: "saved-queries" }, h("li", {}, note("Loading…")));

  saveButton.addEventListener("click", () => {
    form.hidden = false;
    setChildren(message);
    if (!nameInput.value && opened) nameInput.value = opened.name;
    nameInput.select();
  });
  cancelButton.addEventListener("click", () => {
    form.hidden = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const sql = options.getSql();
    if (!name) return void setChildren(message, errorBox("Give the query a name."));
    if (!sql.trim()) return void setChildren(message, errorBox("There is no SQL to save."));
    const baseVersion = opened?.name === name ? opened.version : 0;
    confirmButton.disabled = true;
    try {
      const saved = await putSavedQuery(name, sql, baseVersion);
      opened = { name: saved.name ?? name, version: saved.version };
      form.hidden = true;
      setChildren(message);
      void refresh();
    } catch (error) {
      const text =
        error instanceof ApiError && error.status === 409
          ? `Not saved: ${error.message}`
          : error instanceof Error
            ? error.message
            : String(error);
      setChildren(message, errorBox(text, "save-query-error"));
    } finally {
      confirmButton.disabled = false;
    }
  });

  const item = (query: SavedQuery) => {
    const firstLine = query.sql.trim().split("\n", 1)[0] ?? "";
    const load = () => {
      options.loadSql(query.sql);
      opened = { name: query.name, version: query.version };
      nameInput.value = query.name;
    };
    const remove = async () => {
      const sure = await confirmDialog(`Delete the saved query "${query.name}"?`, {
        confirmLabel: "Delete",
      });
      if (!sure) return;
      try {
        await deleteSavedQuery(query.name);
        if (opened?.name === query.name) opened = null;
        void refresh();
      } catch (error) {
        setChildren(list, h("li", {}, errorBox(error)));
      }
    };
    const by = [formatTime(query.updated_at), query.updated_by].filter(Boolean).join(" · ");
    return h(
      "li",
      { class: "saved-query" },
      h(
        "button",
        {
          class: "history-item",
          testid: "saved-query-item",
          title: query.sql,
          attrs: { type: "button", "data-name": query.name },
          on: { click: load },
        },
        h("span", { class: "saved-query-name" }, query.name),
        h("span", { class: "history-sql" }, firstLine),
        h("span", { class: "history-meta" }, `v${query.version} · ${by}`),
      ),
      h(
        "button",
        {
          class: "small ghost",
          testid: "delete-saved-query",
          title: `Delete ${query.name}`,
          attrs: { type: "button", "aria-label": `Delete ${query.name}` },
          on: { click: () => void remove() },
        },
        "✕",
      ),
    );
  };

  async function refresh(): Promise<void> {
    try {
      const queries = await listSavedQueries(signal);
      setChildren(
        list,
        ...(queries.length > 0
          ? queries.map(item)
          : [h("li", {}, note("No saved queries yet: Save… keeps the SQL under a name."))]),
      );
    } catch (error) {
      if (!isAbortError(error)) setChildren(list, h("li", {}, errorBox(error)));
    }
  }

  void refresh();
  return { saveButton, form, list };
}
