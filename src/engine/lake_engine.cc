#include "engine/lake_engine.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/ids.h"
#include "common/strings.h"
#include "engine/datetime_formats.h"
#include "engine/duck.h"
#include "engine/file_pruner.h"
#include "engine/json_conversion.h"
#include "engine/prune_predicate.h"
#include "engine/sql_guard.h"
#include "engine/table_view.h"
#include "engine/value_decoder.h"
#include "engine/watchdog.h"
#include "engine/write_statement.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace loch {
namespace {

// Removes trailing whitespace and semicolons so the statement can be wrapped in a subquery.
std::string_view TrimStatement(std::string_view sql) {
  while (!sql.empty() &&
         (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) {
    sql.remove_suffix(1);
  }
  return sql;
}

bool IsNestedKind(duckdb_type type) { return KindOf(type) == ValueKind::kJson; }

// A private folder for files DuckDB reads or writes on the engine's behalf (DuckDB may only touch
// files under the readable root, so it lives there); removed with everything in it when destroyed.
class ScratchDir {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDir>> Make(const EngineOptions& options,
                                                          std::string_view purpose) {
    auto dir = std::unique_ptr<ScratchDir>(new ScratchDir(
        fmt::format("{}/.loch-tmp-{}-{}", options.readable_root, purpose, NewTimeOrderedId())));
    std::error_code error;
    std::filesystem::create_directories(dir->path_, error);
    if (error) {
      return absl::InternalError(
          fmt::format("cannot create \"{}\": {}", dir->path_, error.message()));
    }
    return dir;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to the file `name` in the folder and returns its path.
  absl::StatusOr<std::string> Write(std::string_view name, std::string_view content) const {
    const std::string file = fmt::format("{}/{}", path_, name);
    std::ofstream out(file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) return absl::InternalError(fmt::format("cannot write \"{}\"", file));
    return file;
  }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// What a query holds until its cursor is gone: cached files (never evicted meanwhile) and the
// release of its private catalog. Destroyed after the query's connection.
struct QueryResources {
  // Compressed size of the data files the query's filters could not rule out: what it may read.
  int64_t bytes_scanned = 0;
  std::vector<std::shared_ptr<FileCache::Lease>> files;
  std::function<void()> release;
  ~QueryResources() {
    if (release) release();
  }
};

class DuckQueryCursor final : public QueryCursor {
 public:
  DuckQueryCursor(duck::Connection connection, Watchdog* watchdog,
                  std::unique_ptr<QueryResources> resources)
      : resources_(std::move(resources)), connection_(std::move(connection)), watchdog_(watchdog) {}

  ~DuckQueryCursor() override { Disarm(); }

  int64_t bytes_scanned() const override { return resources_ ? resources_->bytes_scanned : 0; }

  // Prepares `sql` and binds `parameters`; if some result columns are not directly decodable,
  // wraps it so that SQL casts them.
  absl::Status Prepare(std::string_view sql, const std::vector<QueryParameter>& parameters) {
    ASSIGN_OR_RETURN(duck::PreparedStatement prepared, connection_.Prepare(sql));
    if (prepared.type() != DUCKDB_STATEMENT_TYPE_SELECT) {
      return absl::PermissionDeniedError("only queries can run through the query engine");
    }
    std::vector<std::string> projection;
    bool needs_wrap = false;
    for (size_t i = 0; i < prepared.column_count(); ++i) {
      duck::LogicalType type = prepared.column_type(i);
      const duckdb_type id = type.id();
      columns_.push_back(ResultColumn{prepared.column_name(i), type.Name(), KindOf(id)});
      const std::string alias = QuoteIdentifier(columns_.back().name);
      if (IsDirectlyDecodable(id)) {
        projection.push_back(fmt::format("#{} AS {}", i + 1, alias));
        decode_types_.push_back(id);
      } else {
        needs_wrap = true;
        projection.push_back(IsNestedKind(id)
                                 ? fmt::format("CAST(to_json(#{}) AS VARCHAR) AS {}", i + 1, alias)
                                 : fmt::format("CAST(#{} AS VARCHAR) AS {}", i + 1, alias));
        decode_types_.push_back(DUCKDB_TYPE_VARCHAR);
      }
    }
    if (!needs_wrap) {
      prepared_.emplace(std::move(prepared));
      return BindParameters(*prepared_, parameters);
    }
    ASSIGN_OR_RETURN(duck::PreparedStatement wrapped,
                     connection_.Prepare(fmt::format("SELECT {} FROM (\n{}\n) AS loch_result",
                                                     Join(projection, ", "), TrimStatement(sql))));
    prepared_.emplace(std::move(wrapped));
    return BindParameters(*prepared_, parameters);
  }

  // Execution starts with the first Next(), so that a caller can hold the cursor (and Cancel() it)
  // before any work is done.
  void SetTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  absl::Status Start() {
    started_ = true;
    if (timeout_.count() > 0) {
      watchdog_id_ = watchdog_->Arm(Watchdog::Clock::now() + timeout_, &connection_, timed_out_);
    }
    if (cancelled_) {
      Disarm();
      return absl::CancelledError("the query was cancelled");
    }
    auto result = prepared_->ExecuteStreaming();
    if (!result.ok()) {
      Disarm();
      return TranslateInterrupt(result.status());
    }
    result_ = std::move(*result);
    return CheckResultTypes();
  }

  // Bound parameters can change a statement's result types (DuckDB binds it again with the
  // values' types): decode by what the result holds, never by what preparing promised, or
  // a BIGINT vector would be read as strings.
  absl::Status CheckResultTypes() {
    if (result_.column_count() != decode_types_.size()) {
      Disarm();
      return absl::InvalidArgumentError(
          "the parameters' values changed the shape of the result; cast them explicitly");
    }
    for (size_t i = 0; i < decode_types_.size(); ++i) {
      duck::LogicalType type = result_.column_type(i);
      if (type.id() == decode_types_[i]) continue;
      if (!IsDirectlyDecodable(type.id())) {
        Disarm();
        return absl::InvalidArgumentError(fmt::format(
            "the parameters' values made column {} a {} instead of {}; cast the parameters "
            "explicitly",
            i + 1, type.Name(), columns_[i].type));
      }
      decode_types_[i] = type.id();
      columns_[i] = ResultColumn{columns_[i].name, type.Name(), KindOf(type.id())};
    }
    return absl::OkStatus();
  }

  const std::vector<ResultColumn>& columns() const override { return columns_; }

  absl::StatusOr<std::optional<ResultChunk>> Next() override {
    if (done_) return std::optional<ResultChunk>();
    if (!started_) {
      absl::Status started = Start();
      if (!started.ok()) {
        done_ = true;
        return started;
      }
    }
    auto chunk = result_.Fetch();
    if (!chunk.ok() || !chunk->has_value()) {
      done_ = true;
      Disarm();
      if (!chunk.ok()) return TranslateInterrupt(chunk.status());
      return std::optional<ResultChunk>();
    }
    ResultChunk out;
    out.row_count = (*chunk)->size();
    out.cells.resize(columns_.size());
    for (size_t column = 0; column < columns_.size(); ++column) {
      DecodeVector((*chunk)->column(column), decode_types_[column], out.row_count,
                   out.cells[column]);
    }
    return std::optional<ResultChunk>(std::move(out));
  }

  void Cancel() override {
    cancelled_ = true;
    connection_.Interrupt();
  }

 private:
  void Disarm() {
    if (watchdog_id_ != 0) watchdog_->Disarm(watchdog_id_);
    watchdog_id_ = 0;
  }

  absl::Status TranslateInterrupt(const absl::Status& status) const {
    if (!absl::IsCancelled(status)) return status;
    if (timed_out_->load()) {
      return absl::DeadlineExceededError(fmt::format(
          "the query ran longer than its time limit of {} ms and was stopped", timeout_.count()));
    }
    return absl::CancelledError("the query was cancelled");
  }

  std::unique_ptr<QueryResources> resources_;  // first: released after everything below
  duck::Connection connection_;                // destroyed after the statement and result
  std::optional<duck::PreparedStatement> prepared_;
  duck::Result result_;
  std::vector<ResultColumn> columns_;
  std::vector<duckdb_type> decode_types_;
  Watchdog* watchdog_;
  int watchdog_id_ = 0;
  std::chrono::milliseconds timeout_{0};
  std::shared_ptr<std::atomic<bool>> timed_out_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> cancelled_{false};
  bool started_ = false;
  bool done_ = false;
};

// What a write statement did, as a one-row result.
struct WriteSummary {
  std::string operation;  // "CREATE TABLE", "INSERT", "DROP TABLE"
  std::string table;
  int64_t rows = 0;
  int64_t files = 0;
  int64_t snapshot = 0;
};

// A cursor over a write statement: the write runs on the first Next() and yields one summary row.
class WriteCursor final : public QueryCursor {
 public:
  explicit WriteCursor(std::function<absl::StatusOr<WriteSummary>()> run) : run_(std::move(run)) {
    columns_ = {{"operation", "VARCHAR", ValueKind::kString},
                {"table", "VARCHAR", ValueKind::kString},
                {"rows", "BIGINT", ValueKind::kNumber},
                {"files", "BIGINT", ValueKind::kNumber},
                {"snapshot", "BIGINT", ValueKind::kNumber}};
  }
  const std::vector<ResultColumn>& columns() const override { return columns_; }
  absl::StatusOr<std::optional<ResultChunk>> Next() override {
    if (done_) return std::optional<ResultChunk>();
    done_ = true;
    if (cancelled_) return absl::CancelledError("the statement was cancelled before it started");
    ASSIGN_OR_RETURN(WriteSummary summary, run_());
    ResultChunk chunk;
    chunk.row_count = 1;
    chunk.cells = {{summary.operation},
                   {summary.table},
                   {std::to_string(summary.rows)},
                   {std::to_string(summary.files)},
                   {std::to_string(summary.snapshot)}};
    return std::optional<ResultChunk>(std::move(chunk));
  }
  void Cancel() override { cancelled_ = true; }

 private:
  std::function<absl::StatusOr<WriteSummary>()> run_;
  std::vector<ResultColumn> columns_;
  std::atomic<bool> cancelled_{false};
  bool done_ = false;
};

bool IsScalarType(const std::string& type) {
  return type.find("STRUCT") == std::string::npos && type.find("MAP") == std::string::npos &&
         type.find('[') == std::string::npos && type != "BLOB" && type != "NULL" && type != "JSON";
}

}  // namespace

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
  std::mutex admin_mu;                 // guards `admin` and `views`
  duck::Connection admin;              // trusted connection: view definitions and file profiling
  std::map<TableName, int64_t> views;  // table -> snapshot its view currently shows
  std::map<TableName, int64_t> catalog_views;  // catalog view -> view_id its DuckDB view shows
  Watchdog watchdog;

  // What a statement reads once views are followed: the catalog tables underneath, and the views
  // in an order where each comes after the views it reads.
  struct ResolvedNames {
    std::vector<TableName> tables;
    std::vector<ViewInfo> views;
  };
  static constexpr int kMaxViewDepth = 16;

  // Splits `names` into tables and views, following each view's query to what it reads. Views
  // nested deeper than kMaxViewDepth (or in a cycle) are an error.
  absl::Status ResolveNames(const Principal& who, const std::vector<TableName>& names,
                            duck::Connection& connection, int depth, ResolvedNames& out) {
    for (const TableName& name : names) {
      auto view = catalog->GetView(who, name);
      if (!view.ok()) {
        if (!absl::IsNotFound(view.status())) return view.status();
        if (std::find(out.tables.begin(), out.tables.end(), name) == out.tables.end()) {
          out.tables.push_back(name);
        }
        continue;
      }
      if (depth >= kMaxViewDepth) {
        return absl::InvalidArgumentError(
            fmt::format("view {} nests views more than {} deep (or refers to itself)",
                        name.ToString(), kMaxViewDepth));
      }
      if (std::any_of(out.views.begin(), out.views.end(),
                      [&](const ViewInfo& seen) { return seen.name == name; })) {
        continue;
      }
      auto inner = CheckUserQuery(connection, view->sql);
      if (!inner.ok()) {
        return absl::Status(inner.status().code(),
                            fmt::format("view {} no longer reads: {}", name.ToString(),
                                        ToStd(inner.status().message())));
      }
      if (!inner->unqualified.empty()) return UnknownTables(who, inner->unqualified);
      RETURN_IF_ERROR(ResolveNames(who, inner->qualified, connection, depth + 1, out));
      out.views.push_back(std::move(*view));
    }
    return absl::OkStatus();
  }

  // CREATE VIEW `view` in DuckDB inside `catalog_prefix` ("" or "name."), after the tables and
  // views it reads. Caller holds admin_mu.
  absl::Status DefineView(const ViewInfo& view, const std::string& catalog_prefix) {
    RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}{}", catalog_prefix,
                                              QuoteIdentifier(view.name.database))));
    return Annotate(admin.Execute(fmt::format("CREATE OR REPLACE VIEW {}{}.{} AS {}",
                                              catalog_prefix, QuoteIdentifier(view.name.database),
                                              QuoteIdentifier(view.name.table), view.sql)),
                    fmt::format("preparing view {}", view.name.ToString()));
  }

  // A local path for `key` that DuckDB may open: the object must be a regular file reached without
  // following any symlink.
  absl::StatusOr<std::string> SafeLocalPath(const std::string& key) {
    std::optional<std::string> path = store->LocalPath(key);
    if (!path.has_value()) {
      return absl::FailedPreconditionError(fmt::format("object \"{}\" is not a local file", key));
    }
    absl::Status readable = store->Head(key).status();
    if (!readable.ok()) {
      return absl::Status(readable.code(), fmt::format("data file \"{}\" cannot be read safely: {}",
                                                       key, ToStd(readable.message())));
    }
    return *path;
  }

  // Makes the view DATABASE.TABLE show the table's current snapshot, unless it already shows a
  // newer one (snapshots are read before this lock is taken: a slow query must not take the view
  // back to the snapshot it read). Caller holds admin_mu.
  absl::Status RefreshView(const TableSnapshot& snapshot) {
    const TableName& name = snapshot.table.name;
    auto it = views.find(name);
    if (it != views.end() && it->second >= snapshot.table.current_snapshot) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::string body, BuildTableViewSql(snapshot, [&](const DataFile& file) {
                       return SafeLocalPath(file.key);
                     }));
    RETURN_IF_ERROR(admin.Execute(
        fmt::format("CREATE SCHEMA IF NOT EXISTS {}", QuoteIdentifier(name.database))));
    RETURN_IF_ERROR(Annotate(admin.Execute(fmt::format("CREATE OR REPLACE VIEW {}.{} AS {}",
                                                       QuoteIdentifier(name.database),
                                                       QuoteIdentifier(name.table), body)),
                             fmt::format("preparing table {}", name.ToString())));
    views[name] = snapshot.table.current_snapshot;
    catalog_views.erase(name);
    return absl::OkStatus();
  }

  // Makes the catalog view `view` current in the shared database. Caller holds admin_mu.
  absl::Status RefreshCatalogView(const ViewInfo& view) {
    auto it = catalog_views.find(view.name);
    if (it != catalog_views.end() && it->second == view.view_id) return absl::OkStatus();
    RETURN_IF_ERROR(DefineView(view, ""));
    catalog_views[view.name] = view.view_id;
    views.erase(view.name);
    return absl::OkStatus();
  }

  bool remote() const { return options.cache != nullptr; }

  // The files of `snapshot` the statement may need: all of them unless its WHERE clause proves
  // some hold no matching row. Pruning that fails keeps every file. Runs its query on
  // `connection` (the query's own: pruning takes no lock).
  std::vector<DataFile> FilesTheQueryMayNeed(const nlohmann::json& statement,
                                             const std::vector<QueryParameter>& parameters,
                                             TableSnapshot& snapshot,
                                             duck::Connection& connection) {
    if (!options.prune_files) return std::move(snapshot.files);
    // One local file: DuckDB skips its row groups by their statistics itself, and pruning would
    // only cost a query.
    if (!remote() && snapshot.files.size() <= 1) return std::move(snapshot.files);
    const PrunePredicate predicate =
        ExtractPrunePredicate(statement, snapshot.table.name, snapshot.table.schema, parameters);
    auto may_match =
        FilesThatMayMatch(connection, predicate, snapshot.table.schema, snapshot.files);
    if (!may_match.ok()) {
      spdlog::debug("pruning {} kept every file: {}", snapshot.table.name.ToString(),
                    ToStd(may_match.status().message()));
      return std::move(snapshot.files);
    }
    std::vector<DataFile> kept;
    for (size_t i = 0; i < snapshot.files.size(); ++i) {
      if ((*may_match)[i]) kept.push_back(std::move(snapshot.files[i]));
    }
    return kept;
  }

  // A path DuckDB may open for each of `snapshot.files`, by key: fetched into the cache on a
  // remote lake (the leases go to `resources`), reached without symlinks on a local one. Takes no
  // lock: a slow fetch delays only this query.
  absl::StatusOr<std::map<std::string, std::string>> ReadablePaths(const TableSnapshot& snapshot,
                                                                   QueryResources& resources) {
    std::map<std::string, std::string> paths;
    if (!remote()) {
      for (const DataFile& file : snapshot.files) {
        ASSIGN_OR_RETURN(paths[file.key], SafeLocalPath(file.key));
      }
      return paths;
    }
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const DataFile& file : snapshot.files) wanted.emplace_back(file.key, file.etag);
    ASSIGN_OR_RETURN(auto leases, options.cache->FetchAll(wanted));
    for (size_t i = 0; i < leases.size(); ++i) paths[snapshot.files[i].key] = leases[i]->path();
    for (auto& lease : leases) resources.files.push_back(std::move(lease));
    return paths;
  }

  // In the query's own catalog `catalog_name`, the view DATABASE.TABLE over exactly
  // `snapshot.files`, read at `paths` (ReadablePaths). Caller holds admin_mu.
  absl::Status DefinePrivateTableView(const TableSnapshot& snapshot,
                                      const std::map<std::string, std::string>& paths,
                                      const std::string& catalog_name) {
    const TableName& name = snapshot.table.name;
    ASSIGN_OR_RETURN(std::string body, BuildTableViewSql(snapshot, [&](const DataFile& file) {
                       return absl::StatusOr<std::string>(paths.at(file.key));
                     }));
    RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}.{}", catalog_name,
                                              QuoteIdentifier(name.database))));
    return Annotate(admin.Execute(fmt::format("CREATE VIEW {}.{}.{} AS {}", catalog_name,
                                              QuoteIdentifier(name.database),
                                              QuoteIdentifier(name.table), body)),
                    fmt::format("preparing table {}", name.ToString()));
  }

  uint64_t next_query_catalog = 1;

  // Makes the catalog tables a statement reads visible on `connection`: shared views when nothing
  // was pruned on a local lake, else a private catalog of views over the files the query may need.
  absl::StatusOr<std::unique_ptr<QueryResources>> BindTables(
      const Principal& who, const StatementTables& tables,
      const std::vector<QueryParameter>& parameters, duck::Connection& connection) {
    if (!tables.unqualified.empty()) return UnknownTables(who, tables.unqualified);
    ResolvedNames names;
    RETURN_IF_ERROR(ResolveNames(who, tables.qualified, connection, 0, names));
    auto resources = std::make_unique<QueryResources>();
    std::string catalog_name;
    std::vector<TableSnapshot> private_tables;  // read through views over their kept files
    std::vector<TableSnapshot> shared_tables;   // read through the shared views
    for (const TableName& name : names.tables) {
      // (A table read only through a view gets no predicate: the view reads all its files.)
      ASSIGN_OR_RETURN(TableSnapshot snapshot, catalog->ReadTable(who, name, std::nullopt));
      const size_t all_files = snapshot.files.size();
      std::vector<DataFile> kept =
          FilesTheQueryMayNeed(tables.statement, parameters, snapshot, connection);
      for (const DataFile& file : kept) resources->bytes_scanned += file.size_bytes;
      snapshot.files = std::move(kept);
      if (!remote() && snapshot.files.size() == all_files) {
        shared_tables.push_back(std::move(snapshot));
      } else {
        private_tables.push_back(std::move(snapshot));
      }
    }
    std::vector<std::map<std::string, std::string>> private_paths;  // parallel to private_tables
    for (const TableSnapshot& snapshot : private_tables) {
      ASSIGN_OR_RETURN(private_paths.emplace_back(), ReadablePaths(snapshot, *resources));
    }
    {
      std::lock_guard lock(admin_mu);
      for (const TableSnapshot& snapshot : shared_tables) RETURN_IF_ERROR(RefreshView(snapshot));
      if (private_tables.empty()) {
        for (const ViewInfo& view : names.views) RETURN_IF_ERROR(RefreshCatalogView(view));
        return resources;
      }
      catalog_name = fmt::format("loch_query_{}", next_query_catalog++);
      RETURN_IF_ERROR(admin.Execute(fmt::format("ATTACH ':memory:' AS {}", catalog_name)));
      resources->release = [this, name = catalog_name] {
        std::lock_guard lock(admin_mu);
        admin.Execute(fmt::format("DETACH {}", name)).IgnoreError();
      };
      for (size_t i = 0; i < private_tables.size(); ++i) {
        RETURN_IF_ERROR(DefinePrivateTableView(private_tables[i], private_paths[i], catalog_name));
      }
      for (const TableSnapshot& shared : shared_tables) {
        const TableName& name = shared.table.name;
        const std::string table =
            fmt::format("{}.{}", QuoteIdentifier(name.database), QuoteIdentifier(name.table));
        RETURN_IF_ERROR(admin.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}.{}", catalog_name,
                                                  QuoteIdentifier(name.database))));
        RETURN_IF_ERROR(admin.Execute(
            fmt::format("CREATE VIEW {0}.{1} AS SELECT * FROM memory.{1}", catalog_name, table)));
      }
      for (const ViewInfo& view : names.views) {
        RETURN_IF_ERROR(DefineView(view, catalog_name + "."));
      }
    }
    RETURN_IF_ERROR(connection.Execute(fmt::format("USE {}", catalog_name)));
    return resources;
  }

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
  // Profiles files of one format: each file's columns first (a file that cannot be read gets its
  // error), then the readable ones together (ProfileTogether), or one by one if that fails.
  // Caller holds admin_mu.
  std::vector<absl::StatusOr<FileProfile>> ProfileBatch(
      const std::vector<std::string>& keys, const std::vector<absl::StatusOr<std::string>>& paths,
      const std::string& format, const std::vector<const JsonShape*>& shapes);
  // Fills statistics and datetimes of out[i] for every i in `readable`, with one scan over all of
  // them. `newline_delimited`: the JSON files are known to hold one value per line (they have a
  // shape), so DuckDB need not detect it: it then reads a stream's object 2.5-6x faster. Caller
  // holds admin_mu.
  absl::Status ProfileTogether(const std::vector<absl::StatusOr<std::string>>& paths,
                               const std::vector<size_t>& readable, const std::string& format,
                               bool newline_delimited,
                               std::vector<absl::StatusOr<FileProfile>>& out);

  absl::StatusOr<WriteSummary> ExecuteWrite(const Principal& who, const WriteStatement& statement,
                                            const std::vector<QueryParameter>& parameters);
  absl::StatusOr<WriteSummary> WriteQueryResult(const Principal& who,
                                                const WriteStatement& statement,
                                                const std::vector<QueryParameter>& parameters);
  absl::StatusOr<WriteSummary> CreateView(const Principal& who, const WriteStatement& statement);

  absl::Status UnknownTables(const Principal& who, const std::vector<std::string>& names) {
    auto tables = catalog->ListTables(who, std::nullopt);
    std::vector<std::string> existing;
    if (tables.ok()) {
      for (const TableInfo& table : *tables) existing.push_back(table.name.ToString());
    }
    return absl::NotFoundError(
        fmt::format("unknown table \"{}\": name tables as DATABASE.TABLE; {}", names.front(),
                    existing.empty() ? "the lake has no tables yet (add some with `loch load`)"
                                     : "tables: " + Join(existing, ", ")));
  }
};

