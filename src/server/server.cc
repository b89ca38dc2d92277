#include "server/server.h"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "common/logging.h"
#include "fmt/format.h"
#include "pgwire/server.h"
#include "server/athena_api.h"
#include "server/http_api.h"
#include "server/query_service.h"

namespace loch {
namespace {

std::atomic<httplib::Server*> running_server{nullptr};

void StopOnSignal(int) {
  if (httplib::Server* server = running_server.load()) server->stop();
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

  QueryServiceOptions query_options;
  query_options.max_running = options.max_running_queries;
  query_options.temp_dir = temp_dir;
  QueryService queries(engine, &store, query_options);
  httplib::Server server;
  server.set_tcp_nodelay(true);  // without it, keep-alive requests wait ~40 ms each (field notes)
  server.set_payload_max_length(64 << 20);
  const int threads = std::max(1, options.http_threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  RegisterHttpApi(server, queries, credentials);
  RegisterAthenaApi(server, queries, credentials);
  server.set_logger([](const httplib::Request& request, const httplib::Response& response) {
    if (response.status >= 400)
      spdlog::info("{} {} -> {}", request.method, request.path, response.status);
  });
  if (!server.bind_to_port(host, port)) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {}: is the port in use?", options.http_address));
  }
  std::unique_ptr<pg::PgServer> pg_server;
  if (!options.pg_address.empty()) {
    pg::PgServerOptions pg_options;
    pg_options.address = options.pg_address;
    pg_options.max_connections = options.pg_max_connections;
    pg_options.query_timeout = query_options.timeout;
    ASSIGN_OR_RETURN(
        pg_server,
        pg::PgServer::Start(engine, catalog,
                            pg::PgLogin{credentials.pg_user, credentials.pg_password}, pg_options));
  }
  running_server = &server;
  struct sigaction action {};
  action.sa_handler = StopOnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  if (ready) {
    ready(ServeAddresses{fmt::format("http://{}:{}", host, port),
                         pg_server ? pg_server->address() : ""});
  }
  server.listen_after_bind();
  running_server = nullptr;
  if (pg_server) pg_server->Stop();
  return absl::OkStatus();
}

}  // namespace loch
