#pragma once
// Running one queued run in this process: what `loch worker RUN` does for the orchestrator. A
// job's run goes through the JobRunner (which claims it, QUEUED -> RUNNING, and records its end);
// a crawler's run is claimed the same way, crawled with RunSavedCrawler and ended with the
// crawl's report.

#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "common/file_lock.h"
#include "common/principal.h"
#include "common/status.h"
#include "crawl/crawler.h"
#include "engine/lake_engine.h"
#include "storage/object_store.h"

namespace loch::orchestrate {

// The kind of a crawler's runs in the run store.
inline constexpr const char* kCrawlerKind = "crawler";

// The lock that keeps two crawls of saved crawler `name` from overlapping (a file in `lock_dir`,
// released by the kernel when its process dies). Aborted while another process holds it.
absl::StatusOr<std::unique_ptr<FileLock>> LockCrawler(const std::string& lock_dir,
                                                      const std::string& name);

// Runs saved crawler `name` here and now (`loch crawler run`, POST /api/v1/crawlers/NAME/run),
// holding its lock, recorded in the run store as a crawler run (trigger "manual") as well as in
// the crawler's own history. Errors: Aborted while it runs elsewhere, RunSavedCrawler's, or the
// run store's.
absl::StatusOr<CrawlerRun> RunCrawlerNow(Catalog& catalog, Crawler& crawler, const Principal& who,
                                         const std::string& name, const std::string& lock_dir,
                                         const Crawler::ProgressListener& progress = {});

// Runs `run` (QUEUED) and returns it ended (SUCCEEDED, FAILED). Errors: Aborted while its job runs
// elsewhere (it stays QUEUED: try again later), FailedPrecondition if it is no longer queued
// (cancelled, or claimed by another worker), NotFound for an unknown job or crawler,
// InvalidArgument for a kind this loch does not run.
absl::StatusOr<RunRecord> ExecuteQueuedRun(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                                           const std::string& lock_dir, const Principal& who,
                                           const RunRecord& run);

}  // namespace loch::orchestrate
