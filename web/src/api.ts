// The loch server's HTTP API: same-origin fetch with the session cookie, the CSRF header on every
// non-GET request, JSON errors turned into ApiError, and any 401 handed to the sign-in flow.
import type {
  DatabaseSummary,
  Freshness,
  QueryInfo,
  ResultPage,
  Run,
  Session,
  TableDetail,
  TableSummary,
} from "./types";

/** An error answer from the server ({"error": {"code", "message"}}) or a failed fetch. */
export class ApiError extends Error {
  constructor(
    readonly status: number, // 0: the server could not be reached
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let csrfToken = "";
let onUnauthenticated: () => void = () => {};

/** Called on any 401 (except from the sign-in call itself): the console goes to sign-in. */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/** The text to show a user for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
  /** A 401 is the answer itself (wrong password, not signed in) rather than a lost session. */
  expectUnauthenticated?: boolean;
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiError(0, "NETWORK", "Could not reach the loch server. Check that it is running.");
  }
  if (response.ok) return response;
  const failure = await errorFromResponse(response);
  if (response.status === 401 && !options.expectUnauthenticated) {
    csrfToken = "";
    onUnauthenticated();
  }
  throw failure;
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  const fallback = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    return new ApiError(
      response.status,
      body.error?.code ?? "HTTP_" + response.status,
      body.error?.message ?? fallback,
    );
  } catch {
    return new ApiError(response.status, "HTTP_" + response.status, fallback);
  }
}

async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

// --- Session -------------------------------------------------------------------------------

/** The current session, or null when not signed in. */
export async function getSession(): Promise<Session | null> {
  try {
    const session = await requestJson<Session>("/api/v1/session", { expectUnauthenticated: true });
    csrfToken = session.csrf_token;
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signIn(user: string, password: string): Promise<Session> {
  const session = await requestJson<Session>("/api/v1/session", {
    method: "POST",
    body: { user, password },
    expectUnauthenticated: true,
  });
  csrfToken = session.csrf_token;
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await requestJson<void>("/api/v1/session", { method: "DELETE", expectUnauthenticated: true });
  } finally {
    csrfToken = "";
  }
}

// --- Catalog -------------------------------------------------------------------------------

export async function listDatabases(signal?: AbortSignal): Promise<DatabaseSummary[]> {
  return (await requestJson<{ databases: DatabaseSummary[] }>("/api/v1/databases", { signal }))
    .databases;
}

export async function listTables(signal?: AbortSignal): Promise<TableSummary[]> {
  return (await requestJson<{ tables: TableSummary[] }>("/api/v1/tables", { signal })).tables;
}

export function getTable(name: string, signal?: AbortSignal): Promise<TableDetail> {
  return requestJson<TableDetail>(`/api/v1/tables/${encodeURIComponent(name)}`, { signal });
}

export async function listFreshness(signal?: AbortSignal): Promise<Freshness[]> {
  const answer = await requestJson<{ tables?: Freshness[] }>("/api/v1/freshness", { signal });
  return Array.isArray(answer.tables) ? answer.tables : [];
}

// --- Queries -------------------------------------------------------------------------------

const queryPath = (id: string) => `/api/v1/queries/${encodeURIComponent(id)}`;

export function submitQuery(sql: string, signal?: AbortSignal): Promise<QueryInfo> {
  return requestJson<QueryInfo>("/api/v1/queries", { method: "POST", body: { sql }, signal });
}

export function getQuery(id: string, signal?: AbortSignal): Promise<QueryInfo> {
  return requestJson<QueryInfo>(queryPath(id), { signal });
}

export async function cancelQuery(id: string): Promise<void> {
  await requestJson<unknown>(queryPath(id), { method: "DELETE" });
}

export async function listQueries(limit: number, signal?: AbortSignal): Promise<QueryInfo[]> {
  return (await requestJson<{ queries: QueryInfo[] }>(`/api/v1/queries?limit=${limit}`, { signal }))
    .queries;
}

export function getResults(
  id: string,
  offset: number,
  limit: number,
  signal?: AbortSignal,
): Promise<ResultPage> {
  const params = new URLSearchParams({
    format: "json",
    offset: String(offset),
    limit: String(limit),
  });
  return requestJson<ResultPage>(`${queryPath(id)}/results?${params}`, { signal });
}

/** A link target that downloads a query's whole result as CSV (the browser sends the cookie). */
export function resultsCsvUrl(id: string): string {
  return `${queryPath(id)}/results?format=csv`;
}

// --- Runs ----------------------------------------------------------------------------------

export async function listRuns(
  filter: { failedOnly: boolean; limit: number },
  signal?: AbortSignal,
): Promise<Run[]> {
  const params = new URLSearchParams({ limit: String(filter.limit) });
  if (filter.failedOnly) params.set("failed", "true");
  return (await requestJson<{ runs: Run[] }>(`/api/v1/runs?${params}`, { signal })).runs;
}

export async function getRunLogs(runId: number, signal?: AbortSignal): Promise<string> {
  const response = await send(`/api/v1/runs/${runId}/logs`, { signal });
  return response.text();
}
