// A read-only data grid: a <table> with the column names as the header (types as tooltips) and
// one data-testid="grid-row" row per result row; NULL is shown dimmed, numbers right-aligned.
import { h } from "../dom";
import type { Cell, ResultColumn } from "../types";

function renderCell(value: Cell): HTMLTableCellElement {
  if (value === null) return h("td", { class: "null" }, "NULL");
  if (typeof value === "number") return h("td", { class: "num" }, String(value));
  if (typeof value === "object") return h("td", {}, JSON.stringify(value));
  return h("td", {}, String(value));
}

/** The grid inside a scrolling wrapper; `testid` names the <table>. */
export function renderGrid(columns: ResultColumn[], rows: Cell[][], testid: string): HTMLElement {
  const header = h(
    "tr",
    {},
    ...columns.map((column) =>
      h("th", { title: column.type, attrs: { scope: "col" } }, column.name),
    ),
  );
  const body = rows.map((row) =>
    h("tr", { testid: "grid-row" }, ...columns.map((_, index) => renderCell(row[index] ?? null))),
  );
  const table = h(
    "table",
    { class: "grid", testid },
    h("thead", {}, header),
    h("tbody", {}, ...body),
  );
  return h("div", { class: "grid-scroll" }, table);
}
