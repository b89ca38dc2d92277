#pragma once
// EventBus: what happens in the lake, as it happens, for whoever listens inside the server: run
// state changes (the orchestrator), table commits (read from the catalog by every process),
// failed queries (every front end) and freshness alerts. The server streams them to clients
// (GET /api/v1/events, server-sent events) and posts failures to webhooks.
//
// Events carry a sequence number (1, 2, ... in publication order) so that a client can tell a
// gap. Subscribers are called on the publishing thread, in order, outside the bus's lock; they
// must be quick (queue the work) and must not publish.
//
// Thread-safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "nlohmann/json.hpp"

namespace loch::orchestrate {

struct Event {
  int64_t sequence = 0;  // set by Publish
  int64_t micros = 0;    // set by Publish
  // "run" (a run's state changed), "commit" (a table got a snapshot), "query_failed",
  // "freshness" (a table missed its expected freshness).
  std::string type;
  nlohmann::json data = nlohmann::json::object();

  // {"sequence", "time", "type", "data"}.
  nlohmann::json ToJson() const;
};

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;

  // Stamps `event` and hands it to every subscriber.
  void Publish(Event event);
  int Subscribe(Subscriber subscriber);
  // After it returns, the subscriber is not called again, nor running. Not from a subscriber.
  void Unsubscribe(int id);

 private:
  std::mutex publish_mu_;  // one publication at a time: subscribers see events in order
  std::mutex mu_;          // subscribers_, next_
  std::map<int, Subscriber> subscribers_;
  int next_id_ = 1;
  int64_t next_sequence_ = 1;
};

}  // namespace loch::orchestrate
