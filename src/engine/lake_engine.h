#pragma once
// LakeEngine: runs SQL over the lake's catalog tables with DuckDB.
//
// - Catalog tables appear as DATABASE.TABLE views over their current snapshot's files. Each query
//   first prunes the snapshot's files with its WHERE clause (partition values, min/max statistics;
//   see file_pruner.h). On a local lake a table nothing was pruned from is read through a shared
//   view, rebuilt only when its table's snapshot changed. A table with pruned files, and every
//   table of a remote lake (S3, whose surviving files are fetched into the FileCache), is read
//   through views in a catalog of the query's own (an in-memory ATTACH only its connection USEs).
// - User SQL is sandboxed twice: SqlGuard admits only single queries over catalog tables (no
//   files, no writes); DuckDB itself may touch files only under one folder (the lake, or the
//   cache), cannot install or load extensions, and its configuration is locked (sandbox.h). Local
//   data files behind a view are opened without following symlinks first (checked when the view is
//   built).
// - Each query gets its own connection, an optional timeout (the engine interrupts it), and runs
// under
//   the database-wide memory limit. Results stream in chunks (QueryCursor::Next).
// Thread-safety: LakeEngine is safe to use from many threads; a QueryCursor from one thread at a
// time (Cancel() from any thread).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/json_shape.h"
#include "engine/query_parameters.h"
#include "engine/result_set.h"
#include "storage/file_cache.h"
#include "storage/object_store.h"

