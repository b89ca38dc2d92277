// LakeEngine::Impl's table writer: see lake_engine_impl.h.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/ids.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "engine/lake_engine_impl.h"
#include "engine/scratch_dir.h"
#include "fmt/format.h"

namespace loch {

absl::StatusOr<WriteSummary> LakeEngine::Impl::ExecuteWrite(
    const Principal& who, const WriteStatement& statement,
    const std::vector<QueryParameter>& parameters) {
  switch (statement.kind) {
    case WriteStatement::Kind::kCreateView:
      return CreateView(who, statement);
    case WriteStatement::Kind::kDropView:
    case WriteStatement::Kind::kDropTable:
      return Drop(who, statement);
    case WriteStatement::Kind::kCreateDatabase:
      return CreateDatabase(who, statement);
    case WriteStatement::Kind::kCommentOnTable:
    case WriteStatement::Kind::kCommentOnColumn:
      return Comment(who, statement);
    case WriteStatement::Kind::kRenameTable:
      return RenameTable(who, statement);
    case WriteStatement::Kind::kRenameColumn:
      return RenameColumn(who, statement);
    default:
      return WriteQueryResult(who, statement, parameters);
  }
}

absl::StatusOr<std::vector<TableName>> LakeEngine::Impl::ViewReads(const Principal& who,
                                                                   const ViewInfo& view) {
  if (view.reads.has_value()) return *view.reads;
  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, view.sql));
  return tables.qualified;
}

absl::StatusOr<std::vector<TableName>> LakeEngine::Impl::DependentViews(const Principal& who,
                                                                        const TableName& name) {
  ASSIGN_OR_RETURN(std::vector<ViewInfo> views, catalog->ListViews(who, std::nullopt));
  std::vector<std::pair<TableName, std::vector<TableName>>> reads_of;
  for (const ViewInfo& view : views) {
    auto reads = ViewReads(who, view);
    // A view whose SQL no longer parses reads nothing we can name; it fails when queried anyway.
    reads_of.emplace_back(view.name, reads.ok() ? *reads : std::vector<TableName>{});
  }
  std::vector<TableName> dependents, frontier = {name};
  while (!frontier.empty()) {
    const TableName read = frontier.back();
    frontier.pop_back();
    for (const auto& [view, reads] : reads_of) {
      const bool reads_it = std::find(reads.begin(), reads.end(), read) != reads.end();
      const bool known =
          view == name || std::find(dependents.begin(), dependents.end(), view) != dependents.end();
      if (!reads_it || known) continue;
      dependents.push_back(view);
      frontier.push_back(view);
    }
  }
  return dependents;
}

