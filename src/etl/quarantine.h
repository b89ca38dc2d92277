#pragma once
// Quarantine: the part of a job run that checks its rows (row_checks.h) and keeps the rows that
// fail in the quarantine table quarantine.<target database> (partitioned by target_table), so
// that they can be queried, fixed and loaded again, instead of failing the run.
//
// A run with checks:
//   1. Check: stages the checked result of the job's query once (the query runs once), counts
//      its rows and bad rows, and refuses the run when the bad fraction is over the job's
//      maximum; else stages the quarantine rows (under quarantine/<db>/<table>/<write id>/).
//   2. Publish: commits the quarantine rows, before the target's commit.
//   3. The runner writes the target from GoodRowsSql over the checked result.
// If the target's commit then fails, or the process dies before it, Withdraw removes the run's
// quarantine files from the table again (the runner calls it; the next run does for a run that
// was killed): the run published nothing, its bookmarks did not move, and the next run
// quarantines those rows again, exactly once. (The reverse order would let a run killed between
// the commits count as published with its bad rows lost.)

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_spec.h"

namespace loch::etl {

struct CheckedRows {
  StagedFiles checked;      // the checked result: discard it when the run ends
  int64_t rows = 0;         // rows the query returned
  int64_t bad_rows = 0;     // of those, the rows that failed a check
  nlohmann::json failures = nlohmann::json::array();  // most frequent (column, reason, count)
};

// The checked result as queries over it read it: pinned as kCheckedTable.
std::map<TableName, TableSnapshot> PinnedChecked(const StagedFiles& checked);

class Quarantine {
 public:
  Quarantine(Catalog& catalog, LakeEngine& engine) : catalog_(catalog), engine_(engine) {}

  // Step 1 for `spec`'s query as `stage` runs it (sources pinned), written to `target` (nullopt:
  // it does not exist yet): stages the checked result and counts its failures. Errors: the
  // engine's; InvalidArgument for checks that do not fit the query.
  absl::StatusOr<CheckedRows> Check(const Principal& who, const JobSpec& spec,
                                    const StageRequest& stage,
                                    const std::optional<TableSnapshot>& target);
  // FailedPrecondition, with the counts and the most frequent failures, when the fraction of bad
  // rows is over the job's maximum.
  static absl::Status OverMaximum(const JobSpec& spec, const CheckedRows& checked);
  // Stages the quarantine rows of `checked` (`run_id` and `now_micros` go into them); no files
  // when every row passed.
  absl::StatusOr<StagedFiles> StageBadRows(const Principal& who, const JobSpec& spec,
                                           const CheckedRows& checked, const std::string& write_id,
                                           int64_t run_id, int64_t now_micros);

  // Step 2: commits `staged` to the target's quarantine table (created if missing). Returns the
  // snapshot written (0 when there was nothing to commit). FailedPrecondition if a table of that
  // name is not a quarantine table.
  absl::StatusOr<int64_t> Publish(const Principal& who, const TableName& target,
                                  const StagedFiles& staged);

  // Removes the files under `prefix` (a run's quarantine prefix) from `quarantine_table` in one
  // commit; nothing to do if it has none (or there is no such table).
  absl::Status Withdraw(const Principal& who, const TableName& quarantine_table,
                        const std::string& prefix);

  // Where a run's quarantine files go.
  static std::string PrefixOf(const TableName& target, const std::string& write_id);

 private:
  Catalog& catalog_;
  LakeEngine& engine_;
};

}  // namespace loch::etl
