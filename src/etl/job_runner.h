#pragma once
// JobRunner: runs ETL jobs (job_spec.h) once, start to finish, and records each run in the
// catalog's run store.
//
// A run reads its source tables at the snapshots it records (with --incremental only the files
// committed since the job's last successful run: its bookmarks), stages the query's result as
// Parquet files under tables/<db>/<table>/<write id>/ (write id recorded at the start), and
// publishes them in one catalog commit (append: added; replace-partitions: the partitions the run
// produced are replaced). Until that commit nothing is visible; a run that fails deletes what it
// staged, and a run that was killed leaves objects that the job's next run deletes before it
// starts (they are under the prefix its run record names and no table has them).
// Two runs of one job never overlap: each holds an exclusive lock file in `lock_dir` (released by
// the kernel if its process dies); a second run is refused. A commit that conflicts with another
// writer is retried from the fresh snapshot.
//
// Thread-safety: a JobRunner may be used from several threads (the lock is per job).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "common/file_lock.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_spec.h"
#include "etl/partition_range.h"
#include "etl/write_modes.h"
#include "storage/object_store.h"

namespace loch::etl {

// The kind of a job's runs in the run store (RunRecord::kind).
inline constexpr const char* kJobKind = "job";

struct RunRequest {
  std::string job;
  bool full = false;  // ignore the bookmarks: read every file of the sources
  std::string trigger = "manual";
  // Re-run only this range of the target's first partition column (partition_range.h): append
  // and replace-partitions jobs with an existing target. An incremental job reads its sources as
  // its bookmarks have them (what was processed), and a range run moves no bookmark.
  std::optional<PartitionRange> range = std::nullopt;
  // Run this QUEUED run of the job (queued by the orchestrator) instead of recording a new one;
  // its trigger is the recorded one. FailedPrecondition if it is no longer queued.
  int64_t run_id = 0;
};

// What a run did; RunRecord::report holds it as JSON (ToJson).
struct RunReport {
  int64_t run_id = 0;  // named in the summary of the run's commits
  int64_t job_version = 0;
  std::string mode;
  bool incremental = false;             // read only new files (false for a first or --full run)
  std::optional<PartitionRange> range;  // a range re-run: the range, of `range_column`
  std::string range_column;
  // Per source table: the snapshot read, and the files and rows read from it.
  struct Source {
    int64_t snapshot = 0;
    int64_t since_snapshot = 0;  // incremental: the bookmark; 0 otherwise
    int64_t files = 0;
    int64_t rows = 0;
  };
  std::map<std::string, Source> sources;  // by DB.TABLE
  std::string staging_prefix;
  // A job that checks its rows (row_checks.h): where its quarantined rows go, how many of the
  // query's rows failed a check, the most frequent failures, and the quarantine's snapshot.
  std::string target;  // DB.TABLE
  std::string quarantine_table;
  std::string quarantine_prefix;
  nlohmann::json quarantine_files = nlohmann::json::array();  // staged, committed after the target
  bool quarantine_pending = false;  // the target was committed, the quarantine not yet
  int64_t rows_quarantined = 0;
  nlohmann::json failures = nlohmann::json::array();
  int64_t quarantine_snapshot = 0;
  // The job's data-quality rules, as evaluated on what the run was to publish (quality_gate.h).
  nlohmann::json dq = nlohmann::json::array();
  int64_t rows_in_result = 0;  // rows the job's query returned (that passed its checks)
  int64_t rows_written = 0;    // rows in the files published (merge: rewritten rows included)
  int64_t files_written = 0;
  int64_t bytes_written = 0;
  int64_t partitions_written = 0;
  int64_t files_replaced = 0;    // replace-partitions: files of the target the run replaced
  int64_t snapshot_written = 0;  // 0 when nothing was committed
  std::string note;              // e.g. "nothing new to read"
  std::map<std::string, int64_t> phase_millis;  // plan, write, commit
};
nlohmann::json ToJson(const RunReport& report);

class JobRunner {
 public:
  // `catalog`, `store` and `engine` outlive the runner; `lock_dir` is a local folder (created if
  // missing) for the per-job lock files.
  JobRunner(Catalog& catalog, ObjectStore& store, LakeEngine& engine, std::string lock_dir)
      : catalog_(catalog), store_(store), engine_(engine), lock_dir_(std::move(lock_dir)) {}

  // Runs the job once and returns its finished run record: SUCCEEDED, or FAILED with the error
  // (the run's own failures are not errors of this call). Errors: NotFound for an unknown job,
  // Aborted while another run of the job holds its lock, FailedPrecondition for a stored
  // definition this loch cannot read, Internal when the run store cannot be written.
  absl::StatusOr<RunRecord> Run(const Principal& who, const RunRequest& request);

  // Ends the job's runs that are still recorded as RUNNING though no process runs them (it died):
  // SUCCEEDED if their commit happened, FAILED otherwise, what they staged deleted; as a run of
  // the job does before it starts. Aborted while a run of the job holds its lock (it is alive).
  absl::Status RecoverInterrupted(const Principal& who, const std::string& job);

  // Deletes the job, its versions and its run history (its target table stays), holding its lock:
  // Aborted while a run of it is going (deleting its RUNNING record would leave what that run
  // staged to vacuum). NotFound for an unknown job.
  absl::Status Delete(const Principal& who, const std::string& job);

  // Called with each phase as a run enters it ("cleanup", "plan", "write", "commit").
  using PhaseListener = std::function<void(std::string_view phase)>;
  void set_phase_listener(PhaseListener listener) { on_phase_ = std::move(listener); }

 private:
  // Marks the job's runs still recorded as RUNNING (their process died: this one holds the lock)
  // FAILED, and deletes the objects they staged that no table has.
  absl::Status CleanUpInterruptedRuns(const Principal& who, const std::string& job);
  // Deletes the objects under `prefix` that no table knows (staged by a run that died); true if
  // the catalog knows some (the run committed them).
  absl::StatusOr<bool> DeleteUnknownObjects(const Principal& who, const std::string& prefix);
  // Commits the quarantined rows `run` lists if the quarantine does not have them yet (a run that
  // published its target and stopped, or failed, before its quarantine commit); updates its
  // report.
  absl::Status RollQuarantineForward(const Principal& who, RunRecord& run);
  // The run itself, after the lock is held and `run` recorded. Fills `report` (and stores it in
  // `run` before committing).
  absl::Status Execute(const Principal& who, const JobSpec& spec, const RunRequest& request,
                       const std::string& write_id, RunRecord& run, RunReport& report);
  // Execute's loop: writes `stage`'s output and commits it to the target, making it again when
  // another writer's commit invalidates it.
  absl::Status WriteAndPublish(const Principal& who, const JobSpec& spec, const RunRequest& request,
                               const StageRequest& stage, std::optional<TableSnapshot> target,
                               RunRecord& run, RunReport& report);
  // Commits `output` to the target (created if `target` is nullopt), rebasing on conflicts where
  // the output allows. False (its staged files discarded) when a conflict means the output must be
  // made again from the fresh target.
  absl::StatusOr<bool> Publish(const Principal& who, const JobSpec& spec, const RunOutput& output,
                               std::optional<TableSnapshot> target, RunReport& report);
  void EnterPhase(std::string_view phase);
  // The job's lock, or Aborted naming the run that holds it.
  absl::StatusOr<std::unique_ptr<FileLock>> LockJob(const Principal& who, const std::string& job);

  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
  std::string lock_dir_;
  PhaseListener on_phase_;
};

}  // namespace loch::etl
