#include "orchestrate/orchestrator.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <set>

#include "common/clock.h"
#include "common/logging.h"
#include "common/strings.h"
#include "etl/job_runner.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/run_control.h"
#include "orchestrate/run_execution.h"

namespace loch::orchestrate {
namespace {

using nlohmann::json;

constexpr size_t kLogTailBytes = 4096;
constexpr int64_t kBusyRetryMicros = 1'000'000;      // a job whose lock another process holds
constexpr int64_t kRecoveryEveryMicros = 2'000'000;  // looking for runs of dead processes
constexpr size_t kQueuedLooked = 1000;
constexpr int64_t kFreshnessEveryMicros = 1'000'000;

// The exit status with which a worker says "the job is running elsewhere, the run is still
// queued" (EX_TEMPFAIL). Shared with the worker command (cli/worker_command.cc).
constexpr int kExitBusy = 75;

// Text the run store keeps: valid UTF-8 (a worker's log may hold anything).
std::string Utf8(const std::string& text) {
  return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace))
      .get<std::string>();
}

void LogIfFailed(const absl::Status& status, std::string_view what) {
  if (!status.ok()) spdlog::error("orchestrator: {}: {}", what, ToStd(status.message()));
}

}  // namespace

json RunEventJson(const RunRecord& run) {
  json out{{"run_id", run.run_id},
           {"kind", run.kind},
           {"name", run.name},
           {"state", run.state},
           {"attempt", run.attempt},
           {"max_attempts", run.max_attempts},
           {"pid", run.pid == 0 ? json(nullptr) : json(run.pid)},
           {"trigger", run.trigger},
           {"trigger_detail", run.trigger_detail},
           {"tags", run.tags}};
  if (run.Finished()) {
    out["started"] =
        run.started_micros == 0 ? json(nullptr) : json(FormatIsoMicros(run.started_micros));
    out["finished"] = FormatIsoMicros(run.finished_micros);
  }
  if (run.Finished() && run.state != RunRecord::kSucceeded) {
    out["error"] = run.error;
    out["log_tail"] = run.log_tail;
    out["will_retry"] = run.state == RunRecord::kFailed && run.attempt < run.max_attempts;
  }
  if (run.state == RunRecord::kSucceeded) {
    out["snapshot_written"] = run.report.value("snapshot_written", json(nullptr));
    out["rows_written"] = run.report.value("rows_written", json(nullptr));
  }
  return out;
}

void Orchestrator::PublishRun(const RunRecord& run) {
  if (options_.events == nullptr) return;
  options_.events->Publish(Event{0, 0, "run", RunEventJson(run)});
}

absl::StatusOr<std::unique_ptr<Orchestrator>> Orchestrator::Start(Catalog& catalog,
                                                                  ObjectStore& store,
                                                                  LakeEngine& engine,
                                                                  OrchestratorOptions options) {
  std::error_code error;
  std::filesystem::create_directories(options.state_dir + "/runs", error);
  if (error) {
    return absl::InternalError(fmt::format("cannot make the worker log folder {}/runs: {}",
                                           options.state_dir, error.message()));
  }
  std::unique_ptr<Orchestrator> orchestrator(
      new Orchestrator(catalog, store, engine, std::move(options)));
  orchestrator->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (orchestrator->wake_fd_ < 0) {
    return absl::InternalError(
        fmt::format("cannot make the orchestrator's eventfd: {}", std::strerror(errno)));
  }
  RETURN_IF_ERROR(orchestrator->triggers_.Start());
  orchestrator->RecoverAbandonedRuns();
  orchestrator->thread_ = std::thread([raw = orchestrator.get()] { raw->Loop(); });
  return orchestrator;
}

Orchestrator::Orchestrator(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                           OrchestratorOptions options)
    : catalog_(catalog),
      store_(store),
      engine_(engine),
      options_(std::move(options)),
      who_(Principal::LocalAdmin()),
      triggers_(catalog, engine, who_, [this](const CommitRecord& commit) {
        if (options_.events == nullptr) return;
        json data{{"table", commit.table.ToString()},
                  {"snapshot", commit.snapshot_id},
                  {"operation", commit.operation},
                  {"author", commit.author},
                  {"committed", FormatIsoMicros(commit.committed_micros)}};
        if (commit.summary.contains("run_id")) data["run_id"] = commit.summary["run_id"];
        options_.events->Publish(Event{0, 0, "commit", std::move(data)});
      }) {}

