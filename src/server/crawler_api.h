#pragma once
// Saved crawlers over HTTP (same authentication as the rest of the API):
//
// clang-format off
//   GET    /api/v1/crawlers               every crawler with its last run
//   POST   /api/v1/crawlers               {"name", "prefixes": [...], "database", "schema_change",
//                                          "deletes", "recrawl"} -> 201
//   GET    /api/v1/crawlers/{name}        its configuration and its last runs' reports (?runs=N)
//   PATCH  /api/v1/crawlers/{name}        {"deletes": "delete", ...}: changes those settings only
//   POST   /api/v1/crawlers/{name}/run    runs it now; answers with the run and its report
//   DELETE /api/v1/crawlers/{name}        the crawler and its run history (tables stay)
// clang-format on

#include <functional>

#include "catalog/catalog.h"
#include "crawl/crawler.h"
#include "server/http_api.h"

namespace loch {

// `catalog` and `crawler` must outlive the server.
// `lock_dir` is where crawls hold their locks (orchestrate::LockCrawler).
void RegisterCrawlerApi(httplib::Server& server, Catalog& catalog, Crawler& crawler,
                        const std::string& lock_dir, const Guard& guard);

}  // namespace loch