LakeEngine::LakeEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LakeEngine::~LakeEngine() = default;

absl::StatusOr<std::unique_ptr<LakeEngine>> LakeEngine::Open(const EngineOptions& options,
                                                             Catalog* catalog, ObjectStore* store) {
  if (!store->LocalPath("probe").has_value() && options.cache == nullptr) {
    return absl::FailedPreconditionError(fmt::format(
        "{} is remote: the query engine needs a local file cache for it", store->Describe()));
  }
  std::vector<std::pair<std::string, std::string>> config = {
      {"autoinstall_known_extensions", "false"},
      {"autoload_known_extensions", "false"},
  };
  if (options.threads > 0) config.emplace_back("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) config.emplace_back("memory_limit", options.memory_limit);
  if (!options.temp_dir.empty()) config.emplace_back("temp_directory", options.temp_dir);
  ASSIGN_OR_RETURN(duck::Database database, duck::Database::OpenInMemory(config));
  ASSIGN_OR_RETURN(duck::Connection admin, duck::Connection::Open(database));
  // Order matters: allowed_directories cannot be set once external access is off, and nothing can
  // be set once the configuration is locked.
  std::string root = options.readable_root;
  if (!root.ends_with('/')) root += '/';
  RETURN_IF_ERROR(
      Annotate(admin.Execute(fmt::format("SET allowed_directories = [{}]", QuoteLiteral(root))),
               "sandboxing the query engine"));
  // Lake data files are immutable (keys are never rewritten), so cached footers never go stale; the
  // cache also spares reading a footer twice when a view and then the query over it are bound.
  RETURN_IF_ERROR(admin.Execute("SET parquet_metadata_cache = true"));
  RETURN_IF_ERROR(admin.Execute("SET enable_external_access = false"));
  RETURN_IF_ERROR(admin.Execute("SET lock_configuration = true"));
  return std::unique_ptr<LakeEngine>(new LakeEngine(
      std::make_unique<Impl>(options, catalog, store, std::move(database), std::move(admin))));
}

absl::StatusOr<std::unique_ptr<QueryCursor>> LakeEngine::Query(const Principal& who,
                                                               std::string_view sql,
                                                               const QueryOptions& options) {
  ASSIGN_OR_RETURN(std::optional<WriteStatement> write, ParseWriteStatement(sql));
  if (write.has_value()) {
    const bool takes_parameters = write->kind == WriteStatement::Kind::kCreateTableAs ||
                                  write->kind == WriteStatement::Kind::kInsertInto;
    if (!takes_parameters && !options.parameters.empty()) {
      return absl::InvalidArgumentError(
          "parameters ($1, $2, ...) are not supported in views and DROP: write the values into "
          "the statement");
    }
    return std::unique_ptr<QueryCursor>(
        new WriteCursor([this, who, statement = std::move(*write), options] {
          return impl_->ExecuteWrite(who, statement, options.parameters);
        }));
  }
  ASSIGN_OR_RETURN(duck::Connection connection, duck::Connection::Open(impl_->database));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, sql));
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   impl_->BindTables(who, tables, options.parameters, connection));
  if (options.max_bytes_scanned > 0 && resources->bytes_scanned > options.max_bytes_scanned) {
    return absl::ResourceExhaustedError(fmt::format(
        "the query would scan {} bytes (the data files its filters cannot rule out), over the "
        "limit of {} bytes per query: filter on partition columns or ask for a higher limit",
        resources->bytes_scanned, options.max_bytes_scanned));
  }
  auto cursor = std::make_unique<DuckQueryCursor>(std::move(connection), &impl_->watchdog,
                                                  std::move(resources));
  RETURN_IF_ERROR(cursor->Prepare(sql, options.parameters));
  cursor->SetTimeout(options.timeout);
  return std::unique_ptr<QueryCursor>(std::move(cursor));
}

