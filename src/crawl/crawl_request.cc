#include "crawl/crawl_request.h"

#include "common/cron.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

const char* PolicyName(SchemaChangePolicy policy) {
  switch (policy) {
    case SchemaChangePolicy::kUpdate:
      return "update";
    case SchemaChangePolicy::kLog:
      return "log";
    case SchemaChangePolicy::kFail:
      return "fail";
  }
  return "?";
}

const char* PolicyName(DeletePolicy policy) {
  switch (policy) {
    case DeletePolicy::kLog:
      return "log";
    case DeletePolicy::kDelete:
      return "delete";
    case DeletePolicy::kDeprecate:
      return "deprecate";
  }
  return "?";
}

const char* PolicyName(RecrawlPolicy policy) {
  return policy == RecrawlPolicy::kNew ? "new" : "everything";
}

absl::StatusOr<SchemaChangePolicy> ParseSchemaChangePolicy(const std::string& name) {
  for (auto policy :
       {SchemaChangePolicy::kUpdate, SchemaChangePolicy::kLog, SchemaChangePolicy::kFail}) {
    if (name == PolicyName(policy)) return policy;
  }
  return absl::InvalidArgumentError(
      fmt::format("schema-change policy \"{}\" is not update, log or fail", name));
}

absl::StatusOr<DeletePolicy> ParseDeletePolicy(const std::string& name) {
  for (auto policy : {DeletePolicy::kLog, DeletePolicy::kDelete, DeletePolicy::kDeprecate}) {
    if (name == PolicyName(policy)) return policy;
  }
  return absl::InvalidArgumentError(
      fmt::format("deletes policy \"{}\" is not log, delete or deprecate", name));
}

absl::StatusOr<RecrawlPolicy> ParseRecrawlPolicy(const std::string& name) {
  for (auto policy : {RecrawlPolicy::kNew, RecrawlPolicy::kEverything}) {
    if (name == PolicyName(policy)) return policy;
  }
  return absl::InvalidArgumentError(
      fmt::format("recrawl policy \"{}\" is not everything or new", name));
}

nlohmann::json CrawlRequestToJson(const CrawlRequest& request) {
  nlohmann::json out{{"prefixes", request.prefixes},
                     {"database", request.database},
                     {"schema_change", PolicyName(request.schema_change)},
                     {"deletes", PolicyName(request.deletes)},
                     {"recrawl", PolicyName(request.recrawl)}};
  if (!request.schedule.empty()) {
    out["schedule"] = request.schedule;
    out["timezone"] = request.timezone;
  }
  return out;
}

absl::StatusOr<CrawlRequest> CrawlRequestFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("a crawler must be a JSON object");
  CrawlRequest request;
  if (!json.contains("prefixes") || !json["prefixes"].is_array() || json["prefixes"].empty()) {
    return absl::InvalidArgumentError("\"prefixes\" must be a non-empty list of strings");
  }
  for (const auto& prefix : json["prefixes"]) {
    if (!prefix.is_string()) return absl::InvalidArgumentError("\"prefixes\" must hold strings");
    request.prefixes.push_back(prefix.get<std::string>());
  }
  if (!json.contains("database") || !json["database"].is_string()) {
    return absl::InvalidArgumentError("\"database\" must be a string");
  }
  request.database = json["database"].get<std::string>();
  for (const char* field : {"schema_change", "deletes", "recrawl"}) {
    if (json.contains(field) && !json[field].is_string()) {
      return absl::InvalidArgumentError(fmt::format("\"{}\" must be a string", field));
    }
  }
  ASSIGN_OR_RETURN(request.schema_change,
                   ParseSchemaChangePolicy(json.value("schema_change", "update")));
  ASSIGN_OR_RETURN(request.deletes, ParseDeletePolicy(json.value("deletes", "log")));
  ASSIGN_OR_RETURN(request.recrawl, ParseRecrawlPolicy(json.value("recrawl", "new")));
  for (const auto& [field, out] :
       {std::pair{"schedule", &request.schedule}, std::pair{"timezone", &request.timezone}}) {
    if (!json.contains(field) || json[field].is_null()) continue;
    if (!json[field].is_string()) {
      return absl::InvalidArgumentError(fmt::format("\"{}\" must be a string", field));
    }
    *out = json[field].get<std::string>();
  }
  if (!request.schedule.empty()) {
    if (auto schedule = CronSchedule::Parse(request.schedule, request.timezone); !schedule.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("\"schedule\": {}", ToStd(schedule.status().message())));
    }
  }
  return request;
}

}  // namespace loch
