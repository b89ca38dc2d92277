#pragma once
// WebhookSender: delivers JSON notifications (failed queries) to HTTP(S) endpoints in the
// background, so the query path never waits on someone else's server.
//
// Posts are queued (bounded: when `max_pending` are waiting, new ones are dropped and counted) and
// sent by one thread, in order, each with a timeout and up to `attempts` tries with backoff on
// connection errors, timeouts and 5xx/429 answers. A 2xx answer is success; anything else is
// logged. Thread-safe; the destructor sends what is queued (within the timeouts) and stops.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace loch {

struct WebhookOptions {
  std::chrono::milliseconds timeout{5000};  // per attempt
  int attempts = 3;
  std::chrono::milliseconds first_backoff{200};  // doubled after each failed attempt
  size_t max_pending = 1000;
};

class WebhookSender {
 public:
  explicit WebhookSender(WebhookOptions options = {});
  ~WebhookSender();

  // Queues `json_body` for POST to `url`. Returns false (and drops it) if the queue is full.
  bool Post(std::string url, std::string json_body);

  // Counters, for tests and metrics.
  int64_t delivered() const;
  int64_t failed() const;   // gave up after every attempt
  int64_t dropped() const;  // refused because the queue was full

 private:
  struct Delivery {
    std::string url;
    std::string body;
  };
  void Loop();
  bool Send(const Delivery& delivery);  // one delivery with its retries

  WebhookOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Delivery> pending_;
  bool stopping_ = false;
  int64_t delivered_ = 0, failed_ = 0, dropped_ = 0;
  std::thread thread_;
};

}  // namespace loch
