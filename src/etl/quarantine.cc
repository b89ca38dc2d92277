#include "etl/quarantine.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/lake_config.h"
#include "common/strings.h"
#include "engine/text_types.h"
#include "etl/row_checks.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

constexpr int kFailuresReported = 20;

// The rows of a small answer, as text ("" for NULL).
absl::StatusOr<std::vector<std::vector<std::string>>> SmallAnswer(
    LakeEngine& engine, const Principal& who, const std::string& sql,
    const std::map<TableName, TableSnapshot>& pinned) {
  QueryOptions options;
  options.pinned = pinned;
  ASSIGN_OR_RETURN(std::unique_ptr<QueryCursor> cursor, engine.Query(who, sql, options));
  std::vector<std::vector<std::string>> rows;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ResultChunk> chunk, cursor->Next());
    if (!chunk.has_value()) return rows;
    for (size_t r = 0; r < chunk->row_count; ++r) {
      std::vector<std::string> row;
      for (const auto& column : chunk->cells) row.push_back(column[r].value_or(""));
      rows.push_back(std::move(row));
    }
  }
}

// What to check of each column: the job's types and required columns, else the target's types
// (a rollup's target has its group columns and measures: only the group columns are the
// query's). Datetime formats come from a source column of the same name whose text the lake
// parses with them.
// The target's columns the query does not return are left to the stager (writing by name, it
// refuses them), not checked.
absl::StatusOr<std::map<std::string, ColumnCheck>> PlanChecks(
    const JobSpec& spec, const StageRequest& stage, const std::vector<Column>& result,
    const std::optional<TableSnapshot>& target) {
  std::set<std::string> returned;
  for (const Column& column : result) returned.insert(AsciiLower(column.name));
  std::map<std::string, ColumnCheck> checks;
  if (target.has_value()) {
    const Schema& schema = target->table.schema;
    std::vector<Column> columns = schema.columns;
    columns.insert(columns.end(), schema.partition_columns.begin(), schema.partition_columns.end());
    for (const Column& column : columns) {
      if (spec.mode == WriteMode::kRollup && std::find(spec.group_by.begin(), spec.group_by.end(),
                                                       column.name) == spec.group_by.end()) {
        continue;
      }
      if (spec.mode == WriteMode::kHistory &&
          (column.name == kValidFrom || column.name == kValidTo || column.name == kIsCurrent)) {
        continue;
      }
      if (returned.contains(AsciiLower(column.name)))
        checks[AsciiLower(column.name)].type = column.type;
    }
  }
  for (const auto& [name, type] : spec.types) {
    ColumnCheck& check = checks[AsciiLower(name)];
    // The stager casts to the target's type after the check: another type would either fail
    // the whole run there or change the values silently.
    if (!check.type.empty() && AsciiLower(check.type) != AsciiLower(type)) {
      return absl::InvalidArgumentError(fmt::format(
          "the job casts column \"{}\" to {}, but target {} has it as {}: declare the target's "
          "type, or write to a new table",
          name, type, spec.target.ToString(), check.type));
    }
    check.type = type;
  }
  for (const std::string& name : spec.required) checks[AsciiLower(name)].required = true;
  for (const std::string& name : spec.keys) checks[AsciiLower(name)].key = true;
  for (auto& [name, check] : checks) {
    // The formats of the sources' columns of that name; none when they disagree (a join of
    // day-first and month-first tables), leaving ISO 8601 alone.
    std::optional<std::vector<std::string>> formats;
    for (const auto& [source, snapshot] : stage.pinned) {
      for (const auto* list :
           {&snapshot.table.schema.columns, &snapshot.table.schema.partition_columns}) {
        for (const Column& column : *list) {
          if (AsciiLower(column.name) != name || DatetimeFormatsOf(column).empty()) continue;
          const std::vector<std::string> these = DatetimeFormatsOf(column);
          formats = !formats || *formats == these ? these : std::vector<std::string>{"iso8601"};
        }
      }
    }
    if (formats) check.datetime_formats = *formats;
  }
  return checks;
}

bool SameColumns(const std::vector<Column>& a, const std::vector<Column>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Column& x, const Column& y) {
    return x.name == y.name && x.type == y.type;
  });
}

}  // namespace

std::string Quarantine::PrefixOf(const TableName& target, const std::string& write_id) {
  return fmt::format("{}{}/{}/{}/", kQuarantineZone, target.database, target.table, write_id);
}

