#include "server/server.h"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
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
#include "server/console_api.h"
#include "server/crawler_api.h"
#include "server/dashboard_api.h"
#include "server/event_api.h"
#include "server/failure_notifier.h"
#include "server/firehose_api.h"
#include "server/front_door.h"
#include "server/http_api.h"
#include "server/job_api.h"
#include "server/run_api.h"
#include "server/stream_api.h"
#include "server/webhook.h"

namespace loch {
namespace {

std::atomic<FrontDoor*> running_door{nullptr};

void StopOnSignal(int) {
  if (FrontDoor* door = running_door.load()) door->Stop();
}

std::atomic<int> hangup_fd{-1};

void WakeOnHangup(int) {
  const uint64_t one = 1;
  if (const int fd = hangup_fd.load(); fd >= 0) [[maybe_unused]]
    ssize_t n = ::write(fd, &one, 8);
}

// Runs `reload(true)` on its own thread each time the process gets SIGHUP, and `reload(false)`
// every `period` between, while it lives.
class ReloadOnHangup {
 public:
  ReloadOnHangup(std::chrono::milliseconds period, std::function<void(bool hangup)> reload)
      : period_(period), reload_(std::move(reload)) {
    fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd_ < 0) {
      spdlog::error("cannot watch for SIGHUP ({}): certificates and credentials are not reloaded",
                    std::strerror(errno));
      return;
    }
    hangup_fd = fd_;
    struct sigaction action {};
    action.sa_handler = WakeOnHangup;
    action.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &action, nullptr);
    thread_ = std::thread([this] {
      while (!stopping_) {
        pollfd woken{fd_, POLLIN, 0};
        const int ready = ::poll(&woken, 1, static_cast<int>(period_.count()));
        if (stopping_) return;
        uint64_t count = 0;
        const bool hangup = ready > 0 && ::read(fd_, &count, sizeof count) == sizeof count;
        reload_(hangup);
      }
    });
  }
  ~ReloadOnHangup() {
    if (fd_ < 0) return;
    // Ignored from now on, not restored: the default action would end the process while it
    // delivers what its streams hold.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &ignore, nullptr);
    hangup_fd = -1;
    stopping_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
    thread_.join();
    ::close(fd_);
  }

 private:
  std::chrono::milliseconds period_;
  std::function<void(bool)> reload_;
  int fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The TLS lines of /metrics.
std::string TlsMetrics(
    const tls::TlsServerContext& context,
    const std::vector<std::pair<std::string, const tls::TlsCounters*>>& endpoints) {
  std::string text =
      "# HELP loch_tls_handshakes_total TLS handshakes completed.\n"
      "# TYPE loch_tls_handshakes_total counter\n";
  for (const auto& [endpoint, counters] : endpoints)
    text += fmt::format("loch_tls_handshakes_total{{endpoint=\"{}\"}} {}\n", endpoint,
                        counters->handshakes.load());
  text +=
      "# HELP loch_tls_handshake_failures_total Connections refused before TLS was established, "
      "by reason.\n"
      "# TYPE loch_tls_handshake_failures_total counter\n";
  for (const auto& [endpoint, counters] : endpoints) {
    for (const auto& [reason, count] :
         {std::pair{"handshake", counters->handshake_failures.load()},
          std::pair{"plaintext", counters->plaintext_refused.load()},
          std::pair{"timeout", counters->handshake_timeouts.load()}}) {
      text += fmt::format("loch_tls_handshake_failures_total{{endpoint=\"{}\",reason=\"{}\"}} {}\n",
                          endpoint, reason, count);
    }
  }
  text += fmt::format(
      "# HELP loch_tls_reloads_total Certificate reloads (SIGHUP), by result.\n"
      "# TYPE loch_tls_reloads_total counter\n"
      "loch_tls_reloads_total{{result=\"ok\"}} {}\n"
      "loch_tls_reloads_total{{result=\"failed\"}} {}\n"
      "# HELP loch_tls_certificate_not_after_seconds When the certificate in use expires (Unix "
      "time).\n"
      "# TYPE loch_tls_certificate_not_after_seconds gauge\n"
      "loch_tls_certificate_not_after_seconds {}\n",
      context.reloads_ok(), context.reloads_failed(), context.info().not_after_unix);
  return text;
}

// What a workgroup's failure webhook receives (and the event bus).
nlohmann::json FailedQueryJson(const QueryInfo& query) {
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
                        {"failed_at", FormatIsoMicros(query.finished_micros)}};
}

