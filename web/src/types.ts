// The shapes of the loch server's JSON answers that the console reads (only the fields it uses).

export interface Session {
  user: string;
  csrf_token: string;
}

export interface DatabaseSummary {
  name: string;
  tables: number;
  views: number;
}

export type TableKind = "table" | "view";

export interface TableSummary {
  name: string; // "db.table"
  kind: TableKind;
  rows?: number;
  bytes?: number;
  files?: number;
  comment: string | null;
  schema_version?: number;
  snapshot?: number;
}

export interface Column {
  name: string;
  type: string;
  nullable: boolean;
  comment: string | null;
}

export interface SchemaVersion {
  version: number;
  columns: Column[];
  partition_columns: string[];
  comment: string | null;
}

export interface Snapshot {
  snapshot_id: number;
  parent_id: number | null;
  committed_at: string;
  author: string;
  operation: string;
  message: string;
  schema_version: number;
  summary?: { rows_added?: number; files_added?: number; bytes_added?: number };
}

export interface DataFile {
  key: string;
  format: string;
  compression: string;
  row_count: number;
  size_bytes: number;
  added_snapshot: number;
  partition_values: Record<string, unknown>;
}

export interface TableDetail {
  name: string; // "db.table"
  kind: TableKind;
  comment: string | null;
  columns: Column[];
  rows?: number;
  bytes?: number;
  created_at?: string;
  location?: string;
  schema_version?: number;
  partition_columns?: string[];
  schema_versions?: SchemaVersion[];
  snapshots?: Snapshot[];
  snapshots_total?: number;
  files?: DataFile[];
  files_total?: number;
  sql?: string; // views
  reads?: string[]; // views: the tables they read
}

export interface Freshness {
  table: string;
  last_changed?: string;
  snapshot?: number;
  operation?: string;
  author?: string;
  run_id?: number | null;
  age_seconds?: number;
  expect_every_seconds?: number;
  stale?: boolean;
}

export type QueryState = "QUEUED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface QueryInfo {
  id: string;
  sql: string;
  state: QueryState;
  submitted_at?: string;
  elapsed_ms?: number;
  rows?: number;
  bytes_scanned?: number;
  truncated?: boolean;
  error?: string | { message?: string } | null;
}

export interface ResultColumn {
  name: string;
  type: string;
}

export type Cell = string | number | boolean | null | object;

export interface ResultPage {
  columns: ResultColumn[];
  rows: Cell[][];
  next_offset: number | null;
}

export interface Run {
  run_id: number;
  kind: string;
  name: string;
  state: string; // QUEUED, RUNNING, SUCCEEDED, FAILED, TIMEOUT, CANCELLED
  attempt: number;
  max_attempts: number;
  trigger: string;
  error?: string;
  queued_micros?: number;
  started_micros?: number;
  finished_micros?: number;
}

// --- Saved queries and dashboards ----------------------------------------------------------

export interface SavedQuery {
  name: string;
  version: number;
  sql: string;
  description: string;
  updated_at?: string;
  updated_by?: string;
}

export type ChartKind = "line" | "bar" | "area" | "pie" | "table" | "number";
export type ParameterType = "date" | "text" | "number";

export interface DashboardParameter {
  name: string; // [a-z_][a-z0-9_]{0,62}
  type: ParameterType;
  default?: string | number | null;
}

export interface DashboardTile {
  id: string;
  title: string;
  query: string; // a saved query's name
  chart: ChartKind;
  x?: string; // the column on the x axis (default: the first)
  y?: string | string[]; // the plotted columns (default: the other numeric ones)
}

/** What the console edits and sends in PUT; fields it does not know are kept as they came. */
export interface DashboardDefinition {
  title: string;
  refresh_seconds?: number;
  parameters: DashboardParameter[];
  tiles: DashboardTile[];
}

export interface DashboardSummary {
  name: string;
  version: number;
  title: string;
  tiles: number;
  updated_at?: string;
  updated_by?: string;
}

export interface Dashboard {
  name: string;
  version: number;
  definition: DashboardDefinition;
  updated_at?: string;
  updated_by?: string;
  shared?: boolean;
}

export interface DashboardVersion {
  version: number;
  updated_at?: string;
  updated_by?: string;
  title?: string;
}

/** A tile's answer: its saved query's rows with the parameters filled in, and their freshness. */
export interface TileAnswer {
  columns: ResultColumn[];
  rows: Cell[][];
  truncated?: boolean;
  query?: { id?: string; elapsed_ms?: number; bytes_scanned?: number; finished_at?: string };
  freshness?: { tables?: Freshness[]; stale?: boolean; as_of?: string };
}
