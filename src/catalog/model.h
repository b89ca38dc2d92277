#pragma once
// The catalog's data model: databases hold tables; a table is a sequence of snapshots; a snapshot
// is a set of data files (with partition values and column statistics) read through one schema
// version.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace loch {

// "db.table". Both parts are identifiers: lowercase letters, digits and '_', not starting with a
// digit, at most 64 characters.
struct TableName {
  std::string database;
  std::string table;

  std::string ToString() const { return database + "." + table; }
  bool operator==(const TableName&) const = default;
  auto operator<=>(const TableName&) const = default;

  // Parses "db.table", folding ASCII uppercase to lowercase (as PostgreSQL folds unquoted names,
  // and as queries find tables: "Shop.Orders" is shop.orders); InvalidArgument naming the problem
  // otherwise.
  static absl::StatusOr<TableName> Parse(std::string_view text);
};

// InvalidArgument unless `name` is a valid database or table identifier (see TableName).
absl::Status ValidateIdentifier(std::string_view name, std::string_view what);

struct Column {
  Column() = default;
  Column(std::string name_in, std::string type_in, bool nullable_in = true,
         std::string comment_in = "", nlohmann::json metadata_in = nlohmann::json::object())
      : name(std::move(name_in)),
        type(std::move(type_in)),
        nullable(nullable_in),
        comment(std::move(comment_in)),
        metadata(std::move(metadata_in)) {}

  std::string name;
  std::string type;  // a DuckDB type name, e.g. "BIGINT", "VARCHAR", "STRUCT(a INTEGER)"
  bool nullable = true;
  std::string comment;
  nlohmann::json metadata = nlohmann::json::object();  // free-form, e.g. a detected datetime format

  // The names the column may have in data files: its name, then the names it had before ALTER
  // TABLE ... RENAME COLUMN (metadata "file_names"), most recent first.
  std::vector<std::string> FileNames() const;

  bool operator==(const Column&) const = default;
};

// One immutable version of a table's schema. Partition columns are not stored in the data files;
// their values come from each file's partition values (Hive-style `key=value` folders).
struct Schema {
  int64_t version = 0;  // 1, 2, ... per table; 0 before the catalog assigns it
  std::vector<Column> columns;
  std::vector<Column> partition_columns;
  std::string comment;  // the table's (COMMENT ON TABLE); "" for none

  const Column* Find(std::string_view name) const;
};

struct ColumnStats {
  std::string column;
  std::optional<std::string> min;  // as text, cast from `type`
  std::optional<std::string> max;
  int64_t null_count = -1;  // -1 when unknown
  // The DuckDB type min and max were measured in (the order they follow); "" when unknown (written
  // by a loch before format 7: such bounds are not used to skip files).
  std::string type;
  // The type a Parquet file stores the column in when it is not `type` (a compacted file keeps
  // text the table types as text, measured as the type it reads as); "" when it is `type`.
  std::string stored_type;

  // The type the file stores the column in.
  const std::string& FileType() const { return stored_type.empty() ? type : stored_type; }
};

struct DataFile {
  int64_t file_id = 0;      // assigned by the catalog on commit
  std::string key;          // object key in the lake
  std::string format;       // "parquet", "json" (NDJSON or array), "csv"
  std::string compression;  // "", "gzip", "zstd"
  int64_t size_bytes = 0;
  std::string etag;  // the object's ETag when it was registered ("" if unknown)
  // SHA-256 of the file's bytes as loaded (lowercase hex; "" if unknown): `loch load` skips a file
  // whose content a table already has.
  std::string content_hash;
  int64_t row_count = -1;  // -1 when unknown
  std::map<std::string, std::string> partition_values;
  std::vector<ColumnStats> stats;
  int64_t added_snapshot = 0;  // assigned by the catalog on commit
  // Whether loch wrote the object for this table (a `loch load` copy, CTAS or INSERT output), so
  // that vacuum and DROP TABLE ... PURGE may delete it. Objects it did not write (crawled sources,
  // stream deliveries: the raw zone) are only ever forgotten.
  bool owned = false;
};

