// What a dashboard tile draws from its answer: the x column and the plotted series (the tile's
// "x"/"y", else the first column and every other numeric one), and a number tile's value with its
// change from the previous value (the second column, when there is one).
import type { Cell, DashboardTile, ResultColumn, TileAnswer } from "./types";

const NUMERIC_TYPE = /INT|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC/i;

/** A cell as a number, or null (NULL, text that is not a number). */
export function toNumber(value: Cell): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") {
    const number = Number(value);
    return Number.isFinite(number) ? number : null;
  }
  return null;
}

function isNumericColumn(column: ResultColumn, index: number, rows: Cell[][]): boolean {
  if (NUMERIC_TYPE.test(column.type)) return true;
  const values = rows.map((row) => row[index] ?? null).filter((value) => value !== null);
  return values.length > 0 && values.every((value) => typeof value === "number");
}

export interface PlotData {
  x: string; // the x column's name
  series: string[]; // the plotted columns' names
  /** One row per answer row: the x value (as text) then each series' value (or null). */
  source: (string | number | null)[][];
}

/** The plot of an answer, or null when it has no column to plot. */
export function plotData(answer: TileAnswer, tile: DashboardTile): PlotData | null {
  const names = answer.columns.map((column) => column.name);
  const xIndex = tile.x ? names.indexOf(tile.x) : 0;
  if (xIndex < 0 || answer.columns.length === 0) return null;
  const wanted = tile.y === undefined ? null : Array.isArray(tile.y) ? tile.y : [tile.y];
  const seriesIndexes = wanted
    ? wanted.map((name) => names.indexOf(name)).filter((index) => index >= 0 && index !== xIndex)
    : answer.columns
        .map((column, index) => (isNumericColumn(column, index, answer.rows) ? index : -1))
        .filter((index) => index >= 0 && index !== xIndex);
  if (seriesIndexes.length === 0) return null;
  return {
    x: names[xIndex]!,
    series: seriesIndexes.map((index) => names[index]!),
    source: answer.rows.map((row) => {
      const x = row[xIndex] ?? null;
      return [
        x === null ? "NULL" : typeof x === "object" ? JSON.stringify(x) : String(x),
        ...seriesIndexes.map((index) => toNumber(row[index] ?? null)),
      ];
    }),
  };
}

export type Trend = "up" | "down" | "flat";

export interface BigNumber {
  value: Cell; // the first row's first column (undefined rows: null)
  previous: number | null; // the second column, when it is a number
  trend: Trend | null;
  changePercent: number | null; // null when there is no previous value or it is 0
}

export function bigNumber(answer: TileAnswer): BigNumber {
  const row = answer.rows[0] ?? [];
  const value = row[0] ?? null;
  const current = toNumber(value);
  const previous = answer.columns.length > 1 ? toNumber(row[1] ?? null) : null;
  if (current === null || previous === null) {
    return { value, previous, trend: null, changePercent: null };
  }
  const change = current - previous;
  return {
    value,
    previous,
    trend: change > 0 ? "up" : change < 0 ? "down" : "flat",
    changePercent: previous === 0 ? null : (change / Math.abs(previous)) * 100,
  };
}
