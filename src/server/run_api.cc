#include "server/run_api.h"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "orchestrate/freshness.h"
#include "orchestrate/run_control.h"
#include "server/json_depth.h"

namespace loch {
namespace {

using nlohmann::json;

constexpr size_t kMaxLogBytes = 16 << 20;  // a log answered whole; larger ones: their end

absl::StatusOr<int64_t> RunIdOf(const httplib::Request& request) {
  const std::optional<int64_t> id = ParseInteger(request.matches[1].str(), 1);
  if (!id) return absl::InvalidArgumentError("a run id is a positive whole number");
  return *id;
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SendRun(httplib::Response& response, const RunRecord& run, int status = 200) {
  response.status = status;
  response.set_content(Dump(orchestrate::RunJson(run)), "application/json");
}

}  // namespace

void RegisterRunApi(httplib::Server& server, Catalog& catalog, const std::string& state_dir,
                    std::function<void(const RunRecord&)> changed, const Guard& guard) {
  server.Get(
      "/api/v1/runs", guard([&catalog](const Principal& who, const httplib::Request& request,
                                       httplib::Response& response) -> absl::Status {
        RunQuery query;
        query.name = request.get_param_value("name");
        query.kind = request.get_param_value("kind");
        if (request.has_param("state")) query.states = {request.get_param_value("state")};
        if (request.get_param_value("failed") == "true") {
          query.states = {RunRecord::kFailed, RunRecord::kTimeout, RunRecord::kCancelled};
        }
        query.limit = 50;
        if (request.has_param("limit")) {
          const std::optional<int64_t> limit =
              ParseInteger(request.get_param_value("limit"), 1, 10000);
          if (!limit)
            return absl::InvalidArgumentError("limit must be a whole number from 1 to 10000");
          query.limit = static_cast<size_t>(*limit);
        }
        const std::string tag = request.get_param_value("tag");
        const size_t wanted = query.limit;
        if (!tag.empty()) query.limit = std::max<size_t>(wanted * 10, 1000);
        ASSIGN_OR_RETURN(std::vector<RunRecord> runs, catalog.FindRuns(who, query));
        json list = json::array();
        for (const RunRecord& run : runs) {
          if (list.size() == wanted) break;
          if (!tag.empty() && std::find(run.tags.begin(), run.tags.end(), tag) == run.tags.end()) {
            continue;
          }
          list.push_back(orchestrate::RunJson(run));
        }
        response.set_content(Dump(json{{"runs", list}}), "application/json");
        return absl::OkStatus();
      }));

  server.Post(
      "/api/v1/runs",
      guard([&catalog, changed](const Principal& who, const httplib::Request& request,
                                httplib::Response& response) -> absl::Status {
        RETURN_IF_ERROR(CheckJsonDepth(request.body));
        const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
        if (body.is_discarded() || !body.is_object() || !body.value("job", json()).is_string()) {
          return absl::InvalidArgumentError(
              "the body must be a JSON object {\"job\": NAME} (and optionally \"full\": true, "
              "\"range\": {\"from\": ..., \"to\": ...})");
        }
        json options = json::object();
        if (body.contains("full")) {
          if (!body["full"].is_boolean())
            return absl::InvalidArgumentError("full must be true or false");
          options["full"] = body["full"];
        }
        if (body.contains("range")) options["range"] = body["range"];
        RunRecord probe;
        probe.request = options;
        RETURN_IF_ERROR(orchestrate::JobRunRequest(probe).status());  // a range it can read
        ASSIGN_OR_RETURN(
            const RunRecord run,
            orchestrate::QueueJobRun(catalog, who, body["job"].get<std::string>(), options));
        if (changed) changed(run);
        SendRun(response, run, 201);
        return absl::OkStatus();
      }));

  server.Get(R"(/api/v1/runs/(\d+))",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(const int64_t id, RunIdOf(request));
               ASSIGN_OR_RETURN(const RunRecord run, catalog.GetRun(who, id));
               SendRun(response, run);
               return absl::OkStatus();
             }));

