#pragma once
// Saved crawlers: a named CrawlRequest kept in the catalog, and runs whose reports are kept there
// too. Shared by the CLI and the REST API.

#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "crawl/crawler.h"

namespace loch {

// Checks `request` (database name, prefixes) and saves it as crawler `name`. AlreadyExists if a
// crawler has that name.
absl::Status CreateSavedCrawler(Catalog& catalog, const Principal& who, const std::string& name,
                                const CrawlRequest& request);

// Changes saved crawler `name`: `change(request)` edits its request, which is then checked as on
// creation and saved. Returns the saved request. NotFound for an unknown crawler.
absl::StatusOr<CrawlRequest> UpdateSavedCrawler(Catalog& catalog, const Principal& who,
                                                const std::string& name,
                                                const std::function<absl::Status(CrawlRequest&)>& change);

// Runs crawler `name` and records the run (status SUCCEEDED, or FAILED when some table could not
// be updated) with its report. NotFound for an unknown crawler; an error of the crawl itself is
// recorded as a FAILED run and returned.
absl::StatusOr<CrawlerRun> RunSavedCrawler(Catalog& catalog, Crawler& crawler, const Principal& who,
                                           const std::string& name,
                                           const Crawler::ProgressListener& progress = {});

}  // namespace loch
