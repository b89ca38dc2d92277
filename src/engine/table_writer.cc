// LakeEngine::Impl's table writer: see lake_engine_impl.h.
#include <algorithm>
#include <cctype>

#include "common/lake_config.h"
#include "common/strings.h"
#include "engine/lake_engine_impl.h"
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

  StageRequest request;
  request.table = statement.table;
  request.query = statement.query;
  request.parameters = parameters;
  if (create) {
    request.layout.partition_by = statement.partitioned_by;
  } else {
    const Schema& schema = existing->table.schema;
    request.columns = schema.columns;
    request.columns.insert(request.columns.end(), schema.partition_columns.begin(),
                           schema.partition_columns.end());
    for (const Column& column : schema.partition_columns) {
      request.layout.partition_by.push_back(column.name);
    }
  }
  ASSIGN_OR_RETURN(StagedFiles staged, StageResult(who, request));
  auto cleanup = [&](absl::Status status) {
    DiscardStaged(staged);
    return status;
  };
  const int64_t rows = staged.rows;
  const std::string location =
      fmt::format("{}{}/{}/", kCuratedZone, statement.table.database, statement.table.table);

  TableCommit commit;
  commit.table = statement.table;
  commit.operation = create ? "create" : "append";
  commit.message = fmt::format("{} ({} rows)", operation, rows);
  commit.add_files = staged.files;
  commit.summary = {{"files_added", staged.files.size()}, {"rows_added", rows}};
  if (create) {
    if (absl::Status database = catalog->CreateDatabase(who, statement.table.database, true);
        !database.ok()) {
      return cleanup(database);
    }
    commit.base_snapshot = TableCommit::kCreate;
    commit.new_schema = staged.schema;
    commit.location = location;
  } else {
    commit.base_snapshot = existing->table.current_snapshot;
  }
  for (int attempt = 1;; ++attempt) {
    auto committed = catalog->Commit(who, commit);
    if (committed.ok())
      return WriteSummary{operation, statement.table.ToString(), rows,
                          static_cast<int64_t>(staged.files.size()), committed->snapshot_id};
    // A CREATE TABLE that lost its race fails: the table someone else made is not this one.
    if (create || !LostCommitRace(committed.status(), /*create=*/false) ||
        attempt == kMaxCommitAttempts)
      return cleanup(committed.status());
    auto current = catalog->ReadTable(who, statement.table, std::nullopt);  // appends rebase
    if (!current.ok()) return cleanup(current.status());
    commit.base_snapshot = current->table.current_snapshot;
  }
}

}  // namespace loch
