// #/query: the SQL editor, Run (Ctrl/Cmd-Enter) and Cancel, the running query's state line, the
// error panel (with the syntax error's position marked in the editor), paged results, saved
// queries and history.
import { cancelQuery, errorMessage, getTable, isAbortError, listQueries, listTables } from "../api";
import { createResultsView } from "../components/results";
import { createSavedQueries } from "../components/saved_queries";
import { createSqlEditor, type CompletionTable, type SqlEditor } from "../components/sql_editor";
import { stateBadge } from "../components/state_badge";
import { errorBox, h, note, setChildren } from "../dom";
import { formatBytes, formatCount, formatDuration, formatTime } from "../format";
import { errorPosition, FINISHED_STATES, queryErrorText, runQuery } from "../queries";
import type { PageContext } from "../router";
import { setOpenEditor, setSql, storeSql, storedSql } from "../sql_draft";
import type { QueryInfo } from "../types";

const HISTORY_LIMIT = 50;
const COMPLETION_TABLE_LIMIT = 200;
const COMPLETION_FETCHES_AT_ONCE = 4;

export function renderQuery(view: HTMLElement, { signal }: PageContext): void {
  const editor = createSqlEditor({
    text: storedSql(),
    onRun: () => void run(),
    onChange: storeSql,
  });
  setOpenEditor(editor);
  signal.addEventListener("abort", () => setOpenEditor(null), { once: true });

  const runButton = h(
    "button",
    {
      class: "primary",
      testid: "run-query",
      attrs: { type: "button" },
      title: "Ctrl-Enter / ⌘-Enter",
    },
    "Run",
  );
  const cancelButton = h("button", { testid: "cancel-query", attrs: { type: "button" } }, "Cancel");
  cancelButton.disabled = true;
  const status = h("div", { class: "query-status", attrs: { "aria-live": "polite" } });
  const errorPanel = h("div");
  const results = createResultsView(signal);
  const historyList = h("ol", { class: "history" });
  const saved = createSavedQueries({
    signal,
    getSql: () => editor.getText(),
    loadSql: (text) => {
      setSql(text);
      editor.focus();
    },
  });

  view.append(
    h(
      "div",
      { class: "query-layout" },
      h(
        "div",
        { class: "query-main" },
        editor.element,
        h("div", { class: "toolbar" }, runButton, cancelButton, saved.saveButton, status),
        saved.form,
        errorPanel,
        results.element,
      ),
      h(
        "aside",
        { class: "query-side" },
        h("section", { class: "panel" }, h("h2", {}, "Saved queries"), saved.list),
        h("section", { class: "panel" }, h("h2", {}, "History"), historyList),
      ),
    ),
  );
  runButton.addEventListener("click", () => void run());

  let busy = false; // from Run until the query has finished (or could not be submitted)
  let runningId: string | null = null; // the submitted query, while busy

  function showStatus(query: QueryInfo, startedAt: number): void {
    const elapsed =
      query.elapsed_ms ?? (FINISHED_STATES.has(query.state) ? undefined : Date.now() - startedAt);
    const facts = [
      `elapsed ${formatDuration(elapsed)}`,
      typeof query.rows === "number" ? `${formatCount(query.rows)} rows` : null,
      typeof query.bytes_scanned === "number"
        ? `${formatBytes(query.bytes_scanned)} scanned`
        : null,
      query.truncated ? "result truncated" : null,
    ].filter((fact): fact is string => fact !== null);
    setChildren(
      status,
      stateBadge(query.state, "query-state"),
      h("span", { class: "muted" }, facts.join(" · ")),
    );
  }

  function showError(message: string): void {
    const position = errorPosition(message);
    const panel = h(
      "div",
      { class: "error-box", testid: "query-error", attrs: { role: "alert" } },
      message,
    );
    if (position) {
      panel.dataset.line = String(position.line);
      panel.dataset.column = String(position.column);
      panel.append(
        h(
          "div",
          { class: "muted" },
          `At line ${position.line}, column ${position.column} (marked in the editor).`,
        ),
      );
    }
    setChildren(errorPanel, panel);
    editor.markError(position);
  }

  async function run(): Promise<void> {
    const sql = editor.getText();
    if (busy || !sql.trim()) return;
    busy = true;
    const startedAt = Date.now();
    setChildren(errorPanel);
    setChildren(status);
    editor.markError(null);
    results.clear();
    runButton.disabled = true;
    try {
      const finished = await runQuery(
        sql,
        (query) => {
          if (runningId === null) void refreshHistory(); // the new query joins the history
          runningId = query.id;
          cancelButton.disabled = query.state !== "QUEUED" && query.state !== "RUNNING";
          showStatus(query, startedAt);
        },
        signal,
      );
      if (finished.state === "SUCCEEDED") results.show(finished);
      if (finished.state === "FAILED") showError(queryErrorText(finished));
    } catch (error) {
      if (!isAbortError(error)) showError(errorMessage(error));
    } finally {
      busy = false;
      runningId = null;
      runButton.disabled = false;
      cancelButton.disabled = true;
      if (!signal.aborted) void refreshHistory();
    }
  }

  cancelButton.addEventListener("click", async () => {
    if (runningId === null) return;
    cancelButton.disabled = true;
    try {
      await cancelQuery(runningId);
    } catch (error) {
      setChildren(errorPanel, errorBox(error));
    }
  });

  async function refreshHistory(): Promise<void> {
    try {
      const queries = await listQueries(HISTORY_LIMIT, signal);
      if (queries.length === 0) {
        setChildren(historyList, h("li", {}, note("No queries yet.")));
        return;
      }
      setChildren(historyList, ...queries.map(historyItem));
    } catch (error) {
      if (!isAbortError(error)) setChildren(historyList, h("li", {}, errorBox(error)));
    }
  }

  function historyItem(query: QueryInfo): HTMLElement {
    const firstLine = query.sql.trim().split("\n", 1)[0] ?? "";
    const load = () => {
      setSql(query.sql);
      editor.focus();
    };
    return h(
      "li",
      {},
      h(
        "button",
        {
          class: "history-item",
          testid: "history-item",
          title: query.sql,
          attrs: { type: "button" },
          on: { click: load },
        },
        h("span", { class: "history-sql" }, firstLine),
        h(
          "span",
          { class: "history-meta" },
          stateBadge(query.state),
          " ",
          formatTime(query.submitted_at),
        ),
      ),
    );
  }

  void refreshHistory();
  void loadCompletionCatalog(editor, signal);
  editor.focus();
}

/** Gives the editor the catalog's tables and their columns (for at most COMPLETION_TABLE_LIMIT tables). */
async function loadCompletionCatalog(editor: SqlEditor, signal: AbortSignal): Promise<void> {
  try {
    const summaries = (await listTables(signal)).slice(0, COMPLETION_TABLE_LIMIT);
    const tables: CompletionTable[] = [];
    let next = 0;
    const fetchNext = async (): Promise<void> => {
      while (next < summaries.length) {
        const detail = await getTable(summaries[next++]!.name, signal);
        tables.push({ name: detail.name, kind: detail.kind, columns: detail.columns ?? [] });
      }
    };
    await Promise.all(Array.from({ length: COMPLETION_FETCHES_AT_ONCE }, fetchNext));
    tables.sort((a, b) => a.name.localeCompare(b.name));
    editor.setCatalog(tables);
  } catch {
    // Completion is a convenience: without the catalog the editor still completes SQL keywords.
  }
}
