#include "server/crawler_api.h"

#include <httplib.h>

#include "common/clock.h"
#include "crawl/saved_crawlers.h"
#include "fmt/format.h"
#include "orchestrate/run_execution.h"
#include "server/json_depth.h"

namespace loch {
namespace {

using nlohmann::json;

json RunJson(const CrawlerRun& run) {
  return {{"run_id", run.run_id},
          {"status", run.status},
          {"started_at", FormatIsoMicros(run.started_micros)},
          {"finished_at", FormatIsoMicros(run.finished_micros)},
          {"report", run.report}};
}

json CrawlerJson(const SavedCrawler& saved) {
  json out = saved.config;
  out["name"] = saved.name;
  out["created_at"] = FormatIsoMicros(saved.created_micros);
  return out;
}

}  // namespace

void RegisterCrawlerApi(httplib::Server& server, Catalog& catalog, Crawler& crawler,
                        const std::string& lock_dir, const Guard& guard) {
  server.Get("/api/v1/crawlers", guard([&catalog](const Principal& who, const httplib::Request&,
                                                  httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(std::vector<SavedCrawler> all, catalog.ListCrawlers(who));
               json list = json::array();
               for (const SavedCrawler& saved : all) {
                 json entry = CrawlerJson(saved);
                 ASSIGN_OR_RETURN(std::vector<CrawlerRun> runs,
                                  catalog.ListCrawlerRuns(who, saved.name, 1));
                 entry["last_run"] = runs.empty() ? json(nullptr) : RunJson(runs.front());
                 list.push_back(std::move(entry));
               }
               SendJsonAnswer(response, {{"crawlers", list}});
               return absl::OkStatus();
             }));

  server.Post("/api/v1/crawlers",
              guard([&catalog](const Principal& who, const httplib::Request& request,
                               httplib::Response& response) -> absl::Status {
                RETURN_IF_ERROR(CheckJsonDepth(request.body));
                const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
                if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
                  return absl::InvalidArgumentError(
                      "the body must be a JSON object with a string \"name\", \"prefixes\" and "
                      "\"database\"");
                }
                ASSIGN_OR_RETURN(CrawlRequest crawl, CrawlRequestFromJson(body));
                const std::string name = body["name"].get<std::string>();
                RETURN_IF_ERROR(CreateSavedCrawler(catalog, who, name, crawl));
                ASSIGN_OR_RETURN(SavedCrawler saved, catalog.GetCrawler(who, name));
                SendJsonAnswer(response, CrawlerJson(saved), 201);
                return absl::OkStatus();
              }));

  server.Get(R"(/api/v1/crawlers/([^/]+))",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(SavedCrawler saved,
                                catalog.GetCrawler(who, request.matches[1].str()));
               size_t limit = 5;
               if (request.has_param("runs")) {
                 limit = std::min<size_t>(
                     100, std::strtoull(request.get_param_value("runs").c_str(), nullptr, 10));
               }
               ASSIGN_OR_RETURN(std::vector<CrawlerRun> runs,
                                catalog.ListCrawlerRuns(who, saved.name, limit));
               json out = CrawlerJson(saved);
               out["runs"] = json::array();
               for (const CrawlerRun& run : runs) out["runs"].push_back(RunJson(run));
               SendJsonAnswer(response, out);
               return absl::OkStatus();
             }));

  server.Patch(R"(/api/v1/crawlers/([^/]+))",
               guard([&catalog](const Principal& who, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
                 RETURN_IF_ERROR(CheckJsonDepth(request.body));
                 const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
                 if (!body.is_object() || body.empty()) {
                   return absl::InvalidArgumentError(
                       "the body must be a JSON object with the settings to change: "
                       "\"prefixes\", \"database\", \"schema_change\", \"deletes\", "
                       "\"recrawl\"");
                 }
                 const std::string name = request.matches[1].str();
                 RETURN_IF_ERROR(UpdateSavedCrawler(catalog, who, name, [&](CrawlRequest& crawl) {
                                   json merged = CrawlRequestToJson(crawl);
                                   for (const auto& [key, value] : body.items()) {
                                     if (!merged.contains(key)) {
                                       return absl::InvalidArgumentError(fmt::format(
                                           "unknown crawler setting \"{}\"; the settings are "
                                           "prefixes, database, schema_change, deletes, recrawl",
                                           key));
                                     }
                                     merged[key] = value;
                                   }
                                   ASSIGN_OR_RETURN(crawl, CrawlRequestFromJson(merged));
                                   return absl::OkStatus();
                                 }).status());
                 ASSIGN_OR_RETURN(SavedCrawler saved, catalog.GetCrawler(who, name));
                 SendJsonAnswer(response, CrawlerJson(saved));
                 return absl::OkStatus();
               }));

  server.Post(
      R"(/api/v1/crawlers/([^/]+)/run)",
      guard([&catalog, &crawler, lock_dir](const Principal& who, const httplib::Request& request,
                                           httplib::Response& response) -> absl::Status {
        ASSIGN_OR_RETURN(
            CrawlerRun run,
            orchestrate::RunCrawlerNow(catalog, crawler, who, request.matches[1].str(), lock_dir));
        SendJsonAnswer(response, RunJson(run));
        return absl::OkStatus();
      }));

  server.Delete(R"(/api/v1/crawlers/([^/]+))",
                guard([&catalog](const Principal& who, const httplib::Request& request,
                                 httplib::Response& response) -> absl::Status {
                  RETURN_IF_ERROR(catalog.DeleteCrawler(who, request.matches[1].str()));
                  response.status = 204;
                  return absl::OkStatus();
                }));
}

}  // namespace loch