struct SnapshotInfo {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_id;  // the table's previous snapshot
  int64_t committed_micros = 0;
  std::string operation;  // "create", "append", "overwrite", "evolve", ...
  std::string author;     // the principal's name
  std::string message;
  nlohmann::json summary = nlohmann::json::object();  // e.g. files/rows added
  int64_t schema_version = 0;
};

struct TableInfo {
  int64_t table_id = 0;
  TableName name;
  std::string location;  // key prefix of the table's files, e.g. "raw/shop/orders/"
  int64_t created_micros = 0;
  int64_t current_snapshot = 0;
  Schema schema;  // the schema of `current_snapshot`
};

// A named, stored query: DATABASE.VIEW reads as the result of `sql`, a SELECT over catalog tables
// (and other views), evaluated when queried.
struct ViewInfo {
  int64_t view_id = 0;  // assigned by the catalog; a replaced view gets a new id
  TableName name;
  std::string sql;
  std::vector<Column> columns;  // the result's columns when the view was defined
  int64_t created_micros = 0;
  std::string author;
  // The tables and views its SQL reads, as named there; nullopt for a view defined before the
  // catalog kept them (format 9): read its SQL to know.
  std::optional<std::vector<TableName>> reads;
};

// A workgroup: the limits and notifications queries submitted under it run with.
struct WorkgroupConfig {
  static constexpr const char* kPrimary = "primary";  // always exists; the default

  std::string name;
  std::string description;
  int64_t timeout_ms = 0;         // per query; 0: the server's default
  int max_concurrent = 0;         // queries of this workgroup running at once; 0: no own limit
  int64_t max_bytes_scanned = 0;  // per query; 0: no limit
  std::string failure_webhook;    // http(s) URL receiving failed queries as JSON; empty: none

  // A workgroup with default limits.
  static WorkgroupConfig Named(std::string name) {
    WorkgroupConfig config;
    config.name = std::move(name);
    return config;
  }
};

// A saved crawler: its name and its configuration, which the crawl module defines (JSON).
struct SavedCrawler {
  std::string name;
  nlohmann::json config;
  int64_t created_micros = 0;
};

// One run of a saved crawler and its report (JSON, defined by the crawl module).
struct CrawlerRun {
  int64_t run_id = 0;
  std::string crawler;
  int64_t started_micros = 0;
  int64_t finished_micros = 0;
  std::string status;  // "SUCCEEDED", "FAILED" (some table could not be updated)
  nlohmann::json report;
};

// One version of an ETL job's definition (JSON, defined by the etl module). Every change to a job
// stores a new version; runs name the version they ran.
struct SavedJob {
  std::string name;
  int64_t version = 0;  // 1, 2, ...: set by the catalog
  nlohmann::json definition;
  int64_t created_micros = 0;  // when this version was stored: set by the catalog
  std::string created_by;      // the principal that stored it
};

// A document of the web console (a saved query, a dashboard, a dashboard's share link): a JSON
// definition kept in versions, like a job's. `kind` says which ("saved_query", "dashboard",
// "share"); the catalog stores the definition as it is given.
struct SavedDocument {
  std::string kind;
  std::string name;
  int64_t version = 0;  // 1, 2, ...: set by the catalog
  nlohmann::json definition;
  int64_t created_micros = 0;  // when this version was stored: set by the catalog
  std::string created_by;      // the principal that stored it
};