absl::StatusOr<WriteSummary> LakeEngine::Impl::Drop(const Principal& who,
                                                    const WriteStatement& statement) {
  const bool table = statement.kind == WriteStatement::Kind::kDropTable;
  const std::string operation = table ? "DROP TABLE" : "DROP VIEW";
  const std::string name = statement.table.ToString();
  const bool is_view = catalog->GetView(who, statement.table).ok();
  const bool is_table = !is_view && catalog->ReadTable(who, statement.table, std::nullopt).ok();
  if (table && is_view) {
    return absl::InvalidArgumentError(fmt::format("{} is a view: use DROP VIEW", name));
  }
  if (!table && is_table) {
    return absl::InvalidArgumentError(fmt::format("{} is a table: use DROP TABLE", name));
  }
  if (!is_view && !is_table) {
    if (statement.if_exists) return WriteSummary{operation, name, 0, 0, 0, "it did not exist"};
    return absl::NotFoundError(fmt::format("unknown {} {}", table ? "table" : "view", name));
  }

  ASSIGN_OR_RETURN(std::vector<TableName> dependents, DependentViews(who, statement.table));
  std::vector<std::string> dependent_names;
  for (const TableName& view : dependents) dependent_names.push_back(view.ToString());
  if (!dependents.empty() && !statement.cascade) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot drop {}: view{} {} read{} it; drop {} first, or use {} {} CASCADE to drop {} too",
        name, dependents.size() == 1 ? "" : "s", Join(dependent_names, ", "),
        dependents.size() == 1 ? "s" : "", dependents.size() == 1 ? "it" : "them", operation, name,
        dependents.size() == 1 ? "it" : "them"));
  }
  std::vector<DataFile> owned;
  if (statement.purge) {
    ASSIGN_OR_RETURN(owned, catalog->FilesToPurge(who, statement.table));
  }
  for (const TableName& view : dependents) {
    const absl::Status dropped = catalog->DropView(who, view);
    if (!dropped.ok() && !absl::IsNotFound(dropped)) return dropped;
  }
  std::vector<std::string> notes;
  if (!dependents.empty()) notes.push_back("dropped the views " + Join(dependent_names, ", "));
  if (!table) {
    RETURN_IF_ERROR(catalog->DropView(who, statement.table));
    return WriteSummary{operation, name, 0, 0, 0, Join(notes, "; ")};
  }
  ASSIGN_OR_RETURN(TableSnapshot before, catalog->ReadTable(who, statement.table, std::nullopt));
  ASSIGN_OR_RETURN(CommitResult dropped, catalog->DropTable(who, statement.table));
  int64_t rows = 0, bytes = 0;
  for (const DataFile& file : before.files) {
    rows += std::max<int64_t>(file.row_count, 0);
    bytes += file.size_bytes;
  }
  const int64_t files = static_cast<int64_t>(before.files.size());
  if (!statement.purge) {
    notes.push_back(fmt::format(
        "its {} file(s) ({}) stay in the lake, readable at its earlier snapshots; DROP TABLE {} "
        "PURGE deletes a table's files at once, loch vacuum after its retention",
        files, HumanBytes(bytes), name));
    return WriteSummary{operation, name, rows, files, dropped.snapshot_id, Join(notes, "; ")};
  }
  // Deleting is best effort: the table is gone either way, and an object left behind is only
  // space (named in the message so it can be removed by hand).
  int64_t deleted = 0, deleted_bytes = 0;
  std::vector<std::string> failed;
  for (const DataFile& file : owned) {
    const absl::Status removed = store->Delete(file.key);
    if (removed.ok()) {
      ++deleted;
      deleted_bytes += file.size_bytes;
    } else if (failed.size() < 3) {
      failed.push_back(fmt::format("{} ({})", file.key, ToStd(removed.message())));
    }
  }
  notes.push_back(fmt::format("deleted the {} file(s) ({}) it has had in any snapshot", deleted,
                              HumanBytes(deleted_bytes)));
  if (deleted < static_cast<int64_t>(owned.size())) {
    notes.push_back(fmt::format("could not delete {} file(s), e.g. {}",
                                static_cast<int64_t>(owned.size()) - deleted, Join(failed, ", ")));
  }
  return WriteSummary{operation, name, rows, files, dropped.snapshot_id, Join(notes, "; ")};
}

