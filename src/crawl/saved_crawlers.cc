#include "crawl/saved_crawlers.h"

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

namespace {

absl::Status CheckCrawler(const std::string& name, const CrawlRequest& request) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "crawler"));
  RETURN_IF_ERROR(ValidateIdentifier(request.database, "database"));
  if (request.prefixes.empty()) {
    return absl::InvalidArgumentError("a crawler needs at least one --prefix, e.g. raw/clicks/");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateSavedCrawler(Catalog& catalog, const Principal& who, const std::string& name,
                                const CrawlRequest& request) {
  RETURN_IF_ERROR(CheckCrawler(name, request));
  return catalog.PutCrawler(who, SavedCrawler{name, CrawlRequestToJson(request)}, false);
}

absl::StatusOr<CrawlRequest> UpdateSavedCrawler(
    Catalog& catalog, const Principal& who, const std::string& name,
    const std::function<absl::Status(CrawlRequest&)>& change) {
  ASSIGN_OR_RETURN(SavedCrawler saved, catalog.GetCrawler(who, name));
  ASSIGN_OR_RETURN(CrawlRequest request, CrawlRequestFromJson(saved.config));
  RETURN_IF_ERROR(change(request));
  RETURN_IF_ERROR(CheckCrawler(name, request));
  RETURN_IF_ERROR(catalog.PutCrawler(who, SavedCrawler{name, CrawlRequestToJson(request)}, true));
  return request;
}

absl::StatusOr<CrawlerRun> RunSavedCrawler(Catalog& catalog, Crawler& crawler, const Principal& who,
                                           const std::string& name,
                                           const Crawler::ProgressListener& progress) {
  ASSIGN_OR_RETURN(SavedCrawler saved, catalog.GetCrawler(who, name));
  ASSIGN_OR_RETURN(CrawlRequest request, CrawlRequestFromJson(saved.config));
  CrawlerRun run;
  run.crawler = name;
  run.started_micros = NowMicros();
  absl::StatusOr<CrawlReport> report = crawler.Crawl(who, request, progress);
  run.finished_micros = NowMicros();
  if (report.ok()) {
    run.status = report->failed() ? "FAILED" : "SUCCEEDED";
    run.report = CrawlReportToJson(*report);
  } else {
    run.status = "FAILED";
    run.report = {{"error", std::string(ToStd(report.status().message()))}};
  }
  ASSIGN_OR_RETURN(run.run_id, catalog.AddCrawlerRun(who, run));
  if (!report.ok()) return report.status();
  return run;
}

}  // namespace loch