Orchestrator::~Orchestrator() {
  stopping_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Orchestrator::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Orchestrator::WaitForWork() {
  std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
  for (const auto& [run_id, worker] : workers_) {
    fds.push_back({worker.process->exit_fd(), POLLIN, 0});
  }
  ::poll(fds.data(), fds.size(), static_cast<int>(options_.tick.count()));
  uint64_t count = 0;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
}

void Orchestrator::Loop() {
  while (!stopping_) {
    WaitForWork();
    if (stopping_) break;
    try {
      Tick();
    } catch (const std::exception& error) {  // a bug must not stop every future run
      spdlog::error("orchestrator: tick failed: {}", error.what());
    }
  }
  // Stopping: no new worker; those running get the grace period, then are killed. Workers die
  // with this thread anyway (PR_SET_PDEATHSIG).
  const int64_t give_up = NowMicros() + options_.stop_grace.count() * 1000;
  while (!workers_.empty() && NowMicros() < give_up) {
    ReapWorkers();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& [run_id, worker] : workers_) {
    spdlog::warn(
        "orchestrator: stopping: killed the worker (pid {}) of run {}; the next start "
        "recovers and retries it",
        worker.process->pid(), run_id);
    worker.process->Kill();
  }
  workers_.clear();  // reaps them
}

void Orchestrator::Tick() {
  FinishEnded();
  ReapWorkers();
  StopOverdueAndCancelled();
  if (NowMicros() >= next_recovery_micros_) {
    RecoverAbandonedRuns();
    next_recovery_micros_ = NowMicros() + kRecoveryEveryMicros;
  }
  QueueRetries();
  QueueTriggeredRuns();
  StartQueuedRuns();
  if (options_.events != nullptr && NowMicros() >= next_freshness_micros_) {
    freshness_.Check(catalog_, who_, NowMicros(), *options_.events);
    next_freshness_micros_ = NowMicros() + kFreshnessEveryMicros;
  }
}

void Orchestrator::ReapWorkers() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    const std::optional<WorkerExit> exit = it->second.process->Poll();
    if (!exit) {
      ++it;
      continue;
    }
    const absl::Status finished = Finish(it->second, *exit);
    if (!finished.ok()) {
      LogIfFailed(finished, fmt::format("ending run {} (tried again)", it->first));
      ended_.emplace(it->first, Ended{std::move(it->second), *exit});
    }
    it = workers_.erase(it);
  }
}

void Orchestrator::FinishEnded() {
  for (auto it = ended_.begin(); it != ended_.end();) {
    if (Finish(it->second.worker, it->second.exit).ok()) {
      it = ended_.erase(it);
    } else {
      ++it;
    }
  }
}

void Orchestrator::StopOverdueAndCancelled() {
  const auto now = std::chrono::steady_clock::now();
  std::set<int64_t> cancel;
  if (!workers_.empty()) {
    auto requested = catalog_.FindRuns(
        who_, RunQuery{"", "", {RunRecord::kRunning, RunRecord::kQueued}, false, true, 1000});
    if (requested.ok()) {
      for (const RunRecord& run : *requested) cancel.insert(run.run_id);
    } else {
      LogIfFailed(requested.status(), "reading cancel requests");
    }
  }
  for (auto& [run_id, worker] : workers_) {
    if (worker.timed_out || worker.cancelled) continue;
    if (cancel.contains(run_id)) {
      worker.cancelled = true;
      worker.process->Kill();
      spdlog::info("orchestrator: run {} ({} {}) cancelled: killed its worker (pid {})", run_id,
                   worker.run.kind, worker.run.name, worker.process->pid());
    } else if (now >= worker.deadline) {
      worker.timed_out = true;
      worker.process->Kill();
      spdlog::warn("orchestrator: run {} ({} {}) timed out after {} s: killed its worker (pid {})",
                   run_id, worker.run.kind, worker.run.name, worker.timeout_seconds,
                   worker.process->pid());
    }
  }
}

