#pragma once
// Quarantine: the part of a job run that checks its rows (row_checks.h) and keeps the rows that
// fail in the quarantine table quarantine.<target database> (partitioned by target_table), so
// that they can be queried, fixed and loaded again, instead of failing the run.
//
// A run with checks:
//   1. Check: stages the checked result of the job's query once (the query runs once), counts
//      its rows and bad rows; OverMaximum refuses the run when the bad fraction is over the
//      job's maximum; StageBadRows stages the quarantine rows (under
//      quarantine/<db>/<table>/<write id>/), which the run record lists before any commit.
//   2. The runner writes the target from GoodRowsSql over the checked result and commits it.
//   3. Publish commits the staged quarantine rows, after the target's commit: nothing of a run
//      is visible before its target commit, and nothing is ever taken back.
// A run that dies between the two commits (or whose quarantine commit failed) is rolled forward
// by the job's next run: the target commit happened, so it commits the listed quarantine files
// (FilesFromJson) if the quarantine does not have them yet. A run that dies before the target
// commit published nothing; its staged files are deleted, and the next run reads those rows
// again.

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

// Staged quarantine files as a run record lists them, and back (without their statistics).
nlohmann::json FilesToJson(const std::vector<DataFile>& files);
std::vector<DataFile> FilesFromJson(const nlohmann::json& files);

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

  // FailedPrecondition if the target's quarantine table exists and is not a quarantine table
  // (checked before anything is committed).
  absl::Status CheckTable(const Principal& who, const TableName& target);

  // Step 3: commits `files` to the target's quarantine table (created if missing), unless the
  // catalog has them already (a roll forward that already happened). Returns the snapshot
  // written (0 when there was nothing to commit). FailedPrecondition as CheckTable.
  absl::StatusOr<int64_t> Publish(const Principal& who, const TableName& target,
                                  const std::vector<DataFile>& files);

  // Where a run's quarantine files go.
  static std::string PrefixOf(const TableName& target, const std::string& write_id);

 private:
  Catalog& catalog_;
  LakeEngine& engine_;
};

}  // namespace loch::etl