// One attempt of a piece of work in the catalog's run store: an ETL job now (later also crawls,
// compactions and deliveries, which is why it has a kind). A run queued by the orchestrator
// (orchestrate/) starts QUEUED; its worker makes it RUNNING and ends it; a failed attempt that may
// be retried is followed by a new run (attempt + 1) that names it in `previous_run_id`, and it
// names that run in `retry_run_id`.
struct RunRecord {
  static constexpr const char* kQueued = "QUEUED";
  static constexpr const char* kRunning = "RUNNING";
  static constexpr const char* kSucceeded = "SUCCEEDED";
  static constexpr const char* kFailed = "FAILED";
  static constexpr const char* kTimeout = "TIMEOUT";
  static constexpr const char* kCancelled = "CANCELLED";
  int64_t run_id = 0;   // set by the catalog
  std::string kind;     // "job"
  std::string name;     // e.g. the job's name
  int64_t version = 0;  // of the job definition it runs
  std::string state = kRunning;
  // What started it, in words ("manual", "table update of raw.clicks at snapshot 12", ...); the
  // details (type, table, snapshot, upstream run, through_snapshot) are in `trigger_detail`.
  std::string trigger = "manual";
  nlohmann::json trigger_detail = nlohmann::json::object();
  int64_t pid = 0;                // of the process running it (the worker)
  int64_t queued_micros = 0;      // 0 for a run that was never queued (started at once)
  int64_t not_before_micros = 0;  // QUEUED: not started before this (a retry's backoff)
  int64_t started_micros = 0;     // 0 until it runs
  int64_t finished_micros = 0;    // 0 while queued or running
  int attempt = 1;
  int max_attempts = 1;         // a FAILED attempt below this is retried by the orchestrator
  int64_t previous_run_id = 0;  // the attempt this one retries (0: the first)
  int64_t retry_run_id = 0;     // the attempt that retries this one (0: none yet)
  bool cancel_requested = false;
  std::vector<std::string> tags;  // the job's dependency tags when it was queued
  nlohmann::json request = nlohmann::json::object();  // the kind's options (a job: full, range)
  std::string error;                                  // FAILED, TIMEOUT, CANCELLED: why
  std::string log_tail;  // the end of its worker's log, kept when it did not succeed
  nlohmann::json report = nlohmann::json::object();  // defined by the kind's module

  bool Finished() const {
    return state == kSucceeded || state == kFailed || state == kTimeout || state == kCancelled;
  }
};

// Which runs Catalog::FindRuns returns: all of these hold; newest first.
struct RunQuery {
  std::string kind;                 // "" any
  std::string name;                 // "" any
  std::vector<std::string> states;  // empty: any
  bool retry_pending = false;  // only FAILED runs below max_attempts, no retry yet, not cancelled
  bool cancel_requested = false;  // only runs whose cancel was requested
  size_t limit = 100;
};

// A delivery stream as the catalog keeps it: its configuration (JSON, defined by the ingest module)
// and how far its write-ahead log has been delivered into the lake.
struct SavedStream {
  std::string name;
  nlohmann::json config;
  // Set by the catalog when the stream is created; tells apart streams that reuse a deleted
  // stream's name (their objects must not overwrite the old ones).
  int64_t created_micros = 0;
  // The highest write-ahead-log sequence whose records are committed in the lake (0: none).
  int64_t delivered_through = 0;
};

// A finished query as the history keeps it, whichever front end ran it (see QueryInfo in
// query/query_service.h; the CLI's queries too).
struct QueryRecord {
  std::string id;
  std::string sql;
  std::string principal;
  std::string workgroup;
  std::string front_end;  // "http", "athena", "postgresql", "cli"
  std::string state;      // "SUCCEEDED", "FAILED", "CANCELLED"
  int64_t submitted_micros = 0;
  int64_t started_micros = 0;  // 0 if it never ran
  int64_t finished_micros = 0;
  int64_t row_count = 0;
  int64_t bytes_scanned = 0;
  int error_code = 0;      // absl::StatusCode of the error (0: none)
  std::string error;       // "" unless FAILED or CANCELLED
  std::string result_key;  // its CSV in the results zone ("" if none)
};

// A consistent view of one table at one snapshot: its schema and exactly the files live at that
// snapshot.
struct TableSnapshot {
  TableInfo table;
  SnapshotInfo snapshot;
  std::vector<DataFile> files;
};

// How often a table is expected to change (a dashboard must not show stale numbers silently).
struct FreshnessExpectation {
  TableName table;
  int64_t every_micros = 0;  // a table with no commit for longer than this is stale
};

// One commit to a table, as Catalog::ListCommits reports it.
struct CommitRecord {
  int64_t snapshot_id = 0;
  TableName table;  // the table's current name (or its last, if dropped)
  int64_t committed_micros = 0;
  std::string operation;
  std::string author;
  nlohmann::json summary = nlohmann::json::object();  // e.g. "run_id" of the job run that made it
};

// The files that became live or stopped being live between two snapshots (from, to].
struct FileChanges {
  std::vector<DataFile> added;
  std::vector<DataFile> removed;
};

}  // namespace loch
