// LakeEngine::Impl's statements that change names and descriptions, not data: CREATE DATABASE,
// COMMENT ON, ALTER TABLE ... RENAME. See lake_engine_impl.h.
#include <algorithm>

#include "common/strings.h"
#include "engine/lake_engine_impl.h"
#include "engine/text_types.h"
#include "fmt/format.h"

namespace loch {
namespace {

// Commits the schema `change` makes to the table's current one as a new schema version, re-reading
// and retrying when another writer committed first. `change` returns false when there is nothing
// to change (then nothing is committed and the result is nullopt).
absl::StatusOr<std::optional<CommitResult>> CommitSchemaChange(
    Catalog& catalog, const Principal& who, const TableName& name, const std::string& operation,
    const std::string& message, const std::function<absl::StatusOr<bool>(Schema&)>& change) {
  constexpr int kAttempts = 5;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(TableSnapshot table, catalog.ReadTable(who, name, std::nullopt));
    Schema schema = table.table.schema;
    ASSIGN_OR_RETURN(bool changed, change(schema));
    if (!changed) return std::optional<CommitResult>();
    TableCommit commit;
    commit.table = name;
    commit.base_snapshot = table.table.current_snapshot;
    commit.operation = operation;
    commit.message = message;
    commit.new_schema = std::move(schema);
    absl::StatusOr<CommitResult> result = catalog.Commit(who, commit);
    if (result.ok()) return std::optional<CommitResult>(*result);
    if (!absl::IsAborted(result.status())) return result.status();
    last = result.status();
  }
  return last;
}

bool SameIgnoringCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The column named `name` in `columns`; else, as DuckDB resolves names, the one column whose name
// differs only in case (an unquoted OrderId is folded to orderid, the file's column is OrderId).
Column* FindNamed(std::vector<Column>& columns, const std::string& name) {
  Column* folded = nullptr;
  for (Column& column : columns) {
    if (column.name == name) return &column;
    if (SameIgnoringCase(column.name, name)) {
      if (folded != nullptr) return nullptr;  // ambiguous: only the exact name will do
      folded = &column;
    }
  }
  return folded;
}

Column* FindDataColumn(Schema& schema, const std::string& name) {
  return FindNamed(schema.columns, name);
}

absl::Status UnknownColumn(const Schema& schema, const TableName& table, const std::string& name) {
  std::vector<std::string> names;
  for (const auto* list : {&schema.columns, &schema.partition_columns}) {
    for (const Column& column : *list) names.push_back(column.name);
  }
  const std::optional<std::string> closest = ClosestMatch(name, names);
  return absl::NotFoundError(
      fmt::format("table {} has no column \"{}\"{}", table.ToString(), name,
                  closest ? fmt::format(" (did you mean {}?)", *closest) : ""));
}

}  // namespace

absl::StatusOr<WriteSummary> LakeEngine::Impl::CreateDatabase(const Principal& who,
                                                              const WriteStatement& statement) {
  const std::string& name = statement.table.database;
  ASSIGN_OR_RETURN(std::vector<std::string> databases, catalog->ListDatabases(who));
  if (std::find(databases.begin(), databases.end(), name) != databases.end()) {
    if (!statement.if_not_exists)
      return absl::AlreadyExistsError(fmt::format("database {} already exists", name));
    return WriteSummary{"CREATE DATABASE", name, 0, 0, 0, "it already existed"};
  }
  RETURN_IF_ERROR(catalog->CreateDatabase(who, name, /*if_not_exists=*/true));
  return WriteSummary{"CREATE DATABASE", name, 0, 0, 0, ""};
}

absl::Status LakeEngine::Impl::RefuseView(const Principal& who, const TableName& name,
                                          std::string_view what) {
  if (!catalog->GetView(who, name).ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "{} is a view: {}; CREATE OR REPLACE VIEW changes a view", name.ToString(), what));
}