absl::StatusOr<WriteSummary> LakeEngine::Impl::CreateView(const Principal& who,
                                                          const WriteStatement& statement) {
  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
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
  view.reads = tables.qualified;
  while (!view.sql.empty() &&
         (view.sql.back() == ';' || std::isspace(static_cast<unsigned char>(view.sql.back())))) {
    view.sql.pop_back();
  }
  for (size_t i = 0; i < prepared.column_count(); ++i) {
    view.columns.emplace_back(prepared.column_name(i), prepared.column_type(i).Name());
  }
  RETURN_IF_ERROR(catalog->CreateDatabase(who, view.name.database, /*if_not_exists=*/true));
  RETURN_IF_ERROR(catalog->CreateView(who, view, statement.or_replace).status());
  std::vector<std::string> reads;
  for (const TableName& read : tables.qualified) reads.push_back(read.ToString());
  return WriteSummary{"CREATE VIEW",
                      statement.table.ToString(),
                      0,
                      0,
                      0,
                      reads.empty() ? "" : "reads " + Join(reads, ", ")};
}

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

  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
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
  ASSIGN_OR_RETURN(std::unique_ptr<ScratchDir> scratch,
                   ScratchDir::Make(options.readable_root, "write"));
  const std::string& spool = scratch->path();
  const std::string target = partition_names.empty() ? spool + "/data.parquet" : spool;
  // Partitioned output is sorted by its partition columns first: DuckDB keeps at most
  // partitioned_write_max_open_files (100) files open and starts a new file whenever it reopens a
  // partition, so unsorted rows of many partitions became many small files (3M rows in 229
  // partitions: 879 files; 30M rows in 2000: 110,357 files in 107 s, sorted: 2149 in 29 s).
  const std::string copy = fmt::format(
      "COPY (SELECT {} FROM (\n{}\n) AS loch_source{}) TO {} (FORMAT parquet, COMPRESSION zstd{})",
      Join(projection, ", "), statement.query,
      partition_names.empty() ? "" : " ORDER BY " + Join(partition_names, ", "),
      QuoteLiteral(target),
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

  // Profile the files (in batches: one scan per batch, not per file, under admin_mu) and copy
  // them into tables/<db>/<table>/<write id>/.
  constexpr size_t kProfileBatch = 64;
  std::vector<DataFile> files;
  std::vector<std::string> local_paths;  // parallel to `files`
  std::vector<std::string> copied;
  auto cleanup = [&](absl::Status status) {
    for (const std::string& key : copied) store->Delete(key).IgnoreError();
    return status;
  };
  const std::string location =
      fmt::format("{}{}/{}/", kCuratedZone, statement.table.database, statement.table.table);
  for (const auto& entry : fs::recursive_directory_iterator(spool)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = fs::relative(entry.path(), spool).string();
    DataFile file;
    file.key = location + write_id + "/" + relative;
    file.format = "parquet";
    file.owned = true;
    file.size_bytes = static_cast<int64_t>(entry.file_size());
    for (std::string_view segment : Split(relative, '/')) {
      if (const size_t eq = segment.find('='); eq != std::string_view::npos) {
        file.partition_values[std::string(segment.substr(0, eq))] =
            std::string(segment.substr(eq + 1));
      }
    }
    files.push_back(std::move(file));
    local_paths.push_back(entry.path().string());
  }
  int64_t rows = 0;
  for (size_t first = 0; first < files.size(); first += kProfileBatch) {
    const size_t last = std::min(files.size(), first + kProfileBatch);
    std::vector<std::string> keys;
    std::vector<absl::StatusOr<std::string>> paths;
    for (size_t i = first; i < last; ++i) {
      keys.push_back(files[i].key);
      paths.emplace_back(local_paths[i]);
    }
    std::vector<absl::StatusOr<FileProfile>> profiles;
    {
      std::lock_guard lock(admin_mu);
      // The query typed the columns: text is measured as text, never typed from its values.
      profiles = ProfileBatch(keys, paths, "parquet",
                              std::vector<const JsonShape*>(keys.size(), nullptr),
                              /*type_text=*/false);
    }
    for (size_t i = first; i < last; ++i) {
      absl::StatusOr<FileProfile>& profile = profiles[i - first];
      if (!profile.ok()) return cleanup(profile.status());
      DataFile& file = files[i];
      file.row_count = profile->row_count;
      file.stats = std::move(profile->stats);
      rows += file.row_count;
      if (absl::Status put = store->PutFile(file.key, local_paths[i]); !put.ok())
        return cleanup(put);
      copied.push_back(file.key);
      auto head = store->Head(file.key);
      if (!head.ok()) return cleanup(head.status());
      file.etag = head->etag;
    }
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
