#pragma once
// Row checks: what a job with a quarantine (job_spec.h: max_bad_fraction, types, required) checks
// of each row its query returns before the row is written.
//
// A row fails a check when
//   - a value does not cast to its column's type: the type the job declares in `types`, else the
//     target's type of that column (text going to DATE or TIMESTAMP is parsed with the datetime
//     formats given for the column, which the runner takes from a crawled source column of the
//     same name);
//   - a required column (`required`) is NULL after the cast.
// Failing rows are not written to the target; each failure becomes a row of the quarantine table.
// Nested types (STRUCT, LIST, MAP) are cast strictly: a value that does not fit fails the run, as
// without a quarantine (DuckDB's TRY_CAST of a nested value nulls only the failing leaf, which no
// NULL check sees).
//
// The job's query runs once: CheckedSql wraps it into a query whose result has the query's
// columns, typed, and two more:
//   loch_failures  LIST(STRUCT(column VARCHAR, value VARCHAR, reason VARCHAR)); NULL for a good row
//   loch_original  the row as the query returned it, as JSON text; NULL for a good row
// The runner stages that result once and reads it back by kCheckedTable, pinned:
// GoodRowsSql for the target, QuarantineRowsSql for the quarantine.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"

namespace loch::etl {

// The name the staged checked result is read by (pinned; no catalog table has it).
extern const TableName kCheckedTable;

// The quarantine of a target DB.TABLE: table quarantine.<DB>, partitioned by target_table, its
// files under quarantine/<DB>/<TABLE>/<write id>/ (kQuarantineZone, common/lake_config.h).
inline constexpr const char* kQuarantineDatabase = "quarantine";
TableName QuarantineTableOf(const TableName& target);
// The quarantine table's columns (target_table last: the partition column).
const std::vector<Column>& QuarantineColumns();

struct ColumnCheck {
  std::string type;                           // cast to this type; "" keeps the query's type
  std::vector<std::string> datetime_formats;  // text to DATE/TIMESTAMP: parse with these, then
                                              // as ISO 8601
  bool required = false;
  bool key = false;  // checked on delete rows too (merge and history keys)
};

// `query` (a SELECT) wrapped as described above. `result` is the columns it returns; `checks`
// what to check of them, by name (names compare ignoring case, as column names do). When
// `delete_marker` names a result column (merge and history: _op), a row whose marker is 'D'
// deletes by its key: only `key` checks apply to it.
// InvalidArgument for a check of a column the result does not have, for a type that does not
// parse, or for a result column named loch_failures, loch_original or loch_in.
absl::StatusOr<std::string> CheckedSql(std::string_view query, const std::vector<Column>& result,
                                       const std::map<std::string, ColumnCheck>& checks,
                                       std::string_view delete_marker = "");

// The good rows of the checked result, with the query's columns.
std::string GoodRowsSql();
// Counts of the checked result: one row (rows BIGINT, bad_rows BIGINT).
std::string CountsSql();
// The most frequent failures: (column_name, reason, failures), at most `limit` rows.
std::string FailureSummarySql(int limit);
// One row per failure of a bad row, with QuarantineColumns(): `bad_row` numbers the bad rows
// (the failures of one row share it); run_id, job, quarantined_at and target_table as given.
std::string QuarantineRowsSql(const TableName& target, int64_t run_id, std::string_view job,
                              int64_t now_micros);

}  // namespace loch::etl