// Refuses plain text on an address others can reach.
absl::Status CheckExposure(const std::string& flag, const std::string& host,
                           const ServeOptions& options) {
  if (options.tls != nullptr || options.insecure || IsLoopbackHost(host)) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format(
      "{} {} is not a loopback address, and without TLS every password, token and record would "
      "cross the network in clear text: give --tls-cert and --tls-key (or --tls-self-signed), "
      "or --insecure if something else encrypts the traffic (e.g. a TLS proxy on this machine)",
      flag, host));
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
    name = name.substr(1, name.size() - 2);
  if (name.empty()) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0) return false;
  bool all_loopback = found != nullptr;
  for (addrinfo* address = found; address != nullptr; address = address->ai_next) {
    if (address->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(address->ai_addr);
      all_loopback = all_loopback && (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (address->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address->ai_addr);
      all_loopback = all_loopback && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    } else {
      all_loopback = false;
    }
  }
  ::freeaddrinfo(found);
  return all_loopback;
}

absl::Status Serve(LakeEngine& engine, Catalog& catalog, ObjectStore& store,
                   const std::string& temp_dir, CredentialsKeeper& credentials,
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
  RETURN_IF_ERROR(CheckExposure("--http", host, options));
  if (!options.pg_address.empty()) {
    RETURN_IF_ERROR(CheckExposure(
        "--pg", options.pg_address.substr(0, options.pg_address.rfind(':')), options));
  }
  tls::TlsCounters http_tls_counters;
  tls::TlsCounters pg_tls_counters;

  // Failures are pushed as they happen: on the event bus (GET /api/v1/events) and to webhooks.
  orchestrate::EventBus events;
  WebhookOptions webhook_options;
  webhook_options.signing_secret = options.webhook_secret;
  webhook_options.on_gave_up = [&events](const std::string& url, const std::string& body,
                                         const std::string& error) {
    spdlog::error("webhook {}: gave up on a notification: {}", url, error);
    const nlohmann::json sent = nlohmann::json::parse(body, nullptr, false);
    events.Publish(
        orchestrate::Event{0,
                           0,
                           "webhook_failed",
                           {{"url", url},
                            {"error", error},
                            {"event", sent.is_object() ? sent.value("event", "") : ""}}});
  };
  WebhookSender webhooks(webhook_options);
  QueryServiceOptions query_options;
  query_options.max_running = options.max_running_queries;
  query_options.temp_dir = temp_dir;
  query_options.max_saved_result_bytes = options.max_saved_result_bytes;
  query_options.on_failed = [&webhooks, &events](const QueryInfo& query,
                                                 const WorkgroupConfig& workgroup) {
    spdlog::info("query {} in workgroup {} failed: {}", query.id, workgroup.name,
                 ToStd(query.error.message()));
    const nlohmann::json failed = FailedQueryJson(query);
    if (!workgroup.failure_webhook.empty()) {
      if (!webhooks.Post(workgroup.failure_webhook,
                         failed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))) {
        spdlog::warn("failure webhook of workgroup {} is behind: query {} was not sent to it",
                     workgroup.name, query.id);
      }
    }
    events.Publish(orchestrate::Event{0, 0, "query_failed", failed});
  };
  QueryService queries(engine, catalog, &store, query_options);
  Crawler crawler(catalog, store, engine);
  // A delivery that fails is a failed run of kind "delivery" in the run store (its first attempt,
  // then attempts 2, 4, 8, ...: a long outage does not flood it), pushed like any failure.
  IngestOptions ingest_options = options.ingest;
  ingest_options.on_delivery_failed = [&catalog, &events](const std::string& stream,
                                                          uint64_t through, int attempt,
                                                          const absl::Status& error) {
    if ((attempt & (attempt - 1)) != 0) return;
    RunRecord run;
    run.kind = "delivery";
    run.name = stream;
    run.state = RunRecord::kFailed;
    run.trigger = "stream delivery";
    run.attempt = run.max_attempts = attempt;  // retried by the stream, not the orchestrator
    run.pid = ::getpid();
    run.started_micros = run.finished_micros = NowMicros();
    run.error = fmt::format(
        "delivery of stream {} through record {} failed (attempt {}; it is "
        "retried, the records stay in the write-ahead log): {}",
        stream, through, attempt, ToStd(error.message()));
    run.report = {{"through", through}};
    auto id = catalog.StartRun(Principal::LocalAdmin(), run);
    if (!id.ok()) return;  // the catalog may be what fails: the log has it
    run.run_id = *id;
    events.Publish(orchestrate::Event{0, 0, "run", orchestrate::RunEventJson(run)});
  };
  ASSIGN_OR_RETURN(std::unique_ptr<IngestService> ingest,
                   IngestService::Start(catalog, store, engine, crawler, ingest_options));

  // The orchestrator, woken by every commit made here (commits of other processes are read at
  // its next tick); unsubscribed before it stops.
  // Declared before the orchestrator: failures during its stop are still pushed.
  FailureNotifier notifier(events, catalog, webhooks, options.failure_webhook);
  EventStreams event_streams(events, credentials);
  std::unique_ptr<orchestrate::Orchestrator> orchestrator;
  if (options.orchestrator) {
    orchestrate::OrchestratorOptions orchestrator_options = *options.orchestrator;
    orchestrator_options.events = &events;
    ASSIGN_OR_RETURN(orchestrator, orchestrate::Orchestrator::Start(catalog, store, engine,
                                                                    orchestrator_options));
  }
  struct Subscription {
    Catalog& catalog;
    int id;
    ~Subscription() {
      if (id >= 0) catalog.Unsubscribe(id);
    }
  } wake_on_commit{catalog, orchestrator ? catalog.Subscribe([&orchestrator](const CommitEvent&) {
                     orchestrator->Wake();
                   })
                                         : -1};
  auto run_changed = [&orchestrator, &events](const RunRecord& run) {
    events.Publish(orchestrate::Event{0, 0, "run", orchestrate::RunEventJson(run)});
    if (orchestrator) orchestrator->Wake();
  };

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
  std::function<std::string()> more_metrics;
  if (options.tls != nullptr) {
    more_metrics = [&] {
      return TlsMetrics(*options.tls, {{"http", &http_tls_counters}, {"pg", &pg_tls_counters}});
    };
  }
  RegisterStreamApi(routes, *ingest, MakeGuard(credentials), put_records, more_metrics);
  RegisterHttpApi(routes, queries, catalog, credentials);
  RegisterCrawlerApi(routes, catalog, crawler, options.job_lock_dir, MakeGuard(credentials));
  RegisterJobApi(routes, catalog, engine, store, options.job_lock_dir, MakeGuard(credentials));
  RegisterCatalogApi(routes, catalog, MakeGuard(credentials));
  RegisterRunApi(routes, catalog, options.state_dir, run_changed, MakeGuard(credentials));
  RegisterConsoleApi(routes, credentials, /*https=*/options.tls != nullptr);
  RegisterDashboardApi(routes, catalog, engine, queries, MakeGuard(credentials));
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
       put_records},
      event_streams.Route(),
      ConsoleFilesRoute()};
  FrontDoorOptions door_options;
  door_options.host = host;
  door_options.port = port;
  door_options.worker_threads = options.http_threads;
  door_options.request_timeout = options.request_timeout;
  door_options.max_body_bytes = 64 << 20;
  door_options.admit_body = [&credentials](const httplib::Request& request) {
    return AdmitRequestBody(request, credentials);
  };
  door_options.tls = options.tls;
  door_options.tls_counters = &http_tls_counters;
  ASSIGN_OR_RETURN(std::unique_ptr<FrontDoor> door,
                   FrontDoor::Listen(door_options, std::move(fast_routes), routes));
  // Event streams are written through the door: they end before it goes.
  struct EndStreams {
    EventStreams& streams;
    ~EndStreams() { streams.CloseAll(); }
  } end_streams{event_streams};
  std::unique_ptr<pg::PgServer> pg_server;
  if (!options.pg_address.empty()) {
    pg::PgServerOptions pg_options;
    pg_options.address = options.pg_address;
    pg_options.max_connections = options.pg_max_connections;
    pg_options.tls = options.tls;
    pg_options.tls_counters = &pg_tls_counters;
    ASSIGN_OR_RETURN(pg_server,
                     pg::PgServer::Start(
                         queries, catalog,
                         pg::PgLogin{credentials.current()->pg_user,
                                     [&credentials] { return credentials.current()->pg_password; }},
                         pg_options));
  }
  running_door = door.get();
  struct sigaction action {};
  action.sa_handler = StopOnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  ReloadOnHangup reloader(std::chrono::seconds(2), [&options, &credentials](bool hangup) {
    absl::StatusOr<bool> rotated = credentials.ReloadIfChanged();
    if (!rotated.ok()) {
      spdlog::error("kept the credentials in use: {}", ToStd(rotated.status().message()));
    } else if (*rotated) {
      spdlog::info("read the rotated credentials; replaced ones stay valid until they expire");
    }
    if (!hangup || options.tls == nullptr) return;
    if (absl::Status reloaded = options.tls->Reload(); !reloaded.ok()) {
      spdlog::error("SIGHUP: kept the TLS certificate in use: {}", ToStd(reloaded.message()));
    } else {
      const tls::CertificateInfo info = options.tls->info();
      spdlog::info("SIGHUP: new connections use the certificate {} (SHA-256 {})", info.subject,
                   info.sha256_fingerprint);
    }
  });
  if (ready) {
    ready(ServeAddresses{
        fmt::format("{}://{}:{}", options.tls ? "https" : "http", host, door->port()),
        pg_server ? pg_server->address() : ""});
  }
  door->Run();
  running_door = nullptr;
  if (pg_server) pg_server->Stop();
  return absl::OkStatus();
}

}  // namespace loch
