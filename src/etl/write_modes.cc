#include "etl/write_modes.h"

#include <set>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

// The table name the merge query reads the run's own rows under (pinned, never in the catalog).
const TableName kChangesTable{"loch_merge", "changes"};

RunOutput ResultOutput(StagedFiles staged, const JobSpec& spec) {
  RunOutput output;
  output.rows_in_result = staged.rows;
  if (spec.mode == WriteMode::kAppend) {
    output.replaced = [](const TableSnapshot&) { return std::vector<int64_t>(); };
  } else {
    std::set<std::vector<std::string>> partitions;
    for (const DataFile& file : staged.files) {
      partitions.insert(PartitionOf(file, staged.schema.partition_columns));
    }
    output.replaced = [partitions](const TableSnapshot& target) {
      std::vector<int64_t> ids;
      for (const DataFile& file : target.files) {
        if (partitions.contains(PartitionOf(file, target.table.schema.partition_columns))) {
          ids.push_back(file.file_id);
        }
      }
      return ids;
    };
  }
  output.staged = std::move(staged);
  return output;
}

const ColumnStats* StatsOf(const DataFile& file, const std::string& column) {
  for (const ColumnStats& stats : file.stats) {
    if (stats.column == column) return &stats;
  }
  return nullptr;
}

// A condition true for every row whose key may be among the keys of `changes`, from the key
// columns' min/max in each of its files ("true" when a file's statistics do not say).
std::string KeyRangeCondition(const StagedFiles& changes, const std::vector<std::string>& keys) {
  std::vector<std::string> per_file;
  for (const DataFile& file : changes.files) {
    if (file.row_count == 0) continue;
    std::vector<std::string> ranges;
    for (const std::string& key : keys) {
      const ColumnStats* stats = StatsOf(file, key);
      if (stats == nullptr || stats->type.empty() || !stats->min || !stats->max) return "true";
      std::string range =
          fmt::format("{0} BETWEEN CAST({1} AS {3}) AND CAST({2} AS {3})", QuoteIdentifier(key),
                      QuoteLiteral(*stats->min), QuoteLiteral(*stats->max), stats->type);
      if (stats->null_count != 0)
        range = fmt::format("({} OR {} IS NULL)", range, QuoteIdentifier(key));
      ranges.push_back(range);
    }
    per_file.push_back("(" + Join(ranges, " AND ") + ")");
  }
  return per_file.empty() ? "false" : Join(per_file, " OR ");
}

bool HasColumn(const Schema& schema, std::string_view name) {
  for (const Column& column : schema.columns) {
    if (column.name == name) return true;
  }
  return false;
}

// The merge's query: the run's rows (each key once, deletes dropped) and, when the target
// exists, the rows of its candidate files whose key the run does not have.
std::string MergeQuery(const JobSpec& spec, bool has_operation, bool target_exists) {
  std::vector<std::string> keys, key_text, matches;
  for (const std::string& key : spec.keys) {
    keys.push_back(QuoteIdentifier(key));
    key_text.push_back(fmt::format("CAST({} AS VARCHAR)", QuoteIdentifier(key)));
    matches.push_back(
        fmt::format("loch_new.{0} IS NOT DISTINCT FROM loch_old.{0}", QuoteIdentifier(key)));
  }
  const std::string changes = fmt::format("{}.{}", QuoteIdentifier(kChangesTable.database),
                                          QuoteIdentifier(kChangesTable.table));
  std::string exclude = "loch_key_rows";
  if (has_operation) exclude += ", " + QuoteIdentifier(kOperationColumn);
  std::string query = fmt::format(
      "SELECT * EXCLUDE ({exclude}) FROM (SELECT *, count(*) OVER (PARTITION BY {keys}) AS "
      "loch_key_rows FROM {changes}) AS loch_counted\n"
      "WHERE CASE WHEN loch_key_rows > 1 THEN error('merge job {job}: key (' || concat_ws(', ', "
      "{key_text}) || ') appears ' || loch_key_rows || ' times in the run''s result; a merge takes "
      "one row per key') ELSE true END{deletes}",
      fmt::arg("exclude", exclude), fmt::arg("keys", Join(keys, ", ")),
      fmt::arg("changes", changes), fmt::arg("job", spec.name),
      fmt::arg("key_text", Join(key_text, ", ")),
      fmt::arg("deletes", has_operation ? fmt::format(" AND {} IS DISTINCT FROM 'D'",
                                                      QuoteIdentifier(kOperationColumn))
                                        : ""));
  if (!target_exists) return query;
  return fmt::format(
      "{}\nUNION ALL BY NAME\nSELECT * FROM {}.{} AS loch_old WHERE NOT EXISTS (SELECT 1 FROM {} "
      "AS loch_new WHERE {})",
      query, QuoteIdentifier(spec.target.database), QuoteIdentifier(spec.target.table), changes,
      Join(matches, " AND "));
}