  server.Get(R"(/api/v1/runs/(\d+)/logs)",
             guard([&catalog, state_dir](const Principal& who, const httplib::Request& request,
                                         httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(const int64_t id, RunIdOf(request));
               ASSIGN_OR_RETURN(const RunRecord run, catalog.GetRun(who, id));
               const std::string path = orchestrate::RunLogPath(state_dir, run.run_id);
               std::ifstream in(path, std::ios::binary);
               if (!in) {
                 if (run.log_tail.empty()) {
                   return absl::NotFoundError(fmt::format(
                       "run {} has no worker log on this server (a run started by `loch job "
                       "run` has none)",
                       id));
                 }
                 response.set_content(run.log_tail, "text/plain; charset=utf-8");
                 return absl::OkStatus();
               }
               in.seekg(0, std::ios::end);
               const std::streamoff size = in.tellg();
               const std::streamoff start = size > static_cast<std::streamoff>(kMaxLogBytes)
                                                ? size - static_cast<std::streamoff>(kMaxLogBytes)
                                                : 0;
               in.seekg(start);
               std::ostringstream text;
               text << in.rdbuf();
               response.set_content(text.str(), "text/plain; charset=utf-8");
               return absl::OkStatus();
             }));

  server.Post(R"(/api/v1/runs/(\d+)/cancel)",
              guard([&catalog, changed](const Principal& who, const httplib::Request& request,
                                        httplib::Response& response) -> absl::Status {
                ASSIGN_OR_RETURN(const int64_t id, RunIdOf(request));
                ASSIGN_OR_RETURN(const RunRecord run, catalog.RequestCancel(who, id));
                if (changed) changed(run);
                SendRun(response, run);
                return absl::OkStatus();
              }));

  server.Get("/api/v1/freshness", guard([&catalog](const Principal& who, const httplib::Request&,
                                                   httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(const std::vector<orchestrate::TableFreshness> tables,
                                orchestrate::ReadFreshness(catalog, who, /*expected_only=*/false));
               const int64_t now = NowMicros();
               json list = json::array();
               for (const auto& table : tables) list.push_back(table.ToJson(now));
               response.set_content(Dump(json{{"tables", list}}), "application/json");
               return absl::OkStatus();
             }));

  server.Put(R"(/api/v1/freshness/([^/]+))",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(const TableName table, TableName::Parse(request.matches[1].str()));
               RETURN_IF_ERROR(CheckJsonDepth(request.body));
               const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
               if (body.is_discarded() || !body.is_object() ||
                   !body.value("expect_every", json()).is_string()) {
                 return absl::InvalidArgumentError(
                     "the body must be a JSON object {\"expect_every\": \"1h\"}");
               }
               ASSIGN_OR_RETURN(
                   const int64_t every,
                   ParseDurationMicros(body["expect_every"].get<std::string>(), "expect_every"));
               if (every < 1'000'000)
                 return absl::InvalidArgumentError("expect_every is at least 1s");
               RETURN_IF_ERROR(catalog.SetFreshness(who, table, every));
               ASSIGN_OR_RETURN(const std::vector<orchestrate::TableFreshness> tables,
                                orchestrate::ReadFreshness(catalog, who, true));
               for (const auto& one : tables) {
                 if (one.table == table) {
                   response.set_content(Dump(one.ToJson(NowMicros())), "application/json");
                 }
               }
               return absl::OkStatus();
             }));

  server.Delete(R"(/api/v1/freshness/([^/]+))",
                guard([&catalog](const Principal& who, const httplib::Request& request,
                                 httplib::Response& response) -> absl::Status {
                  ASSIGN_OR_RETURN(const TableName table,
                                   TableName::Parse(request.matches[1].str()));
                  RETURN_IF_ERROR(catalog.SetFreshness(who, table, 0));
                  response.status = 204;
                  return absl::OkStatus();
                }));

  server.Post(R"(/api/v1/runs/(\d+)/retry)",
              guard([&catalog, changed](const Principal& who, const httplib::Request& request,
                                        httplib::Response& response) -> absl::Status {
                ASSIGN_OR_RETURN(const int64_t id, RunIdOf(request));
                ASSIGN_OR_RETURN(const RunRecord run, orchestrate::RetryRun(catalog, who, id));
                if (changed) changed(run);
                SendRun(response, run, 201);
                return absl::OkStatus();
              }));
}

}  // namespace loch