absl::StatusOr<FileProfile> LakeEngine::ProfileFile(const std::string& key,
                                                    const std::string& format,
                                                    const JsonShape* shape) {
  std::shared_ptr<FileCache::Lease> cached;  // held while profiling
  std::string path;
  if (impl_->remote()) {
    ASSIGN_OR_RETURN(cached, impl_->options.cache->Fetch(key, ""));
    path = cached->path();
  } else {
    ASSIGN_OR_RETURN(path, impl_->SafeLocalPath(key));
  }
  std::lock_guard lock(impl_->admin_mu);
  return impl_->ProfilePath(path, format, key, shape);
}

absl::StatusOr<LakeEngine::JsonConversion> LakeEngine::ConvertJsonToParquet(
    std::string_view ndjson, const std::vector<Column>& columns,
    const std::function<absl::Status(const std::string& parquet_path, int64_t rows)>& keep) {
  if (columns.empty()) return absl::InvalidArgumentError("a conversion needs at least one column");
  ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> spool, ScratchDir::Make(impl_->options, "convert"));
  ASSIGN_OR_RETURN(const std::string input, spool->Write("records.json", ndjson));
  const std::string output = spool->path() + "/rows.parquet";
  JsonConversion conversion;
  {
    std::lock_guard lock(impl_->admin_mu);
    ASSIGN_OR_RETURN(duck::Result rejected, impl_->admin.Query(RejectedRowsSql(input, columns)));
    ASSIGN_OR_RETURN(auto rows, rejected.FetchAllAsText());
    for (const auto& row : rows)
      conversion.rejected.emplace_back(row[0].value_or(""), row[1].value_or(""));
    ASSIGN_OR_RETURN(duck::Result copied,
                     impl_->admin.Query(fmt::format(
                         "COPY ({}) TO {} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS false)",
                         ConvertedRowsSql(input, columns), QuoteLiteral(output))));
    ASSIGN_OR_RETURN(auto counted, copied.FetchAllAsText());
    conversion.rows = counted.empty() ? 0 : std::stoll(counted[0][0].value_or("0"));
  }
  RETURN_IF_ERROR(keep(output, conversion.rows));
  return conversion;
}

