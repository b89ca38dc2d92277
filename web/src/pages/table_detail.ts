// One table or view of the catalog (#/catalog/{db}.{table}): its facts and freshness, columns,
// schema history, snapshots, files, a view's SQL, and sample rows read through the queries API.
import { getResults, getTable, isAbortError } from "../api";
import { renderGrid } from "../components/grid";
import { renderSchemaHistory } from "../components/schema_diff";
import { cell, errorBox, h, note, section, setChildren, table } from "../dom";
import { formatBytes, formatCount, formatDuration, formatTime } from "../format";
import { queryErrorText, quoteTableName, runQuery } from "../queries";
import type { Freshness, TableDetail } from "../types";

const SAMPLE_ROWS = 50;

/** An element that fills itself with the table `name`; `signal` stops its requests. */
export function renderTableDetail(
  name: string,
  freshness: Promise<Freshness | undefined>,
  signal: AbortSignal,
): HTMLElement {
  const element = h("div", { class: "table-detail" }, note(`Loading ${name}…`));
  Promise.all([getTable(name, signal), freshness]).then(
    ([detail, tableFreshness]) =>
      setChildren(element, ...detailSections(detail, tableFreshness, signal)),
    (error) => {
      if (!isAbortError(error))
        setChildren(element, h("h1", { testid: "table-title" }, name), errorBox(error));
    },
  );
  return element;
}

function detailSections(
  detail: TableDetail,
  freshness: Freshness | undefined,
  signal: AbortSignal,
): HTMLElement[] {
  const sections = [header(detail, freshness)];
  if (detail.kind === "view" && detail.sql) sections.push(viewDefinition(detail));
  sections.push(columns(detail));
  if (detail.schema_versions && detail.schema_versions.length > 0) {
    sections.push(section("Schema history", renderSchemaHistory(detail.schema_versions)));
  }
  if (detail.snapshots) sections.push(snapshots(detail));
  if (detail.files) sections.push(files(detail));
  sections.push(sampleRows(detail.name, signal));
  return sections;
}

function facts(entries: [string, string][]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    ...entries.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

function header(detail: TableDetail, freshness: Freshness | undefined): HTMLElement {
  const entries: [string, string][] = [];
  if (detail.kind === "table") {
    entries.push(["Rows", formatCount(detail.rows)], ["Size", formatBytes(detail.bytes)]);
    entries.push(["Files", formatCount(detail.files_total ?? detail.files?.length)]);
  }
  if (detail.schema_version !== undefined)
    entries.push(["Schema version", String(detail.schema_version)]);
  if (detail.created_at) entries.push(["Created", formatTime(detail.created_at)]);
  if (detail.location) entries.push(["Location", detail.location]);
  if (freshness?.last_changed) {
    const by = [freshness.operation, freshness.author && `by ${freshness.author}`]
      .filter(Boolean)
      .join(" ");
    entries.push(["Last changed", `${formatTime(freshness.last_changed)}${by ? ` (${by})` : ""}`]);
  }
  if (typeof freshness?.expect_every_seconds === "number") {
    const verdict = freshness.stale ? "STALE" : "fresh";
    entries.push([
      "Expected every",
      `${formatDuration(freshness.expect_every_seconds * 1000)}: ${verdict}`,
    ]);
  }
  return h(
    "header",
    { class: "detail-header" },
    h("h1", { testid: "table-title" }, detail.name),
    " ",
    h("span", { class: "badge" }, detail.kind),
    detail.comment ? h("p", {}, detail.comment) : null,
    facts(entries),
  );
}

function viewDefinition(detail: TableDetail): HTMLElement {
  return section(
    "View definition",
    h("pre", { class: "code" }, detail.sql ?? ""),
    detail.reads && detail.reads.length > 0 ? note(`Reads: ${detail.reads.join(", ")}`) : null,
  );
}

function columns(detail: TableDetail): HTMLElement {
  const partitionColumns = detail.partition_columns ?? [];
  const rows = detail.columns.map((column) =>
    h(
      "tr",
      { testid: "column-row", attrs: { "data-name": column.name, "data-type": column.type } },
      cell(h("code", {}, column.name)),
      cell(column.type),
      cell(column.nullable ? "yes" : "no"),
      cell(column.comment ?? ""),
    ),
  );
  const partitioning =
    detail.kind === "view"
      ? null
      : note(
          partitionColumns.length > 0
            ? `Partitioned by: ${partitionColumns.join(", ")}`
            : "Not partitioned.",
        );
  return section("Columns", table(["Name", "Type", "Nullable", "Comment"], rows), partitioning);
}

function shownOf(shown: number, total: number | undefined, what: string): HTMLElement | null {
  return total !== undefined && total > shown
    ? note(`Showing ${formatCount(shown)} of ${formatCount(total)} ${what}.`)
    : null;
}

function snapshots(detail: TableDetail): HTMLElement {
  const list = detail.snapshots ?? [];
  const rows = list.map((snapshot) =>
    h(
      "tr",
      { testid: "snapshot-row", attrs: { "data-snapshot": String(snapshot.snapshot_id) } },
      cell(snapshot.snapshot_id, true),
      cell(formatTime(snapshot.committed_at)),
      cell(snapshot.author),
      cell(snapshot.operation),
      cell(snapshot.message),
      cell(formatCount(snapshot.summary?.rows_added), true),
      cell(formatCount(snapshot.summary?.files_added), true),
      cell(formatBytes(snapshot.summary?.bytes_added), true),
    ),
  );
  return section(
    "Snapshots",
    rows.length > 0
      ? table(
          [
            "ID",
            "Committed",
            "Author",
            "Operation",
            "Message",
            "Rows added",
            "Files added",
            "Bytes added",
          ],
          rows,
        )
      : note("No snapshots."),
    shownOf(list.length, detail.snapshots_total, "snapshots"),
  );
}

function files(detail: TableDetail): HTMLElement {
  const list = detail.files ?? [];
  const rows = list.map((file) =>
    h(
      "tr",
      { testid: "file-row" },
      cell(h("code", {}, file.key)),
      cell(file.compression ? `${file.format} (${file.compression})` : file.format),
      cell(formatCount(file.row_count), true),
      cell(formatBytes(file.size_bytes), true),
      cell(file.added_snapshot, true),
    ),
  );
  return section(
    "Files",
    rows.length > 0
      ? table(["Key", "Format", "Rows", "Size", "Snapshot"], rows)
      : note("No files."),
    shownOf(list.length, detail.files_total, "files"),
  );
}

function sampleRows(name: string, signal: AbortSignal): HTMLElement {
  const sql = `SELECT * FROM ${quoteTableName(name)} LIMIT ${SAMPLE_ROWS}`;
  const body = h("div", {}, note("Running the sample query…"));
  void (async () => {
    try {
      const query = await runQuery(sql, () => {}, signal);
      if (query.state !== "SUCCEEDED") {
        setChildren(
          body,
          errorBox(queryErrorText(query) || `The sample query was ${query.state}.`),
        );
        return;
      }
      const page = await getResults(query.id, 0, SAMPLE_ROWS, signal);
      setChildren(
        body,
        renderGrid(page.columns, page.rows, "sample-grid"),
        page.rows.length === 0 ? note("No rows.") : null,
      );
    } catch (error) {
      if (!isAbortError(error)) setChildren(body, errorBox(error));
    }
  })();
  return section("Sample rows", h("p", { class: "muted" }, h("code", {}, sql)), body);
}
