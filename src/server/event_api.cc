#include "server/event_api.h"

#include <httplib.h>

#include "common/strings.h"
#include "fmt/format.h"
#include "server/http_api.h"
#include "server/http_status.h"

namespace loch {
namespace {

constexpr auto kPingEvery = std::chrono::seconds(15);
const std::set<std::string> kTypes = {"run", "commit", "query_failed", "freshness",
                                      "webhook_failed"};

// A whole answer written by hand: a stream's refusal.
std::string PlainAnswer(int status, const std::string& reason, const std::string& json) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: "
      "close\r\n\r\n{}",
      status, reason, json.size(), json);
}

}  // namespace

EventStreams::EventStreams(orchestrate::EventBus& bus, const CredentialsKeeper& credentials,
                           size_t max_clients)
    : bus_(bus), credentials_(credentials), max_clients_(max_clients) {
  subscription_ = bus_.Subscribe([this](const orchestrate::Event& event) { Deliver(event); });
  pinger_ = std::thread([this] { Ping(); });
}

EventStreams::~EventStreams() { CloseAll(); }

void EventStreams::CloseAll() {
  if (subscription_ >= 0) {
    bus_.Unsubscribe(subscription_);
    subscription_ = -1;
  }
  std::vector<Client> clients;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    clients.swap(clients_);
  }
  stop_.notify_all();
  if (pinger_.joinable()) pinger_.join();
  for (Client& client : clients) client.stream->End();
}

FastRoute EventStreams::Route() {
  FastRoute route;
  route.matches = [](const httplib::Request& request) {
    return request.method == "GET" && request.path == "/api/v1/events";
  };
  route.stream = [this](const httplib::Request& request, std::shared_ptr<HttpStream> stream) {
    Open(request, std::move(stream));
  };
  return route;
}

void EventStreams::Open(const httplib::Request& request, std::shared_ptr<HttpStream> stream) {
  auto refuse = [&](const absl::Status& status, const char* reason) {
    stream->Send(PlainAnswer(HttpStatusFor(status.code()), reason, ErrorJson(status)));
    stream->End();
  };
  if (auto who = Authenticate(request, credentials_); !who.ok()) {
    return refuse(who.status(), "Unauthorized");
  }
  Client client{stream, {}};
  if (request.has_param("types")) {
    const std::string types = request.get_param_value("types");  // the views below point in it
    for (std::string_view type : Split(types, ',')) {
      if (!kTypes.contains(std::string(type))) {
        return refuse(absl::InvalidArgumentError(fmt::format(
                          "unknown event type \"{}\"; the types are run, commit, query_failed, "
                          "freshness, webhook_failed",
                          type)),
                      "Bad Request");
      }
      client.types.insert(std::string(type));
    }
  }
  std::lock_guard lock(mu_);
  if (closed_) return stream->End();
  std::erase_if(clients_, [](const Client& c) { return c.stream->gone(); });
  if (clients_.size() >= max_clients_) {
    stream->Send(
        PlainAnswer(503, "Service Unavailable",
                    ErrorJson(absl::UnavailableError(fmt::format(
                        "{} event streams are open, the most this server keeps; retry later",
                        clients_.size())))));
    return stream->End();
  }
  stream->Send(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 2000\n: connected\n\n");
  clients_.push_back(std::move(client));
}

void EventStreams::Deliver(const orchestrate::Event& event) {
  const std::string text =
      fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.sequence, event.type,
                  event.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::lock_guard lock(mu_);
  std::erase_if(clients_, [&](const Client& client) {
    if (!client.types.empty() && !client.types.contains(event.type)) return client.stream->gone();
    return !client.stream->Send(text);
  });
}

void EventStreams::Ping() {
  std::unique_lock lock(mu_);
  while (!closed_) {
    stop_.wait_for(lock, kPingEvery, [&] { return closed_; });
    if (closed_) return;
    std::erase_if(clients_,
                  [](const Client& client) { return !client.stream->Send(": ping\n\n"); });
  }
}

}  // namespace loch