std::vector<absl::StatusOr<FileProfile>> LakeEngine::ProfileFiles(
    const std::vector<std::string>& keys, const std::string& format,
    const std::vector<const JsonShape*>& shapes) {
  auto shape_of = [&](size_t i) { return i < shapes.size() ? shapes[i] : nullptr; };
  constexpr size_t kBatchFiles = 256;
  std::vector<absl::StatusOr<FileProfile>> profiles;
  profiles.reserve(keys.size());
  if (format == "parquet" || keys.size() == 1) {  // footers are cheap: one by one
    for (size_t i = 0; i < keys.size(); ++i)
      profiles.push_back(ProfileFile(keys[i], format, shape_of(i)));
    return profiles;
  }
  for (size_t start = 0; start < keys.size(); start += kBatchFiles) {
    const size_t end = std::min(keys.size(), start + kBatchFiles);
    std::vector<std::string> batch_keys(keys.begin() + start, keys.begin() + end);
    std::vector<const JsonShape*> batch_shapes;
    for (size_t i = start; i < end; ++i) batch_shapes.push_back(shape_of(i));
    std::vector<std::shared_ptr<FileCache::Lease>> cached;  // held while profiling
    std::vector<absl::StatusOr<std::string>> paths;
    for (const std::string& key : batch_keys) {
      if (impl_->remote()) {
        auto lease = impl_->options.cache->Fetch(key, "");
        paths.push_back(lease.ok() ? absl::StatusOr<std::string>((*lease)->path())
                                   : lease.status());
        if (lease.ok()) cached.push_back(*lease);
      } else {
        paths.push_back(impl_->SafeLocalPath(key));
      }
    }
    std::lock_guard lock(impl_->admin_mu);
    for (auto& profile : impl_->ProfileBatch(batch_keys, paths, format, batch_shapes)) {
      profiles.push_back(std::move(profile));
    }
  }
  return profiles;
}

