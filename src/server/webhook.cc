#include "server/webhook.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <condition_variable>
#include <deque>
#include <thread>

#include "common/logging.h"
#include "fmt/format.h"

namespace loch {
namespace {

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// One POST; the HTTP status, or 0 when no answer came (connection error, timeout).
long PostOnce(const std::string& url, const std::string& body, const std::string& secret,
              std::chrono::milliseconds timeout, std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "cannot initialize libcurl";
    return 0;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: loch-webhook/1");
  if (!secret.empty()) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string signature = "X-Loch-Signature: " + WebhookSignature(secret, now, body);
    headers = curl_slist_append(headers, signature.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  long status = 0;
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  } else {
    error = curl_easy_strerror(code);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status;
}

}  // namespace

std::string WebhookSignature(const std::string& secret, int64_t unix_seconds,
                             const std::string& body) {
  const std::string signed_text = fmt::format("{}.{}", unix_seconds, body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
       &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", mac[i]);
  return fmt::format("t={},v1={}", unix_seconds, hex);
}

// One destination: its queue and the thread that sends it, in order.
class WebhookSender::Lane {
 public:
  Lane(std::string url, const WebhookOptions& options)
      : url_(std::move(url)), options_(options), thread_([this] { Loop(); }) {}
  ~Lane() {
    RequestStop();
    thread_.join();
  }
  void RequestStop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      give_up_at_ = std::chrono::steady_clock::now() + options_.stop_within;
    }
    changed_.notify_all();
  }

  bool Push(std::string body) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || pending_.size() >= options_.max_pending) return false;
      pending_.push_back(std::move(body));
    }
    changed_.notify_all();
    return true;
  }

  int64_t delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  // Nothing queued and nothing being sent.
  bool Idle() const {
    std::lock_guard lock(mu_);
    return pending_.empty() && !sending_;
  }
  int64_t failed() const {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  void Loop() {
    while (true) {
      std::string body;
      {
        std::unique_lock lock(mu_);
        changed_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, and everything was sent
        if (stopping_ && std::chrono::steady_clock::now() >= give_up_at_) {
          spdlog::warn("webhook {}: stopping; {} notification(s) not sent", url_, pending_.size());
          return;
        }
        body = std::move(pending_.front());
        pending_.pop_front();
        sending_ = true;
      }
      std::string error;
      const bool ok = Send(body, error);
      if (!ok && options_.on_gave_up) options_.on_gave_up(url_, body, error);
      std::lock_guard lock(mu_);
      ++(ok ? delivered_ : failed_);
      sending_ = false;
    }
  }

  bool Send(const std::string& body, std::string& error) {
    std::chrono::milliseconds backoff = options_.first_backoff;
    for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
      error.clear();
      const long status = PostOnce(url_, body, options_.signing_secret, options_.timeout, error);
      if (status >= 200 && status < 300) return true;
      const bool retryable = status == 0 || status == 429 || status >= 500;
      if (status != 0) error = "HTTP " + std::to_string(status);
      spdlog::warn("webhook {}: attempt {} of {} failed: {}", url_, attempt, options_.attempts,
                   error);
      if (!retryable || attempt == options_.attempts) return false;
      std::unique_lock lock(mu_);
      if (stopping_) return false;  // stopping: one try each
      // Wait out the backoff, but not past a stop.
      changed_.wait_for(lock, backoff, [&] { return stopping_; });
      if (stopping_) return false;
      backoff *= 2;
    }
    return false;
  }

  const std::string url_;
  const WebhookOptions& options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> pending_;
  bool stopping_ = false;
  bool sending_ = false;
  std::chrono::steady_clock::time_point give_up_at_;
  int64_t delivered_ = 0, failed_ = 0;
  std::thread thread_;  // last: starts once the rest is ready
};

WebhookSender::WebhookSender(WebhookOptions options) : options_(std::move(options)) {}

WebhookSender::~WebhookSender() {
  std::map<std::string, std::unique_ptr<Lane>> lanes;
  {
    std::lock_guard lock(mu_);
    lanes.swap(lanes_);
  }
  for (auto& [url, lane] : lanes) lane->RequestStop();  // all at once: stop_within in all
  lanes.clear();
}

bool WebhookSender::Post(std::string url, std::string json_body) {
  std::lock_guard lock(mu_);
  auto lane = lanes_.find(url);
  if (lane == lanes_.end() && lanes_.size() >= options_.max_destinations) {
    // Room is made by an idle lane (a destination nothing is waiting for, such as a job's old
    // webhook); its counters go with it.
    for (auto idle = lanes_.begin(); idle != lanes_.end(); ++idle) {
      if (idle->second->Idle()) {
        retired_delivered_ += idle->second->delivered();
        retired_failed_ += idle->second->failed();
        lanes_.erase(idle);
        break;
      }
    }
  }
  if (lane == lanes_.end()) {
    if (lanes_.size() >= options_.max_destinations) {
      ++dropped_;
      spdlog::warn("webhook {}: not sent: loch already posts to {} destinations", url,
                   lanes_.size());
      return false;
    }
    lane = lanes_.emplace(url, std::make_unique<Lane>(url, options_)).first;
  }
  if (!lane->second->Push(std::move(json_body))) {
    ++dropped_;
    return false;
  }
  return true;
}

int64_t WebhookSender::delivered() const {
  std::lock_guard lock(mu_);
  int64_t total = retired_delivered_;
  for (const auto& [url, lane] : lanes_) total += lane->delivered();
  return total;
}
int64_t WebhookSender::failed() const {
  std::lock_guard lock(mu_);
  int64_t total = retired_failed_;
  for (const auto& [url, lane] : lanes_) total += lane->failed();
  return total;
}
int64_t WebhookSender::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace loch
