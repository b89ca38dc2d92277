#pragma once
// The run store and tables' freshness over HTTP (same authentication as the rest of the API); run
// JSON as orchestrate::RunJson.
//
// clang-format off
//   GET  /api/v1/runs                 runs, newest first (?name=, ?kind=, ?tag=, ?state=,
//                                     ?failed=true: FAILED, TIMEOUT and CANCELLED; ?limit=N,
//                                     default 50)
//   POST /api/v1/runs                 {"job": NAME, "full": bool, "range": {"from", "to"}}:
//                                     queues a run of the job -> 201 with the run
//   GET  /api/v1/runs/{id}            one run
//   GET  /api/v1/runs/{id}/logs       its worker's log (text)
//   POST /api/v1/runs/{id}/cancel     a queued run ends CANCELLED; a running one's worker is
//                                     stopped within a tick
//   POST /api/v1/runs/{id}/retry      a new attempt of a run that did not succeed -> 201
//   GET  /api/v1/freshness            every table's last change (time, snapshot, run) and its
//                                     expected freshness, stale or not (orchestrate/freshness.h)
//   PUT  /api/v1/freshness/{db.table} {"expect_every": "1h"}: expect it to change that often
//   DELETE /api/v1/freshness/{db.table}  no expectation
// clang-format on

#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "server/http_api.h"

namespace loch {

// `catalog` must outlive the server; worker logs are under `state_dir`. `changed` is called with a
// run the API queued or cancelled (to publish it, and wake the orchestrator).
void RegisterRunApi(httplib::Server& server, Catalog& catalog, const std::string& state_dir,
                    std::function<void(const RunRecord&)> changed, const Guard& guard);

}  // namespace loch
