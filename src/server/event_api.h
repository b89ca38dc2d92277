#pragma once
// GET /api/v1/events: the event bus (orchestrate/event_bus.h) as server-sent events
// (text/event-stream), for dashboards and scripts that must learn of a failure at once:
//
//   id: 17
//   event: run
//   data: {"sequence":17,"time":"...","type":"run","data":{"run_id":4,"state":"FAILED",...}}
//
// `?types=run,commit` keeps those types (run, commit, query_failed, freshness, webhook_failed);
// every 15 s a comment line (": ping") keeps proxies from closing a quiet stream. Same bearer token
// as the rest of the API. At most `max_clients` streams at once (503 beyond); a client that reads
// too slowly is disconnected by the front door rather than held in memory.
//
// Thread-safety: events arrive on the publishing thread; streams are written through the front
// door's loops. CloseAll (or the destructor) must run before the front door is destroyed.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "orchestrate/event_bus.h"
#include "server/admin_credentials.h"
#include "server/front_door.h"

namespace loch {

class EventStreams {
 public:
  EventStreams(orchestrate::EventBus& bus, const CredentialsKeeper& credentials,
               size_t max_clients = 256);
  ~EventStreams();

  // The front door's route for GET /api/v1/events.
  FastRoute Route();
  // Ends every stream and sends nothing more.
  void CloseAll();

 private:
  struct Client {
    std::shared_ptr<HttpStream> stream;
    std::set<std::string> types;  // empty: every type
  };
  void Open(const httplib::Request& request, std::shared_ptr<HttpStream> stream);
  void Deliver(const orchestrate::Event& event);
  void Ping();

  orchestrate::EventBus& bus_;
  const CredentialsKeeper& credentials_;
  const size_t max_clients_;
  int subscription_ = -1;
  std::mutex mu_;
  std::condition_variable stop_;
  bool closed_ = false;
  std::vector<Client> clients_;
  std::thread pinger_;
};

}  // namespace loch