absl::StatusOr<RunOutput> ProduceMerge(LakeEngine& engine, const Principal& who,
                                       const JobSpec& spec, const StageRequest& stage,
                                       const std::optional<TableSnapshot>& target) {
  // The run's rows first, as they come, for their keys' statistics.
  StageRequest changes_request;
  changes_request.table = stage.table;
  changes_request.write_id = stage.write_id;
  changes_request.subfolder = "changes";
  changes_request.query = stage.query;
  changes_request.parameters = stage.parameters;
  changes_request.pinned = stage.pinned;
  changes_request.layout.target_file_bytes = stage.layout.target_file_bytes;
  ASSIGN_OR_RETURN(StagedFiles changes, engine.StageQueryResult(who, changes_request));
  auto fail = [&](absl::Status status) {
    engine.DiscardStaged(changes);
    return status;
  };
  for (const std::string& key : spec.keys) {
    if (!HasColumn(changes.schema, key)) {
      return fail(absl::InvalidArgumentError(
          fmt::format("merge job {}: the query returns no key column \"{}\"", spec.name, key)));
    }
  }
  const bool has_operation = HasColumn(changes.schema, kOperationColumn);

  StageRequest merged = stage;
  merged.query = MergeQuery(spec, has_operation, target.has_value());
  TableSnapshot changes_table;
  changes_table.table.name = kChangesTable;
  changes_table.table.schema = changes.schema;
  changes_table.files = changes.files;
  merged.pinned[kChangesTable] = std::move(changes_table);
  std::vector<int64_t> rewritten;
  if (target.has_value()) {
    auto candidates = engine.CandidateFiles(who, *target, KeyRangeCondition(changes, spec.keys));
    if (!candidates.ok()) return fail(candidates.status());
    for (const DataFile& file : *candidates) rewritten.push_back(file.file_id);
    TableSnapshot old = *target;
    old.files = std::move(*candidates);
    merged.pinned[spec.target] = std::move(old);
  }
  auto staged = engine.StageQueryResult(who, merged);
  if (!staged.ok()) return fail(staged.status());
  RunOutput output;
  output.rows_in_result = changes.rows;
  output.staged = std::move(*staged);
  output.temporary.push_back(std::move(changes));
  output.replaced = [rewritten](const TableSnapshot&) { return rewritten; };
  output.rebases = false;  // the rewritten files were read as they were
  return output;
}

}  // namespace

std::vector<std::string> PartitionOf(const DataFile& file, const std::vector<Column>& columns) {
  std::vector<std::string> values;
  for (const Column& column : columns) {
    const auto it = file.partition_values.find(column.name);
    values.push_back(it == file.partition_values.end() ? "" : it->second);
  }
  return values;
}

absl::StatusOr<RunOutput> ProduceOutput(LakeEngine& engine, const Principal& who,
                                        const JobSpec& spec, const StageRequest& stage,
                                        const std::optional<TableSnapshot>& target) {
  if (spec.mode == WriteMode::kMerge) return ProduceMerge(engine, who, spec, stage, target);
  ASSIGN_OR_RETURN(StagedFiles staged, engine.StageQueryResult(who, stage));
  return ResultOutput(std::move(staged), spec);
}

}  // namespace loch::etl
