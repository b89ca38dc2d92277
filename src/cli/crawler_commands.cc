#include "cli/crawler_commands.h"

#include "cli/progress.h"
#include "cli/result_writer.h"
#include "common/clock.h"
#include "common/strings.h"
#include "crawl/saved_crawlers.h"
#include "fmt/format.h"
#include "orchestrate/run_execution.h"

namespace loch::cli {
namespace {

absl::StatusOr<CrawlRequest> RequestFrom(const CrawlOptions& options) {
  CrawlRequest request{options.prefixes, options.database};
  ASSIGN_OR_RETURN(request.schema_change, ParseSchemaChangePolicy(options.schema_change));
  ASSIGN_OR_RETURN(request.deletes, ParseDeletePolicy(options.deletes));
  ASSIGN_OR_RETURN(request.recrawl, ParseRecrawlPolicy(options.recrawl));
  request.schedule = options.schedule;
  request.timezone = options.timezone;
  return request;
}

// Prints the report; a crawl where some table failed (policy fail) exits non-zero.
absl::Status Finish(const CrawlReport& report, double seconds, std::ostream& out) {
  out << fmt::format("Crawled in {:.2f} s: ", seconds) << FormatCrawlReport(report);
  if (report.failed()) return absl::AbortedError("some tables were not updated (see above)");
  return absl::OkStatus();
}

// Shows a crawl's progress (tables, bytes of their objects, rate, time left) on a terminal.
Crawler::ProgressListener CrawlProgress(const Stopwatch& watch) {
  return [&watch](const Crawler::Progress& progress) {
    ShowProgress(ProgressText(
        fmt::format("crawling, {} of {} tables", progress.tables_done, progress.tables),
        static_cast<double>(progress.bytes_done), static_cast<double>(progress.bytes),
        watch.ElapsedMillis() / 1000,
        [](double bytes) { return HumanBytes(static_cast<int64_t>(bytes)); }));
  };
}

}  // namespace

absl::Status RunCrawl(const CommonOptions& common, const CrawlOptions& options, std::ostream& out) {
  ASSIGN_OR_RETURN(CrawlRequest request, RequestFrom(options));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  Crawler crawler(lake->catalog(), lake->store(), *engine);
  Stopwatch watch;
  auto report = crawler.Crawl(Principal::LocalAdmin(), request, CrawlProgress(watch));
  EndProgress();
  RETURN_IF_ERROR(report.status());
  return Finish(*report, watch.ElapsedMillis() / 1000, out);
}

absl::Status RunCrawlerCreate(const CommonOptions& common, const CrawlOptions& options,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(CrawlRequest request, RequestFrom(options));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  RETURN_IF_ERROR(
      CreateSavedCrawler(lake->catalog(), Principal::LocalAdmin(), options.name, request));
  out << fmt::format(
      "Created crawler {}: {} -> database {} (schema-change {}, deletes {}, "
      "recrawl {}). Run it with `loch crawler run {}`.\n",
      options.name, Join(request.prefixes, ", "), request.database,
      PolicyName(request.schema_change), PolicyName(request.deletes),
      std::string(PolicyName(request.recrawl)) +
          (request.schedule.empty() ? ""
                                    : fmt::format(", schedule \"{}\" {}: `loch serve` runs it",
                                                  request.schedule, request.timezone)),
      options.name);
  return absl::OkStatus();
}

absl::Status RunCrawlerUpdate(const CommonOptions& common, const CrawlerUpdateOptions& options,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(CrawlRequest request,
                   UpdateSavedCrawler(
                       lake->catalog(), Principal::LocalAdmin(), options.name,
                       [&](CrawlRequest& request) -> absl::Status {
                         if (!options.prefixes.empty()) request.prefixes = options.prefixes;
                         if (options.database) request.database = *options.database;
                         if (options.schema_change) {
                           ASSIGN_OR_RETURN(request.schema_change,
                                            ParseSchemaChangePolicy(*options.schema_change));
                         }
                         if (options.deletes) {
                           ASSIGN_OR_RETURN(request.deletes, ParseDeletePolicy(*options.deletes));
                         }
                         if (options.recrawl) {
                           ASSIGN_OR_RETURN(request.recrawl, ParseRecrawlPolicy(*options.recrawl));
                         }
                         if (options.schedule) request.schedule = *options.schedule;
                         if (options.timezone) request.timezone = *options.timezone;
                         return absl::OkStatus();
                       }));
  out << fmt::format(
      "Updated crawler {}: {} -> database {} (schema-change {}, deletes {}, recrawl {}). Its next "
      "run uses these settings.\n",
      options.name, Join(request.prefixes, ", "), request.database,
      PolicyName(request.schema_change), PolicyName(request.deletes), PolicyName(request.recrawl));
  return absl::OkStatus();
}

absl::Status RunCrawlerRun(const CommonOptions& common, const std::string& name,
                           std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  Crawler crawler(lake->catalog(), lake->store(), *engine);
  Stopwatch watch;
  auto run =
      orchestrate::RunCrawlerNow(lake->catalog(), crawler, Principal::LocalAdmin(), name,
                                 lake->location().state_dir + "/locks", CrawlProgress(watch));
  EndProgress();
  RETURN_IF_ERROR(run.status());
  out << fmt::format("Run {} of crawler {}: {}\n", run->run_id, name, run->status);
  return Finish(CrawlReportFromJson(run->report),
                static_cast<double>(run->finished_micros - run->started_micros) / 1e6, out);
}

absl::Status RunCrawlerList(const CommonOptions& common, std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(std::vector<SavedCrawler> crawlers, lake->catalog().ListCrawlers(who));
  if (crawlers.empty()) {
    out << "No crawlers yet; create one with `loch crawler create NAME --prefix raw/x/ --database "
           "DB`.\n";
    return absl::OkStatus();
  }
  out << fmt::format("{:<20} {:<14} {:<32} {:<22} {}\n", "crawler", "database", "prefixes",
                     "last run", "status");
  for (const SavedCrawler& saved : crawlers) {
    auto request = CrawlRequestFromJson(saved.config);
    auto runs = lake->catalog().ListCrawlerRuns(who, saved.name, 1);
    const bool ran = runs.ok() && !runs->empty();
    out << fmt::format("{:<20} {:<14} {:<32} {:<22} {}\n", saved.name,
                       request.ok() ? request->database : "?",
                       request.ok() ? Join(request->prefixes, ",") : "?",
                       ran ? FormatIsoMicros(runs->front().started_micros).substr(0, 19) : "never",
                       ran ? runs->front().status : "-");
  }
  return absl::OkStatus();
}

absl::Status RunCrawlerDescribe(const CommonOptions& common, const std::string& name,
                                std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(SavedCrawler saved, lake->catalog().GetCrawler(who, name));
  ASSIGN_OR_RETURN(CrawlRequest request, CrawlRequestFromJson(saved.config));
  out << fmt::format(
      "crawler        {}\nprefixes       {}\ndatabase       {}\nschema-change  {}\n"
      "deletes        {}\nrecrawl        {}\ncreated        {}\n",
      saved.name, Join(request.prefixes, ", "), request.database, PolicyName(request.schema_change),
      PolicyName(request.deletes), PolicyName(request.recrawl),
      FormatIsoMicros(saved.created_micros));
  ASSIGN_OR_RETURN(std::vector<CrawlerRun> runs, lake->catalog().ListCrawlerRuns(who, name, 5));
  if (runs.empty()) out << "\nNo runs yet.\n";
  for (const CrawlerRun& run : runs) {
    out << fmt::format(
               "\nrun {} at {} ({:.2f} s): {}\n", run.run_id, FormatIsoMicros(run.started_micros),
               static_cast<double>(run.finished_micros - run.started_micros) / 1e6, run.status)
        << FormatCrawlReport(CrawlReportFromJson(run.report));
  }
  return absl::OkStatus();
}

absl::Status RunCrawlerDelete(const CommonOptions& common, const std::string& name,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  RETURN_IF_ERROR(lake->catalog().DeleteCrawler(Principal::LocalAdmin(), name));
  out << fmt::format("Deleted crawler {} and its run history (its tables stay).\n", name);
  return absl::OkStatus();
}

}  // namespace loch::cli