absl::Status Orchestrator::RecoverJob(const std::string& job) {
  etl::JobRunner runner(catalog_, store_, engine_, options_.state_dir + "/locks");
  return runner.RecoverInterrupted(who_, job);
}

void Orchestrator::RecoverAbandonedRuns() {
  auto running =
      catalog_.FindRuns(who_, RunQuery{"", "", {RunRecord::kRunning}, false, false, 1000});
  if (!running.ok()) return LogIfFailed(running.status(), "looking for abandoned runs");
  std::map<std::string, std::vector<int64_t>> jobs;  // job -> its runs left RUNNING
  for (const RunRecord& run : *running) {
    if (workers_.contains(run.run_id) || ended_.contains(run.run_id)) continue;  // ours
    if (run.kind == kCrawlerKind) {
      // Its lock tells: held, the crawl is alive elsewhere (`loch crawler run`); free, it died.
      auto lock = LockCrawler(options_.state_dir + "/locks", run.name);
      if (!lock.ok()) {
        if (!absl::IsAborted(lock.status())) LogIfFailed(lock.status(), "locking a crawler");
        continue;
      }
      RunRecord ended = run;
      ended.state = RunRecord::kFailed;
      ended.finished_micros = NowMicros();
      ended.error = fmt::format(
          "its process (pid {}) stopped before the crawl finished; what it committed stays, a "
          "retry crawls on from there",
          run.pid);
      const absl::Status updated = catalog_.UpdateRun(who_, ended, RunRecord::kRunning);
      LogIfFailed(updated, fmt::format("recovering run {}", run.run_id));
      if (updated.ok()) AfterRecovery(run.run_id);
      continue;
    }
    if (run.kind == etl::kJobKind) jobs[run.name].push_back(run.run_id);
  }
  for (const auto& entry : jobs) {
    const std::string& job = entry.first;  // (clang 14 lambdas cannot capture bindings)
    const std::vector<int64_t>& run_ids = entry.second;
    if (std::any_of(workers_.begin(), workers_.end(), [&](const auto& worker) {
          return worker.second.run.kind == etl::kJobKind && worker.second.run.name == job;
        })) {
      continue;  // ours is running: its end is handled when it exits
    }
    const absl::Status recovered = RecoverJob(job);
    if (absl::IsAborted(recovered)) continue;  // alive in another process: looked at again later
    LogIfFailed(recovered, fmt::format("recovering the interrupted runs of job {}", job));
    if (!recovered.ok()) continue;
    spdlog::info("orchestrator: recovered the runs of job {} whose process had stopped", job);
    for (const int64_t run_id : run_ids) AfterRecovery(run_id);
  }
}

void Orchestrator::AfterRecovery(int64_t run_id) {
  auto run = catalog_.GetRun(who_, run_id);
  if (!run.ok()) return LogIfFailed(run.status(), fmt::format("reading run {}", run_id));
  if (run->state == RunRecord::kFailed && run->cancel_requested) {
    run->state = RunRecord::kCancelled;
    run->error = fmt::format("cancelled: {}", run->error);
    LogIfFailed(catalog_.UpdateRun(who_, *run), fmt::format("cancelling run {}", run_id));
  }
  PublishRun(*run);
  if (run->state == RunRecord::kSucceeded) {
    auto due = triggers_.AfterSuccess(*run);
    if (!due.ok()) return LogIfFailed(due.status(), "reading the jobs that follow");
    QueueUnlessQueued(std::move(*due));
  }
}

