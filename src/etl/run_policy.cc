#include "etl/run_policy.h"

#include <algorithm>
#include <thread>

#include "absl/strings/match.h"
#include "catalog/model.h"
#include "common/cron.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

using nlohmann::json;

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("job field \"{}\": {}", field, what));
}

absl::Status ReadWhole(const json& object, std::string_view field, int low, int high, int& out) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer() || it->get<int64_t>() < low || it->get<int64_t>() > high) {
    return FieldError(field, fmt::format("must be a whole number from {} to {}", low, high));
  }
  out = static_cast<int>(it->get<int64_t>());
  return absl::OkStatus();
}

absl::Status ReadNames(const json& object, std::string_view field, std::string_view what,
                       std::vector<std::string>& out) {
  constexpr size_t kMaxNames = 100;
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array() || it->size() > kMaxNames) {
    return FieldError(field, fmt::format("must be a list of at most {} {}", kMaxNames, what));
  }
  for (const json& item : *it) {
    if (!item.is_string()) return FieldError(field, fmt::format("must be a list of {}", what));
    const std::string name = item.get<std::string>();
    // `after` also takes "tag:NAME": every job tagged NAME.
    const bool tag = field == "after" && name.starts_with(kTagPrefix);
    const std::string_view checked = tag ? std::string_view(name).substr(kTagPrefix.size()) : name;
    if (const absl::Status valid = ValidateIdentifier(checked, tag ? "tag" : std::string(what));
        !valid.ok()) {
      return FieldError(field, ToStd(valid.message()));
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return absl::OkStatus();
}

}  // namespace

int64_t WorkerAddressSpaceBytes(int64_t memory_limit_bytes) {
  constexpr int64_t kHeadroomBytes = int64_t{1} << 30;
  constexpr int64_t kPerThreadBytes = int64_t{80} << 20;
  const int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  const int64_t headroom = kHeadroomBytes + threads * kPerThreadBytes;
  return memory_limit_bytes > INT64_MAX - headroom ? INT64_MAX : memory_limit_bytes + headroom;
}

absl::StatusOr<RunPolicy> RunPolicyFromJson(const json& object) {
  RunPolicy policy;
  if (const auto it = object.find("on_update"); it != object.end() && !it->is_null()) {
    if (!it->is_boolean()) return FieldError("on_update", "must be true or false");
    policy.on_update = it->get<bool>();
  }
  RETURN_IF_ERROR(ReadWhole(object, "debounce_seconds", 0, 3600, policy.debounce_seconds));
  RETURN_IF_ERROR(ReadNames(object, "after", "job", policy.after));
  RETURN_IF_ERROR(ReadWhole(object, "max_attempts", 1, 20, policy.max_attempts));
  RETURN_IF_ERROR(ReadWhole(object, "timeout_seconds", 1, 7 * 24 * 3600, policy.timeout_seconds));
  if (const auto it = object.find("memory_limit"); it != object.end() && !it->is_null()) {
    const std::optional<int64_t> bytes =
        it->is_string() ? ParseByteSize(it->get<std::string>()) : std::nullopt;
    if (!bytes.has_value() || *bytes < RunPolicy::kMinMemoryLimitBytes ||
        *bytes > RunPolicy::kMaxMemoryLimitBytes) {
      return FieldError("memory_limit",
                        "must be a size from 64MB to 1PB, such as \"512MB\" or \"2GiB\"");
    }
    policy.memory_limit = it->get<std::string>();
  }
  RETURN_IF_ERROR(ReadNames(object, "tags", "tag", policy.tags));
  if (const auto it = object.find("failure_webhook"); it != object.end() && !it->is_null()) {
    constexpr size_t kMaxUrlBytes = 2048;
    const std::string url = it->is_string() ? it->get<std::string>() : "";
    if (url.size() > kMaxUrlBytes || !(url.starts_with("http://") || url.starts_with("https://")) ||
        url.find_first_of(" \t\r\n") != std::string::npos) {
      return FieldError("failure_webhook", "must be an http:// or https:// URL");
    }
    policy.failure_webhook = url;
  }
  for (const auto& [field, out] :
       {std::pair{"schedule", &policy.schedule}, std::pair{"timezone", &policy.timezone}}) {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) continue;
    if (!it->is_string()) return FieldError(field, "must be a string");
    *out = it->get<std::string>();
  }
  if (!policy.schedule.empty() || policy.timezone != "UTC") {
    auto schedule =
        CronSchedule::Parse(policy.schedule.empty() ? "@daily" : policy.schedule, policy.timezone);
    if (!schedule.ok()) {
      return FieldError(
          policy.schedule.empty() || absl::StrContains(schedule.status().message(), "time zone")
              ? "timezone"
              : "schedule",
          ToStd(schedule.status().message()));
    }
  }
  return policy;
}

void AddRunPolicyJson(const RunPolicy& policy, json& object) {
  const RunPolicy defaults;
  if (policy.on_update != defaults.on_update) object["on_update"] = policy.on_update;
  if (policy.debounce_seconds != defaults.debounce_seconds) {
    object["debounce_seconds"] = policy.debounce_seconds;
  }
  if (!policy.after.empty()) object["after"] = policy.after;
  if (policy.max_attempts != defaults.max_attempts) object["max_attempts"] = policy.max_attempts;
  if (policy.timeout_seconds != defaults.timeout_seconds) {
    object["timeout_seconds"] = policy.timeout_seconds;
  }
  if (!policy.memory_limit.empty()) object["memory_limit"] = policy.memory_limit;
  if (!policy.tags.empty()) object["tags"] = policy.tags;
  if (!policy.failure_webhook.empty()) object["failure_webhook"] = policy.failure_webhook;
  if (!policy.schedule.empty()) object["schedule"] = policy.schedule;
  if (policy.timezone != defaults.timezone) object["timezone"] = policy.timezone;
}

absl::Status TypeRunPolicyYamlScalars(json& object) {
  for (const char* field : {"debounce_seconds", "max_attempts", "timeout_seconds"}) {
    if (auto it = object.find(field); it != object.end() && it->is_string()) {
      const std::optional<int64_t> number = ParseInteger(it->get<std::string>());
      if (!number) return FieldError(field, "must be a whole number");
      *it = *number;
    }
  }
  if (auto it = object.find("on_update"); it != object.end() && it->is_string()) {
    const std::string text = it->get<std::string>();
    if (text != "true" && text != "false") return FieldError("on_update", "must be true or false");
    *it = text == "true";
  }
  return absl::OkStatus();
}

}  // namespace loch::etl