namespace {

constexpr const char* kFileColumn = "__loch_file";  // the file name column of batch scans

std::string SingleScan(const std::string& path, const std::string& format) {
  if (format == "json") {
    return fmt::format(
        "read_json({}, format = 'auto', sample_size = -1, hive_partitioning = false)",
        QuoteLiteral(path));
  }
  if (format == "csv") {
    return fmt::format("read_csv({}, sample_size = -1, hive_partitioning = false)",
                       QuoteLiteral(path));
  }
  return fmt::format("read_parquet({}, hive_partitioning = false)", QuoteLiteral(path));
}

}  // namespace

absl::StatusOr<std::vector<Column>> LakeEngine::Impl::DescribeScan(const std::string& scan) {
  ASSIGN_OR_RETURN(duck::Result described,
                   admin.Query(fmt::format("DESCRIBE SELECT * FROM {}", scan)));
  ASSIGN_OR_RETURN(auto rows, described.FetchAllAsText());
  std::vector<Column> columns;
  for (const auto& row : rows) {
    if (row[0].value_or("") == kFileColumn) continue;
    columns.emplace_back(row[0].value_or(""), row[1].value_or("VARCHAR"));
  }
  return columns;
}

absl::StatusOr<std::vector<Column>> LakeEngine::Impl::DescribeFile(const std::string& path,
                                                                   const std::string& format,
                                                                   const JsonShape* shape) {
  if (shape != nullptr && format == "json") {
    auto scratch = ScratchDir::Make(options, "sample");
    auto sample = scratch.ok() ? (*scratch)->Write("head.json", shape->head)
                               : absl::StatusOr<std::string>(scratch.status());
    if (sample.ok()) {
      auto sampled = DescribeScan(SingleScan(*sample, format));
      if (sampled.ok() && SampledTypesHold(*shape, *sampled)) return sampled;
    }
  }
  return DescribeScan(SingleScan(path, format));
}

std::vector<absl::StatusOr<FileProfile>> LakeEngine::Impl::ProfileBatch(
    const std::vector<std::string>& keys, const std::vector<absl::StatusOr<std::string>>& paths,
    const std::string& format, const std::vector<const JsonShape*>& shapes) {
  std::vector<absl::StatusOr<FileProfile>> out;
  std::vector<size_t> readable;
  // Each file's own columns (and whether it can be read at all).
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!paths[i].ok()) {
      out.push_back(paths[i].status());
      continue;
    }
    auto columns = DescribeFile(*paths[i], format, shapes[i]);
    if (!columns.ok()) {
      out.push_back(
          Annotate(columns.status(), fmt::format("reading \"{}\" as {}", keys[i], format)));
      continue;
    }
    FileProfile profile;
    profile.columns = std::move(*columns);
    out.push_back(std::move(profile));
    readable.push_back(i);
  }
  if (readable.empty()) return out;
  const bool shaped =
      std::all_of(readable.begin(), readable.end(), [&](size_t i) { return shapes[i] != nullptr; });
  absl::Status batched = ProfileTogether(paths, readable, format, shaped, out);
  if (!batched.ok()) {  // something only one file at a time can say (or a sample's types did not
                        // hold): read them one by one, each sniffed whole
    for (size_t i : readable) out[i] = ProfilePath(*paths[i], format, keys[i]);
  }
  return out;
}

