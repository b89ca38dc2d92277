#include "server/webhook.h"

#include <curl/curl.h>

#include "common/logging.h"

namespace loch {
namespace {

size_t DiscardBody(char*, size_t size, size_t count, void*) { return size * count; }

// One POST; the HTTP status, or 0 when no answer came (connection error, timeout).
long PostOnce(const std::string& url, const std::string& body, std::chrono::milliseconds timeout,
              std::string& error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    error = "cannot initialize libcurl";
    return 0;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: loch-webhook/1");
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

WebhookSender::WebhookSender(WebhookOptions options) : options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool WebhookSender::Post(std::string url, std::string json_body) {
  {
    std::lock_guard lock(mu_);
    if (pending_.size() >= options_.max_pending) {
      ++dropped_;
      return false;
    }
    pending_.push_back({std::move(url), std::move(json_body)});
  }
  changed_.notify_all();
  return true;
}

void WebhookSender::Loop() {
  while (true) {
    Delivery delivery;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything was sent
      delivery = std::move(pending_.front());
      pending_.pop_front();
    }
    const bool ok = Send(delivery);
    std::lock_guard lock(mu_);
    ++(ok ? delivered_ : failed_);
  }
}

bool WebhookSender::Send(const Delivery& delivery) {
  std::chrono::milliseconds backoff = options_.first_backoff;
  std::string error;
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    error.clear();
    const long status = PostOnce(delivery.url, delivery.body, options_.timeout, error);
    if (status >= 200 && status < 300) return true;
    const bool retryable = status == 0 || status == 429 || status >= 500;
    if (!retryable) error = "HTTP " + std::to_string(status);
    spdlog::warn("webhook {}: attempt {} failed: {}", delivery.url, attempt,
                 error.empty() ? "HTTP " + std::to_string(status) : error);
    if (!retryable) return false;
    if (attempt < options_.attempts) {
      std::unique_lock lock(mu_);
      // Wait out the backoff, but not past a stop (then one last attempt is all that is left).
      changed_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff *= 2;
    }
  }
  return false;
}

int64_t WebhookSender::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}
int64_t WebhookSender::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}
int64_t WebhookSender::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace loch