namespace loch {

struct EngineOptions {
  // Absolute path of the only folder DuckDB may read: the lake folder for a local lake, the file
  // cache's folder for a remote one.
  std::string readable_root;
  // For a remote lake (a store without local paths): where data files are fetched to. Not owned.
  FileCache* cache = nullptr;
  std::string temp_dir;      // where DuckDB may spill; empty: no spilling
  std::string memory_limit;  // e.g. "2GB"; empty: DuckDB's default (80% of RAM)
  int threads = 0;           // 0: one per core
  // Skip data files that a query's WHERE clause provably cannot need (file_pruner.h). Off only to
  // compare answers with and without it (tests).
  bool prune_files = true;
};

struct QueryOptions {
  std::chrono::milliseconds timeout{0};  // 0: no limit
  // Refuse (ResourceExhausted, before running) a query that may scan more bytes than this; 0: no
  // limit. See QueryCursor::bytes_scanned.
  int64_t max_bytes_scanned = 0;
  // Values of the statement's placeholders $1, $2, ..., bound through DuckDB (never spliced into
  // the SQL); their number must match. Pruning uses them like constants. Queries, CREATE TABLE AS
  // and INSERT INTO take them; views and DROP do not.
  std::vector<QueryParameter> parameters;
  // Tables read as these snapshots, with exactly their files, instead of as their current ones
  // (as StageRequest::pinned); a name that is no catalog table is bound to its snapshot too.
  std::map<TableName, TableSnapshot> pinned;
};

// A text column whose values are mostly of another type (see text_types.h): datetimes in
// recognised formats, or numbers or booleans among a few bad values.
struct TextTyping {
  std::string type;                       // DATE, TIMESTAMP, BIGINT, DOUBLE or BOOLEAN
  std::vector<std::string> formats;       // datetime format tokens, most values first; empty for
                                          // the lenient types
  int64_t values = 0;                     // non-null values in the file
  int64_t parsed = 0;                     // of those, how many read as `type`
  std::optional<std::string> min, max;    // of the parsed values, as text of `type`
  std::vector<std::string> bad_examples;  // up to 2 distinct values that do not parse
};

// What profiling a data file found: its columns as DuckDB reads them (datetimes and values of
// mixed JSON kinds in text files read as VARCHAR: loch types them, in `typed_text`), row count and
// column statistics.
struct FileProfile {
  // The most columns a data file may have: wider files are refused (InvalidArgument). DuckDB's
  // time to read a file's schema grows faster than its width.
  static constexpr size_t kMaxColumns = 4096;
  std::vector<Column> columns;
  int64_t row_count = 0;
  std::vector<ColumnStats> stats;
  std::map<std::string, TextTyping> typed_text;  // by column name (VARCHAR columns only)
};

// How a query's result is laid out in data files (CREATE TABLE AS, INSERT INTO, ETL jobs).
struct WriteLayout {
  // Hive-style folders <column>=<value>/, in this order. The columns are not stored in the files.
  std::vector<std::string> partition_by;
  // Within each partition rows are sorted by these columns, so that each file's and each row
  // group's min/max statistics cover a narrow range and prune well.
  std::vector<std::string> sort_by;
  // Each partition's rows are split into files of about this size (zstd Parquet); 0: one file per
  // partition, whatever its size.
  int64_t target_file_bytes = 0;
};

// A query whose result becomes data files of `table` (see LakeEngine::StageQueryResult).
struct StageRequest {
  TableName table;    // the files go under tables/<database>/<table>/<write id>/
  std::string write_id;  // a time-ordered id (common/ids.h); empty: a new one
  std::string subfolder;  // when set, the files go under <prefix><subfolder>/
  // When set (ending in '/'), the prefix the files go under instead of tables/<db>/<table>/<id>/.
  std::string prefix;
  std::string query;  // a query over catalog tables, checked like any user query
  std::vector<QueryParameter> parameters;
  WriteLayout layout;
  // The columns to write, each cast to its type. Empty: the query's columns as they are. Else
  // the query's columns are taken by position (`by_name` false: the query returns exactly these
  // columns, in this order) or by name (`by_name`: every one of these is a column of the query;
  // the query's other columns are an error).
  std::vector<Column> columns;
  bool by_name = false;
  // Tables read as these snapshots, with exactly their files (e.g. only the files an incremental
  // run has not read yet), instead of as their current ones.
  std::map<TableName, TableSnapshot> pinned;
};

// Data files written into the lake's store and profiled, but not part of any table yet.
struct StagedFiles {
  std::string write_id;
  std::string prefix;  // tables/<database>/<table>/<write id>/: every object written is under it
  Schema schema;       // the columns written, and the partition columns (layout.partition_by)
  std::vector<DataFile> files;  // owned, with keys, etags, sizes, row counts and statistics
  int64_t rows = 0;
  int64_t bytes = 0;
};

class QueryCursor {
 public:
  virtual ~QueryCursor() = default;
  virtual const std::vector<ResultColumn>& columns() const = 0;
  // The next chunk of rows; nullopt when the result is complete. After an error the cursor is done.
  // The query starts executing with the first call.
  // A query stopped by its timeout fails with DeadlineExceeded; one stopped by Cancel() with
  // Cancelled.
  virtual absl::StatusOr<std::optional<ResultChunk>> Next() = 0;
  // Stops the query; safe from any thread, at any time.
  virtual void Cancel() = 0;
  // The compressed size of the data files the query reads: every file of the tables it names
  // except those its filters rule out by partition values or min/max statistics (tables reached
  // through views count whole). Known before it runs. 0 for results not read from the lake.
  virtual int64_t bytes_scanned() const { return 0; }
};

// The version of the DuckDB library loch runs on ("v1.4.4").
std::string EngineVersion();

class LakeEngine {
 public:
  // Opens the engine. `catalog`, `store` (and options.cache) must outlive it. A remote store needs
  // options.cache (FailedPrecondition otherwise).
  static absl::StatusOr<std::unique_ptr<LakeEngine>> Open(const EngineOptions& options,
                                                          Catalog* catalog, ObjectStore* store);
  ~LakeEngine();