absl::Status LakeEngine::Impl::ProfileTogether(
    const std::vector<absl::StatusOr<std::string>>& paths, const std::vector<size_t>& readable,
    const std::string& format, bool newline_delimited,
    std::vector<absl::StatusOr<FileProfile>>& out) {
  const char* json_format = newline_delimited ? "newline_delimited" : "auto";
  std::vector<std::string> quoted;
  std::map<std::string, size_t> index_of_path;
  for (size_t i : readable) {
    quoted.push_back(QuoteLiteral(*paths[i]));
    index_of_path[*paths[i]] = i;
  }
  const std::string list = "[" + Join(quoted, ", ") + "]";
  const std::string options = fmt::format(
      "union_by_name = true, filename = '{}', sample_size = -1, hive_partitioning = false",
      kFileColumn);
  std::string scan;
  if (format == "json") {
    scan = fmt::format("read_json({}, format = '{}', {})", list, json_format, options);
  } else if (format == "csv") {
    scan = fmt::format("read_csv({}, {})", list, options);
  } else {
    scan = fmt::format(
        "read_parquet({}, union_by_name = true, filename = '{}', hive_partitioning = false)", list,
        kFileColumn);
  }
  // Files with the same columns (one file, or a stream's objects) need no second look; otherwise
  // DuckDB decides the union's types.
  std::vector<Column> columns = out[readable.front()]->columns;
  const bool same_columns = std::all_of(readable.begin(), readable.end(),
                                        [&](size_t i) { return out[i]->columns == columns; });
  if (!same_columns) {
    ASSIGN_OR_RETURN(columns, DescribeScan(scan));
  }
  if (format == "json") {
    // With the columns given, DuckDB reads the files once per query instead of first sniffing
    // every record again (sample_size = -1).
    std::vector<std::string> types;
    for (const Column& column : columns) {
      types.push_back(fmt::format("{}: {}", QuoteLiteral(column.name), QuoteLiteral(column.type)));
    }
    scan = fmt::format(
        "read_json({}, format = '{}', columns = {{{}}}, filename = '{}', hive_partitioning = "
        "false)",
        list, json_format, Join(types, ", "), kFileColumn);
  }
  const std::string file = QuoteIdentifier(kFileColumn);

  // Datetimes: each file's own sample (its first rows) decides its formats; a column's formats are
  // then measured over every file with the union of the formats its files chose.
  std::vector<std::string> text_columns;
  for (const Column& column : columns) {
    if (column.type == "VARCHAR") text_columns.push_back(column.name);
  }
  // The first rows of each file. One file, or a few large ones (a stream's objects): each one's
  // rows streamed with a LIMIT. Small files (a crawl batch): a window over the batch, which reads
  // them all, but in one query, which costs less than a scan per file.
  constexpr int64_t kSampleRowsPerFile = 1000;
  constexpr size_t kMaxLimitedScans = 16;
  constexpr uintmax_t kLargeFileBytes = 1 << 20;
  uintmax_t total_bytes = 0;
  for (size_t i : readable) {
    std::error_code unknown;
    const uintmax_t size = std::filesystem::file_size(*paths[i], unknown);
    total_bytes += unknown ? 0 : size;
  }
  const bool large_files = total_bytes / readable.size() > kLargeFileBytes;
  std::string sample_scan;
  if (readable.size() == 1 || (readable.size() <= kMaxLimitedScans && large_files)) {
    std::vector<std::string> limited;
    for (size_t i : readable) {
      std::string one = scan;
      const size_t at = one.find(list);
      one.replace(at, list.size(), "[" + QuoteLiteral(*paths[i]) + "]");
      limited.push_back(fmt::format("(SELECT * FROM {} LIMIT {})", one, kSampleRowsPerFile));
    }
    sample_scan = "(" + Join(limited, " UNION ALL BY NAME ") + ")";
  } else {
    sample_scan =
        fmt::format("(SELECT * FROM {} QUALIFY row_number() OVER (PARTITION BY {}) <= {})", scan,
                    file, kSampleRowsPerFile);
  }
  std::vector<std::vector<std::optional<std::string>>> sample_rows;
  if (!text_columns.empty()) {
    ASSIGN_OR_RETURN(duck::Result sampled, admin.Query(DatetimeSampleSql(sample_scan, text_columns,
                                                                         INT64_MAX, kFileColumn)));
    ASSIGN_OR_RETURN(sample_rows, sampled.FetchAllAsText());
  }
  const size_t per_column = 1 + KnownDatetimeFormats().size();
  std::map<std::string, std::vector<std::string>> formats_of_column;  // union, in order
  std::map<std::string, std::vector<size_t>> files_of_column;         // files choosing it
  for (const auto& row : sample_rows) {
    auto index = index_of_path.find(row[0].value_or(""));
    if (index == index_of_path.end()) continue;
    const FileProfile& profile = *out[index->second];
    for (size_t c = 0; c < text_columns.size(); ++c) {
      const Column* own = nullptr;
      for (const Column& column : profile.columns) {
        if (column.name == text_columns[c]) own = &column;
      }
      if (own == nullptr || own->type != "VARCHAR") continue;
      std::vector<int64_t> parsed;
      for (size_t f = 1; f < per_column; ++f) {
        parsed.push_back(std::stoll(row[1 + c * per_column + f].value_or("0")));
      }
      const auto chosen = ChooseDatetimeFormats(
          text_columns[c], std::stoll(row[1 + c * per_column].value_or("0")), parsed);
      if (chosen.empty()) continue;
      auto& formats = formats_of_column[text_columns[c]];
      for (const std::string& format : chosen) {
        if (std::find(formats.begin(), formats.end(), format) == formats.end())
          formats.push_back(format);
      }
      files_of_column[text_columns[c]].push_back(index->second);
    }
  }
  // One pass over the data: row counts, per-column min/max/nulls, and for every datetime column its
  // values, parsed values, parsed range and two examples of values no format parses.
  std::vector<std::string> aggregates = {file, "count(*)"};
  std::vector<const Column*> measured;
  for (const Column& column : columns) {
    if (!IsScalarType(column.type)) continue;
    aggregates.push_back(
        fmt::format("CAST(min({0}) AS VARCHAR), CAST(max({0}) AS VARCHAR), count(*) - count({0})",
                    QuoteIdentifier(column.name)));
    measured.push_back(&column);
  }
  std::vector<std::string> parsed_columns;
  std::vector<std::string> datetime_names;
  for (const auto& [column, formats] : formats_of_column) {
    const size_t i = datetime_names.size();
    datetime_names.push_back(column);
    const std::string text = fmt::format("trim(CAST({} AS VARCHAR))", QuoteIdentifier(column));
    parsed_columns.push_back(fmt::format("{} AS __loch_v{}", text, i));
    parsed_columns.push_back(fmt::format(
        "{} AS __loch_p{}", DatetimeParseSql(text, formats, DatetimeTypeFor(formats)), i));
    aggregates.push_back(fmt::format(
        "count(__loch_v{0}), count(__loch_p{0}), CAST(min(__loch_p{0}) AS VARCHAR), "
        "CAST(max(__loch_p{0}) AS VARCHAR), min(__loch_v{0}) FILTER (WHERE __loch_v{0} IS NOT "
        "NULL AND __loch_p{0} IS NULL), max(__loch_v{0}) FILTER (WHERE __loch_v{0} IS NOT NULL "
        "AND __loch_p{0} IS NULL)",
        i));
  }
  const std::string source = parsed_columns.empty() ? scan
                                                    : fmt::format("(SELECT *, {} FROM {})",
                                                                  Join(parsed_columns, ", "), scan);
  ASSIGN_OR_RETURN(duck::Result stats, admin.Query(fmt::format("SELECT {} FROM {} GROUP BY ALL",
                                                               Join(aggregates, ", "), source)));
  ASSIGN_OR_RETURN(auto stat_rows, stats.FetchAllAsText());
  const size_t datetime_at = 2 + 3 * measured.size();
  constexpr size_t kDatetimeMeasures = 6;
  for (const auto& row : stat_rows) {
    auto index = index_of_path.find(row[0].value_or(""));
    if (index == index_of_path.end()) continue;
    FileProfile& profile = *out[index->second];
    profile.row_count = std::stoll(row[1].value_or("0"));
    for (const Column& own : profile.columns) {
      auto at = std::find_if(measured.begin(), measured.end(),
                             [&](const Column* c) { return c->name == own.name; });
      if (at == measured.end() || !IsScalarType(own.type)) {
        profile.stats.push_back(ColumnStats{own.name, std::nullopt, std::nullopt, -1, own.type});
        continue;
      }
      const size_t m = static_cast<size_t>(at - measured.begin());
      // The bounds follow the order of the type they were measured in: the batch's, which may be
      // wider than this file's own (e.g. VARCHAR when another file of the batch has text there).
      profile.stats.push_back(ColumnStats{own.name, row[2 + 3 * m], row[3 + 3 * m],
                                          std::stoll(row[4 + 3 * m].value_or("0")), (*at)->type});
    }
    for (size_t c = 0; c < datetime_names.size(); ++c) {
      const std::vector<size_t>& choosing = files_of_column[datetime_names[c]];
      if (std::find(choosing.begin(), choosing.end(), index->second) == choosing.end()) continue;
      const std::vector<std::string>& formats = formats_of_column[datetime_names[c]];
      DatetimeColumn detected;
      detected.formats = formats;
      detected.type = DatetimeTypeFor(formats);
      const size_t at = datetime_at + c * kDatetimeMeasures;
      detected.values = std::stoll(row[at].value_or("0"));
      detected.parsed = std::stoll(row[at + 1].value_or("0"));
      detected.min = row[at + 2];
      detected.max = row[at + 3];
      for (size_t e : {at + 4, at + 5}) {
        if (row[e].has_value() &&
            (detected.bad_examples.empty() || detected.bad_examples.front() != *row[e])) {
          detected.bad_examples.push_back(*row[e]);
        }
      }
      profile.datetimes[datetime_names[c]] = std::move(detected);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FileProfile> LakeEngine::Impl::ProfilePath(const std::string& path,
                                                          const std::string& format,
                                                          const std::string& key,
                                                          const JsonShape* shape) {
  if (format != "json" && format != "csv" && format != "parquet") {
    return absl::InvalidArgumentError(
        fmt::format("unknown data format \"{}\" for \"{}\"", format, key));
  }
  auto columns = DescribeFile(path, format, shape);
  if (!columns.ok()) {
    return Annotate(columns.status(), fmt::format("reading \"{}\" as {}", key, format));
  }
  FileProfile profile;
  profile.columns = std::move(*columns);
  std::vector<absl::StatusOr<FileProfile>> out = {std::move(profile)};
  absl::Status profiled = ProfileTogether({path}, {0}, format, /*newline_delimited=*/false, out);
  if (!profiled.ok() && shape != nullptr) return ProfilePath(path, format, key, nullptr);
  RETURN_IF_ERROR(Annotate(profiled, fmt::format("reading \"{}\" as {}", key, format)));
  return std::move(out[0]);
}

}  // namespace loch

namespace loch {

absl::StatusOr<WriteSummary> LakeEngine::Impl::ExecuteWrite(
    const Principal& who, const WriteStatement& statement,
    const std::vector<QueryParameter>& parameters) {
  switch (statement.kind) {
    case WriteStatement::Kind::kCreateView:
      return CreateView(who, statement);
    case WriteStatement::Kind::kDropView: {
      const absl::Status dropped = catalog->DropView(who, statement.table);
      if (absl::IsNotFound(dropped) &&
          catalog->ReadTable(who, statement.table, std::nullopt).ok()) {
        return absl::InvalidArgumentError(
            fmt::format("{} is a table: use DROP TABLE", statement.table.ToString()));
      }
      if (!dropped.ok() && !(absl::IsNotFound(dropped) && statement.if_exists)) return dropped;
      return WriteSummary{"DROP VIEW", statement.table.ToString(), 0, 0, 0};
    }
    default:
      break;
  }
  if (statement.kind == WriteStatement::Kind::kDropTable) {
    if (catalog->GetView(who, statement.table).ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{} is a view: use DROP VIEW", statement.table.ToString()));
    }
    auto dropped = catalog->DropTable(who, statement.table);
    if (absl::IsNotFound(dropped.status()) && statement.if_exists) {
      return WriteSummary{"DROP TABLE", statement.table.ToString(), 0, 0, 0};
    }
    RETURN_IF_ERROR(dropped.status());
    return WriteSummary{"DROP TABLE", statement.table.ToString(), 0, 0, dropped->snapshot_id};
  }
  return WriteQueryResult(who, statement, parameters);
}

// CREATE VIEW: the query must read only catalog tables and views and must bind (so a view that is
// stored always worked when it was made); its text and result columns go to the catalog.
absl::StatusOr<WriteSummary> LakeEngine::Impl::CreateView(const Principal& who,
                                                          const WriteStatement& statement) {
  ASSIGN_OR_RETURN(duck::Connection connection, duck::Connection::Open(database));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, statement.query));
  if (std::find(tables.qualified.begin(), tables.qualified.end(), statement.table) !=
      tables.qualified.end()) {
    return absl::InvalidArgumentError(
        fmt::format("view {} cannot read itself", statement.table.ToString()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   BindTables(who, tables, {}, connection));
  ASSIGN_OR_RETURN(duck::PreparedStatement prepared, connection.Prepare(statement.query));
  ViewInfo view;
  view.name = statement.table;
  view.sql = statement.query;
  while (!view.sql.empty() &&
         (view.sql.back() == ';' || std::isspace(static_cast<unsigned char>(view.sql.back())))) {
    view.sql.pop_back();
  }
  for (size_t i = 0; i < prepared.column_count(); ++i) {
    view.columns.emplace_back(prepared.column_name(i), prepared.column_type(i).Name());
  }
  RETURN_IF_ERROR(catalog->CreateDatabase(who, view.name.database, /*if_not_exists=*/true));
  RETURN_IF_ERROR(catalog->CreateView(who, view, statement.or_replace).status());
  return WriteSummary{"CREATE VIEW", statement.table.ToString(), 0, 0, 0};
}

// CREATE TABLE AS / INSERT INTO: DuckDB writes the query's result as zstd Parquet (Hive-partitioned
// if asked) into a private folder under the readable root; each file is profiled, copied into the
// lake's tables/ zone through the object store, and the catalog commits them in one snapshot. Any
// failure deletes what was copied, so the catalog and the zone keep no trace.
absl::StatusOr<WriteSummary> LakeEngine::Impl::WriteQueryResult(
    const Principal& who, const WriteStatement& statement,
    const std::vector<QueryParameter>& parameters) {
  namespace fs = std::filesystem;
  const bool create = statement.kind == WriteStatement::Kind::kCreateTableAs;
  const std::string operation = create ? "CREATE TABLE" : "INSERT";
  auto existing = catalog->ReadTable(who, statement.table, std::nullopt);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  if (create && existing.ok()) {
    if (statement.if_not_exists)
      return WriteSummary{operation, statement.table.ToString(), 0, 0,
                          existing->table.current_snapshot};
    return absl::AlreadyExistsError(fmt::format(
        "table {} already exists; use INSERT INTO to add rows", statement.table.ToString()));
  }
  if (!create && !existing.ok()) return existing.status();

  ASSIGN_OR_RETURN(duck::Connection connection, duck::Connection::Open(database));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, statement.query));
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   BindTables(who, tables, parameters, connection));
  // The result's columns as executing gives them: bound values can change their types (DuckDB
  // binds the statement again with them), so they are read from an empty execution.
  ASSIGN_OR_RETURN(duck::PreparedStatement prepared,
                   connection.Prepare(fmt::format("SELECT * FROM (\n{}\n) AS loch_shape LIMIT 0",
                                                  TrimStatement(statement.query))));
  RETURN_IF_ERROR(BindParameters(prepared, parameters));
  ASSIGN_OR_RETURN(duck::Result shape, prepared.Execute());
  std::vector<Column> result_columns;
  for (size_t i = 0; i < shape.column_count(); ++i) {
    result_columns.emplace_back(shape.column_name(i), shape.column_type(i).Name());
  }

  // The columns to write, in the target's order and under its names.
  Schema schema;
  std::vector<std::string> projection;
  if (create) {
    for (const std::string& partition : statement.partitioned_by) {
      if (std::none_of(result_columns.begin(), result_columns.end(),
                       [&](const Column& c) { return c.name == partition; })) {
        return absl::InvalidArgumentError(
            fmt::format("partitioned_by column \"{}\" is not a column of the query", partition));
      }
    }
    for (size_t i = 0; i < result_columns.size(); ++i) {
      const bool is_partition =
          std::find(statement.partitioned_by.begin(), statement.partitioned_by.end(),
                    result_columns[i].name) != statement.partitioned_by.end();
      (is_partition ? schema.partition_columns : schema.columns).push_back(result_columns[i]);
      projection.push_back(
          fmt::format("#{} AS {}", i + 1, QuoteIdentifier(result_columns[i].name)));
    }
  } else {
    schema = existing->table.schema;
    std::vector<Column> target = schema.columns;
    target.insert(target.end(), schema.partition_columns.begin(), schema.partition_columns.end());
    if (target.size() != result_columns.size()) {
      return absl::InvalidArgumentError(
          fmt::format("table {} has {} columns but the query returns {}",
                      statement.table.ToString(), target.size(), result_columns.size()));
    }
    for (size_t i = 0; i < target.size(); ++i) {
      projection.push_back(fmt::format("CAST(#{} AS {}) AS {}", i + 1, target[i].type,
                                       QuoteIdentifier(target[i].name)));
    }
  }
  std::vector<std::string> partition_names;
  for (const Column& column : schema.partition_columns)
    partition_names.push_back(QuoteIdentifier(column.name));

  const std::string write_id = NewTimeOrderedId();
  const std::string spool = options.readable_root + "/.loch-tmp-write-" + write_id;
  struct RemoveSpool {
    std::string path;
    ~RemoveSpool() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } remove_spool{spool};
  std::error_code error;
  fs::create_directories(spool, error);
  if (error)
    return absl::InternalError(fmt::format("cannot create \"{}\": {}", spool, error.message()));
  const std::string target = partition_names.empty() ? spool + "/data.parquet" : spool;
  const std::string copy = fmt::format(
      "COPY (SELECT {} FROM (\n{}\n) AS loch_source) TO {} (FORMAT parquet, COMPRESSION zstd{})",
      Join(projection, ", "), statement.query, QuoteLiteral(target),
      partition_names.empty() ? ""
                              : fmt::format(", PARTITION_BY ({})", Join(partition_names, ", ")));
  {
    ASSIGN_OR_RETURN(duck::PreparedStatement copying, connection.Prepare(copy));
    RETURN_IF_ERROR(BindParameters(copying, parameters));
    RETURN_IF_ERROR(copying.Execute().status());
  }
  if (resources != nullptr) {  // leave the private catalog before it is detached
    connection.Execute("USE memory").IgnoreError();
    resources.reset();
  }

  // Profile each file and copy it into tables/<db>/<table>/<write id>/.
  std::vector<DataFile> files;
  std::vector<std::string> copied;
  auto cleanup = [&](absl::Status status) {
    for (const std::string& key : copied) store->Delete(key).IgnoreError();
    return status;
  };
  const std::string location =
      fmt::format("tables/{}/{}/", statement.table.database, statement.table.table);
  int64_t rows = 0;
  for (const auto& entry : fs::recursive_directory_iterator(spool)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), spool).string();
    DataFile file;
    file.key = location + write_id + "/" + relative;
    file.format = "parquet";
    file.size_bytes = static_cast<int64_t>(entry.file_size());
    for (std::string_view segment : Split(relative, '/')) {
      if (const size_t eq = segment.find('='); eq != std::string_view::npos) {
        file.partition_values[std::string(segment.substr(0, eq))] =
            std::string(segment.substr(eq + 1));
      }
    }
    absl::StatusOr<FileProfile> profile;
    {
      std::lock_guard lock(admin_mu);
      profile = ProfilePath(entry.path().string(), "parquet", file.key);
    }
    if (!profile.ok()) return cleanup(profile.status());
    file.row_count = profile->row_count;
    file.stats = profile->stats;
    rows += file.row_count;
    if (absl::Status put = store->PutFile(file.key, entry.path().string()); !put.ok())
      return cleanup(put);
    copied.push_back(file.key);
    auto head = store->Head(file.key);
    if (!head.ok()) return cleanup(head.status());
    file.etag = head->etag;
    files.push_back(std::move(file));
  }

  TableCommit commit;
  commit.table = statement.table;
  commit.operation = create ? "create" : "append";
  commit.message = fmt::format("{} ({} rows)", operation, rows);
  commit.add_files = files;
  commit.summary = {{"files_added", files.size()}, {"rows_added", rows}};
  if (create) {
    if (absl::Status database = catalog->CreateDatabase(who, statement.table.database, true);
        !database.ok()) {
      return cleanup(database);
    }
    commit.base_snapshot = TableCommit::kCreate;
    commit.new_schema = schema;
    commit.location = location;
  } else {
    commit.base_snapshot = existing->table.current_snapshot;
  }
  for (int attempt = 1;; ++attempt) {
    auto committed = catalog->Commit(who, commit);
    if (committed.ok())
      return WriteSummary{operation, statement.table.ToString(), rows,
                          static_cast<int64_t>(files.size()), committed->snapshot_id};
    if (create || !absl::IsAborted(committed.status()) || attempt == 8)
      return cleanup(committed.status());
    auto current = catalog->ReadTable(who, statement.table, std::nullopt);  // appends rebase
    if (!current.ok()) return cleanup(current.status());
    commit.base_snapshot = current->table.current_snapshot;
  }
}

}  // namespace loch
