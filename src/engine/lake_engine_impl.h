#pragma once
// LakeEngine's insides (internal to engine/), one seam per file:
//   lake_engine.cc    the public API: opening the sandboxed database, dispatching statements
//   table_binder.cc   making the catalog tables and views a statement reads visible to DuckDB,
//                     with the files pruning keeps (shared views, or a private catalog per query)
//   file_profiler.cc  columns, row counts, statistics and datetime formats of data files
//   result_stager.cc  a query's result as profiled data files in the store, laid out as asked
//   table_writer.cc   CREATE TABLE AS, INSERT INTO, CREATE/DROP VIEW, DROP TABLE
// Locking: `admin_mu` guards the trusted `admin` connection and the shared views; pruning, file
// fetching and query execution run on the query's own connection without it.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/duck.h"
#include "engine/lake_engine.h"
#include "engine/query_cursor.h"
#include "engine/sql_guard.h"
#include "engine/system_tables.h"
#include "engine/watchdog.h"
#include "engine/write_statement.h"

namespace loch {

struct LakeEngine::Impl {
  Impl(EngineOptions options_in, Catalog* catalog_in, ObjectStore* store_in,
       duck::Database database_in, duck::Connection admin_in)
      : options(std::move(options_in)),
        catalog(catalog_in),
        store(store_in),
        database(std::move(database_in)),
        admin(std::move(admin_in)) {}

  EngineOptions options;
  Catalog* catalog;
  ObjectStore* store;
  duck::Database database;
  std::mutex admin_mu;                 // guards `admin`, `views`, `catalog_views`
  duck::Connection admin;              // trusted connection: view definitions and file profiling
  std::map<TableName, int64_t> views;  // table -> snapshot its view currently shows
  std::map<TableName, int64_t> catalog_views;  // catalog view -> view_id its DuckDB view shows
  uint64_t next_query_catalog = 1;             // names the private catalogs of queries
  Watchdog watchdog;

  bool remote() const { return options.cache != nullptr; }

  // ---- table_binder.cc ----

  // What a statement reads once views are followed: the catalog tables underneath, and the views
  // in an order where each comes after the views it reads.
  struct ResolvedNames {
    std::vector<TableName> tables;
    std::vector<ViewInfo> views;
    std::set<SystemTable> system_tables;  // read directly or through a view
  };
  static constexpr int kMaxViewDepth = 16;

  // A connection for one user statement, with the session functions (session_functions.h)
  // answering for `who`.
  absl::StatusOr<duck::Connection> OpenUserConnection(const Principal& who);
  // Makes the catalog tables a statement reads visible on `connection`: shared views when nothing
  // was pruned on a local lake, else a private catalog of views over the files the query may need.
  // Tables in `pinned` are read as that snapshot (with exactly its files) instead of their current
  // one.
  absl::StatusOr<std::unique_ptr<QueryResources>> BindTables(
      const Principal& who, const StatementTables& tables,
      const std::vector<QueryParameter>& parameters, duck::Connection& connection,
      const std::map<TableName, TableSnapshot>* pinned = nullptr);
  // Splits `names` into tables and views, following each view's query to what it reads. Views
  // nested deeper than kMaxViewDepth (or in a cycle) are an error.
  absl::Status ResolveNames(const Principal& who, const std::vector<TableName>& names,
                            duck::Connection& connection, int depth, ResolvedNames& out);
  // CREATE VIEW `view` in DuckDB inside `catalog_prefix` ("" or "name."), after the tables and
  // views it reads. Caller holds admin_mu.
  absl::Status DefineView(const ViewInfo& view, const std::string& catalog_prefix);
  // A local path for `key` that DuckDB may open: the object must be a regular file reached without
  // following any symlink.
  absl::StatusOr<std::string> SafeLocalPath(const std::string& key);
  // Makes the view DATABASE.TABLE show the table's current snapshot, unless it already shows a
  // newer one (snapshots are read before this lock is taken: a slow query must not take the view
  // back to the snapshot it read). Caller holds admin_mu.
  absl::Status RefreshView(const TableSnapshot& snapshot);
  // Makes the catalog view `view` current in the shared database. Caller holds admin_mu.
  absl::Status RefreshCatalogView(const ViewInfo& view);
  // The files of `snapshot` the statement may need: all of them unless its WHERE clause proves
  // some hold no matching row. Pruning that fails keeps every file. Runs its query on
  // `connection` (the query's own: pruning takes no lock).
  std::vector<DataFile> FilesTheQueryMayNeed(const nlohmann::json& statement,
                                             const std::vector<QueryParameter>& parameters,
                                             TableSnapshot& snapshot, duck::Connection& connection);
  // A path DuckDB may open for each of `snapshot.files`, by key: fetched into the cache on a
  // remote lake (the leases go to `resources`), reached without symlinks on a local one. Takes no
  // lock: a slow fetch delays only this query.
  absl::StatusOr<std::map<std::string, std::string>> ReadablePaths(const TableSnapshot& snapshot,
                                                                   QueryResources& resources);
  // In the query's own catalog `catalog_name`, the view DATABASE.TABLE over exactly
  // `snapshot.files`, read at `paths` (ReadablePaths). Caller holds admin_mu.
  absl::Status DefinePrivateTableView(const TableSnapshot& snapshot,
                                      const std::map<std::string, std::string>& paths,
                                      const std::string& catalog_name);
  // NotFound naming the first of `names` and the tables that do exist.
  absl::Status UnknownTables(const Principal& who, const std::vector<std::string>& names);

