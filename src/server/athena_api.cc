#include "server/athena_api.h"

#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

using nlohmann::json;

AwsError FromStatus(const absl::Status& status) {
  const std::string message(ToStd(status.message()));
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return {403, "MissingAuthenticationTokenException", message};
    case absl::StatusCode::kPermissionDenied:
      return {403, "AccessDeniedException", message};
    case absl::StatusCode::kNotFound:
      return {400, "InvalidRequestException", message};
    case absl::StatusCode::kResourceExhausted:
      return {400, "TooManyRequestsException", message};
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
      return {500, "InternalServerException", message};
    default:
      return {400, "InvalidRequestException", message};
  }
}

double EpochSeconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

json ExecutionJson(const QueryInfo& info) {
  static const std::map<QueryState, const char*> kStates = {{QueryState::kQueued, "QUEUED"},
                                                            {QueryState::kRunning, "RUNNING"},
                                                            {QueryState::kSucceeded, "SUCCEEDED"},
                                                            {QueryState::kFailed, "FAILED"},
                                                            {QueryState::kCancelled, "CANCELLED"}};
  json status = {{"State", kStates.at(info.state)},
                 {"SubmissionDateTime", EpochSeconds(info.submitted_micros)}};
  if (info.finished_micros > 0) status["CompletionDateTime"] = EpochSeconds(info.finished_micros);
  if (!info.error.ok()) status["StateChangeReason"] = std::string(ToStd(info.error.message()));
  json statistics = json::object();
  if (info.finished_micros > 0) {
    const int64_t total_ms = (info.finished_micros - info.submitted_micros) / 1000;
    const int64_t engine_ms =
        info.started_micros > 0 ? (info.finished_micros - info.started_micros) / 1000 : 0;
    statistics = {{"EngineExecutionTimeInMillis", engine_ms},
                  {"TotalExecutionTimeInMillis", total_ms},
                  {"QueryQueueTimeInMillis", total_ms - engine_ms},
                  {"DataScannedInBytes", info.bytes_scanned}};
  }
  json execution = {{"QueryExecutionId", info.id}, {"Query", info.sql},
                    {"StatementType", "DML"},      {"Status", status},
                    {"Statistics", statistics},    {"WorkGroup", info.workgroup}};
  if (!info.result_key.empty())
    execution["ResultConfiguration"] = {{"OutputLocation", info.result_key}};
  return execution;
}

// NextToken for GetQueryResults: the next row offset, opaque to clients.
std::string OffsetToken(size_t offset) { return fmt::format("offset-{}", offset); }
absl::StatusOr<size_t> TokenOffset(const std::string& token) {
  if (!token.starts_with("offset-"))
    return absl::InvalidArgumentError("NextToken is not one this server issued");
  return static_cast<size_t>(std::strtoull(token.c_str() + 7, nullptr, 10));
}

// The optional WorkGroup parameter ("primary" when absent).
absl::StatusOr<std::string> WorkGroupParameter(const json& body) {
  if (!body.contains("WorkGroup")) return std::string(WorkgroupConfig::kPrimary);
  return RequiredString(body, "WorkGroup");
}

json WorkGroupJson(const WorkgroupConfig& workgroup) {
  json configuration = {
      {"EnforceWorkGroupConfiguration", true},
      {"PublishCloudWatchMetricsEnabled", false},
      {"ResultConfiguration", {{"OutputLocation", fmt::format("results/{}/", workgroup.name)}}}};
  if (workgroup.max_bytes_scanned > 0) {
    configuration["BytesScannedCutoffPerQuery"] = workgroup.max_bytes_scanned;
  }
  return {{"Name", workgroup.name},
          {"State", "ENABLED"},
          {"Description", workgroup.description},
          {"Configuration", configuration},
          {"CreationTime", 0.0}};
}

