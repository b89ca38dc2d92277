#include "etl/write_modes.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

// The table name keyed queries read the run's own rows under: pinned, never in the catalog, and
// not a name users can give a database ('-' is not allowed in identifiers).
const TableName kChangesTable{"loch-run", "changes"};

std::vector<int64_t> EveryFile(const TableSnapshot& target) {
  std::vector<int64_t> ids;
  for (const DataFile& file : target.files) ids.push_back(file.file_id);
  return ids;
}

RunOutput ResultOutput(StagedFiles staged, const JobSpec& spec) {
  RunOutput output;
  output.rows_in_result = staged.rows;
  if (spec.mode == WriteMode::kAppend) {
    output.replaced = [](const TableSnapshot&) { return std::vector<int64_t>(); };
  } else if (spec.partition_by.empty()) {  // the whole table, even when the result is empty
    output.replaced = EveryFile;
    output.publish_when_empty = true;
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

// The type of `name` in `schema` (its partition columns too), or "".
std::string TypeOf(const Schema& schema, const std::string& name) {
  for (const auto* columns : {&schema.columns, &schema.partition_columns}) {
    for (const Column& column : *columns) {
      if (column.name == name) return column.type;
    }
  }
  return "";
}

// A condition true for every row of `target` whose key may be among the keys of `changes`, from
// the key columns' min/max in each of its files ("true" when a file's statistics do not say, or
// when a key has another type in the target: a cast need not keep the order, e.g. text to number).
std::string KeyRangeCondition(const StagedFiles& changes, const std::vector<std::string>& keys,
                              const Schema& target) {
  std::vector<std::string> per_file;
  for (const DataFile& file : changes.files) {
    if (file.row_count == 0) continue;
    std::vector<std::string> ranges;
    for (const std::string& key : keys) {
      const ColumnStats* stats = StatsOf(file, key);
      if (stats == nullptr || stats->type.empty() || !stats->min || !stats->max) return "true";
      if (stats->type != TypeOf(target, key)) return "true";
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

// The columns that identify a row of the target: merge and history keys, a rollup's groups.
const std::vector<std::string>& KeyColumns(const JobSpec& spec) {
  return spec.mode == WriteMode::kRollup ? spec.group_by : spec.keys;
}

// The run's key columns, each cast to the target's type when the target has the column (keys
// that only collide after the cast must collide here too), as `alias`.KEY.
std::vector<std::string> RunKeys(const JobSpec& spec, const Schema* target,
                                 std::string_view alias = "") {
  std::vector<std::string> keys;
  for (const std::string& key : KeyColumns(spec)) {
    const std::string column =
        alias.empty() ? QuoteIdentifier(key) : fmt::format("{}.{}", alias, QuoteIdentifier(key));
    const std::string type = target == nullptr ? "" : TypeOf(*target, key);
    keys.push_back(type.empty() ? column : fmt::format("CAST({} AS {})", column, type));
  }
  return keys;
}
// "CAST(new.k AS T) IS NOT DISTINCT FROM old.k AND ...".
std::string KeysMatch(const JobSpec& spec, const Schema* target, std::string_view run_alias,
                      std::string_view target_alias) {
  const std::vector<std::string> run_keys = RunKeys(spec, target, run_alias);
  const std::vector<std::string>& columns = KeyColumns(spec);
  std::vector<std::string> matches;
  for (size_t i = 0; i < columns.size(); ++i) {
    matches.push_back(fmt::format("{} IS NOT DISTINCT FROM {}.{}", run_keys[i], target_alias,
                                  QuoteIdentifier(columns[i])));
  }
  return Join(matches, " AND ");
}

std::string ChangesTableSql() {
  return fmt::format("{}.{}", QuoteIdentifier(kChangesTable.database),
                     QuoteIdentifier(kChangesTable.table));
}

// The run's rows (with loch_key_rows, their key's count), failing the query when a key appears
// twice: a keyed write takes one row per key.
std::string OneRowPerKey(const JobSpec& spec, const Schema* target) {
  std::vector<std::string> key_text;
  for (const std::string& key : RunKeys(spec, target)) {
    key_text.push_back(fmt::format("CAST({} AS VARCHAR)", key));
  }
  return fmt::format(
      "SELECT * FROM (SELECT *, count(*) OVER (PARTITION BY {keys}) AS loch_key_rows FROM "
      "{changes}) AS loch_counted WHERE CASE WHEN loch_key_rows > 1 THEN error('{mode} job {job}: "
      "key (' || concat_ws(', ', {key_text}) || ') appears ' || loch_key_rows || ' times in the "
      "run''s result; a {mode} takes one row per key') ELSE true END",
      fmt::arg("keys", Join(RunKeys(spec, target), ", ")), fmt::arg("changes", ChangesTableSql()),
      fmt::arg("mode", ModeName(spec.mode)), fmt::arg("job", spec.name),
      fmt::arg("key_text", Join(key_text, ", ")));
}

std::string NotADelete(bool has_operation, std::string_view alias) {
  if (!has_operation) return "true";
  return fmt::format("{}.{} IS DISTINCT FROM 'D'", alias, QuoteIdentifier(kOperationColumn));
}

std::string TargetSql(const JobSpec& spec) {
  return fmt::format("{}.{}", QuoteIdentifier(spec.target.database),
                     QuoteIdentifier(spec.target.table));
}

// The merge's rows: the run's rows that are not deletes and, when the target exists, the rows of
// its candidate files whose key the run does not have.
absl::StatusOr<std::string> MergeQuery(const JobSpec& spec, const Schema& changes,
                                       const Schema* target, int64_t /*now_micros*/) {
  const bool has_operation = HasColumn(changes, kOperationColumn);
  std::string query =
      fmt::format("SELECT * EXCLUDE (loch_key_rows{}) FROM ({}) AS loch_new WHERE {}",
                  has_operation ? ", " + QuoteIdentifier(kOperationColumn) : "",
                  OneRowPerKey(spec, target), NotADelete(has_operation, "loch_new"));
  if (target == nullptr) return query;
  return fmt::format(
      "{}\nUNION ALL BY NAME\nSELECT * FROM {} AS loch_old WHERE NOT EXISTS (SELECT 1 FROM {} "
      "AS loch_new WHERE {})",
      query, TargetSql(spec), ChangesTableSql(), KeysMatch(spec, target, "loch_new", "loch_old"));
}

// Type-2 history: a run's row whose key has no current row with the same values closes that row
// (valid_to = the run's time, is_current false) and becomes the current one (valid_from = the
// run's time); a delete only closes it. Rows already closed are kept as they are.
absl::StatusOr<std::string> HistoryQuery(const JobSpec& spec, const Schema& changes,
                                         const Schema* target, int64_t now_micros) {
  for (const char* reserved : {kValidFrom, kValidTo, kIsCurrent}) {
    if (HasColumn(changes, reserved)) {
      return absl::InvalidArgumentError(fmt::format(
          "history job {}: the query returns \"{}\", which the history maintains itself", spec.name,
          reserved));
    }
  }
  const bool has_operation = HasColumn(changes, kOperationColumn);
  std::vector<std::string> attributes_old, attributes_new;
  for (const Column& column : changes.columns) {
    if (column.name == kOperationColumn ||
        std::find(spec.keys.begin(), spec.keys.end(), column.name) != spec.keys.end()) {
      continue;
    }
    attributes_old.push_back("loch_old." + QuoteIdentifier(column.name));
    attributes_new.push_back("loch_new." + QuoteIdentifier(column.name));
  }
  std::string iso = FormatIsoMicros(now_micros);  // UTC, "...Z": TIMESTAMP takes it without
  if (!iso.empty() && iso.back() == 'Z') iso.pop_back();
  const std::string now = fmt::format("CAST({} AS TIMESTAMP)", QuoteLiteral(iso));
  const std::string exclude = has_operation ? "loch_key_rows, " + QuoteIdentifier(kOperationColumn)
                                            : std::string("loch_key_rows");
  const std::string inserted = fmt::format(
      "SELECT loch_new.* EXCLUDE ({}), {} AS {}, CAST(NULL AS TIMESTAMP) AS {}, true AS {} FROM "
      "loch_changed AS loch_new WHERE {}",
      exclude, now, kValidFrom, kValidTo, kIsCurrent, NotADelete(has_operation, "loch_new"));
  if (target == nullptr) {
    return fmt::format("WITH loch_changed AS ({})\n{}", OneRowPerKey(spec, target), inserted);
  }
  const std::string same_values =
      attributes_old.empty() ? std::string("true")
                             : fmt::format("({}) IS NOT DISTINCT FROM ({})",
                                           Join(attributes_old, ", "), Join(attributes_new, ", "));
  const std::string target_table = TargetSql(spec);
  const std::string changed_key =
      fmt::format("EXISTS (SELECT 1 FROM loch_changed AS loch_new WHERE {})",
                  KeysMatch(spec, target, "loch_new", "loch_old"));
  return fmt::format(
      "WITH loch_changed AS (SELECT * FROM ({one_row}) AS loch_new WHERE NOT EXISTS (SELECT 1 "
      "FROM {target} AS loch_old WHERE loch_old.{current} AND {match} AND {not_delete} AND "
      "{same}))\n"
      "SELECT * FROM {target} AS loch_old WHERE NOT loch_old.{current} OR NOT {changed}\n"
      "UNION ALL BY NAME\n"
      "SELECT loch_old.* REPLACE ({now} AS {valid_to}, false AS {current}) FROM {target} AS "
      "loch_old WHERE loch_old.{current} AND {changed}\n"
      "UNION ALL BY NAME\n{inserted}",
      fmt::arg("one_row", OneRowPerKey(spec, target)), fmt::arg("target", target_table),
      fmt::arg("current", kIsCurrent),
      fmt::arg("match", KeysMatch(spec, target, "loch_new", "loch_old")),
      fmt::arg("not_delete", NotADelete(has_operation, "loch_new")), fmt::arg("same", same_values),
      fmt::arg("changed", changed_key), fmt::arg("now", now), fmt::arg("valid_to", kValidTo),
      fmt::arg("inserted", inserted));
}

// A rollup's rows from the rows of `query`: one per group, with each measure.
std::string PartialAggregateSql(const JobSpec& spec, std::string_view query) {
  std::vector<std::string> groups;
  for (const std::string& group : spec.group_by) groups.push_back(QuoteIdentifier(group));
  std::vector<std::string> selected = groups;
  for (const Measure& measure : spec.measures) {
    selected.push_back(
        fmt::format("{}({}) AS {}", measure.function,
                    measure.argument.empty() ? "*" : QuoteIdentifier(measure.argument),
                    QuoteIdentifier(measure.name)));
  }
  return fmt::format("SELECT {} FROM (\n{}\n) AS loch_rows GROUP BY {}", Join(selected, ", "),
                     WithoutFinalSemicolons(query), Join(groups, ", "));
}

// The rollup's new rows for the target's files that may hold the run's groups: their rows of
// other groups as they are, and for each group of the run its partial aggregates merged with the
// target's (count and sum add up, min and max take the extreme), in the target's types.
absl::StatusOr<std::string> RollupQuery(const JobSpec& spec, const Schema& changes,
                                        const Schema* target, int64_t /*now_micros*/) {
  if (target == nullptr) return fmt::format("SELECT * FROM {}", ChangesTableSql());
  // Grouped in the target's types, as the groups were matched: a run's group of another type
  // (a source column that changed type) is the target's group, not a second one.
  const std::vector<std::string> groups = RunKeys(spec, target);
  std::vector<std::string> merged;
  for (size_t i = 0; i < groups.size(); ++i)
    merged.push_back(fmt::format("{} AS {}", groups[i], QuoteIdentifier(spec.group_by[i])));
  for (const Measure& measure : spec.measures) {
    std::string type = TypeOf(*target, measure.name);
    if (type.empty()) type = TypeOf(changes, measure.name);
    const char* merge = measure.function == "min"   ? "min"
                        : measure.function == "max" ? "max"
                                                    : "sum";
    merged.push_back(
        fmt::format("CAST({0}({1}) AS {2}) AS {1}", merge, QuoteIdentifier(measure.name), type));
  }
  const std::string same_group =
      fmt::format("EXISTS (SELECT 1 FROM {} AS loch_new WHERE {})", ChangesTableSql(),
                  KeysMatch(spec, target, "loch_new", "loch_old"));
  return fmt::format(
      "SELECT * FROM {target} AS loch_old WHERE NOT {same_group}\n"
      "UNION ALL BY NAME\n"
      "SELECT {merged} FROM (SELECT * FROM {changes} UNION ALL BY NAME SELECT * FROM {target} AS "
      "loch_old WHERE {same_group}) AS loch_combined GROUP BY {groups}",
      fmt::arg("target", TargetSql(spec)), fmt::arg("same_group", same_group),
      fmt::arg("merged", Join(merged, ", ")), fmt::arg("changes", ChangesTableSql()),
      fmt::arg("groups", Join(groups, ", ")));
}

// (spec, the run's columns, the target's schema or nullptr, the run's time) -> the query.
using KeyedQuery = absl::StatusOr<std::string> (*)(const JobSpec&, const Schema&, const Schema*,
                                                   int64_t);

// Merge and history: the run's rows are staged first (for their keys' statistics), then the
// target's files that may hold those keys are rewritten by `keyed_query`.
absl::StatusOr<RunOutput> ProduceKeyed(LakeEngine& engine, const Principal& who,
                                       const JobSpec& spec, const StageRequest& stage,
                                       const std::optional<TableSnapshot>& target,
                                       KeyedQuery keyed_query, int64_t now_micros) {
  // The run's rows first, as they come, for their keys' statistics.
  StageRequest changes_request;
  changes_request.table = stage.table;
  changes_request.write_id = stage.write_id;
  changes_request.subfolder = "changes";
  changes_request.query = stage.query;
  changes_request.parameters = stage.parameters;
  changes_request.pinned = stage.pinned;
  changes_request.layout.target_file_bytes = stage.layout.target_file_bytes;
  changes_request.layout.sort_by = KeyColumns(spec);  // narrower key ranges: fewer rewrites
  ASSIGN_OR_RETURN(StagedFiles changes, engine.StageQueryResult(who, changes_request));
  auto fail = [&](absl::Status status) {
    engine.DiscardStaged(changes);
    return status;
  };
  for (const std::string& key : KeyColumns(spec)) {
    if (!HasColumn(changes.schema, key)) {
      return fail(absl::InvalidArgumentError(
          fmt::format("{} job {}: the query returns no key column \"{}\"", ModeName(spec.mode),
                      spec.name, key)));
    }
  }
  StageRequest merged = stage;
  auto query = keyed_query(spec, changes.schema,
                           target.has_value() ? &target->table.schema : nullptr, now_micros);
  if (!query.ok()) return fail(query.status());
  merged.query = std::move(*query);
  TableSnapshot changes_table;
  changes_table.table.name = kChangesTable;
  changes_table.table.schema = changes.schema;
  changes_table.files = changes.files;
  merged.pinned[kChangesTable] = std::move(changes_table);
  std::vector<int64_t> rewritten;
  if (target.has_value()) {
    auto candidates = engine.CandidateFiles(
        who, *target, KeyRangeCondition(changes, KeyColumns(spec), target->table.schema));
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
                                        const std::optional<TableSnapshot>& target,
                                        int64_t now_micros, bool read_everything) {
  if (spec.mode == WriteMode::kRollup) {
    StageRequest partial = stage;
    partial.query = PartialAggregateSql(spec, stage.query);
    if (target.has_value() && !read_everything) {
      return ProduceKeyed(engine, who, spec, partial, target, RollupQuery, now_micros);
    }
    // The rollup of everything: the whole target is replaced, even by no rows.
    ASSIGN_OR_RETURN(StagedFiles staged, engine.StageQueryResult(who, partial));
    RunOutput output;
    output.rows_in_result = staged.rows;
    output.staged = std::move(staged);
    output.replaced = EveryFile;
    output.publish_when_empty = true;
    return output;
  }
  if (spec.mode == WriteMode::kMerge) {
    return ProduceKeyed(engine, who, spec, stage, target, MergeQuery, now_micros);
  }
  if (spec.mode == WriteMode::kHistory) {
    return ProduceKeyed(engine, who, spec, stage, target, HistoryQuery, now_micros);
  }
  ASSIGN_OR_RETURN(StagedFiles staged, engine.StageQueryResult(who, stage));
  return ResultOutput(std::move(staged), spec);
}

}  // namespace loch::etl
