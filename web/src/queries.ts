// Running a SQL query through the queries API: submit, poll until it ends, and read its error
// (a string or {"message"}), including the "(line L, column C)" position of a syntax error.
import { getQuery, submitQuery } from "./api";
import type { QueryInfo, QueryState } from "./types";

export const FINISHED_STATES: ReadonlySet<QueryState> = new Set([
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Polls a query until it has finished, calling onUpdate with each answer; returns the last one. */
export async function waitForQuery(
  query: QueryInfo,
  onUpdate: (query: QueryInfo) => void,
  signal?: AbortSignal,
): Promise<QueryInfo> {
  let current = query;
  let delay = 100;
  while (!FINISHED_STATES.has(current.state)) {
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 1000);
    current = await getQuery(current.id, signal);
    onUpdate(current);
  }
  return current;
}

/** Submits `sql` and waits for it to finish. */
export async function runQuery(
  sql: string,
  onUpdate: (query: QueryInfo) => void,
  signal?: AbortSignal,
): Promise<QueryInfo> {
  const submitted = await submitQuery(sql, signal);
  onUpdate(submitted);
  return waitForQuery(submitted, onUpdate, signal);
}

export function queryErrorText(query: QueryInfo): string {
  const { error } = query;
  if (!error) return query.state === "FAILED" ? "The query failed." : "";
  return typeof error === "string" ? error : (error.message ?? JSON.stringify(error));
}

export interface SourcePosition {
  line: number; // 1-based
  column: number; // 1-based
}

/** The "(line L, column C)" position in an error message, if any. */
export function errorPosition(message: string): SourcePosition | null {
  const match = /\(line (\d+), column (\d+)\)/i.exec(message);
  return match ? { line: Number(match[1]), column: Number(match[2]) } : null;
}

/** `"db"."table"` for a catalog name "db.table" (quotes in names doubled). */
export function quoteTableName(name: string): string {
  const dot = name.indexOf(".");
  const parts = dot < 0 ? [name] : [name.slice(0, dot), name.slice(dot + 1)];
  return parts.map((part) => `"${part.replaceAll('"', '""')}"`).join(".");
}
