#include "server/failure_notifier.h"

#include <regex>

#include "common/logging.h"
#include "common/principal.h"
#include "etl/job_runner.h"
#include "etl/saved_jobs.h"

namespace loch {
namespace {

using nlohmann::json;

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Where a failure happened, when its message says: the SQL position loch's errors carry ("(line
// L, column C)") and the first lake object it names (a key under raw/, tables/, errors/ or
// quarantine/). Adds "sql_position" and "file" to `out`.
void AddWhere(const std::string& message, json& out) {
  static const std::regex kPosition(R"(\(line (\d{1,9}), column (\d{1,9})\))");
  static const std::regex kFile(R"(((?:raw|tables|errors|quarantine)/[^\s"',;()]{1,512}))");
  const std::string head = message.substr(0, 4096);  // bounded: messages can be long
  std::smatch match;
  if (std::regex_search(head, match, kPosition)) {
    out["sql_position"] = {{"line", std::stoi(match[1])}, {"column", std::stoi(match[2])}};
  }
  if (std::regex_search(head, match, kFile)) out["file"] = match[1].str();
}

}  // namespace

FailureNotifier::FailureNotifier(orchestrate::EventBus& bus, Catalog& catalog,
                                 WebhookSender& webhooks, std::string server_webhook)
    : bus_(bus),
      catalog_(catalog),
      webhooks_(webhooks),
      server_webhook_(std::move(server_webhook)) {
  subscription_ = bus_.Subscribe([this](const orchestrate::Event& event) { OnEvent(event); });
}

FailureNotifier::~FailureNotifier() { bus_.Unsubscribe(subscription_); }

void FailureNotifier::OnEvent(const orchestrate::Event& event) {
  std::vector<std::string> urls;
  json body;
  if (event.type == "run") {
    const std::string state = event.data.value("state", "");
    if (state != RunRecord::kFailed && state != RunRecord::kTimeout) return;
    body = {{"event", "run_failed"}, {"time", event.ToJson()["time"]}, {"run", event.data}};
    AddWhere(event.data.value("error", ""), body);
    if (event.data.value("kind", "") == etl::kJobKind) {
      auto job = catalog_.GetJob(Principal::LocalAdmin(), event.data.value("name", ""));
      auto spec = job.ok() ? etl::SpecOf(*job) : absl::StatusOr<etl::JobSpec>(job.status());
      if (spec.ok() && !spec->policy.failure_webhook.empty()) {
        urls.push_back(spec->policy.failure_webhook);
      }
    }
  } else if (event.type == "query_failed") {
    body = event.data;
    body["event"] = "query_failed";
    const json error = body.value("error", json::object());
    if (error.is_object()) AddWhere(error.value("message", ""), body);
  } else if (event.type == "freshness") {
    body = event.data;
    body["event"] = "table_stale";
  } else {
    return;
  }
  if (!server_webhook_.empty() &&
      std::find(urls.begin(), urls.end(), server_webhook_) == urls.end()) {
    urls.push_back(server_webhook_);
  }
  const std::string text = Dump(body);
  for (const std::string& url : urls) {
    if (!webhooks_.Post(url, text)) {
      spdlog::warn("webhook {} is behind: a {} notification was not sent to it", url,
                   body.value("event", ""));
    }
  }
}

}  // namespace loch
