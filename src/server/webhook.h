#pragma once
// WebhookSender: delivers JSON notifications (failed queries, failed runs, freshness alerts) to
// HTTP(S) endpoints in the background, so nothing that fails ever waits on someone else's server.
//
// Each destination URL has its own lane (a queue and a thread): a receiver that is down or hangs
// delays only its own notifications, never another's. A lane holds at most `max_pending`
// notifications (new ones are dropped and counted); at most `max_destinations` lanes exist: a new
// destination takes the place of an idle one, else its posts are dropped and counted. A lane sends
// in order, each notification with a timeout and up to `attempts` tries with a backoff (doubled
// each time) on connection errors, timeouts and 5xx/429 answers; a 2xx answer is success; after the
// last try `on_gave_up` hears of it (it is logged too).
//
// Signing: with a `signing_secret`, every POST carries
//   X-Loch-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// so a receiver can check that loch sent it and when (reject old timestamps against replays).
//
// Thread-safety: Post and the counters may be called from any thread. The destructor stops the
// lanes: what is queued gets one try each, for at most `stop_within`, then is dropped (logged).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace loch {

struct WebhookOptions {
  std::chrono::milliseconds timeout{5000};  // per attempt
  int attempts = 3;
  std::chrono::milliseconds first_backoff{200};  // doubled after each failed attempt
  size_t max_pending = 1000;                     // per destination
  size_t max_destinations = 64;
  std::chrono::milliseconds stop_within{5000};
  std::string signing_secret;  // empty: unsigned
  // Called (on the lane's thread) when a notification was given up after every attempt.
  std::function<void(const std::string& url, const std::string& body, const std::string& error)>
      on_gave_up;
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options = {});
  ~WebhookSender();

  // Queues `json_body` for POST to `url`. Returns false (and drops it) if its lane is full or
  // there are too many destinations.
  bool Post(std::string url, std::string json_body);

  // Counters, for tests and metrics.
  int64_t delivered() const;
  int64_t failed() const;   // gave up after every attempt
  int64_t dropped() const;  // refused: a full lane, too many destinations, or stopped

  class Lane;

 private:
  WebhookOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
  int64_t dropped_ = 0;
  int64_t retired_delivered_ = 0, retired_failed_ = 0;  // of lanes removed while idle
};

// The X-Loch-Signature value of `body` sent at `unix_seconds` with `secret`.
std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body);

}  // namespace loch
