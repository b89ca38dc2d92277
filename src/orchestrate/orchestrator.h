#pragma once
// Orchestrator: runs the run store's queued runs in worker processes, inside `loch serve`.
//
// One thread, a tick at a time (every `tick`, at once when woken, and at once when a worker
// exits):
// - Workers: each QUEUED run whose time has come (not_before) starts in a new worker process
//   (`loch worker RUN`, worker_process.h), at most `max_workers` at once and one per job (a job's
//   runs never overlap; excess runs wait their turn, oldest first). A worker that finds the job
//   running elsewhere (its lock held, say by `loch job run`) leaves the run queued; it is started
//   again a second later.
// - Deadlines and cancels: a worker past its job's timeout_seconds is killed with its process
//   group and its run ends TIMEOUT; a run whose cancel was requested (RequestCancel) is killed and
//   ends CANCELLED.
// - Ends: when a worker exits, a run it left RUNNING (it died) is recovered as a run of the job
//   would (JobRunner::RecoverInterrupted: SUCCEEDED if its commit happened, FAILED otherwise,
//   its staged files deleted); its error names how the worker ended, and the end of its log is
//   kept in the run.
// - Retries: a FAILED run below its max_attempts gets a new run (attempt + 1) after a backoff
//   (RetryDelayMicros), which starts in a new worker process, never the one that failed.
// - Triggers: commits and successful runs start the jobs that depend on them (triggers.h); a
//   job that already has a queued run gets no second one (the queued run reads everything new).
// - Freshness: about every second, tables that missed their expected freshness raise a
//   "freshness" event (freshness.h).
// - Restarts: runs left RUNNING by a server that stopped (its workers died with it) are found at
//   start and recovered as above (then retried); a run still RUNNING in a live process (its job
//   lock held) is left alone and looked at again later. Nothing runs twice at once: a job's runs
//   hold its lock.
//
// Thread-safety: Wake may be called from any thread.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "orchestrate/event_bus.h"
#include "orchestrate/freshness.h"
#include "orchestrate/triggers.h"
#include "orchestrate/worker_process.h"
#include "storage/object_store.h"

namespace loch::orchestrate {

struct OrchestratorOptions {
  std::string worker_binary;           // the loch binary (started as `loch worker RUN ...`)
  std::vector<std::string> lake_args;  // after the run id: e.g. --lake ROOT --state DIR
  std::string state_dir;               // worker logs in <state>/runs/, job locks in <state>/locks
  int max_workers = 2;
  std::chrono::milliseconds tick{100};
  int64_t retry_backoff_micros = 1'000'000;  // before a first retry (see RetryDelayMicros)
  // At Stop, running workers get this long to finish; then they are killed (their runs are
  // recovered, and retried, by the next start).
  std::chrono::milliseconds stop_grace{std::chrono::seconds(10)};
  // Where run state changes and table commits are published (nullptr: nowhere). Outlives the
  // orchestrator.
  EventBus* events = nullptr;
};

// A run as events and webhooks carry it: id, kind, name, state, attempt, pid, trigger, times,
// error and log tail (when it did not succeed), and whether it will be retried.
nlohmann::json RunEventJson(const RunRecord& run);

class Orchestrator {
 public:
  // Recovers the runs a previous server left RUNNING and starts the thread. `catalog`, `store`
  // and `engine` outlive the orchestrator.
  static absl::StatusOr<std::unique_ptr<Orchestrator>> Start(Catalog& catalog, ObjectStore& store,
                                                             LakeEngine& engine,
                                                             OrchestratorOptions options);
  // Stops (see OrchestratorOptions::stop_grace).
  ~Orchestrator();

  // Makes the next tick happen now (a run was queued, a commit happened). Async-signal-safe.
  void Wake();

 private:
  struct Worker {
    RunRecord run;
    std::unique_ptr<WorkerProcess> process;
    std::string log_path;
    std::chrono::steady_clock::time_point deadline;  // steady: a clock step kills nobody
    bool timed_out = false;
    bool cancelled = false;
    int timeout_seconds = 0;
  };

  Orchestrator(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
               OrchestratorOptions options);
  void Loop();
  // Sleeps until woken, a worker exits or a tick passes.
  void WaitForWork();
  void Tick();
  // The steps of a tick; each logs its own errors and lets the others go on.
  void ReapWorkers();
  void StopOverdueAndCancelled();
  void RecoverAbandonedRuns();
  void QueueRetries();
  void QueueTriggeredRuns();
  void StartQueuedRuns();
  // `worker` ended with `exit`: records how its run ended and queues what follows a success.
  absl::Status Finish(Worker& worker, const WorkerExit& exit);
  // Ends the job's runs left RUNNING by a dead process. Aborted while a live process holds the
  // job's lock.
  absl::Status RecoverJob(const std::string& job);
  // Queues `runs` (from the triggers), skipping jobs that already have a queued run.
  void QueueUnlessQueued(std::vector<RunRecord> runs);
  absl::Status StartWorker(const RunRecord& run);
  // Publishes `run`'s state (if there is a bus).
  void PublishRun(const RunRecord& run);

  Catalog& catalog_;
  ObjectStore& store_;
  LakeEngine& engine_;
  OrchestratorOptions options_;
  Principal who_;
  TriggerWatcher triggers_;
  // A worker that ended but whose end could not be recorded yet (say, its job's lock was taken
  // at once by another process): Finish is tried again each tick.
  struct Ended {
    Worker worker;
    WorkerExit exit;
  };
  // Ends `ended` runs whose Finish failed before.
  void FinishEnded();
  // A run that recovery ended (its worker died): a cancel asked for makes it CANCELLED; it is
  // published, and a success starts what follows it.
  void AfterRecovery(int64_t run_id);

  std::map<int64_t, Worker> workers_;          // by run id
  std::map<int64_t, Ended> ended_;             // by run id
  std::map<std::string, int64_t> busy_until_;  // job -> when to try it again (lock held)
  int64_t next_recovery_micros_ = 0;
  FreshnessWatch freshness_;
  int64_t next_freshness_micros_ = 0;

  // Wake and stop: an eventfd the loop polls with its workers' exit fds.
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace loch::orchestrate