// The checked result, as the queries over it read it.
std::map<TableName, TableSnapshot> PinnedChecked(const StagedFiles& staged) {
  TableSnapshot checked;
  checked.table.name = kCheckedTable;
  checked.table.schema = staged.schema;
  checked.files = staged.files;
  return {{kCheckedTable, std::move(checked)}};
}

absl::StatusOr<CheckedRows> Quarantine::Check(const Principal& who, const JobSpec& spec,
                                              const StageRequest& stage,
                                              const std::optional<TableSnapshot>& target) {
  ASSIGN_OR_RETURN(const std::vector<Column> result, engine_.ResultColumns(who, stage));
  ASSIGN_OR_RETURN(const auto checks, PlanChecks(spec, stage, result, target));
  const bool deletes = spec.mode == WriteMode::kMerge || spec.mode == WriteMode::kHistory;
  StageRequest checking;
  checking.table = stage.table;
  checking.write_id = stage.write_id;
  checking.subfolder = "checked";
  ASSIGN_OR_RETURN(checking.query,
                   CheckedSql(stage.query, result, checks, deletes ? kOperationColumn : ""));
  checking.parameters = stage.parameters;
  checking.pinned = stage.pinned;
  checking.layout.target_file_bytes = stage.layout.target_file_bytes;
  CheckedRows out;
  ASSIGN_OR_RETURN(out.checked, engine_.StageQueryResult(who, checking));
  auto fail = [&](absl::Status status) {
    engine_.DiscardStaged(out.checked);
    return status;
  };
  const std::map<TableName, TableSnapshot> pinned = PinnedChecked(out.checked);

  auto counts = SmallAnswer(engine_, who, CountsSql(), pinned);
  if (!counts.ok()) return fail(counts.status());
  if (counts->size() != 1 || counts->front().size() != 2) {
    return fail(absl::InternalError("counting the checked rows gave no answer"));
  }
  out.rows = ParseInteger(counts->front()[0]).value_or(0);
  out.bad_rows = ParseInteger(counts->front()[1]).value_or(0);
  if (out.bad_rows == 0) return out;
  auto summary = SmallAnswer(engine_, who, FailureSummarySql(kFailuresReported), pinned);
  if (!summary.ok()) return fail(summary.status());
  for (const auto& row : *summary) {
    out.failures.push_back(
        {{"column", row[0]}, {"reason", row[1]}, {"rows", ParseInteger(row[2]).value_or(0)}});
  }
  return out;
}

absl::Status Quarantine::OverMaximum(const JobSpec& spec, const CheckedRows& checked) {
  if (checked.bad_rows == 0) return absl::OkStatus();
  const double maximum = spec.max_bad_fraction.value_or(0);
  const double fraction = static_cast<double>(checked.bad_rows) / static_cast<double>(checked.rows);
  if (fraction <= maximum) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const nlohmann::json& failure : checked.failures) {
    lines.push_back(fmt::format("{} x column \"{}\": {}", failure.value("rows", int64_t{0}),
                                failure.value("column", ""), failure.value("reason", "")));
  }
  return absl::FailedPreconditionError(fmt::format(
      "{} of {} rows ({:.4g}%) failed the job's checks, over its max_bad_fraction {:.4g}%; "
      "nothing was published. Most frequent: {}",
      checked.bad_rows, checked.rows, 100 * fraction, 100 * maximum, Join(lines, "; ")));
}

absl::StatusOr<StagedFiles> Quarantine::StageBadRows(const Principal& who, const JobSpec& spec,
                                                     const CheckedRows& checked,
                                                     const std::string& write_id, int64_t run_id,
                                                     int64_t now_micros) {
  if (checked.bad_rows == 0) return StagedFiles{};
  StageRequest bad;
  bad.table = QuarantineTableOf(spec.target);
  bad.write_id = write_id;
  bad.prefix = PrefixOf(spec.target, write_id);
  bad.query = QuarantineRowsSql(spec.target, run_id, spec.name, now_micros);
  bad.pinned = PinnedChecked(checked.checked);
  bad.columns = QuarantineColumns();
  bad.layout.partition_by = {"target_table"};
  return engine_.StageQueryResult(who, bad);
}