void Orchestrator::QueueRetries() {
  auto failed = catalog_.FindRuns(who_, RunQuery{"", "", {}, true, false, 100});
  if (!failed.ok()) return LogIfFailed(failed.status(), "looking for runs to retry");
  for (const RunRecord& run : *failed) {
    if (run.kind != etl::kJobKind && run.kind != kCrawlerKind) continue;  // not run by workers
    RunRecord retry = run;
    retry.attempt = run.attempt + 1;
    retry.not_before_micros =
        NowMicros() + RetryDelayMicros(run.attempt, options_.retry_backoff_micros);
    retry.trigger_detail["retry_of"] = run.run_id;
    if (!run.trigger.starts_with("retry")) {
      retry.trigger = fmt::format("retry of run {} ({})", run.run_id, run.trigger);
    } else {
      retry.trigger = fmt::format("retry of run {}", run.run_id);
    }
    retry.error.clear();
    retry.log_tail.clear();
    retry.report = json::object();
    auto queued = catalog_.QueueRun(who_, retry, run.run_id);
    if (absl::IsAlreadyExists(queued.status())) continue;  // another process retried it
    if (!queued.ok()) {
      LogIfFailed(queued.status(), fmt::format("retrying run {}", run.run_id));
      continue;
    }
    if (auto queued_run = catalog_.GetRun(who_, *queued); queued_run.ok()) PublishRun(*queued_run);
    spdlog::info(
        "orchestrator: run {} of {} failed (attempt {} of {}); run {} retries it in "
        "{:.1f} s",
        run.run_id, run.name, run.attempt, run.max_attempts, *queued,
        static_cast<double>(retry.not_before_micros - NowMicros()) / 1e6);
  }
}

void Orchestrator::QueueUnlessQueued(std::vector<RunRecord> runs) {
  for (RunRecord& run : runs) {
    auto queued = catalog_.FindRuns(
        who_, RunQuery{run.kind, run.name, {RunRecord::kQueued}, false, false, 100});
    if (!queued.ok()) {
      LogIfFailed(queued.status(), "looking for queued runs");
      continue;
    }
    // A queued run reads everything new when it starts, unless it re-runs a range only.
    if (std::any_of(queued->begin(), queued->end(),
                    [](const RunRecord& waiting) { return !waiting.request.contains("range"); })) {
      continue;
    }
    auto id = catalog_.QueueRun(who_, run);
    if (!id.ok()) {
      LogIfFailed(id.status(), fmt::format("queueing a run of {}", run.name));
      continue;
    }
    if (auto queued_run = catalog_.GetRun(who_, *id); queued_run.ok()) PublishRun(*queued_run);
    spdlog::info("orchestrator: queued run {} of {}: {}", *id, run.name, run.trigger);
  }
}

void Orchestrator::QueueTriggeredRuns() {
  auto due = triggers_.Poll(NowMicros());
  if (!due.ok()) return LogIfFailed(due.status(), "reading commits");
  QueueUnlessQueued(std::move(*due));
}

void Orchestrator::StartQueuedRuns() {
  if (static_cast<int>(workers_.size()) >= options_.max_workers) return;
  auto queued =
      catalog_.FindRuns(who_, RunQuery{"", "", {RunRecord::kQueued}, false, false, kQueuedLooked});
  if (!queued.ok()) return LogIfFailed(queued.status(), "reading the queue");
  const int64_t now = NowMicros();
  // One run per job or crawler at a time: its later runs wait for it.
  auto key = [](const RunRecord& run) { return run.kind + ":" + run.name; };
  std::set<std::string> started;
  for (const auto& [run_id, worker] : workers_) started.insert(key(worker.run));
  // Oldest first (FindRuns answers newest first).
  for (auto it = queued->rbegin(); it != queued->rend(); ++it) {
    if (static_cast<int>(workers_.size()) >= options_.max_workers) break;
    const RunRecord& run = *it;
    if (run.kind != etl::kJobKind && run.kind != kCrawlerKind) continue;
    if (run.not_before_micros > now || started.contains(key(run))) continue;
    if (const auto busy = busy_until_.find(key(run));
        busy != busy_until_.end() && busy->second > now) {
      continue;
    }
    started.insert(key(run));
    LogIfFailed(StartWorker(run), fmt::format("starting run {}", run.run_id));
  }
}