  // ---- file_profiler.cc ----

  // Columns, rows and statistics of a data file DuckDB can read at `path`. Caller holds admin_mu.
  // With a `shape`, tried first with the columns sniffed from its sample (DescribeFile), then, if
  // reading with them fails, without.
  absl::StatusOr<FileProfile> ProfilePath(const std::string& path, const std::string& format,
                                          const std::string& key, const JsonShape* shape = nullptr);
  // Columns of `scan` as DuckDB reads them (without the batch file-name column).
  absl::StatusOr<std::vector<Column>> DescribeScan(const std::string& scan);
  // Columns of the file at `path`: sniffed from shape->head when the shape proves those types
  // hold for every record (json_shape.h), else from all of the file.
  absl::StatusOr<std::vector<Column>> DescribeFile(const std::string& path,
                                                   const std::string& format,
                                                   const JsonShape* shape);
  // For a CSV file DuckDB read as one column named like "a,b,c" (it falls back to that when the
  // rows do not all have the header's number of fields): the error naming the first such line,
  // or OK if reading it with that delimiter works after all.
  absl::Status RaggedCsvError(const std::string& path, const std::string& header);
  // For a JSON file: an error naming two keys that differ only in case ("a" and "A"), or OK.
  // DuckDB's column names ignore case, so it names the second column "A_1", but a scan given the
  // columns reads keys as spelled: key "A_1" does not exist, and the column would read NULL.
  // `shape`, when known, holds the file's keys; otherwise the file is read for them, and only when
  // its columns look renamed (NAME_N beside a column named NAME in another case).
  absl::Status CaseVariantKeysError(const std::string& path, const std::vector<Column>& columns,
                                    const JsonShape* shape);
  // Profiles files of one format: each file's columns first (a file that cannot be read gets its
  // error), then the readable ones together (ProfileTogether), or one by one if that fails.
  // Without `type_text`, text columns are measured as text (files whose columns a query typed).
  // Caller holds admin_mu.
  std::vector<absl::StatusOr<FileProfile>> ProfileBatch(
      const std::vector<std::string>& keys, const std::vector<absl::StatusOr<std::string>>& paths,
      const std::string& format, const std::vector<const JsonShape*>& shapes,
      bool type_text = true);
  // Fills statistics and datetimes of out[i] for every i in `readable`, with one scan over all of
  // them. `newline_delimited`: the JSON files are known to hold one value per line (they have a
  // shape), so DuckDB need not detect it: it then reads a stream's object 2.5-6x faster. Caller
  // holds admin_mu.
  absl::Status ProfileTogether(const std::vector<absl::StatusOr<std::string>>& paths,
                               const std::vector<size_t>& readable, const std::string& format,
                               bool newline_delimited,
                               std::vector<absl::StatusOr<FileProfile>>& out,
                               bool type_text = true);

  // ---- table_writer.cc ----

