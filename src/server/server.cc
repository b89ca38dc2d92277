#include "server/server.h"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "common/clock.h"
#include "common/logging.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "pgwire/server.h"
#include "query/query_service.h"
#include "server/admission.h"
#include "server/athena_api.h"
#include "server/aws_json.h"
#include "server/catalog_api.h"
#include "server/crawler_api.h"
#include "server/firehose_api.h"
#include "server/front_door.h"
#include "server/http_api.h"
#include "server/job_api.h"
#include "server/stream_api.h"
#include "server/webhook.h"

namespace loch {
namespace {

std::atomic<FrontDoor*> running_door{nullptr};

void StopOnSignal(int) {
  if (FrontDoor* door = running_door.load()) door->Stop();
}

// What a workgroup's failure webhook receives.
std::string FailedQueryJson(const QueryInfo& query) {
  nlohmann::json error = {{"code", absl::StatusCodeToString(query.error.code())},
                          {"message", ToStd(query.error.message())}};
  return nlohmann::json{{"event", "query_failed"},
                        {"query_id", query.id},
                        {"workgroup", query.workgroup},
                        {"principal", query.principal},
                        {"front_end", query.front_end},
                        {"sql", query.sql},
                        {"state", QueryStateName(query.state)},
                        {"error", error},
                        {"submitted_at", FormatIsoMicros(query.submitted_micros)},
                        {"failed_at", FormatIsoMicros(query.finished_micros)}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::Status Serve(LakeEngine& engine, Catalog& catalog, ObjectStore& store,
                   const std::string& temp_dir, const AdminCredentials& credentials,
                   const ServeOptions& options,
                   const std::function<void(const ServeAddresses&)>& ready) {
  const size_t colon = options.http_address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("--http {} must be HOST:PORT", options.http_address));
  }
  const std::string host = options.http_address.substr(0, colon);
  const int port = std::atoi(options.http_address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("--http {}: the port must be 1-65535", options.http_address));
  }

  WebhookSender webhooks;
  QueryServiceOptions query_options;
  query_options.max_running = options.max_running_queries;
  query_options.temp_dir = temp_dir;
  query_options.max_saved_result_bytes = options.max_saved_result_bytes;
  query_options.on_failed = [&webhooks](const QueryInfo& query, const WorkgroupConfig& workgroup) {
    spdlog::info("query {} in workgroup {} failed: {}", query.id, workgroup.name,
                 ToStd(query.error.message()));
    if (!workgroup.failure_webhook.empty()) {
      if (!webhooks.Post(workgroup.failure_webhook, FailedQueryJson(query))) {
        spdlog::warn("failure webhook of workgroup {} is behind: query {} was not sent to it",
                     workgroup.name, query.id);
      }
    }
  };
  QueryService queries(engine, catalog, &store, query_options);
  Crawler crawler(catalog, store, engine);
  ASSIGN_OR_RETURN(std::unique_ptr<IngestService> ingest,
                   IngestService::Start(catalog, store, engine, crawler, options.ingest));

  // Every route is in cpp-httplib's router; the front door serves the puts of records itself
  // (fast routes: no thread waits for their fsync) and hands it everything else.
  RoutedServer routes;
  routes.set_payload_max_length(64 << 20);
  const AwsJsonApi aws_api(credentials,
                           {FirehoseService(*ingest), AthenaService(queries, catalog)});
  AsyncHttpHandler put_records = PutRecordsHandler(*ingest, credentials);
  // cpp-httplib tries a method's routes in the order they were added, a regex match each: the
  // busiest come first.
  RegisterAwsJsonApi(routes, aws_api);
  RegisterStreamApi(routes, *ingest, MakeGuard(credentials), put_records);
  RegisterHttpApi(routes, queries, catalog, credentials);
  RegisterCrawlerApi(routes, catalog, crawler, MakeGuard(credentials));
  RegisterJobApi(routes, catalog, engine, store, options.job_lock_dir, MakeGuard(credentials));
  RegisterCatalogApi(routes, catalog, MakeGuard(credentials));
  routes.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    if (response.status >= 400)
      spdlog::info("{} {} -> {}", request.method, request.path, response.status);
  });
  std::vector<FastRoute> fast_routes = {
      {[](const httplib::Request& request) {
         constexpr std::string_view kFirehose = "Firehose_20150804.";
         const std::string target = request.get_header_value("X-Amz-Target");
         return request.method == "POST" && request.path == "/" && target.starts_with(kFirehose) &&
                IsFirehosePut(std::string_view(target).substr(kFirehose.size()));
       },
       [&aws_api](const httplib::Request& request, HttpReply reply) {
         aws_api.Answer(request, std::move(reply));
       }},
      {[](const httplib::Request& request) {
         return request.method == "POST" && !RecordsRouteStream(request.path).empty();
       },
       put_records}};
  FrontDoorOptions door_options;
  door_options.host = host;
  door_options.port = port;
  door_options.worker_threads = options.http_threads;
  door_options.request_timeout = options.request_timeout;
  door_options.max_body_bytes = 64 << 20;
  door_options.admit_body = [&credentials](const httplib::Request& request) {
    return AdmitRequestBody(request, credentials);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<FrontDoor> door,
                   FrontDoor::Listen(door_options, std::move(fast_routes), routes));
  std::unique_ptr<pg::PgServer> pg_server;
  if (!options.pg_address.empty()) {
    pg::PgServerOptions pg_options;
    pg_options.address = options.pg_address;
    pg_options.max_connections = options.pg_max_connections;
    ASSIGN_OR_RETURN(
        pg_server,
        pg::PgServer::Start(queries, catalog,
                            pg::PgLogin{credentials.pg_user, credentials.pg_password}, pg_options));
  }
  running_door = door.get();
  struct sigaction action {};
  action.sa_handler = StopOnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  if (ready) {
    ready(ServeAddresses{fmt::format("http://{}:{}", host, door->port()),
                         pg_server ? pg_server->address() : ""});
  }
  door->Run();
  running_door = nullptr;
  if (pg_server) pg_server->Stop();
  return absl::OkStatus();
}

}  // namespace loch