absl::Status Orchestrator::StartWorker(const RunRecord& run) {
  int timeout_seconds = etl::RunPolicy::kDefaultTimeoutSeconds;
  if (run.kind == etl::kJobKind) {
    if (auto job = catalog_.GetJob(who_, run.name); job.ok()) {
      if (auto spec = etl::SpecOf(*job); spec.ok()) timeout_seconds = spec->policy.timeout_seconds;
    }
  }
  std::vector<std::string> args{"worker", std::to_string(run.run_id)};
  args.insert(args.end(), options_.lake_args.begin(), options_.lake_args.end());
  Worker worker;
  worker.run = run;
  worker.log_path = RunLogPath(options_.state_dir, run.run_id);
  worker.timeout_seconds = timeout_seconds;
  worker.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  ASSIGN_OR_RETURN(worker.process,
                   WorkerProcess::Spawn(options_.worker_binary, args, worker.log_path));
  spdlog::info("orchestrator: run {} of {} (attempt {} of {}) started in worker pid {}", run.run_id,
               run.name, run.attempt, run.max_attempts, worker.process->pid());
  RunRecord started = run;
  started.state = RunRecord::kRunning;
  started.pid = worker.process->pid();
  PublishRun(started);
  workers_.emplace(run.run_id, std::move(worker));
  return absl::OkStatus();
}

absl::Status Orchestrator::Finish(Worker& worker, const WorkerExit& exit) {
  const int64_t run_id = worker.run.run_id;
  const pid_t pid = worker.process->pid();
  ASSIGN_OR_RETURN(RunRecord run, catalog_.GetRun(who_, run_id));
  if (exit.code == kExitBusy && run.state == RunRecord::kQueued && !worker.cancelled &&
      !worker.timed_out) {
    busy_until_[run.kind + ":" + run.name] = NowMicros() + kBusyRetryMicros;  // runs elsewhere
    return absl::OkStatus();
  }
  const std::string how = fmt::format("its worker (pid {}) {}", pid, exit.Describe());
  if (run.state == RunRecord::kRunning && run.kind == kCrawlerKind) {
    // A crawl commits table by table: what it committed stays, its retry reads on from there.
    run.state = RunRecord::kFailed;
    run.finished_micros = NowMicros();
    run.error = fmt::format("{} before the crawl finished", how);
  } else if (run.state == RunRecord::kRunning) {
    // It died mid-run: its end is decided as the job's next run would (committed or not).
    const absl::Status recovered = RecoverJob(run.name);
    if (!recovered.ok()) {
      // Left RUNNING: RecoverAbandonedRuns looks at it again.
      return absl::Status(recovered.code(), fmt::format("run {}: {}; recovering it: {}", run_id,
                                                        how, ToStd(recovered.message())));
    }
    ASSIGN_OR_RETURN(run, catalog_.GetRun(who_, run_id));
    if (run.state == RunRecord::kFailed) {
      run.error = fmt::format(
          "{} before the run finished; nothing it wrote was published (its staged files were "
          "deleted)",
          how);
    }
  } else if (run.state == RunRecord::kQueued) {
    // It ended before it claimed the run (it could not open the lake, the job is gone, ...).
    run.state = RunRecord::kFailed;
    run.pid = pid;
    run.finished_micros = NowMicros();
    run.error = fmt::format("{} before it started the run", how);
  }
  if (run.state == RunRecord::kFailed && worker.timed_out) {
    run.state = RunRecord::kTimeout;
    run.error = fmt::format("timed out after {} s: {}", worker.timeout_seconds, run.error);
  } else if (run.state == RunRecord::kFailed && (worker.cancelled || run.cancel_requested)) {
    run.state = RunRecord::kCancelled;
    run.error = fmt::format("cancelled: {}", run.error);
  }
  if (run.state != RunRecord::kSucceeded) {
    run.log_tail = Utf8(FileTail(worker.log_path, kLogTailBytes));
  }
  RETURN_IF_ERROR(catalog_.UpdateRun(who_, run));
  PublishRun(run);
  spdlog::log(run.state == RunRecord::kSucceeded ? spdlog::level::info : spdlog::level::warn,
              "orchestrator: run {} of {} {}{}", run_id, run.name, run.state,
              run.error.empty() ? "" : ": " + run.error);
  if (run.state == RunRecord::kSucceeded) {
    auto due = triggers_.AfterSuccess(run);
    if (!due.ok()) return due.status();
    QueueUnlessQueued(std::move(*due));
  }
  return absl::OkStatus();
}

}  // namespace loch::orchestrate