  absl::StatusOr<WriteSummary> ExecuteWrite(const Principal& who, const WriteStatement& statement,
                                            const std::vector<QueryParameter>& parameters);
  // CREATE VIEW: the query must read only catalog tables and views and must bind (so a view that
  // is stored always worked when it was made); its text and result columns go to the catalog.
  // DROP TABLE / DROP VIEW: refuses while views read it, unless CASCADE (which drops them, and
  // the views that read those); with PURGE deletes the files only the table has had.
  absl::StatusOr<WriteSummary> Drop(const Principal& who, const WriteStatement& statement);
  // The views that read `name`, directly or through other views.
  absl::StatusOr<std::vector<TableName>> DependentViews(const Principal& who,
                                                        const TableName& name);
  // The tables and views `view` reads: as the catalog keeps them, else from its SQL.
  absl::StatusOr<std::vector<TableName>> ViewReads(const Principal& who, const ViewInfo& view);
  absl::StatusOr<WriteSummary> CreateView(const Principal& who, const WriteStatement& statement);
  // CREATE TABLE AS / INSERT INTO: the query's result is staged (StageResult) and the catalog
  // commits its files in one snapshot. Any failure deletes what was staged, so the catalog and
  // the zone keep no trace.
  absl::StatusOr<WriteSummary> WriteQueryResult(const Principal& who,
                                                const WriteStatement& statement,
                                                const std::vector<QueryParameter>& parameters);

  // ---- result_stager.cc ----

  // LakeEngine::StageQueryResult and DiscardStaged (lake_engine.h).
  absl::StatusOr<StagedFiles> StageResult(const Principal& who, const StageRequest& request);
  // `request.query` checked, with its tables bound (pinned ones too) on a connection of its own,
  // and the columns its result has.
  struct BoundStageQuery {
    duck::Connection connection;
    std::unique_ptr<QueryResources> resources;
    std::vector<Column> columns;
  };
  absl::StatusOr<BoundStageQuery> BindStageQuery(const Principal& who,
                                                 const StageRequest& request);
  void DiscardStaged(const StagedFiles& staged);
  absl::StatusOr<std::vector<TableName>> SourceTables(const Principal& who, std::string_view query);
  // Rewrites each Parquet file under `folder` of more than 1.5 x `target_file_bytes` into files of
  // about that size next to it (<name>_<part>_data_<n>.parquet), each a contiguous run of its
  // rows ordered by `sort_by` (or as written, if empty): DuckDB cannot combine FILE_SIZE_BYTES
  // with PARTITION_BY, ends files only between row groups, and does not keep ORDER BY across the
  // files FILE_SIZE_BYTES makes.
  absl::Status SplitLargeFiles(duck::Connection& connection, const std::string& folder,
                               int64_t target_file_bytes, const std::vector<std::string>& sort_by);

  // ---- table_ddl.cc ----

  absl::StatusOr<WriteSummary> CreateDatabase(const Principal& who,
                                              const WriteStatement& statement);
  // COMMENT ON TABLE / COLUMN: a new schema version with the comment ("" removes it).
  absl::StatusOr<WriteSummary> Comment(const Principal& who, const WriteStatement& statement);
  // ALTER TABLE ... RENAME TO: refuses while views read the table (they name it).
  absl::StatusOr<WriteSummary> RenameTable(const Principal& who, const WriteStatement& statement);
  // ALTER TABLE ... RENAME COLUMN: a new schema version; the column keeps its former names as the
  // names it has in files written before (Column::FileNames). Partition columns are refused (their
  // names are in the files' keys). Says which views that read the table no longer run.
  absl::StatusOr<WriteSummary> RenameColumn(const Principal& who, const WriteStatement& statement);
  // InvalidArgument "NAME is a view: `what`..." if `name` is a view.
  absl::Status RefuseView(const Principal& who, const TableName& name, std::string_view what);
  // FailedPrecondition if a saved stream delivers into `table` (its records, errors or Parquet
  // table).
  absl::Status RefuseStreamTable(const Principal& who, const TableName& table);
  // OK if the view's query still binds against the catalog as it is.
  absl::Status CheckViewRuns(const Principal& who, const ViewInfo& view);
};

}  // namespace loch
