// The loch server's HTTP API: same-origin fetch with the session cookie, the CSRF header on every
// non-GET request, JSON errors turned into ApiError, and any 401 handed to the sign-in flow
// (except for the shared-dashboard calls, which need no session).
import type {
  Dashboard,
  DashboardDefinition,
  DashboardSummary,
  DashboardVersion,
  DatabaseSummary,
  Freshness,
  QueryInfo,
  ResultPage,
  Run,
  SavedQuery,
  Session,
  TableDetail,
  TableSummary,
  TileAnswer,
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
  method?: "GET" | "POST" | "PUT" | "DELETE";
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

// --- Saved queries -------------------------------------------------------------------------

const savedQueryPath = (name: string) => `/api/v1/saved-queries/${encodeURIComponent(name)}`;

export async function listSavedQueries(signal?: AbortSignal): Promise<SavedQuery[]> {
  return (await requestJson<{ saved_queries: SavedQuery[] }>("/api/v1/saved-queries", { signal }))
    .saved_queries;
}

/** Creates (baseVersion 0) or replaces the version the user edited; 409 when it has moved on. */
export function putSavedQuery(
  name: string,
  sql: string,
  baseVersion: number,
  description = "",
): Promise<SavedQuery> {
  return requestJson<SavedQuery>(savedQueryPath(name), {
    method: "PUT",
    body: { sql, description, base_version: baseVersion },
  });
}

export async function deleteSavedQuery(name: string): Promise<void> {
  await requestJson<unknown>(savedQueryPath(name), { method: "DELETE" });
}

// --- Dashboards ----------------------------------------------------------------------------

const dashboardPath = (name: string) => `/api/v1/dashboards/${encodeURIComponent(name)}`;

/** "?p.from=2026-01-01&p.to=…" for a tile's parameter values. */
function tileQuery(values: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) params.set(`p.${name}`, value);
  const text = params.toString();
  return text ? `?${text}` : "";
}

export async function listDashboards(signal?: AbortSignal): Promise<DashboardSummary[]> {
  return (await requestJson<{ dashboards: DashboardSummary[] }>("/api/v1/dashboards", { signal }))
    .dashboards;
}

/** The current definition, or version `version` of it. */
export function getDashboard(
  name: string,
  version?: number,
  signal?: AbortSignal,
): Promise<Dashboard> {
  const query = version === undefined ? "" : `?version=${version}`;
  return requestJson<Dashboard>(dashboardPath(name) + query, { signal });
}

/** Newest first. */
export async function listDashboardVersions(
  name: string,
  signal?: AbortSignal,
): Promise<DashboardVersion[]> {
  return (
    await requestJson<{ versions: DashboardVersion[] }>(`${dashboardPath(name)}/versions`, {
      signal,
    })
  ).versions;
}

/** Saves a new version (baseVersion 0 creates it); 409 when someone else saved since. */
export function putDashboard(
  name: string,
  definition: DashboardDefinition,
  baseVersion: number,
): Promise<Dashboard> {
  return requestJson<Dashboard>(dashboardPath(name), {
    method: "PUT",
    body: { definition, base_version: baseVersion },
  });
}

/** A new read-only link's token. */
export async function shareDashboard(name: string): Promise<string> {
  return (await requestJson<{ token: string }>(`${dashboardPath(name)}/share`, { method: "POST" }))
    .token;
}

/** Stops every share link of the dashboard. */
export async function unshareDashboard(name: string): Promise<void> {
  await requestJson<unknown>(`${dashboardPath(name)}/share`, { method: "DELETE" });
}

/** Runs a saved tile's query with the parameter values (the definition's defaults fill the rest). */
export function runDashboardTile(
  name: string,
  tileId: string,
  values: Record<string, string>,
  signal?: AbortSignal,
): Promise<TileAnswer> {
  const path = `${dashboardPath(name)}/tiles/${encodeURIComponent(tileId)}${tileQuery(values)}`;
  return requestJson<TileAnswer>(path, { signal });
}

// --- Shared dashboards (no session: a 401 here is an answer, not a reason to sign in) -------

const sharedPath = (token: string) => `/api/v1/shared/${encodeURIComponent(token)}`;

export function getSharedDashboard(token: string, signal?: AbortSignal): Promise<Dashboard> {
  return requestJson<Dashboard>(sharedPath(token), { signal, expectUnauthenticated: true });
}

export function runSharedTile(
  token: string,
  tileId: string,
  values: Record<string, string>,
  signal?: AbortSignal,
): Promise<TileAnswer> {
  const path = `${sharedPath(token)}/tiles/${encodeURIComponent(tileId)}${tileQuery(values)}`;
  return requestJson<TileAnswer>(path, { signal, expectUnauthenticated: true });
}