namespace {

Schema QuarantineSchema() {
  Schema schema;
  for (const Column& column : QuarantineColumns()) {
    (column.name == "target_table" ? schema.partition_columns : schema.columns).push_back(column);
  }
  return schema;
}

}  // namespace

absl::Status Quarantine::CheckTable(const Principal& who, const TableName& target) {
  const TableName table = QuarantineTableOf(target);
  auto existing = catalog_.ReadTable(who, table, std::nullopt);
  if (absl::IsNotFound(existing.status())) return absl::OkStatus();
  if (!existing.ok()) return existing.status();
  const Schema expected = QuarantineSchema();
  if (!SameColumns(existing->table.schema.columns, expected.columns) ||
      !SameColumns(existing->table.schema.partition_columns, expected.partition_columns)) {
    return absl::FailedPreconditionError(fmt::format(
        "table {} is not a quarantine table (its columns differ): loch keeps the rows that fail "
        "the checks of jobs writing to database {} there; rename or drop it",
        table.ToString(), target.database));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Quarantine::Publish(const Principal& who, const TableName& target,
                                            const std::vector<DataFile>& files) {
  if (files.empty()) return 0;
  const TableName table = QuarantineTableOf(target);
  // A roll forward of a run whose own commit went through before it died adds nothing.
  ASSIGN_OR_RETURN(std::vector<std::string> known, catalog_.KnownKeys(who, files.front().key));
  if (!known.empty()) return 0;
  RETURN_IF_ERROR(CheckTable(who, target));
  RETURN_IF_ERROR(catalog_.CreateDatabase(who, table.database, true));
  int64_t rows = 0;
  for (const DataFile& file : files) rows += std::max<int64_t>(file.row_count, 0);
  TableCommit commit;
  commit.table = table;
  commit.message = fmt::format("quarantined rows of {}", target.ToString());
  commit.add_files = files;
  commit.summary = {
      {"target", target.ToString()}, {"files_added", files.size()}, {"rows_added", rows}};
  for (int attempt = 1;; ++attempt) {
    auto existing = catalog_.ReadTable(who, table, std::nullopt);
    if (existing.ok()) {
      commit.base_snapshot = existing->table.current_snapshot;
      commit.operation = "append";
      commit.new_schema.reset();
    } else if (absl::IsNotFound(existing.status())) {
      commit.base_snapshot = TableCommit::kCreate;
      commit.operation = "create";
      commit.new_schema = QuarantineSchema();
      commit.location = fmt::format("{}{}/", kQuarantineZone, target.database);
    } else {
      return existing.status();
    }
    auto committed = catalog_.Commit(who, commit);
    if (committed.ok()) return committed->snapshot_id;
    if (!LostCommitRace(committed.status(), commit.base_snapshot == TableCommit::kCreate) ||
        attempt == kMaxCommitAttempts) {
      return committed.status();
    }
  }
}

nlohmann::json FilesToJson(const std::vector<DataFile>& files) {
  nlohmann::json out = nlohmann::json::array();
  for (const DataFile& file : files) {
    out.push_back({{"key", file.key},
                   {"size", file.size_bytes},
                   {"rows", file.row_count},
                   {"etag", file.etag},
                   {"partition", file.partition_values}});
  }
  return out;
}

std::vector<DataFile> FilesFromJson(const nlohmann::json& files) {
  std::vector<DataFile> out;
  if (!files.is_array()) return out;
  for (const nlohmann::json& entry : files) {
    if (!entry.is_object() || !entry.value("key", nlohmann::json()).is_string()) continue;
    DataFile file;
    file.key = entry["key"].get<std::string>();
    file.format = "parquet";
    file.owned = true;
    file.size_bytes = entry.value("size", nlohmann::json()).is_number_integer()
                          ? entry["size"].get<int64_t>()
                          : 0;
    file.row_count = entry.value("rows", nlohmann::json()).is_number_integer()
                         ? entry["rows"].get<int64_t>()
                         : -1;
    file.etag =
        entry.value("etag", nlohmann::json()).is_string() ? entry["etag"].get<std::string>() : "";
    const nlohmann::json partition = entry.value("partition", nlohmann::json::object());
    for (const auto& [column, value] : partition.items()) {
      if (value.is_string()) file.partition_values[column] = value.get<std::string>();
    }
    out.push_back(std::move(file));
  }
  return out;
}

}  // namespace loch::etl