absl::StatusOr<WriteSummary> LakeEngine::Impl::Comment(const Principal& who,
                                                       const WriteStatement& statement) {
  const bool on_table = statement.kind == WriteStatement::Kind::kCommentOnTable;
  RETURN_IF_ERROR(RefuseView(who, statement.table, "COMMENT ON is for tables"));
  const std::string target =
      on_table ? statement.table.ToString() : statement.table.ToString() + "." + statement.column;
  ASSIGN_OR_RETURN(
      std::optional<CommitResult> committed,
      CommitSchemaChange(*catalog, who, statement.table, "comment",
                         fmt::format("COMMENT ON {} {}", on_table ? "TABLE" : "COLUMN", target),
                         [&](Schema& schema) -> absl::StatusOr<bool> {
                           std::string* comment = &schema.comment;
                           if (!on_table) {
                             Column* column = FindDataColumn(schema, statement.column);
                             if (column == nullptr) {
                               column = FindNamed(schema.partition_columns, statement.column);
                               if (column == nullptr)
                                 return UnknownColumn(schema, statement.table, statement.column);
                             }
                             comment = &column->comment;
                           }
                           if (*comment == statement.comment) return false;
                           *comment = statement.comment;
                           return true;
                         }));
  if (!committed.has_value())
    return WriteSummary{"COMMENT", target, 0, 0, 0, "the comment was already that"};
  return WriteSummary{"COMMENT",
                      target,
                      0,
                      0,
                      committed->snapshot_id,
                      fmt::format("schema version {}", committed->schema_version)};
}

absl::StatusOr<WriteSummary> LakeEngine::Impl::RenameTable(const Principal& who,
                                                           const WriteStatement& statement) {
  const std::string name = statement.table.ToString();
  const TableName& to = *statement.new_table;
  RETURN_IF_ERROR(RefuseView(who, statement.table, "ALTER TABLE renames tables"));
  absl::StatusOr<TableSnapshot> table = catalog->ReadTable(who, statement.table, std::nullopt);
  if (absl::IsNotFound(table.status()) && statement.if_exists)
    return WriteSummary{"ALTER TABLE", name, 0, 0, 0, "it did not exist"};
  RETURN_IF_ERROR(table.status());
  if (to == statement.table) return WriteSummary{"ALTER TABLE", name, 0, 0, 0, "same name"};
  ASSIGN_OR_RETURN(std::vector<TableName> dependents, DependentViews(who, statement.table));
  if (!dependents.empty()) {
    std::vector<std::string> names;
    for (const TableName& view : dependents) names.push_back(view.ToString());
    return absl::FailedPreconditionError(fmt::format(
        "cannot rename {}: view(s) {} read it and would stop working; drop them (DROP VIEW), "
        "rename the table, then create them again over {}",
        name, Join(names, ", "), to.ToString()));
  }
  RETURN_IF_ERROR(RefuseStreamTable(who, statement.table));
  ASSIGN_OR_RETURN(CommitResult renamed, catalog->RenameTable(who, statement.table, to));
  return WriteSummary{
      "ALTER TABLE",
      to.ToString(),
      0,
      0,
      renamed.snapshot_id,
      fmt::format("renamed from {}; its files stay under {}; its earlier snapshots are read as {}",
                  name, table->table.location, to.ToString())};
}

