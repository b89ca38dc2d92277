// SQLite implementation of Catalog. The tables follow DuckLake's idea: every table and data-file
// row carries begin_snapshot/end_snapshot, so "the table at snapshot S" and "changes between
// snapshots" are range predicates. Snapshot ids are global and increasing; each snapshot belongs to
// one table.

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "catalog/catalog.h"
#include "catalog/sqlite_db.h"
#include "catalog/sqlite_documents.h"
#include "catalog/sqlite_jobs.h"
#include "catalog/sqlite_journal.h"
#include "catalog/sqlite_settings.h"
#include "catalog/sqlite_vacuum.h"
#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

// Written to catalog_meta; Migrate() upgrades older catalogs.
constexpr const char* kFormatVersion = "16";

constexpr std::string_view kSchemaDdl = R"sql(
CREATE TABLE IF NOT EXISTS catalog_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS databases(
  database_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_micros INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tables(
  table_id INTEGER PRIMARY KEY,
  database_id INTEGER NOT NULL REFERENCES databases(database_id),
  name TEXT NOT NULL,
  location TEXT NOT NULL,
  created_micros INTEGER NOT NULL,
  current_snapshot INTEGER NOT NULL,
  begin_snapshot INTEGER NOT NULL,
  end_snapshot INTEGER,
  vacuumed_through INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS tables_live_name ON tables(database_id, name)
  WHERE end_snapshot IS NULL;
CREATE TABLE IF NOT EXISTS snapshots(
  snapshot_id INTEGER PRIMARY KEY AUTOINCREMENT,
  table_id INTEGER NOT NULL,
  parent_id INTEGER,
  committed_micros INTEGER NOT NULL,
  operation TEXT NOT NULL,
  author TEXT NOT NULL,
  message TEXT NOT NULL,
  summary TEXT NOT NULL,
  schema_version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS snapshots_by_table ON snapshots(table_id, snapshot_id);
CREATE TABLE IF NOT EXISTS schema_versions(
  table_id INTEGER NOT NULL,
  schema_version INTEGER NOT NULL,
  begin_snapshot INTEGER NOT NULL,
  columns TEXT NOT NULL,
  partition_columns TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(table_id, schema_version));
CREATE TABLE IF NOT EXISTS data_files(
  file_id INTEGER PRIMARY KEY,
  table_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  format TEXT NOT NULL,
  compression TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  etag TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL DEFAULT '',
  row_count INTEGER NOT NULL,
  partition_values TEXT NOT NULL,
  begin_snapshot INTEGER NOT NULL,
  end_snapshot INTEGER,
  owned INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS data_files_by_table ON data_files(table_id, begin_snapshot);
CREATE UNIQUE INDEX IF NOT EXISTS data_files_live_key ON data_files(key) WHERE end_snapshot IS NULL;
CREATE INDEX IF NOT EXISTS data_files_by_key ON data_files(key);
CREATE TABLE IF NOT EXISTS pending_deletes(
  key TEXT PRIMARY KEY,
  size_bytes INTEGER NOT NULL,
  queued_micros INTEGER NOT NULL,
  not_before_micros INTEGER NOT NULL DEFAULT 0,
  same_as TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS views(
  view_id INTEGER PRIMARY KEY AUTOINCREMENT,
  database_id INTEGER NOT NULL REFERENCES databases(database_id),
  name TEXT NOT NULL,
  sql TEXT NOT NULL,
  columns TEXT NOT NULL,
  created_micros INTEGER NOT NULL,
  author TEXT NOT NULL,
  reads TEXT,
  UNIQUE(database_id, name));
CREATE TABLE IF NOT EXISTS workgroups(
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS freshness(
  database TEXT NOT NULL,
  name TEXT NOT NULL,
  every_micros INTEGER NOT NULL,
  PRIMARY KEY(database, name));
CREATE TABLE IF NOT EXISTS crawlers(
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  created_micros INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS crawler_runs(
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  crawler TEXT NOT NULL,
  started_micros INTEGER NOT NULL,
  finished_micros INTEGER NOT NULL,
  status TEXT NOT NULL,
  report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS crawler_runs_by_crawler ON crawler_runs(crawler, run_id);
CREATE TABLE IF NOT EXISTS streams(
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  created_micros INTEGER NOT NULL,
  delivered_through INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS job_versions(
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_micros INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY(name, version));
CREATE TABLE IF NOT EXISTS documents(
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  definition TEXT NOT NULL,
  created_micros INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(kind, name, version));
CREATE TABLE IF NOT EXISTS runs(
  run_id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  trigger TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_micros INTEGER NOT NULL,
  finished_micros INTEGER NOT NULL,
  error TEXT NOT NULL,
  report TEXT NOT NULL,
  trigger_detail TEXT NOT NULL DEFAULT '{}',
  queued_micros INTEGER NOT NULL DEFAULT 0,
  not_before_micros INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  previous_run_id INTEGER NOT NULL DEFAULT 0,
  retry_run_id INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  tags TEXT NOT NULL DEFAULT '[]',
  request TEXT NOT NULL DEFAULT '{}',
  log_tail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS runs_by_name ON runs(kind, name, run_id);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs(state, run_id);
CREATE TABLE IF NOT EXISTS query_history(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  sql TEXT NOT NULL,
  principal TEXT NOT NULL,
  workgroup TEXT NOT NULL,
  front_end TEXT NOT NULL,
  state TEXT NOT NULL,
  submitted_micros INTEGER NOT NULL,
  started_micros INTEGER NOT NULL,
  finished_micros INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  bytes_scanned INTEGER NOT NULL,
  error_code INTEGER NOT NULL,
  error TEXT NOT NULL,
  result_key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS file_column_stats(
  file_id INTEGER NOT NULL,
  column_name TEXT NOT NULL,
  min_value TEXT,
  max_value TEXT,
  null_count INTEGER NOT NULL,
  value_type TEXT NOT NULL DEFAULT '',
  stored_type TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(file_id, column_name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal_state(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  timeline TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  last_hash TEXT NOT NULL,
  schema TEXT NOT NULL);
)sql";

// The run store's columns added by format 15 (the orchestrator), in the order of kSchemaDdl.
constexpr std::pair<const char*, const char*> kRunColumnsOfFormat15[] = {
    {"trigger_detail", "TEXT NOT NULL DEFAULT '{}'"},
    {"queued_micros", "INTEGER NOT NULL DEFAULT 0"},
    {"not_before_micros", "INTEGER NOT NULL DEFAULT 0"},
    {"attempt", "INTEGER NOT NULL DEFAULT 1"},
    {"max_attempts", "INTEGER NOT NULL DEFAULT 1"},
    {"previous_run_id", "INTEGER NOT NULL DEFAULT 0"},
    {"retry_run_id", "INTEGER NOT NULL DEFAULT 0"},
    {"cancel_requested", "INTEGER NOT NULL DEFAULT 0"},
    {"tags", "TEXT NOT NULL DEFAULT '[]'"},
    {"request", "TEXT NOT NULL DEFAULT '{}'"},
    {"log_tail", "TEXT NOT NULL DEFAULT ''"},
};

// Text the query history keeps: at most `max_bytes` (then "..."), valid UTF-8 (invalid bytes and
// NULs become U+FFFD), so that every reader (DuckDB's loch.query_history among them) takes it.
std::string HistoryText(std::string_view text, size_t max_bytes) {
  std::string kept(text.substr(0, max_bytes));
  for (size_t at = kept.find('\0'); at != std::string::npos; at = kept.find('\0', at))
    kept.replace(at, 1, "\xEF\xBF\xBD");
  kept = nlohmann::json(kept).dump(-1, ' ', false,
                                   nlohmann::json::error_handler_t::replace);  // a JSON string
  kept = nlohmann::json::parse(kept).get<std::string>();
  if (text.size() > max_bytes) kept += "...";
  return kept;
}

nlohmann::json ColumnsToJson(const std::vector<Column>& columns) {
  nlohmann::json out = nlohmann::json::array();
  for (const Column& c : columns) {
    out.push_back({{"name", c.name},
                   {"type", c.type},
                   {"nullable", c.nullable},
                   {"comment", c.comment},
                   {"metadata", c.metadata}});
  }
  return out;
}

std::vector<Column> ColumnsFromJson(const std::string& text) {
  std::vector<Column> columns;
  for (const auto& c : nlohmann::json::parse(text)) {
    columns.push_back(Column{c.at("name"), c.at("type"), c.value("nullable", true),
                             c.value("comment", ""),
                             c.value("metadata", nlohmann::json::object())});
  }
  return columns;
}

absl::Status ValidateSchema(const Schema& schema) {
  if (schema.columns.empty() && schema.partition_columns.empty()) {
    return absl::InvalidArgumentError("a table needs at least one column");
  }
  std::map<std::string, int> seen;
  for (const auto* list : {&schema.columns, &schema.partition_columns}) {
    for (const Column& column : *list) {
      if (column.name.empty()) return absl::InvalidArgumentError("a column name is empty");
      if (column.type.empty()) {
        return absl::InvalidArgumentError(fmt::format("column \"{}\" has no type", column.name));
      }
      if (++seen[column.name] > 1) {
        return absl::InvalidArgumentError(fmt::format("column \"{}\" appears twice", column.name));
      }
    }
  }
  return absl::OkStatus();
}

class SqliteCatalog final : public Catalog {
 public:
  // `journal` (nullptr: none) outlives the catalog and receives every write transaction.
  SqliteCatalog(sqlite3* db, CommitJournal* journal)
      : db_(db),
        journal_(journal),
        settings_(db, mu_, journal),
        vacuum_(db, mu_, journal),
        jobs_(db, mu_, journal),
        documents_(db, mu_, journal) {}
  ~SqliteCatalog() override { sqlite3_close_v2(db_); }

  absl::Status Initialize() {
    // Before the first statement: switching to WAL takes a lock too, and many processes (the
    // server, its workers, the CLI) open the catalog at once.
    sqlite3_busy_timeout(db_, 10000);
    RETURN_IF_ERROR(sqlite::Exec(db_, "PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(sqlite::Exec(db_, "PRAGMA synchronous=FULL"));
    Transaction txn(db_, /*write=*/true);
    RETURN_IF_ERROR(txn.status());
    RETURN_IF_ERROR(sqlite::Exec(db_, kSchemaDdl));
    RETURN_IF_ERROR(Migrate());
    return txn.Commit();
  }

  // Brings a catalog written by an earlier loch up to the current format. Caller holds a write
  // transaction. Format 2 added data_files.etag; formats 3-6 the views, workgroups, crawler and
  // stream tables (created by the DDL); format 7 file_column_stats.value_type (statistics written
  // before it have no type, and pruning does not trust them); format 8 data_files.content_hash
  // (files registered before it have none: a load cannot tell it has them); format 9 views.reads
  // (NULL for views defined before it: unknown); format 10 schema_versions.comment and the
  // query_history table (created by the DDL); format 11 vacuum: tables.vacuumed_through,
  // data_files.owned (set on upgrade for the files loads, CTAS and INSERT wrote, the only ones loch
  // wrote before it) and the pending_deletes table; format 12 the job_versions and runs tables
  // (created by the DDL); format 13 compactions: pending_deletes.not_before_micros and same_as,
  // file_column_stats.stored_type, and snapshots
  // of operation "compact" that ChangesBetween skips (an older loch would read them as changes, so
  // it must refuse the catalog); format 14 the journal_state table (created by the DDL; an older
  // loch would commit without journaling); format 15 the orchestrator's columns of runs
  // (queued runs, attempts and retries, triggers, cancel requests; an older loch would take a
  // QUEUED run for one of its own) and the freshness table (created by the DDL); format 16 the
  // documents table of the web console (created by the DDL; a deletion is a row of its own). A
  // catalog of a newer format is refused: this loch would not know what it holds.
  absl::Status Migrate() {
    Statement version(db_, "SELECT value FROM catalog_meta WHERE key = 'format_version'");
    const bool stored = version.Step();
    RETURN_IF_ERROR(version.status());
    const int64_t current = *ParseInteger(kFormatVersion);
    const int64_t found = stored ? ParseInteger(version.Text(0)).value_or(0) : 0;  // 0: new
    if (found > current) {
      return absl::FailedPreconditionError(
          fmt::format("the catalog has format {}, newer than this loch's ({}): use a newer loch",
                      found, current));
    }
    RETURN_IF_ERROR(AddColumnIfMissing("data_files", "etag", "TEXT NOT NULL DEFAULT ''").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("data_files", "content_hash", "TEXT NOT NULL DEFAULT ''").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("file_column_stats", "value_type", "TEXT NOT NULL DEFAULT ''").status());
    RETURN_IF_ERROR(AddColumnIfMissing("views", "reads", "TEXT").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("schema_versions", "comment", "TEXT NOT NULL DEFAULT ''").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("tables", "vacuumed_through", "INTEGER NOT NULL DEFAULT 0").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("data_files", "owned", "INTEGER NOT NULL DEFAULT 0").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("file_column_stats", "stored_type", "TEXT NOT NULL DEFAULT ''")
            .status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("pending_deletes", "same_as", "TEXT NOT NULL DEFAULT ''").status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("pending_deletes", "not_before_micros", "INTEGER NOT NULL DEFAULT 0")
            .status());
    RETURN_IF_ERROR(
        AddColumnIfMissing("documents", "deleted", "INTEGER NOT NULL DEFAULT 0").status());
    for (const auto& [column, definition] : kRunColumnsOfFormat15) {
      RETURN_IF_ERROR(AddColumnIfMissing("runs", column, definition).status());
    }
    // The columns are checked at every open, the current format too: a development build may have
    // stored the current number before the format's last column was added.
    if (found == current) return absl::OkStatus();
    if (found < 11) {
      RETURN_IF_ERROR(sqlite::Exec(db_, R"sql(
        UPDATE data_files SET owned = 1 WHERE begin_snapshot IN (
          SELECT snapshot_id FROM snapshots WHERE message LIKE 'loch load:%'
            OR message LIKE 'CREATE TABLE (%' OR message LIKE 'INSERT (%'))sql"));
    }
    Statement update(db_, "INSERT OR REPLACE INTO catalog_meta VALUES ('format_version', ?)");
    return update.Bind(1, kFormatVersion).Run();
  }

  // Adds `column` to `table` in an older catalog; whether it was missing. Arguments are loch's own
  // constants, never input.
  absl::StatusOr<bool> AddColumnIfMissing(const std::string& table, const std::string& column,
                                          const std::string& definition) {
    Statement present(
        db_, fmt::format("SELECT count(*) FROM pragma_table_info('{}') WHERE name = '{}'", table,
                         column));
    if (!present.Step()) return present.status();
    if (present.Int(0) > 0) return false;
    RETURN_IF_ERROR(sqlite::Exec(
        db_, fmt::format("ALTER TABLE {} ADD COLUMN {} {}", table, column, definition)));
    return true;
  }

  absl::StatusOr<std::vector<std::string>> ListDatabases(const Principal&) override {
    std::lock_guard lock(mu_);
    return DatabaseNames();
  }

  absl::Status CreateDatabase(const Principal&, std::string_view name,
                              bool if_not_exists) override {
    RETURN_IF_ERROR(ValidateIdentifier(name, "database"));
    std::lock_guard lock(mu_);
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    Statement insert(
        db_, "INSERT INTO databases(name, created_micros) VALUES (?, ?) ON CONFLICT DO NOTHING");
    RETURN_IF_ERROR(insert.Bind(1, name).Bind(2, NowMicros()).Run());
    if (sqlite3_changes(db_) == 0 && !if_not_exists) {
      return absl::AlreadyExistsError(fmt::format("database \"{}\" already exists", name));
    }
    return txn.Commit();
  }

  absl::StatusOr<std::vector<TableInfo>> ListTables(
      const Principal&, const std::optional<std::string>& database) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    if (database.has_value()) RETURN_IF_ERROR(DatabaseId(*database).status());
    Statement query(db_, R"sql(
      SELECT t.table_id, d.name, t.name, t.location, t.created_micros, t.current_snapshot
      FROM tables t JOIN databases d USING (database_id)
      WHERE t.end_snapshot IS NULL AND (?1 IS NULL OR d.name = ?1)
      ORDER BY d.name, t.name)sql");
    query.Bind(1, database);
    std::vector<TableInfo> tables;
    while (query.Step()) tables.push_back(TableFromRow(query));
    RETURN_IF_ERROR(query.status());
    for (TableInfo& table : tables) {
      ASSIGN_OR_RETURN(table.schema, SchemaAt(table.table_id, table.current_snapshot));
    }
    RETURN_IF_ERROR(txn.Commit());
    return tables;
  }

  absl::StatusOr<TableSnapshot> ReadTable(const Principal&, const TableName& name,
                                          std::optional<int64_t> at_snapshot) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    TableSnapshot result;
    ASSIGN_OR_RETURN(result.table, FindTable(name, at_snapshot));
    const int64_t at = at_snapshot.value_or(result.table.current_snapshot);
    RETURN_IF_ERROR(RefuseVacuumed(result.table, at, "read"));
    ASSIGN_OR_RETURN(result.snapshot, LatestSnapshotAtOrBefore(result.table.table_id, at));
    ASSIGN_OR_RETURN(result.table.schema, SchemaAt(result.table.table_id, at));
    ASSIGN_OR_RETURN(
        result.files,
        FilesWhere(result.table.table_id,
                   "begin_snapshot <= ?2 AND (end_snapshot IS NULL OR end_snapshot > ?2)", at, at));
    RETURN_IF_ERROR(txn.Commit());
    return result;
  }

  absl::StatusOr<CommitResult> Commit(const Principal& who, const TableCommit& commit) override {
    RETURN_IF_ERROR(ValidateIdentifier(commit.table.database, "database"));
    RETURN_IF_ERROR(ValidateIdentifier(commit.table.table, "table"));
    if (commit.new_schema.has_value()) RETURN_IF_ERROR(ValidateSchema(*commit.new_schema));
    const bool creating = commit.base_snapshot == TableCommit::kCreate;
    if (creating && (!commit.new_schema.has_value() || commit.location.empty())) {
      return absl::InvalidArgumentError("creating a table needs a schema and a location");
    }
    CommitEvent event;
    CommitResult result;
    {
      std::lock_guard lock(mu_);
      JournaledTransaction txn(db_, journal_);
      RETURN_IF_ERROR(txn.status());
      ASSIGN_OR_RETURN(result, CommitLocked(who, commit));
      RETURN_IF_ERROR(txn.Commit());
      event = CommitEvent{
          creating ? CommitEvent::Kind::kTableCreated : CommitEvent::Kind::kSnapshotAdded,
          commit.table,
          result.snapshot_id,
          result.schema_version,
          commit.new_schema.has_value(),
          commit.operation};
    }
    Publish(event);
    return result;
  }

  absl::StatusOr<CommitResult> DropTable(const Principal& who, const TableName& name) override {
    CommitResult result;
    {
      std::lock_guard lock(mu_);
      JournaledTransaction txn(db_, journal_);
      RETURN_IF_ERROR(txn.status());
      ASSIGN_OR_RETURN(TableInfo table, FindTable(name, std::nullopt));
      Statement snapshot(db_,
                         "INSERT INTO snapshots(table_id, parent_id, committed_micros, operation, "
                         "author, message, "
                         "summary, schema_version) VALUES (?, ?, ?, 'drop', ?, '', '{}', ?)");
      RETURN_IF_ERROR(snapshot.Bind(1, table.table_id)
                          .Bind(2, table.current_snapshot)
                          .Bind(3, NowMicros())
                          .Bind(4, who.name)
                          .Bind(5, table.schema.version)
                          .Run());
      result = CommitResult{sqlite3_last_insert_rowid(db_), table.schema.version};
      Statement end_files(
          db_,
          "UPDATE data_files SET end_snapshot = ? WHERE table_id = ? AND end_snapshot IS NULL");
      RETURN_IF_ERROR(end_files.Bind(1, result.snapshot_id).Bind(2, table.table_id).Run());
      Statement end_table(
          db_, "UPDATE tables SET end_snapshot = ?, current_snapshot = ? WHERE table_id = ?");
      RETURN_IF_ERROR(end_table.Bind(1, result.snapshot_id)
                          .Bind(2, result.snapshot_id)
                          .Bind(3, table.table_id)
                          .Run());
      RETURN_IF_ERROR(txn.Commit());
    }
    Publish(CommitEvent{CommitEvent::Kind::kTableDropped, name, result.snapshot_id,
                        result.schema_version, false, "drop"});
    return result;
  }

  absl::StatusOr<CommitResult> RenameTable(const Principal& who, const TableName& from,
                                           const TableName& to) override {
    CommitResult result;
    {
      std::lock_guard lock(mu_);
      JournaledTransaction txn(db_, journal_);
      RETURN_IF_ERROR(txn.status());
      ASSIGN_OR_RETURN(TableInfo table, FindTable(from, std::nullopt));
      ASSIGN_OR_RETURN(int64_t database_id, DatabaseId(to.database));
      if (FindTable(to, std::nullopt).ok())
        return absl::AlreadyExistsError(fmt::format("table {} already exists", to.ToString()));
      if (FindView(to).ok())
        return absl::AlreadyExistsError(fmt::format("{} already exists as a view", to.ToString()));
      Statement snapshot(db_,
                         "INSERT INTO snapshots(table_id, parent_id, committed_micros, operation, "
                         "author, message, summary, schema_version) "
                         "VALUES (?, ?, ?, 'rename', ?, ?, '{}', ?)");
      RETURN_IF_ERROR(
          snapshot.Bind(1, table.table_id)
              .Bind(2, table.current_snapshot)
              .Bind(3, NowMicros())
              .Bind(4, who.name)
              .Bind(5, fmt::format("renamed from {} to {}", from.ToString(), to.ToString()))
              .Bind(6, table.schema.version)
              .Run());
      result = CommitResult{sqlite3_last_insert_rowid(db_), table.schema.version};
      Statement rename(db_,
                       "UPDATE tables SET database_id = ?, name = ?, current_snapshot = ? "
                       "WHERE table_id = ?");
      RETURN_IF_ERROR(rename.Bind(1, database_id)
                          .Bind(2, to.table)
                          .Bind(3, result.snapshot_id)
                          .Bind(4, table.table_id)
                          .Run());
      RETURN_IF_ERROR(txn.Commit());
    }
    Publish(CommitEvent{CommitEvent::Kind::kTableRenamed, to, result.snapshot_id,
                        result.schema_version, false, "rename", from});
    return result;
  }

  absl::Status RecordQuery(const Principal&, const QueryRecord& query) override {
    std::lock_guard lock(mu_);
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    Statement insert(db_,
                     "INSERT OR REPLACE INTO query_history(id, sql, principal, workgroup, "
                     "front_end, state, submitted_micros, started_micros, finished_micros, "
                     "row_count, bytes_scanned, error_code, error, result_key) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    RETURN_IF_ERROR(insert.Bind(1, query.id)
                        .Bind(2, HistoryText(query.sql, kQueryHistoryTextBytes))
                        .Bind(3, query.principal)
                        .Bind(4, query.workgroup)
                        .Bind(5, query.front_end)
                        .Bind(6, query.state)
                        .Bind(7, query.submitted_micros)
                        .Bind(8, query.started_micros)
                        .Bind(9, query.finished_micros)
                        .Bind(10, query.row_count)
                        .Bind(11, query.bytes_scanned)
                        .Bind(12, static_cast<int64_t>(query.error_code))
                        .Bind(13, HistoryText(query.error, kQueryHistoryTextBytes))
                        .Bind(14, query.result_key)
                        .Run());
    Statement trim(
        db_, "DELETE FROM query_history WHERE seq <= (SELECT max(seq) FROM query_history) - ?");
    RETURN_IF_ERROR(trim.Bind(1, kQueryHistoryKept).Run());
    return txn.Commit();
  }

  absl::StatusOr<std::vector<QueryRecord>> ListQueries(
      const Principal&, size_t limit, const std::optional<std::string>& id) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    Statement query(db_,
                    "SELECT id, sql, principal, workgroup, front_end, state, submitted_micros, "
                    "started_micros, finished_micros, row_count, bytes_scanned, error_code, error, "
                    "result_key "
                    "FROM query_history WHERE ?1 IS NULL OR id = ?1 ORDER BY seq DESC LIMIT ?2");
    if (id.has_value())
      query.Bind(1, *id);
    else
      query.BindNull(1);
    query.Bind(2, static_cast<int64_t>(std::min<size_t>(limit, kQueryHistoryKept)));
    std::vector<QueryRecord> records;
    while (query.Step()) {
      records.push_back(QueryRecord{
          query.Text(0), query.Text(1), query.Text(2), query.Text(3), query.Text(4), query.Text(5),
          query.Int(6), query.Int(7), query.Int(8), query.Int(9), query.Int(10),
          static_cast<int>(query.Int(11)), query.Text(12), query.Text(13)});
    }
    RETURN_IF_ERROR(query.status());
    return records;
  }

  absl::StatusOr<std::vector<DataFile>> FilesToPurge(const Principal&,
                                                     const TableName& name) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(TableInfo table, FindTable(name, std::nullopt));
    Statement query(db_,
                    "SELECT f.key, max(f.size_bytes) FROM data_files f WHERE f.table_id = ?1 AND "
                    "NOT EXISTS (SELECT 1 FROM data_files g WHERE g.key = f.key AND "
                    "(g.table_id <> ?1 OR g.owned = 0)) GROUP BY f.key ORDER BY f.key");
    query.Bind(1, table.table_id);
    std::vector<DataFile> files;
    while (query.Step()) {
      DataFile file;
      file.key = query.Text(0);
      file.size_bytes = query.Int(1);
      files.push_back(std::move(file));
    }
    RETURN_IF_ERROR(query.status());
    return files;
  }

  absl::StatusOr<ViewInfo> CreateView(const Principal& who, const ViewInfo& view,
                                      bool or_replace) override {
    RETURN_IF_ERROR(ValidateIdentifier(view.name.database, "database"));
    RETURN_IF_ERROR(ValidateIdentifier(view.name.table, "view"));
    std::lock_guard lock(mu_);
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(int64_t database_id, DatabaseId(view.name.database));
    if (FindTable(view.name, std::nullopt).ok()) {
      return absl::AlreadyExistsError(
          fmt::format("{} already exists as a table", view.name.ToString()));
    }
    if (FindView(view.name).ok()) {
      if (!or_replace) {
        return absl::AlreadyExistsError(
            fmt::format("view {} already exists", view.name.ToString()));
      }
      Statement remove(db_, "DELETE FROM views WHERE database_id = ? AND name = ?");
      RETURN_IF_ERROR(remove.Bind(1, database_id).Bind(2, view.name.table).Run());
    }
    ViewInfo stored = view;
    stored.created_micros = NowMicros();
    stored.author = who.name;
    Statement insert(db_,
                     "INSERT INTO views(database_id, name, sql, columns, created_micros, author, "
                     "reads) VALUES (?, ?, ?, ?, ?, ?, ?)");
    insert.Bind(1, database_id)
        .Bind(2, view.name.table)
        .Bind(3, view.sql)
        .Bind(4, ColumnsToJson(view.columns).dump())
        .Bind(5, stored.created_micros)
        .Bind(6, stored.author);
    if (view.reads.has_value()) {
      nlohmann::json reads = nlohmann::json::array();
      for (const TableName& name : *view.reads) reads.push_back(name.ToString());
      insert.Bind(7, reads.dump());
    } else {
      insert.BindNull(7);
    }
    RETURN_IF_ERROR(insert.Run());
    stored.view_id = sqlite3_last_insert_rowid(db_);
    RETURN_IF_ERROR(txn.Commit());
    return stored;
  }

  absl::Status DropView(const Principal&, const TableName& name) override {
    std::lock_guard lock(mu_);
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(ViewInfo view, FindView(name));
    Statement remove(db_, "DELETE FROM views WHERE view_id = ?");
    RETURN_IF_ERROR(remove.Bind(1, view.view_id).Run());
    return txn.Commit();
  }

  absl::StatusOr<ViewInfo> GetView(const Principal&, const TableName& name) override {
    std::lock_guard lock(mu_);
    return FindView(name);
  }

  absl::StatusOr<std::vector<ViewInfo>> ListViews(
      const Principal&, const std::optional<std::string>& database) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    if (database.has_value()) RETURN_IF_ERROR(DatabaseId(*database).status());
    Statement query(db_, std::string(kViewColumns) +
                             " WHERE ?1 IS NULL OR d.name = ?1 ORDER BY d.name, v.name");
    if (database.has_value()) {
      query.Bind(1, *database);
    } else {
      query.BindNull(1);
    }
    std::vector<ViewInfo> views;
    while (query.Step()) views.push_back(ViewFromRow(query));
    RETURN_IF_ERROR(query.status());
    return views;
  }

  absl::Status PutWorkgroup(const Principal&, const WorkgroupConfig& config) override {
    return settings_.PutWorkgroup(config);
  }
  absl::StatusOr<WorkgroupConfig> GetWorkgroup(const Principal&, std::string_view name) override {
    return settings_.GetWorkgroup(name);
  }
  absl::StatusOr<std::vector<WorkgroupConfig>> ListWorkgroups(const Principal&) override {
    return settings_.ListWorkgroups();
  }
  absl::Status DeleteWorkgroup(const Principal&, std::string_view name) override {
    return settings_.DeleteWorkgroup(name);
  }
  absl::Status PutCrawler(const Principal&, const SavedCrawler& crawler, bool replace) override {
    return settings_.PutCrawler(crawler, replace);
  }
  absl::StatusOr<SavedCrawler> GetCrawler(const Principal&, std::string_view name) override {
    return settings_.GetCrawler(name);
  }
  absl::StatusOr<std::vector<SavedCrawler>> ListCrawlers(const Principal&) override {
    return settings_.ListCrawlers();
  }
  absl::Status DeleteCrawler(const Principal&, std::string_view name) override {
    return settings_.DeleteCrawler(name);
  }
  absl::StatusOr<int64_t> AddCrawlerRun(const Principal&, const CrawlerRun& run) override {
    return settings_.AddCrawlerRun(run);
  }
  absl::StatusOr<std::vector<CrawlerRun>> ListCrawlerRuns(const Principal&,
                                                          std::string_view crawler,
                                                          size_t limit) override {
    return settings_.ListCrawlerRuns(crawler, limit);
  }
  absl::StatusOr<SavedStream> CreateStream(const Principal&, const SavedStream& stream) override {
    return settings_.CreateStream(stream);
  }
  absl::StatusOr<SavedStream> GetStream(const Principal&, std::string_view name) override {
    return settings_.GetStream(name);
  }
  absl::StatusOr<std::vector<SavedStream>> ListStreams(const Principal&) override {
    return settings_.ListStreams();
  }
  absl::Status DeleteStream(const Principal&, std::string_view name) override {
    return settings_.DeleteStream(name);
  }
  absl::Status SetStreamDelivered(const Principal&, std::string_view name, int64_t created_micros,
                                  int64_t sequence) override {
    return settings_.SetStreamDelivered(name, created_micros, sequence);
  }

  absl::StatusOr<SavedJob> PutJob(const Principal& who, const SavedJob& job,
                                  bool replace) override {
    SavedJob stored = job;
    stored.created_by = who.name;
    return jobs_.PutJob(stored, replace);
  }
  absl::StatusOr<SavedJob> GetJob(const Principal&, std::string_view name,
                                  std::optional<int64_t> version) override {
    return jobs_.GetJob(name, version);
  }
  absl::StatusOr<std::vector<SavedJob>> ListJobs(const Principal&) override {
    return jobs_.ListJobs();
  }
  absl::StatusOr<std::vector<SavedJob>> ListJobVersions(const Principal&,
                                                        std::string_view name) override {
    return jobs_.ListJobVersions(name);
  }
  absl::Status DeleteJob(const Principal&, std::string_view name) override {
    return jobs_.DeleteJob(name);
  }
  absl::StatusOr<SavedDocument> PutDocument(const Principal& who, const SavedDocument& document,
                                            int64_t base_version) override {
    SavedDocument stored = document;
    stored.created_by = who.name;
    return documents_.Put(stored, base_version);
  }
  absl::StatusOr<SavedDocument> GetDocument(const Principal&, std::string_view kind,
                                            std::string_view name,
                                            std::optional<int64_t> version) override {
    return documents_.Get(kind, name, version);
  }
  absl::StatusOr<std::vector<SavedDocument>> ListDocuments(const Principal&,
                                                           std::string_view kind) override {
    return documents_.List(kind);
  }
  absl::StatusOr<std::vector<SavedDocument>> ListDocumentVersions(const Principal&,
                                                                  std::string_view kind,
                                                                  std::string_view name) override {
    return documents_.Versions(kind, name);
  }
  absl::Status DeleteDocument(const Principal&, std::string_view kind,
                              std::string_view name) override {
    return documents_.Delete(kind, name);
  }
  absl::StatusOr<int64_t> StartRun(const Principal&, const RunRecord& run) override {
    return jobs_.StartRun(run);
  }
  absl::StatusOr<int64_t> QueueRun(const Principal&, const RunRecord& run,
                                   int64_t retry_of) override {
    return jobs_.QueueRun(run, retry_of);
  }
  absl::Status UpdateRun(const Principal&, const RunRecord& run,
                         std::string_view expected_state) override {
    return jobs_.UpdateRun(run, expected_state);
  }
  absl::StatusOr<RunRecord> RequestCancel(const Principal&, int64_t run_id) override {
    return jobs_.RequestCancel(run_id);
  }
  absl::StatusOr<std::vector<RunRecord>> FindRuns(const Principal&,
                                                  const RunQuery& query) override {
    return jobs_.FindRuns(query);
  }
  absl::StatusOr<RunRecord> GetRun(const Principal&, int64_t run_id) override {
    return jobs_.GetRun(run_id);
  }

  absl::Status SetFreshness(const Principal&, const TableName& table,
                            int64_t every_micros) override {
    if (every_micros < 0) return absl::InvalidArgumentError("a freshness period is positive");
    std::lock_guard lock(mu_);
    if (every_micros > 0) RETURN_IF_ERROR(FindTable(table, std::nullopt).status());
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    if (every_micros == 0) {
      Statement remove(db_, "DELETE FROM freshness WHERE database = ? AND name = ?");
      RETURN_IF_ERROR(remove.Bind(1, table.database).Bind(2, table.table).Run());
    } else {
      Statement upsert(db_, "INSERT OR REPLACE INTO freshness VALUES (?, ?, ?)");
      RETURN_IF_ERROR(
          upsert.Bind(1, table.database).Bind(2, table.table).Bind(3, every_micros).Run());
    }
    return txn.Commit();
  }
  absl::StatusOr<std::vector<FreshnessExpectation>> ListFreshness(const Principal&) override {
    std::lock_guard lock(mu_);
    Statement query(db_, "SELECT database, name, every_micros FROM freshness ORDER BY 1, 2");
    std::vector<FreshnessExpectation> out;
    while (query.Step()) {
      out.push_back(FreshnessExpectation{TableName{query.Text(0), query.Text(1)}, query.Int(2)});
    }
    RETURN_IF_ERROR(query.status());
    return out;
  }

  absl::StatusOr<std::vector<CommitRecord>> ListCommits(const Principal&, int64_t after,
                                                        size_t limit) override {
    std::lock_guard lock(mu_);
    Statement query(db_,
                    "SELECT s.snapshot_id, d.name, t.name, s.committed_micros, s.operation, "
                    "s.author, s.summary FROM snapshots s JOIN tables t ON t.table_id = s.table_id "
                    "JOIN databases d ON d.database_id = t.database_id WHERE s.snapshot_id > ? "
                    "ORDER BY s.snapshot_id LIMIT ?");
    query.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    std::vector<CommitRecord> commits;
    while (query.Step()) {
      commits.push_back(CommitRecord{query.Int(0), TableName{query.Text(1), query.Text(2)},
                                     query.Int(3), query.Text(4), query.Text(5),
                                     nlohmann::json::parse(query.Text(6), nullptr, false)});
      if (commits.back().summary.is_discarded()) commits.back().summary = nlohmann::json::object();
    }
    RETURN_IF_ERROR(query.status());
    return commits;
  }
  absl::StatusOr<int64_t> LatestSnapshotId(const Principal&) override {
    std::lock_guard lock(mu_);
    Statement query(db_, "SELECT coalesce(max(snapshot_id), 0) FROM snapshots");
    if (!query.Step()) return query.status();
    return query.Int(0);
  }

  absl::StatusOr<std::vector<SnapshotInfo>> ListSnapshots(const Principal&,
                                                          const TableName& name) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(TableInfo table, FindTable(name, std::nullopt));
    Statement query(db_,
                    std::string(kSnapshotColumns) + " WHERE table_id = ? ORDER BY snapshot_id");
    query.Bind(1, table.table_id);
    std::vector<SnapshotInfo> snapshots;
    while (query.Step()) snapshots.push_back(SnapshotFromRow(query));
    RETURN_IF_ERROR(query.status());
    RETURN_IF_ERROR(txn.Commit());
    return snapshots;
  }

  absl::StatusOr<std::vector<Schema>> ListSchemas(const Principal&,
                                                  const TableName& name) override {
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(TableInfo table, FindTable(name, std::nullopt));
    Statement query(
        db_,
        "SELECT schema_version, columns, partition_columns, comment FROM schema_versions "
        "WHERE table_id = ? ORDER BY schema_version");
    query.Bind(1, table.table_id);
    std::vector<Schema> schemas;
    while (query.Step()) schemas.push_back(SchemaFromRow(query));
    RETURN_IF_ERROR(query.status());
    RETURN_IF_ERROR(txn.Commit());
    return schemas;
  }

  absl::StatusOr<FileChanges> ChangesBetween(const Principal&, const TableName& name, int64_t from,
                                             int64_t to) override {
    if (from > to) {
      return absl::InvalidArgumentError(
          fmt::format("snapshot range ({}, {}] is empty: from > to", from, to));
    }
    std::lock_guard lock(mu_);
    Transaction txn(db_, /*write=*/false);
    RETURN_IF_ERROR(txn.status());
    ASSIGN_OR_RETURN(TableInfo table, FindTable(name, std::nullopt));
    // From the start (0): every file added up to `to` (those also removed by then included) that
    // vacuum has not forgotten; complete only when the table can be read at `to`.
    RETURN_IF_ERROR(RefuseVacuumed(table, from == 0 ? to : from, "diffed"));
    FileChanges changes;
    // The table's compactions: their files hold rows that were there before, in other files.
    const std::string compactions =
        fmt::format("(SELECT snapshot_id FROM snapshots WHERE table_id = ?1 AND operation = '{}')",
                    kCompactOperation);
    ASSIGN_OR_RETURN(
        changes.added,
        FilesWhere(table.table_id,
                   fmt::format("begin_snapshot > ?2 AND begin_snapshot <= ?3 AND begin_snapshot "
                               "NOT IN {0} AND (end_snapshot IS NULL OR end_snapshot > ?3 OR "
                               "end_snapshot IN {0})",
                               compactions),
                   from, to));
    ASSIGN_OR_RETURN(
        changes.removed,
        FilesWhere(table.table_id,
                   fmt::format("end_snapshot > ?2 AND end_snapshot <= ?3 AND end_snapshot NOT IN "
                               "{0} AND (begin_snapshot <= ?2 OR begin_snapshot IN {0})",
                               compactions),
                   from, to));
    RETURN_IF_ERROR(txn.Commit());
    return changes;
  }

  absl::StatusOr<ExpiryResult> ExpireFiles(const Principal&,
                                           const ExpiryRequest& request) override {
    std::lock_guard lock(mu_);
    JournaledTransaction txn(db_, journal_);
    RETURN_IF_ERROR(txn.status());
    std::optional<int64_t> table_id;
    if (request.table.has_value()) {
      ASSIGN_OR_RETURN(TableInfo table, FindTable(*request.table, std::nullopt));
      table_id = table.table_id;
    }
    ASSIGN_OR_RETURN(ExpiryResult result, vacuum_.ExpireLocked(request, table_id));
    if (!request.dry_run) RETURN_IF_ERROR(txn.Commit());
    return result;
  }
  absl::StatusOr<std::vector<ObjectRef>> PendingDeletes(const Principal&, size_t limit) override {
    return vacuum_.PendingDeletes(limit);
  }
  absl::Status ForgetPendingDeletes(const Principal&,
                                    const std::vector<std::string>& keys) override {
    return vacuum_.ForgetPendingDeletes(keys);
  }
  absl::StatusOr<std::vector<std::string>> KnownKeys(const Principal&,
                                                     std::string_view prefix) override {
    return vacuum_.KnownKeys(prefix);
  }
  absl::StatusOr<std::vector<std::string>> QueuedKeys(const Principal&,
                                                      std::string_view prefix) override {
    return vacuum_.QueuedKeys(prefix);
  }

  int Subscribe(Subscriber subscriber) override {
    std::lock_guard lock(subscribers_mu_);
    int id = next_subscriber_id_++;
    subscribers_[id] = std::move(subscriber);
    return id;
  }

  void Unsubscribe(int id) override {
    {
      std::lock_guard lock(subscribers_mu_);
      subscribers_.erase(id);
    }
    // Waits for publications that may still be calling it (their copy of the list has it).
    std::unique_lock wait(publishing_mu_);
  }

 private:
  static constexpr std::string_view kSnapshotColumns =
      "SELECT snapshot_id, parent_id, committed_micros, operation, author, message, summary, "
      "schema_version FROM snapshots";
  static constexpr std::string_view kFileColumns =
      "SELECT file_id, key, format, compression, size_bytes, row_count, partition_values, "
      "begin_snapshot, etag, content_hash, owned FROM data_files";

  // Must hold mu_ inside a write transaction.
  absl::StatusOr<CommitResult> CommitLocked(const Principal& who, const TableCommit& commit) {
    const bool creating = commit.base_snapshot == TableCommit::kCreate;
    const bool compacting = commit.operation == kCompactOperation;
    if (!compacting && (!commit.relocations.empty() || !commit.deferred_deletes.empty())) {
      return absl::InvalidArgumentError("only a compaction relocates files and defers deletes");
    }
    ASSIGN_OR_RETURN(int64_t database_id, DatabaseId(commit.table.database));
    auto existing = FindTable(commit.table, std::nullopt);
    if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();

    int64_t table_id = 0;
    int64_t schema_version = 1;
    std::optional<int64_t> parent;
    if (creating) {
      if (existing.ok()) {
        return absl::AlreadyExistsError(
            fmt::format("table {} already exists", commit.table.ToString()));
      }
      if (FindView(commit.table).ok()) {
        return absl::AlreadyExistsError(
            fmt::format("{} already exists as a view", commit.table.ToString()));
      }
      Statement insert(
          db_,
          "INSERT INTO tables(database_id, name, location, created_micros, current_snapshot, "
          "begin_snapshot) VALUES (?, ?, ?, ?, 0, 0)");
      RETURN_IF_ERROR(insert.Bind(1, database_id)
                          .Bind(2, commit.table.table)
                          .Bind(3, commit.location)
                          .Bind(4, NowMicros())
                          .Run());
      table_id = sqlite3_last_insert_rowid(db_);
    } else {
      if (!existing.ok()) return existing.status();
      if (existing->current_snapshot != commit.base_snapshot) {
        return absl::AbortedError(
            fmt::format("conflict: table {} is at snapshot {} but this commit was based on "
                        "snapshot {}; another writer "
                        "committed first. Re-read the table and retry.",
                        commit.table.ToString(), existing->current_snapshot, commit.base_snapshot));
      }
      table_id = existing->table_id;
      parent = existing->current_snapshot;
      schema_version = existing->schema.version + (commit.new_schema.has_value() ? 1 : 0);
    }
    if (compacting) RETURN_IF_ERROR(CheckCompaction(table_id, creating, commit));

    Statement snapshot(
        db_,
        "INSERT INTO snapshots(table_id, parent_id, committed_micros, operation, author, "
        "message, summary, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    snapshot.Bind(1, table_id).Bind(3, NowMicros()).Bind(4, commit.operation).Bind(5, who.name);
    if (parent.has_value())
      snapshot.Bind(2, *parent);
    else
      snapshot.BindNull(2);
    RETURN_IF_ERROR(snapshot.Bind(6, commit.message)
                        .Bind(7, commit.summary.dump())
                        .Bind(8, schema_version)
                        .Run());
    const int64_t snapshot_id = sqlite3_last_insert_rowid(db_);

    if (creating) {
      Statement begin(db_, "UPDATE tables SET begin_snapshot = ? WHERE table_id = ?");
      RETURN_IF_ERROR(begin.Bind(1, snapshot_id).Bind(2, table_id).Run());
    }
    if (commit.new_schema.has_value()) {
      Statement insert(db_,
                       "INSERT INTO schema_versions(table_id, schema_version, begin_snapshot, "
                       "columns, partition_columns, comment) VALUES (?, ?, ?, ?, ?, ?)");
      RETURN_IF_ERROR(insert.Bind(1, table_id)
                          .Bind(2, schema_version)
                          .Bind(3, snapshot_id)
                          .Bind(4, ColumnsToJson(commit.new_schema->columns).dump())
                          .Bind(5, ColumnsToJson(commit.new_schema->partition_columns).dump())
                          .Bind(6, commit.new_schema->comment)
                          .Run());
    }
    for (int64_t file_id : commit.remove_file_ids) {
      Statement remove(db_,
                       "UPDATE data_files SET end_snapshot = ? WHERE file_id = ? AND table_id = ? "
                       "AND end_snapshot IS NULL");
      RETURN_IF_ERROR(remove.Bind(1, snapshot_id).Bind(2, file_id).Bind(3, table_id).Run());
      if (sqlite3_changes(db_) != 1) {
        return absl::AbortedError(fmt::format(
            "conflict: file {} is no longer part of table {}; re-read the table and retry", file_id,
            commit.table.ToString()));
      }
    }
    for (const DataFile& file : commit.add_files)
      RETURN_IF_ERROR(InsertFile(table_id, snapshot_id, file));
    for (const Relocation& relocation : commit.relocations) {
      // The removed record, and the older records (of any table) of the same bytes at that key.
      Statement original(db_, "SELECT key, etag FROM data_files WHERE file_id = ?");
      original.Bind(1, relocation.file_id);
      if (!original.Step()) return original.status();
      Statement relocate(db_,
                         "UPDATE data_files SET key = ?1, etag = ?2 WHERE file_id = ?3 OR "
                         "(key = ?4 AND etag = ?5 AND end_snapshot IS NOT NULL)");
      RETURN_IF_ERROR(relocate.Bind(1, relocation.key)
                          .Bind(2, relocation.etag)
                          .Bind(3, relocation.file_id)
                          .Bind(4, original.Text(0))
                          .Bind(5, original.Text(1))
                          .Run());
    }
    for (const ObjectRef& object : commit.deferred_deletes) {
      Statement queue(db_,
                      "INSERT OR IGNORE INTO pending_deletes(key, size_bytes, queued_micros, "
                      "not_before_micros, same_as) VALUES (?, ?, ?, ?, ?)");
      RETURN_IF_ERROR(queue.Bind(1, object.key)
                          .Bind(2, object.size_bytes)
                          .Bind(3, NowMicros())
                          .Bind(4, commit.deletes_not_before_micros)
                          .Bind(5, object.same_as)
                          .Run());
    }

    Statement advance(db_, "UPDATE tables SET current_snapshot = ? WHERE table_id = ?");
    RETURN_IF_ERROR(advance.Bind(1, snapshot_id).Bind(2, table_id).Run());
    return CommitResult{snapshot_id, schema_version};
  }

  // InvalidArgument unless the compaction `commit` of table `table_id` keeps the table's rows as
  // they are (see kCompactOperation). Must hold mu_.
  absl::Status CheckCompaction(int64_t table_id, bool creating, const TableCommit& commit) {
    auto refuse = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          fmt::format("compaction of {} refused: {}", commit.table.ToString(), why));
    };
    if (creating || commit.new_schema.has_value()) return refuse("it may not change the schema");
    if (commit.remove_file_ids.empty()) return refuse("it removes no file");
    std::map<std::string, int64_t> rows_by_partition;  // partition values as JSON -> rows removed
    std::map<int64_t, std::string> raw;                // removed file loch did not write -> its key
    for (int64_t file_id : commit.remove_file_ids) {
      Statement file(db_,
                     "SELECT row_count, partition_values, owned, key FROM data_files WHERE "
                     "file_id = ? AND table_id = ?");
      file.Bind(1, file_id).Bind(2, table_id);
      if (!file.Step()) {
        RETURN_IF_ERROR(file.status());
        return refuse(fmt::format("file {} is not the table's", file_id));
      }
      if (file.Int(0) < 0) return refuse(fmt::format("file {} has no row count", file_id));
      rows_by_partition[nlohmann::json::parse(file.Text(1)).dump()] += file.Int(0);
      if (file.Int(2) == 0) raw[file_id] = file.Text(3);
    }
    for (const DataFile& file : commit.add_files) {
      if (!file.owned) return refuse(fmt::format("\"{}\" was not written by loch", file.key));
      if (file.row_count < 0) return refuse(fmt::format("\"{}\" has no row count", file.key));
      auto partition = rows_by_partition.find(nlohmann::json(file.partition_values).dump());
      if (partition == rows_by_partition.end()) {
        return refuse(fmt::format("\"{}\" is in a partition no removed file was in", file.key));
      }
      partition->second -= file.row_count;
    }
    for (const auto& [partition, rows] : rows_by_partition) {
      if (rows != 0) {
        return refuse(fmt::format("its files in partition {} hold {} row(s) {} than it removes",
                                  partition, std::abs(rows), rows > 0 ? "fewer" : "more"));
      }
    }
    // Raw objects are moved, never dropped: each removed one is relocated, and only those are
    // queued for deletion.
    std::set<std::string> moved;
    for (const Relocation& relocation : commit.relocations) {
      auto removed = raw.find(relocation.file_id);
      if (removed == raw.end() || relocation.key.empty()) {
        return refuse(
            fmt::format("file {} is not a removed file loch did not write; it cannot be relocated",
                        relocation.file_id));
      }
      Statement taken(db_,
                      "SELECT 1 FROM data_files WHERE key = ?1 AND end_snapshot IS NULL UNION ALL "
                      "SELECT 1 FROM pending_deletes WHERE key = ?1");
      taken.Bind(1, relocation.key);
      if (taken.Step()) {
        return refuse(
            fmt::format("\"{}\" is a live file's or queued for deletion", relocation.key));
      }
      RETURN_IF_ERROR(taken.status());
      moved.insert(removed->second);
    }
    if (moved.size() != raw.size()) {
      return refuse("every removed file loch did not write must be relocated");
    }
    for (const ObjectRef& object : commit.deferred_deletes) {
      if (!moved.contains(object.key)) {
        return refuse(fmt::format("\"{}\" is not a relocated file's original", object.key));
      }
    }
    return absl::OkStatus();
  }

  absl::Status InsertFile(int64_t table_id, int64_t snapshot_id, const DataFile& file) {
    if (file.key.empty()) return absl::InvalidArgumentError("a data file has an empty key");
    Statement queued(db_, "SELECT 1 FROM pending_deletes WHERE key = ?");
    queued.Bind(1, file.key);
    if (queued.Step()) {
      return absl::FailedPreconditionError(fmt::format(
          "object \"{}\" is being deleted by vacuum (a table it belonged to was dropped or "
          "overwritten before the retention); it cannot be registered",
          file.key));
    }
    RETURN_IF_ERROR(queued.status());
    nlohmann::json partitions(file.partition_values);
    Statement insert(
        db_,
        "INSERT INTO data_files(table_id, key, format, compression, size_bytes, row_count, "
        "partition_values, begin_snapshot, etag, content_hash, owned) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    absl::Status inserted = insert.Bind(1, table_id)
                                .Bind(2, file.key)
                                .Bind(3, file.format)
                                .Bind(4, file.compression)
                                .Bind(5, file.size_bytes)
                                .Bind(6, file.row_count)
                                .Bind(7, partitions.dump())
                                .Bind(8, snapshot_id)
                                .Bind(9, file.etag)
                                .Bind(10, file.content_hash)
                                .Bind(11, int64_t{file.owned})
                                .Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(
          fmt::format("file \"{}\" is already registered in the catalog", file.key));
    }
    RETURN_IF_ERROR(inserted);
    const int64_t file_id = sqlite3_last_insert_rowid(db_);
    for (const ColumnStats& stats : file.stats) {
      Statement stat(db_, "INSERT OR REPLACE INTO file_column_stats VALUES (?, ?, ?, ?, ?, ?, ?)");
      RETURN_IF_ERROR(stat.Bind(1, file_id)
                          .Bind(2, stats.column)
                          .Bind(3, stats.min)
                          .Bind(4, stats.max)
                          .Bind(5, stats.null_count)
                          .Bind(6, stats.type)
                          .Bind(7, stats.stored_type)
                          .Run());
    }
    return absl::OkStatus();
  }

  void Publish(const CommitEvent& event) {
    std::vector<Subscriber> subscribers;
    {
      std::lock_guard lock(subscribers_mu_);
      for (auto& [id, subscriber] : subscribers_) subscribers.push_back(subscriber);
    }
    std::shared_lock publishing(publishing_mu_);
    for (auto& subscriber : subscribers) subscriber(event);
  }

  std::vector<std::string> DatabaseNamesOrEmpty() {
    auto names = DatabaseNames();
    return names.ok() ? *names : std::vector<std::string>{};
  }

  absl::StatusOr<std::vector<std::string>> DatabaseNames() {
    Statement query(db_, "SELECT name FROM databases ORDER BY name");
    std::vector<std::string> names;
    while (query.Step()) names.push_back(query.Text(0));
    RETURN_IF_ERROR(query.status());
    return names;
  }

  absl::StatusOr<int64_t> DatabaseId(std::string_view name) {
    Statement query(db_, "SELECT database_id FROM databases WHERE name = ?");
    query.Bind(1, name);
    if (query.Step()) return query.Int(0);
    RETURN_IF_ERROR(query.status());
    std::vector<std::string> names = DatabaseNamesOrEmpty();
    const std::optional<std::string> closest = ClosestMatch(name, names);
    return absl::NotFoundError(fmt::format(
        "unknown database \"{}\"{}; {}", name,
        closest ? fmt::format(" (did you mean {}?)", *closest) : "",
        names.empty() ? "the lake has no databases yet" : "databases: " + Join(names, ", ")));
  }

  static constexpr std::string_view kViewColumns =
      "SELECT v.view_id, d.name, v.name, v.sql, v.columns, v.created_micros, v.author, v.reads "
      "FROM views v JOIN databases d USING (database_id)";

  static ViewInfo ViewFromRow(const Statement& row) {
    ViewInfo view{row.Int(0),  TableName{row.Text(1), row.Text(2)},
                  row.Text(3), ColumnsFromJson(row.Text(4)),
                  row.Int(5),  row.Text(6)};
    if (!row.IsNull(7)) {
      view.reads.emplace();
      const nlohmann::json reads = nlohmann::json::parse(row.Text(7), nullptr, false);
      if (reads.is_array()) {
        for (const nlohmann::json& name : reads) {
          if (!name.is_string()) continue;
          if (auto parsed = TableName::Parse(name.get<std::string>()); parsed.ok())
            view.reads->push_back(*parsed);
        }
      }
    }
    return view;
  }

  // The view named `name`, or NotFound. Must hold mu_.
  absl::StatusOr<ViewInfo> FindView(const TableName& name) {
    Statement query(db_, std::string(kViewColumns) + " WHERE d.name = ? AND v.name = ?");
    query.Bind(1, name.database).Bind(2, name.table);
    if (query.Step()) return ViewFromRow(query);
    RETURN_IF_ERROR(query.status());
    return absl::NotFoundError(fmt::format("unknown view {}", name.ToString()));
  }

  // FailedPrecondition when vacuum removed files `table` had at `snapshot` (it can no longer be
  // `what`: read, diffed). Must hold mu_.
  absl::Status RefuseVacuumed(const TableInfo& table, int64_t snapshot, std::string_view what) {
    Statement query(db_, "SELECT vacuumed_through FROM tables WHERE table_id = ?");
    query.Bind(1, table.table_id);
    if (!query.Step()) return query.status();
    const int64_t vacuumed_through = query.Int(0);
    if (snapshot >= vacuumed_through) return absl::OkStatus();
    return absl::FailedPreconditionError(fmt::format(
        "table {} cannot be {} at snapshot {}: vacuum deleted files it had then; the oldest "
        "snapshot it can be read at is {}",
        table.name.ToString(), what, snapshot, vacuumed_through));
  }

  static TableInfo TableFromRow(const Statement& row) {
    TableInfo table;
    table.table_id = row.Int(0);
    table.name = TableName{row.Text(1), row.Text(2)};
    table.location = row.Text(3);
    table.created_micros = row.Int(4);
    table.current_snapshot = row.Int(5);
    return table;
  }

  // The table named `name` as of `at_snapshot` (live now if nullopt), with its schema at that
  // point.
  absl::StatusOr<TableInfo> FindTable(const TableName& name, std::optional<int64_t> at_snapshot) {
    ASSIGN_OR_RETURN(int64_t database_id, DatabaseId(name.database));
    Statement query(db_, R"sql(
      SELECT t.table_id, d.name, t.name, t.location, t.created_micros, t.current_snapshot
      FROM tables t JOIN databases d USING (database_id)
      WHERE t.database_id = ?1 AND t.name = ?2 AND
        (CASE WHEN ?3 IS NULL THEN t.end_snapshot IS NULL
              ELSE t.begin_snapshot <= ?3 AND (t.end_snapshot IS NULL OR t.end_snapshot > ?3) END))sql");
    query.Bind(1, database_id).Bind(2, name.table);
    if (at_snapshot.has_value())
      query.Bind(3, *at_snapshot);
    else
      query.BindNull(3);
    if (query.Step()) {
      TableInfo table = TableFromRow(query);
      ASSIGN_OR_RETURN(table.schema,
                       SchemaAt(table.table_id, at_snapshot.value_or(table.current_snapshot)));
      return table;
    }
    RETURN_IF_ERROR(query.status());
    if (at_snapshot.has_value()) {
      return absl::NotFoundError(
          fmt::format("table {} did not exist at snapshot {}", name.ToString(), *at_snapshot));
    }
    Statement names(
        db_,
        "SELECT name FROM tables WHERE database_id = ? AND end_snapshot IS NULL ORDER BY name");
    names.Bind(1, database_id);
    std::vector<std::string> existing;
    while (names.Step()) existing.push_back(name.database + "." + names.Text(0));
    const std::optional<std::string> closest = ClosestMatch(name.ToString(), existing);
    return absl::NotFoundError(
        fmt::format("unknown table {}{}; {}", name.ToString(),
                    closest ? fmt::format(" (did you mean {}?)", *closest) : "",
                    existing.empty() ? "database " + name.database + " has no tables"
                                     : "tables: " + Join(existing, ", ")));
  }

  static Schema SchemaFromRow(const Statement& row) {
    Schema schema;
    schema.version = row.Int(0);
    schema.columns = ColumnsFromJson(row.Text(1));
    schema.partition_columns = ColumnsFromJson(row.Text(2));
    schema.comment = row.Text(3);
    return schema;
  }

  absl::StatusOr<Schema> SchemaAt(int64_t table_id, int64_t snapshot) {
    Statement query(
        db_,
        "SELECT schema_version, columns, partition_columns, comment FROM schema_versions "
        "WHERE table_id = ? AND begin_snapshot <= ? ORDER BY schema_version DESC LIMIT 1");
    query.Bind(1, table_id).Bind(2, snapshot);
    if (query.Step()) return SchemaFromRow(query);
    RETURN_IF_ERROR(query.status());
    return absl::NotFoundError(
        fmt::format("table {} has no schema at snapshot {}", table_id, snapshot));
  }

  static SnapshotInfo SnapshotFromRow(const Statement& row) {
    SnapshotInfo info;
    info.snapshot_id = row.Int(0);
    if (!row.IsNull(1)) info.parent_id = row.Int(1);
    info.committed_micros = row.Int(2);
    info.operation = row.Text(3);
    info.author = row.Text(4);
    info.message = row.Text(5);
    info.summary = nlohmann::json::parse(row.Text(6), nullptr, /*allow_exceptions=*/false);
    info.schema_version = row.Int(7);
    return info;
  }

  absl::StatusOr<SnapshotInfo> LatestSnapshotAtOrBefore(int64_t table_id, int64_t snapshot) {
    Statement query(
        db_, std::string(kSnapshotColumns) +
                 " WHERE table_id = ? AND snapshot_id <= ? ORDER BY snapshot_id DESC LIMIT 1");
    query.Bind(1, table_id).Bind(2, snapshot);
    if (query.Step()) return SnapshotFromRow(query);
    RETURN_IF_ERROR(query.status());
    return absl::NotFoundError(fmt::format("no snapshot at or before {}", snapshot));
  }

  // Files of `table_id` matching `condition` (which may use ?2 and ?3), with their statistics.
  absl::StatusOr<std::vector<DataFile>> FilesWhere(int64_t table_id, std::string_view condition,
                                                   int64_t p2, int64_t p3) {
    const std::string where = fmt::format("WHERE table_id = ?1 AND {}", condition);
    Statement query(db_, fmt::format("{} {} ORDER BY file_id", kFileColumns, where));
    query.Bind(1, table_id).Bind(2, p2).Bind(3, p3);
    std::vector<DataFile> files;
    std::map<int64_t, size_t> index_of;
    while (query.Step()) {
      DataFile file;
      file.file_id = query.Int(0);
      file.key = query.Text(1);
      file.format = query.Text(2);
      file.compression = query.Text(3);
      file.size_bytes = query.Int(4);
      file.row_count = query.Int(5);
      file.partition_values =
          nlohmann::json::parse(query.Text(6)).get<std::map<std::string, std::string>>();
      file.added_snapshot = query.Int(7);
      file.etag = query.Text(8);
      file.content_hash = query.Text(9);
      file.owned = query.Int(10) != 0;
      index_of[file.file_id] = files.size();
      files.push_back(std::move(file));
    }
    RETURN_IF_ERROR(query.status());
    Statement stats(
        db_,
        fmt::format("SELECT file_id, column_name, min_value, max_value, null_count, value_type, "
                    "stored_type "
                    "FROM file_column_stats WHERE file_id IN (SELECT file_id FROM data_files {})",
                    where));
    stats.Bind(1, table_id).Bind(2, p2).Bind(3, p3);
    while (stats.Step()) {
      auto it = index_of.find(stats.Int(0));
      if (it == index_of.end()) continue;
      files[it->second].stats.push_back(ColumnStats{stats.Text(1), stats.OptionalText(2),
                                                    stats.OptionalText(3), stats.Int(4),
                                                    stats.Text(5), stats.Text(6)});
    }
    RETURN_IF_ERROR(stats.status());
    return files;
  }

  std::mutex mu_;  // serialises use of db_
  sqlite3* db_;
  CommitJournal* journal_;
  SqliteSettings settings_;  // workgroups, crawlers, streams
  SqliteVacuum vacuum_;
  SqliteJobs jobs_;            // job definitions and the run store
  SqliteDocuments documents_;  // the web console's saved queries and dashboards
  std::mutex subscribers_mu_;
  std::shared_mutex publishing_mu_;  // held shared while subscribers are called
  std::map<int, Subscriber> subscribers_;
  int next_subscriber_id_ = 1;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path,
                                                           CommitJournal* journal) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return absl::UnavailableError(fmt::format("cannot open catalog \"{}\": {}", path, message));
  }
  auto catalog = std::make_unique<SqliteCatalog>(db, journal);
  RETURN_IF_ERROR(
      Annotate(catalog->Initialize(), fmt::format("initialising catalog \"{}\"", path)));
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace loch
