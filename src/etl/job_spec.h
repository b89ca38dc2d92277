#pragma once
// JobSpec: what an ETL job is, as users define it (CLI flags, REST JSON, YAML files: the same
// fields) and as the catalog stores it (SavedJob::definition, the JSON form below).
//
//   name            the job's name (an identifier)
//   sql             a query over catalog tables (joins, window functions, CTEs)
//   target          DB.TABLE the result goes to (created by the first run)
//   mode            append | replace-partitions | merge | history | rollup (see WriteMode)
//   keys            merge and history: the columns that identify a row
//   group_by        rollup: the columns of the query's rows each rollup row stands for
//   measures        rollup: "count(*), sum(price) AS revenue, min(x), max(x)" (a text or a list)
//   partition_by    columns of the result that become Hive-style folders
//   sort_by         columns the rows are sorted by within each partition
//   file_size_mib   files are split near this size within each partition (default 128)
//   incremental     read only the source files committed since the last successful run
//   types           {column: TYPE}: the result's values are cast to these types (row_checks.h)
//   required        columns that may not be NULL
//   rules           data-quality rules (dq_rules.h), checked on what a run publishes before it does
//   max_bad_fraction  rows failing a cast (to `types`, or to the target's column types) or a
//                   required column go to the quarantine table instead of the target; the run
//                   fails when more than this fraction (0 to 1) of the rows fail. Any of these
//                   three turns the quarantine on (the fraction defaults to 0 then); without them
//                   a value that does not cast fails the run.
//   description     free text
//   on_update, debounce_seconds, after, max_attempts, timeout_seconds, memory_limit, tags:
//                   how the orchestrator runs it (run_policy.h)

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"
#include "etl/dq_rules.h"
#include "etl/run_policy.h"
#include "nlohmann/json.hpp"

namespace loch::etl {

enum class WriteMode {
  kAppend,             // the run's rows are added to the target
  kReplacePartitions,  // the partitions the run produced are replaced by its files (an
                       // unpartitioned target: all of it), in one commit
  kMerge,    // upsert on `keys`: a row of the run replaces the target's row with its key, or is
             // added; a row whose `_op` column is 'D' deletes it. Only the target's files that
             // may hold one of the run's keys are rewritten (copy-on-write).
  kHistory,  // type-2 history on `keys`: the target has the run's columns plus valid_from,
             // valid_to and is_current; a run's row whose values differ from its key's current
             // row closes that row (valid_to = the run's time) and becomes current; a row whose
             // `_op` is 'D' closes it. Rewrites files like kMerge.
  kRollup,   // pre-aggregation: the target holds one row per `group_by` values with the job's
             // `measures` of the query's rows. An incremental run aggregates only the new rows and
             // merges those partial aggregates into the target's rows of the same groups
             // (rewriting only the files that may hold them); a run that read everything (the
             // first, --full, a job that is not incremental) replaces the whole target.
};

// The columns a history target adds to the job's.
inline constexpr const char* kValidFrom = "valid_from";
inline constexpr const char* kValidTo = "valid_to";
inline constexpr const char* kIsCurrent = "is_current";

// The column of a merge job's result that marks deletes ('D'); it is not written.
inline constexpr const char* kOperationColumn = "_op";

// One aggregate of a rollup: an aggregate whose partial results merge into the whole (count and
// sum merge by sum, min by min, max by max).
struct Measure {
  std::string function;  // "count", "sum", "min" or "max"
  std::string argument;  // a column of the query's rows; "" for count(*)
  std::string name;      // the target's column: given with AS, else e.g. "count", "sum_price"

  std::string ToText() const;  // "sum(price) AS revenue", as ParseMeasures reads it
  bool operator==(const Measure&) const = default;
};

// Measures from "count(*), sum(price) AS revenue" (functions case-insensitive; names are plain
// identifiers or double-quoted). InvalidArgument saying what is wrong: another function (avg is
// sum and count; count(DISTINCT ..) does not merge), a missing or doubled name, at most 64.
absl::StatusOr<std::vector<Measure>> ParseMeasures(std::string_view text);
struct JobSpec {
  static constexpr int64_t kDefaultFileSizeMib = 128;
  static constexpr int64_t kMaxFileSizeMib = 4096;
  static constexpr size_t kMaxSqlBytes = 1 << 20;
  std::string name;
  std::string sql;
  TableName target;
  WriteMode mode = WriteMode::kAppend;
  std::vector<std::string> keys;
  std::vector<std::string> group_by;
  std::vector<Measure> measures;
  std::vector<std::string> partition_by;
  std::vector<std::string> sort_by;
  int64_t file_size_mib = kDefaultFileSizeMib;
  bool incremental = false;
  std::map<std::string, std::string> types;
  std::vector<std::string> required;
  std::optional<double> max_bad_fraction;
  std::string rules_text;     // as the user wrote it (kept: its line numbers are the rules')
  std::vector<DqRule> rules;  // parsed from it
  std::string description;
  RunPolicy policy;

  // Whether the job checks its rows and quarantines those that fail (row_checks.h).
  bool ChecksRows() const {
    return max_bad_fraction.has_value() || !types.empty() || !required.empty();
  }
};

std::string_view ModeName(WriteMode mode);
// `sql` without the semicolons and spaces it ends with: a job's query put inside another.
std::string_view WithoutFinalSemicolons(std::string_view sql);
absl::StatusOr<WriteMode> ParseMode(std::string_view name);

// The spec from its JSON form. InvalidArgument naming the field for anything missing, of the wrong
// type, out of range or unknown (a misspelt field must not be silently ignored).
absl::StatusOr<JobSpec> JobSpecFromJson(const nlohmann::json& json);
// The JSON form (every field, defaults included; group_by and measures for rollups only, the
// quarantine's fields for jobs that check rows only).
nlohmann::json ToJson(const JobSpec& spec);
// The spec from a YAML document with the JSON form's fields (a mapping). InvalidArgument with the
// line and column of a syntax error. The document may be at most kMaxYamlBytes.
inline constexpr size_t kMaxYamlBytes = 4 << 20;
absl::StatusOr<JobSpec> JobSpecFromYaml(std::string_view yaml);

}  // namespace loch::etl