absl::StatusOr<WriteSummary> LakeEngine::Impl::RenameColumn(const Principal& who,
                                                            const WriteStatement& statement) {
  const std::string name = statement.table.ToString();
  const std::string& from = statement.column;
  const std::string& to = statement.new_column;
  std::string renamed_from = from;  // the column's name as the table has it
  RETURN_IF_ERROR(RefuseView(who, statement.table, "ALTER TABLE renames the columns of tables"));
  if (statement.if_exists &&
      absl::IsNotFound(catalog->ReadTable(who, statement.table, std::nullopt).status()))
    return WriteSummary{"ALTER TABLE", name, 0, 0, 0, "it did not exist"};
  ASSIGN_OR_RETURN(
      std::optional<CommitResult> committed,
      CommitSchemaChange(
          *catalog, who, statement.table, "alter", fmt::format("RENAME COLUMN {} TO {}", from, to),
          [&](Schema& schema) -> absl::StatusOr<bool> {
            Column* column = FindDataColumn(schema, from);
            if (column != nullptr && column->name == to) return false;
            if (column == nullptr) {
              if (FindNamed(schema.partition_columns, from) != nullptr) {
                return absl::InvalidArgumentError(fmt::format(
                    "{} is a partition column of {}: its name is in the files' folders "
                    "({}=value) and cannot be renamed; CREATE TABLE AS SELECT ... {} AS {} writes "
                    "a table with the new name",
                    from, name, from, from, to));
              }
              return UnknownColumn(schema, statement.table, from);
            }
            // DuckDB resolves names ignoring case: two that differ only in case would clash.
            for (const auto* list : {&schema.columns, &schema.partition_columns}) {
              for (const Column& other : *list) {
                if (&other != column && SameIgnoringCase(other.name, to)) {
                  return absl::AlreadyExistsError(
                      fmt::format("table {} already has a column \"{}\"", name, other.name));
                }
              }
            }
            // Files keep the names they were written with; another column's former name is
            // still that column's in older files.
            for (const Column& other : schema.columns) {
              const std::vector<std::string> names = other.FileNames();
              if (&other != column && std::find(names.begin(), names.end(), to) != names.end()) {
                return absl::InvalidArgumentError(fmt::format(
                    "\"{}\" was the name of column {} of {} before a rename, and its older files "
                    "still use it; choose another name",
                    to, other.name, name));
              }
            }
            renamed_from = column->name;
            if (!RawOf(*column)) {
              std::vector<std::string> file_names = column->FileNames();
              std::erase(file_names, to);
              column->metadata["file_names"] = file_names;
            }
            if (auto raw = column->metadata.find("raw_column");
                raw != column->metadata.end() && raw->is_string()) {
              if (Column* companion = FindDataColumn(schema, raw->get<std::string>()))
                companion->metadata["raw_of"] = to;
            }
            if (std::optional<std::string> of = RawOf(*column)) {
              if (Column* source = FindDataColumn(schema, *of)) source->metadata["raw_column"] = to;
            }
            column->name = to;
            return true;
          }));
  if (!committed.has_value()) return WriteSummary{"ALTER TABLE", name, 0, 0, 0, "same name"};
  std::vector<std::string> notes = {
      fmt::format("column {} is now {} (schema version {}); files written before keep {} and are "
                  "read as {}",
                  renamed_from, to, committed->schema_version, renamed_from, to)};
  // Views name columns: say which ones no longer run.
  ASSIGN_OR_RETURN(std::vector<TableName> dependents, DependentViews(who, statement.table));
  std::vector<std::string> broken;
  for (const TableName& view_name : dependents) {
    absl::StatusOr<ViewInfo> view = catalog->GetView(who, view_name);
    if (view.ok() && !CheckViewRuns(who, *view).ok()) broken.push_back(view_name.ToString());
  }
  if (!broken.empty()) {
    notes.push_back(
        fmt::format("view(s) {} no longer run; CREATE OR REPLACE VIEW them", Join(broken, ", ")));
  }
  return WriteSummary{"ALTER TABLE", name, 0, 0, committed->snapshot_id, Join(notes, "; ")};
}

absl::Status LakeEngine::Impl::RefuseStreamTable(const Principal& who, const TableName& table) {
  ASSIGN_OR_RETURN(std::vector<SavedStream> streams, catalog->ListStreams(who));
  const std::string name = table.ToString();
  for (const SavedStream& stream : streams) {
    // The fields a saved stream's configuration names its tables with (ingest/stream_config.h).
    auto field = [&](const char* key) {
      auto found = stream.config.find(key);
      return found != stream.config.end() && found->is_string() ? found->get<std::string>()
                                                                : std::string();
    };
    const std::string records = field("table");
    for (const std::string& target :
         {records, records.empty() ? std::string() : records + "_errors", field("parquet_table")}) {
      if (!target.empty() && target == name) {
        return absl::FailedPreconditionError(fmt::format(
            "cannot rename {}: stream {} delivers into it and would create it again; delete the "
            "stream first (loch stream delete {}; its tables stay)",
            name, stream.name, stream.name));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status LakeEngine::Impl::CheckViewRuns(const Principal& who, const ViewInfo& view) {
  ASSIGN_OR_RETURN(duck::Connection connection, OpenUserConnection(who));
  ASSIGN_OR_RETURN(StatementTables tables, CheckUserQuery(connection, view.sql));
  ASSIGN_OR_RETURN(std::unique_ptr<QueryResources> resources,
                   BindTables(who, tables, {}, connection));
  return connection.Prepare(view.sql).status();
}

}  // namespace loch
