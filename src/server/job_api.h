#pragma once
// ETL jobs over HTTP (same authentication as the rest of the API). A job's JSON has the fields of
// etl/job_spec.h (name, sql, target, mode, partition_by, sort_by, file_size_mib, incremental,
// description).
//
// clang-format off
//   GET    /api/v1/jobs                   every job (current version) with its last run
//   POST   /api/v1/jobs                   a job's JSON -> 201; 409 if it exists
//   PUT    /api/v1/jobs/{name}            creates (201) or stores a new version if it changed (200)
//   GET    /api/v1/jobs/{name}            its definition (?version=N), its versions and last runs
//                                         (?runs=N, default 5)
//   POST   /api/v1/jobs/{name}/run        runs it now (?full=true: every source file) and answers
//                                         with the finished run (its state says if it failed);
//                                         409 while another run of the job is going on
//   GET    /api/v1/jobs/{name}/runs       its runs, newest first (?limit=N, default 20)
//   DELETE /api/v1/jobs/{name}            the job, its versions and runs (its tables stay)
// clang-format on
// POST .../run holds the HTTP worker thread until the run finishes; POST /api/v1/runs (run_api.h)
// queues a run for the orchestrator's worker processes instead.

#include <string>

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "server/http_api.h"
#include "storage/object_store.h"

namespace loch {

// `catalog`, `engine` and `store` must outlive the server; `lock_dir` is where runs hold their
// per-job locks (etl/job_runner.h).
void RegisterJobApi(httplib::Server& server, Catalog& catalog, LakeEngine& engine,
                    ObjectStore& store, const std::string& lock_dir, const Guard& guard);

// A run record as the API answers it.
nlohmann::json RunRecordJson(const RunRecord& run);

}  // namespace loch