absl::StatusOr<json> Handle(const AthenaRequest& request, QueryService& queries, Catalog& catalog,
                            const Principal& who) {
  const std::string& action = request.action;
  if (action == "StartQueryExecution") {
    ASSIGN_OR_RETURN(std::string id,
                     queries.Submit(who, request.query, request.workgroup, "athena"));
    return json({{"QueryExecutionId", id}});
  } else if (action == "GetQueryExecution") {
    ASSIGN_OR_RETURN(QueryInfo info, queries.Describe(request.query_execution_id));
    return json({{"QueryExecution", ExecutionJson(info)}});
  } else if (action == "GetQueryResults") {
    // Row 0 is the header row, as in Athena; data row i is at position i + 1.
    const bool with_header = request.offset == 0;
    const size_t data_offset = request.offset == 0 ? 0 : request.offset - 1;
    const size_t data_limit = static_cast<size_t>(request.max_results) - (with_header ? 1 : 0);
    ASSIGN_OR_RETURN(ResultPage page,
                     queries.Results(request.query_execution_id, data_offset, data_limit));
    json columns = json::array();
    json rows = json::array();
    json header = json::array();
    for (const ResultColumn& column : page.columns) {
      columns.push_back({{"CatalogName", "hive"},
                         {"SchemaName", ""},
                         {"TableName", ""},
                         {"Name", column.name},
                         {"Label", column.name},
                         {"Type", AthenaTypeName(column.type)},
                         {"Precision", 0},
                         {"Scale", 0},
                         {"Nullable", "UNKNOWN"},
                         {"CaseSensitive", column.kind == ValueKind::kString}});
      header.push_back({{"VarCharValue", column.name}});
    }
    if (with_header) rows.push_back({{"Data", header}});
    for (const auto& row : page.rows) {
      json data = json::array();
      for (const auto& cell : row)
        data.push_back(cell.has_value() ? json{{"VarCharValue", *cell}} : json::object());
      rows.push_back({{"Data", data}});
    }
    json out = {{"ResultSet", {{"Rows", rows}, {"ResultSetMetadata", {{"ColumnInfo", columns}}}}},
                {"UpdateCount", 0}};
    if (page.next_offset.has_value()) out["NextToken"] = OffsetToken(*page.next_offset + 1);
    return out;
  } else if (action == "StopQueryExecution") {
    RETURN_IF_ERROR(queries.Cancel(request.query_execution_id).status());
    return json::object();
  } else if (action == "ListQueryExecutions") {
    json ids = json::array();
    for (const QueryInfo& info :
         queries.List(static_cast<size_t>(request.max_results), request.workgroup)) {
      ids.push_back(info.id);
    }
    return json({{"QueryExecutionIds", ids}});
  } else if (action == "GetWorkGroup") {
    ASSIGN_OR_RETURN(WorkgroupConfig workgroup, catalog.GetWorkgroup(who, request.workgroup));
    return json({{"WorkGroup", WorkGroupJson(workgroup)}});
  } else if (action == "ListWorkGroups") {
    ASSIGN_OR_RETURN(std::vector<WorkgroupConfig> all, catalog.ListWorkgroups(who));
    json summaries = json::array();
    for (const WorkgroupConfig& workgroup : all) {
      summaries.push_back({{"Name", workgroup.name},
                           {"State", "ENABLED"},
                           {"Description", workgroup.description},
                           {"CreationTime", 0.0}});
    }
    return json({{"WorkGroups", summaries}});
  }
  return absl::InternalError(fmt::format("Athena action {} is parsed but not handled", action));
}

}  // namespace

std::string AthenaTypeName(const std::string& duckdb_type) {
  static const std::map<std::string, std::string> kNames = {
      {"BOOLEAN", "boolean"},
      {"TINYINT", "tinyint"},
      {"SMALLINT", "smallint"},
      {"INTEGER", "integer"},
      {"BIGINT", "bigint"},
      {"HUGEINT", "decimal"},
      {"FLOAT", "float"},
      {"DOUBLE", "double"},
      {"VARCHAR", "varchar"},
      {"DATE", "date"},
      {"TIMESTAMP", "timestamp"},
      {"BLOB", "varbinary"},
      {"TIMESTAMP WITH TIME ZONE", "timestamp"},
      {"TIME", "time"},
      {"INTERVAL", "interval"}};
  if (auto it = kNames.find(duckdb_type); it != kNames.end()) return it->second;
  if (duckdb_type.starts_with("DECIMAL")) return "decimal";
  if (duckdb_type.ends_with("]")) return "array";
  if (duckdb_type.starts_with("STRUCT")) return "row";
  if (duckdb_type.starts_with("MAP")) return "map";
  return "varchar";
}

absl::StatusOr<AthenaRequest> ParseAthenaRequest(const std::string& action, const json& body) {
  AthenaRequest request;
  request.action = action;
  if (action == "StartQueryExecution") {
    ASSIGN_OR_RETURN(request.query, RequiredString(body, "QueryString"));
    ASSIGN_OR_RETURN(request.workgroup, WorkGroupParameter(body));
  } else if (action == "GetQueryExecution" || action == "StopQueryExecution") {
    ASSIGN_OR_RETURN(request.query_execution_id, RequiredString(body, "QueryExecutionId"));
  } else if (action == "GetQueryResults") {
    ASSIGN_OR_RETURN(request.query_execution_id, RequiredString(body, "QueryExecutionId"));
    ASSIGN_OR_RETURN(request.max_results, OptionalInteger(body, "MaxResults", 1000));
    if (request.max_results < 1 || request.max_results > 1000)
      return absl::InvalidArgumentError("MaxResults must be 1 to 1000");
    if (body.contains("NextToken") && body["NextToken"].is_string()) {
      ASSIGN_OR_RETURN(request.offset, TokenOffset(body["NextToken"].get<std::string>()));
    }
  } else if (action == "ListQueryExecutions") {
    ASSIGN_OR_RETURN(request.max_results, OptionalInteger(body, "MaxResults", 50));
    if (request.max_results < 1 || request.max_results > 50)
      return absl::InvalidArgumentError("MaxResults must be 1 to 50");
    ASSIGN_OR_RETURN(request.workgroup, OptionalString(body, "WorkGroup", ""));
  } else if (action == "GetWorkGroup") {
    ASSIGN_OR_RETURN(request.workgroup, RequiredString(body, "WorkGroup"));
  } else if (action != "ListWorkGroups") {
    return absl::UnimplementedError(fmt::format("unknown operation AmazonAthena.{}", action));
  }
  return request;
}

AwsJsonService AthenaService(QueryService& queries, Catalog& catalog) {
  return AwsJsonService{"AmazonAthena.",
                        [&queries, &catalog](const Principal& who, const std::string& action,
                                             const json& body, const AwsAnswer& answer) {
                          absl::StatusOr<AthenaRequest> request = ParseAthenaRequest(action, body);
                          if (!request.ok()) return answer(request.status());
                          answer(Handle(*request, queries, catalog, who));
                        },
                        FromStatus};
}

}  // namespace loch
