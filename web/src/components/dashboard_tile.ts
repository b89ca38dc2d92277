// One dashboard tile (data-testid="tile", data-tile-id, data-status = loading | ok | failed |
// stale, or "unsaved" when it cannot run before the dashboard is saved): its title, its answer as
// a chart, a big number or the grid, and how fresh the data is. A failed answer replaces
// everything shown before with the server's message; stale data is shown under a banner naming
// the stale tables.
import { h, note, setChildren } from "../dom";
import { formatCount, formatDuration, formatRelative, formatTime } from "../format";
import { bigNumber, plotData } from "../tile_data";
import type { ChartKind, DashboardTile, Freshness, TileAnswer } from "../types";
import { renderChart, type Chart } from "./chart";
import { renderGrid } from "./grid";

export type TileStatus = "loading" | "ok" | "failed" | "stale" | "unsaved";

export interface TileView {
  element: HTMLElement;
  readonly id: string;
  setDefinition(tile: DashboardTile): void;
  /** Shows the Remove button (edit mode). */
  setEditing(editing: boolean): void;
  /** Why the tile has no data (it is not saved yet): clears what it showed. */
  showNotice(text: string): void;
  setLoading(): void;
  showAnswer(answer: TileAnswer, at: Date): void;
  showError(message: string, at: Date): void;
  /** The tables its last answer read (kept across failures, to know when to try again). */
  tables(): string[];
  /** Brings "updated … ago" up to date. */
  tick(): void;
  dispose(): void;
}

const TREND_ARROWS = { up: "▲", down: "▼", flat: "▬" } as const;
const percentFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function bigNumberView(answer: TileAnswer): HTMLElement {
  const { value, trend, changePercent, previous } = bigNumber(answer);
  const shown =
    value === null ? "NULL" : typeof value === "number" ? formatCount(value) : String(value);
  const trendView =
    trend === null
      ? null
      : h(
          "div",
          {
            class: `trend trend-${trend}`,
            testid: "tile-trend",
            title: `Previous value: ${formatCount(previous)}`,
            attrs: { "data-trend": trend },
          },
          TREND_ARROWS[trend],
          " ",
          changePercent === null ? "—" : `${percentFormat.format(Math.abs(changePercent))}%`,
        );
  return h(
    "div",
    { class: "big-number-box" },
    h("div", { class: "big-number", testid: "tile-number" }, shown),
    trendView,
  );
}

function staleBanner(freshness: TileAnswer["freshness"]): HTMLElement {
  const tables = freshness?.tables ?? [];
  const flagged = tables.filter((table) => table.stale === true);
  const stale = flagged.length > 0 ? flagged : tables;
  const describe = (table: Freshness) => {
    const since = table.last_changed ? `not changed since ${formatTime(table.last_changed)}` : "";
    const expected =
      typeof table.expect_every_seconds === "number"
        ? `expected every ${formatDuration(table.expect_every_seconds * 1000)}`
        : "";
    const detail = [since, expected].filter(Boolean).join(", ");
    return detail ? `${table.table} (${detail})` : table.table;
  };
  return h(
    "div",
    { class: "tile-stale", testid: "tile-stale", attrs: { role: "status" } },
    h("strong", {}, "Stale data: "),
    stale.length > 0 ? stale.map(describe).join("; ") : "a source table is late",
  );
}

export function createTileView(tile: DashboardTile, onRemove: (id: string) => void): TileView {
  let definition = tile;
  let answer: TileAnswer | null = null;
  let updatedAt: Date | null = null;
  let knownTables: string[] = [];
  let chart: Chart | null = null;

  const title = h("h3", { class: "tile-title", testid: "tile-title" }, tile.title);
  const removeButton = h(
    "button",
    {
      class: "small ghost",
      testid: "remove-tile",
      title: "Remove this tile",
      attrs: { type: "button", "aria-label": "Remove this tile" },
      on: { click: () => onRemove(definition.id) },
    },
    "✕",
  );
  removeButton.hidden = true;
  const banner = h("div");
  const body = h("div", { class: "tile-body" });
  const freshness = h("div", { class: "tile-freshness muted", testid: "tile-freshness" });
  const element = h(
    "article",
    { class: "tile panel", testid: "tile", attrs: { "data-tile-id": tile.id } },
    h("header", { class: "tile-header" }, title, h("div", { class: "spacer" }), removeButton),
    banner,
    body,
    freshness,
  );

  const setStatus = (status: TileStatus) => {
    element.dataset.status = status;
    element.toggleAttribute("aria-busy", status === "loading");
  };

  const clearBody = (...children: (HTMLElement | string)[]) => {
    chart?.dispose();
    chart = null;
    setChildren(body, ...children);
  };

  const showFreshness = () => {
    const updated = updatedAt ? `updated ${formatRelative(updatedAt)}` : "";
    const asOf = answer?.freshness?.as_of ? `data as of ${formatTime(answer.freshness.as_of)}` : "";
    freshness.textContent = [asOf, updated].filter(Boolean).join(" · ");
    freshness.title = updatedAt ? `Updated ${formatTime(updatedAt)}` : "";
  };

  /** Draws the answer as the tile's chart kind. */
  const drawAnswer = (shown: TileAnswer) => {
    const truncated = shown.truncated ? note("Only the first rows are shown.") : null;
    const kind: ChartKind = definition.chart;
    if (kind === "number") return clearBody(bigNumberView(shown));
    const grid = () => renderGrid(shown.columns, shown.rows, "tile-grid");
    if (kind === "table") return clearBody(grid(), ...(truncated ? [truncated] : []));
    if (shown.rows.length === 0) return clearBody(note("No rows."));
    const plot = plotData(shown, definition);
    if (!plot) return clearBody(note("No numeric column to chart: the rows are shown."), grid());
    const canvas = h("div", { class: "tile-chart", testid: "tile-chart" });
    clearBody(canvas, ...(truncated ? [truncated] : []));
    chart = renderChart(canvas, kind, plot);
  };

  return {
    element,
    get id() {
      return definition.id;
    },
    setDefinition(next) {
      const redraw =
        next.chart !== definition.chart || next.x !== definition.x || next.y !== definition.y;
      definition = next;
      title.textContent = next.title;
      if (redraw && answer) drawAnswer(answer);
    },
    setEditing(editing) {
      removeButton.hidden = !editing;
    },
    showNotice(text) {
      answer = null;
      updatedAt = null;
      setStatus("unsaved");
      setChildren(banner);
      clearBody(note(text));
      showFreshness();
    },
    setLoading() {
      setStatus("loading");
      if (!answer) clearBody(note("Loading…")); // data already shown stays until the new answer
    },
    showAnswer(next, at) {
      answer = next;
      updatedAt = at;
      knownTables = (next.freshness?.tables ?? []).map((table) => table.table);
      const stale = next.freshness?.stale === true;
      setChildren(banner, stale ? staleBanner(next.freshness) : null);
      drawAnswer(next);
      showFreshness();
      setStatus(stale ? "stale" : "ok");
    },
    showError(message, at) {
      answer = null; // nothing of the old data stays on screen
      updatedAt = at;
      setChildren(banner);
      clearBody(
        h("div", { class: "error-box", testid: "tile-error", attrs: { role: "alert" } }, message),
      );
      showFreshness();
      setStatus("failed");
    },
    tables: () => knownTables,
    tick: showFreshness,
    dispose() {
      chart?.dispose();
      chart = null;
      element.remove();
    },
  };
}
