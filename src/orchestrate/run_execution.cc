#include "orchestrate/run_execution.h"

#include <unistd.h>

#include <filesystem>

#include "common/clock.h"
#include "common/strings.h"
#include "crawl/saved_crawlers.h"
#include "etl/job_runner.h"
#include "fmt/format.h"
#include "orchestrate/run_control.h"

namespace loch::orchestrate {
namespace {

absl::StatusOr<RunRecord> ExecuteCrawl(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                                       const std::string& lock_dir, const Principal& who,
                                       RunRecord run) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockCrawler(lock_dir, run.name));
  run.state = RunRecord::kRunning;
  run.pid = getpid();
  run.started_micros = NowMicros();
  RETURN_IF_ERROR(catalog.UpdateRun(who, run, RunRecord::kQueued));
  Crawler crawler(catalog, store, engine);
  absl::StatusOr<CrawlerRun> crawled = RunSavedCrawler(catalog, crawler, who, run.name);
  run.finished_micros = NowMicros();
  if (crawled.ok()) {
    run.state =
        crawled->status == RunRecord::kSucceeded ? RunRecord::kSucceeded : RunRecord::kFailed;
    run.report = crawled->report;
    if (run.state == RunRecord::kFailed)
      run.error = "some tables could not be updated (see the report)";
  } else {
    run.state = RunRecord::kFailed;
    run.error = std::string(ToStd(crawled.status().message()));
  }
  RETURN_IF_ERROR(catalog.UpdateRun(who, run));
  return run;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileLock>> LockCrawler(const std::string& lock_dir,
                                                      const std::string& name) {
  std::error_code error;
  std::filesystem::create_directories(lock_dir, error);
  bool held_elsewhere = false;
  ASSIGN_OR_RETURN(
      std::unique_ptr<FileLock> lock,
      FileLock::TryAcquire(fmt::format("{}/crawler-{}.lock", lock_dir, name), held_elsewhere));
  if (held_elsewhere) {
    return absl::AbortedError(fmt::format(
        "crawler \"{}\" is already running; two crawls of a crawler never overlap", name));
  }
  return lock;
}

absl::StatusOr<CrawlerRun> RunCrawlerNow(Catalog& catalog, Crawler& crawler, const Principal& who,
                                         const std::string& name, const std::string& lock_dir,
                                         const Crawler::ProgressListener& progress) {
  RETURN_IF_ERROR(catalog.GetCrawler(who, name).status());  // NotFound before a lock file is made
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockCrawler(lock_dir, name));
  absl::StatusOr<CrawlerRun> run;
  RETURN_IF_ERROR(RecordRun(catalog, who, kCrawlerKind, name, "manual", [&]() -> WorkOutcome {
                    run = RunSavedCrawler(catalog, crawler, who, name, progress);
                    if (!run.ok()) return {run.status()};
                    if (run->status != RunRecord::kSucceeded) {
                      return {absl::AbortedError("some tables could not be updated"), run->report};
                    }
                    return {absl::OkStatus(), run->report};
                  }).status());
  return run;
}

absl::StatusOr<RunRecord> ExecuteQueuedRun(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                                           const std::string& lock_dir, const Principal& who,
                                           const RunRecord& run) {
  if (run.kind == kCrawlerKind) return ExecuteCrawl(catalog, store, engine, lock_dir, who, run);
  if (run.kind != etl::kJobKind) {
    return absl::InvalidArgumentError(fmt::format(
        "run {} is of kind {}: this loch runs jobs and crawlers", run.run_id, run.kind));
  }
  ASSIGN_OR_RETURN(const etl::RunRequest request, JobRunRequest(run));
  etl::JobRunner runner(catalog, store, engine, lock_dir);
  runner.set_phase_listener([&](std::string_view phase) {
    fmt::print("{} run {}: {}\n", FormatIsoMicros(NowMicros()), run.run_id, phase);
    std::fflush(stdout);
  });
  return runner.Run(who, request);
}

}  // namespace loch::orchestrate
