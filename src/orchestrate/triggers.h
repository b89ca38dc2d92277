#pragma once
// TriggerWatcher: decides which job runs commits and successful runs start.
//
// Table updates: it reads the catalog's commits in order (Catalog::ListCommits, from any process:
// the server's stream deliveries, workers, the CLI) and, for each job with `on_update` that reads
// the committed table, waits until the table has had no commit for the job's debounce (or ten
// debounces since the first commit of a burst) and then asks for one run of it. Upstream jobs:
// when a job's run succeeds, the jobs that name it in `after` get a run.
//
// Each run it asks for records what started it (trigger and trigger_detail: the table, snapshot,
// number of commits, the run that made the commit) and `through_snapshot`, the last commit it had
// read then: a restarted server reads on from the highest one its runs recorded, so commits made
// while it was down still start their runs.
//
// Thread-safety: used by one thread (the orchestrator's).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "catalog/catalog.h"
#include "common/cron.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_lineage.h"

namespace loch::orchestrate {

class TriggerWatcher {
 public:
  // Called with each commit Poll reads, in order.
  using CommitListener = std::function<void(const CommitRecord&)>;
  // `catalog` and `engine` outlive the watcher.
  TriggerWatcher(Catalog& catalog, LakeEngine& engine, Principal who,
                 CommitListener on_commit = nullptr)
      : catalog_(catalog),
        engine_(engine),
        who_(std::move(who)),
        on_commit_(std::move(on_commit)) {}

  // Finds where to read commits from. Call once before Poll.
  absl::Status Start();

  // Reads the commits since the last call and returns the runs due now (RunRecords to queue:
  // kind, name, trigger, detail, attempts and tags set), at most one per job.
  absl::StatusOr<std::vector<RunRecord>> Poll(int64_t now_micros);

  // The runs of the jobs that run after `run`'s job, which succeeded.
  absl::StatusOr<std::vector<RunRecord>> AfterSuccess(const RunRecord& run);

 private:
  // A burst of commits to a job's sources, waiting out its debounce.
  struct Pending {
    int64_t first_seen_micros = 0;
    int64_t last_seen_micros = 0;
    CommitRecord latest;
    int64_t first_snapshot = 0;
    int commits = 0;
  };
  // The commit up to which every trigger is decided (runs record it as through_snapshot, where a
  // restarted server reads on from): the cursor, but before any commit still in a debounce.
  int64_t SafeCursor() const;
  // A job's or crawler's schedule and when it fires next.
  struct Scheduled {
    std::string kind, name;
    CronSchedule schedule;
    absl::Time next;
    int max_attempts = 1;
    std::vector<std::string> tags;
  };
  // Reads the saved jobs again; the lineage of a job is worked out once per version.
  absl::Status RefreshJobs();
  // Reads the schedules of jobs and crawlers again (a changed one starts over from now).
  absl::Status RefreshSchedules(absl::Time now);
  // When `kind` `name`'s last scheduled run was due (from the run store), if it had one.
  std::optional<absl::Time> LastScheduled(const std::string& kind, const std::string& name);
  // A run of `job` to queue, with what started it.
  RunRecord RunOf(const etl::JobLineage& job, std::string trigger, nlohmann::json detail) const;

  Catalog& catalog_;
  LakeEngine& engine_;
  Principal who_;
  CommitListener on_commit_;
  int64_t cursor_ = 0;  // the last commit read
  std::map<std::string, etl::JobLineage> jobs_;
  std::map<std::string, Pending> pending_;      // by job
  std::map<std::string, Scheduled> schedules_;  // by "kind:name"
};

}  // namespace loch::orchestrate