  // Starts `sql` for `who` and returns a cursor over its result. Errors: see SqlGuard (syntax,
  // files, statements that are not queries), NotFound for unknown tables (listing the tables that
  // exist), and DuckDB's binding errors with line and column.
  absl::StatusOr<std::unique_ptr<QueryCursor>> Query(const Principal& who, std::string_view sql,
                                                     const QueryOptions& options = {});

  // Reads the data file at `key` (format "json", "csv" or "parquet") and returns its inferred
  // columns, row count and per-column min/max/null count. Trusted internal use (loading); never
  // user SQL.
  // With the object's `shape` (JSON only), DuckDB sniffs the types of the shape's sample instead of
  // every record when the shape proves the sample's types hold (see json_shape.h).
  absl::StatusOr<FileProfile> ProfileFile(const std::string& key, const std::string& format,
                                          const JsonShape* shape = nullptr);

  // ProfileFile for many files of one format at once: JSON and CSV files are read together in
  // batches (far fewer queries for many small files); each file still gets its own columns,
  // statistics and datetime detection. One result per key, in order; a file that cannot be read
  // gets its own error without failing the others.
  // `shapes`: one per key (nullptr where unknown); missing entries count as unknown.
  std::vector<absl::StatusOr<FileProfile>> ProfileFiles(
      const std::vector<std::string>& keys, const std::string& format,
      const std::vector<const JsonShape*>& shapes = {});

  // Converts NDJSON records to zstd Parquet with exactly `columns` (see json_conversion.h): the
  // rows are written to a temporary local file, `keep(path, rows)` stores it (e.g.
  // ObjectStore::PutFile) before it is removed. Returns the rows written and the records left out
  // with the reason.
  struct JsonConversion {
    int64_t rows = 0;
    std::vector<std::pair<std::string, std::string>> rejected;  // (record, reason)
  };
  absl::StatusOr<JsonConversion> ConvertJsonToParquet(
      std::string_view ndjson, const std::vector<Column>& columns,
      const std::function<absl::Status(const std::string& parquet_path, int64_t rows)>& keep);

  // Runs `request.query` for `who` and writes its result into the store as zstd Parquet data
  // files laid out as `request.layout` asks, each profiled (rows, statistics): ready for one
  // Catalog::Commit, which the caller makes (or it calls DiscardStaged). On failure nothing stays
  // in the store (as far as deleting what was written succeeds; a killed process leaves its
  // objects under `prefix` for vacuum's orphan sweep, or for the caller to remove). Errors:
  // those of Query, and InvalidArgument for layout or columns that do not fit the query.
  absl::StatusOr<StagedFiles> StageQueryResult(const Principal& who, const StageRequest& request);
  // The columns (names and DuckDB types) `request.query` returns, its tables bound as
  // StageQueryResult binds them (pinned snapshots too), found by an execution that reads no row.
  absl::StatusOr<std::vector<Column>> ResultColumns(const Principal& who,
                                                    const StageRequest& request);
  // The catalog tables `query` reads, views followed to the tables under them, in the order first
  // named. Checks the query like Query does (InvalidArgument; NotFound for unqualified names)
  // without running it; a DATABASE.TABLE name that is no table (yet) is returned as it is.
  absl::StatusOr<std::vector<TableName>> SourceTables(const Principal& who,
                                                      std::string_view query);
  // The files of `snapshot` that may hold a row for which `condition` (SQL over its columns) is
  // true, by the pruning queries get (partition values, min/max statistics, DuckDB's typed
  // semantics): a file is left out only when its statistics prove no row matches, so the answer
  // is a superset (every file, with pruning off). InvalidArgument for a condition that does not
  // parse.
  absl::StatusOr<std::vector<DataFile>> CandidateFiles(const Principal& who,
                                                       TableSnapshot snapshot,
                                                       std::string_view condition);
  // Deletes the staged objects, best effort (what stays is found by vacuum's orphan sweep).
  void DiscardStaged(const StagedFiles& staged);

  struct Impl;

 private:
  explicit LakeEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loch
