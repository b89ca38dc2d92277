#include "engine/lake_engine.h"

#include <algorithm>

#include "common/strings.h"
#include "engine/json_conversion.h"
#include "engine/lake_engine_impl.h"
#include "engine/sandbox.h"
#include "engine/scratch_dir.h"
#include "engine/write_statement.h"
#include "fmt/format.h"

namespace loch {

std::string EngineVersion() { return duckdb_library_version(); }

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
  // Lake data files are immutable (keys are never rewritten), so cached footers never go stale; the
  // cache also spares reading a footer twice when a view and then the query over it are bound.
  RETURN_IF_ERROR(admin.Execute("SET parquet_metadata_cache = true"));
  // Datetimes with zones are converted to UTC and statistics are measured so: the same on every
  // machine, whatever its TZ (a query in another zone than its load's would prune wrongly).
  RETURN_IF_ERROR(admin.Execute("SET GLOBAL TimeZone = 'UTC'"));
  RETURN_IF_ERROR(LockDownDatabase(admin, options.readable_root));
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
  // EXPLAIN <query>: the query is checked and bound like any other; the answer is DuckDB's plan,
  // after a line saying which data files (and bytes) pruning leaves it to read.
  std::string_view query = sql;
  const bool explain = LeadingKeyword(sql) == "EXPLAIN";
  if (explain) {
    query = AfterLeadingKeyword(sql);
    if (LeadingKeyword(query) == "ANALYZE") {
      return absl::InvalidArgumentError(
          "EXPLAIN ANALYZE is not supported: EXPLAIN shows the plan without running the query");
    }
  }
  ASSIGN_OR_RETURN(duck::Connection connection, impl_->OpenUserConnection(who));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, query));
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   impl_->BindTables(who, tables, options.parameters, connection,
                                     options.pinned.empty() ? nullptr : &options.pinned));
  if (options.max_bytes_scanned > 0 && resources->bytes_scanned > options.max_bytes_scanned) {
    return absl::ResourceExhaustedError(fmt::format(
        "the query would scan {} bytes (the data files its filters cannot rule out), over the "
        "limit of {} bytes per query: filter on partition columns or ask for a higher limit",
        resources->bytes_scanned, options.max_bytes_scanned));
  }
  const int64_t files_scanned = resources->files_scanned, files_total = resources->files_total;
  const int64_t bytes_scanned = resources->bytes_scanned;
  auto cursor = std::make_unique<DuckQueryCursor>(std::move(connection), &impl_->watchdog,
                                                  std::move(resources));
  if (!explain) {
    RETURN_IF_ERROR(cursor->Prepare(sql, options.parameters));
    cursor->SetTimeout(options.timeout);
    return std::unique_ptr<QueryCursor>(std::move(cursor));
  }
  RETURN_IF_ERROR(cursor->Prepare(fmt::format("EXPLAIN {}", query), options.parameters,
                                  /*explain=*/true));
  cursor->SetTimeout(options.timeout);
  const std::string scan =
      fmt::format("reads {} of {} data file(s), {} bytes (the files its filters cannot rule out)",
                  files_scanned, files_total, bytes_scanned);
  return std::unique_ptr<QueryCursor>(new PrefixedCursor({{"loch_scan", scan}}, std::move(cursor)));
}

absl::StatusOr<StagedFiles> LakeEngine::StageQueryResult(const Principal& who,
                                                          const StageRequest& request) {
  return impl_->StageResult(who, request);
}

absl::StatusOr<std::vector<Column>> LakeEngine::ResultColumns(const Principal& who,
                                                              const StageRequest& request) {
  ASSIGN_OR_RETURN(Impl::BoundStageQuery bound, impl_->BindStageQuery(who, request));
  if (bound.resources != nullptr) bound.connection.Execute("USE memory").IgnoreError();
  return std::move(bound.columns);
}

void LakeEngine::DiscardStaged(const StagedFiles& staged) { impl_->DiscardStaged(staged); }

absl::StatusOr<std::vector<DataFile>> LakeEngine::CandidateFiles(const Principal& who,
                                                                 TableSnapshot snapshot,
                                                                 std::string_view condition) {
  ASSIGN_OR_RETURN(duck::Connection connection, impl_->OpenUserConnection(who));
  const TableName& name = snapshot.table.name;
  ASSIGN_OR_RETURN(StatementTables tables,
                   CheckUserQuery(connection, fmt::format("SELECT * FROM {}.{} WHERE {}",
                                                          QuoteIdentifier(name.database),
                                                          QuoteIdentifier(name.table), condition)));
  return impl_->FilesTheQueryMayNeed(tables.statement, {}, snapshot, connection);
}

absl::StatusOr<std::vector<TableName>> LakeEngine::SourceTables(const Principal& who,
                                                                std::string_view query) {
  return impl_->SourceTables(who, query);
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
  ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> spool,
                   ScratchDir::Make(impl_->options.readable_root, "convert"));
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

}  // namespace loch
