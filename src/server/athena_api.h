#pragma once
// The AWS Athena API (JSON 1.1 protocol, served through aws_json.h), so that unmodified Athena
// clients work with an endpoint override.
//
// Actions (X-Amz-Target: AmazonAthena.<Action>): StartQueryExecution, GetQueryExecution,
// GetQueryResults (NextToken paging, ResultSetMetadata with Athena type names; the first page
// starts with the header row, as Athena's does), StopQueryExecution, ListQueryExecutions,
// GetWorkGroup. Errors use Athena's shape: HTTP 400 with {"__type": "InvalidRequestException",
// "Message": ...}.

#include <cstdint>
#include <string>

#include "query/query_service.h"
#include "server/aws_json.h"

namespace loch {

// One Athena request as read from its JSON body: the fields its action uses are set, the others
// keep their defaults.
struct AthenaRequest {
  std::string action;              // e.g. "GetQueryResults"
  std::string query;               // StartQueryExecution: QueryString
  std::string query_execution_id;  // GetQueryExecution, GetQueryResults, StopQueryExecution
  // StartQueryExecution ("primary" when absent) and GetWorkGroup: the workgroup;
  // ListQueryExecutions: only that workgroup's queries ("": all).
  std::string workgroup;
  int64_t max_results = 0;  // GetQueryResults: 1 to 1000; ListQueryExecutions: 1 to 50
  size_t offset = 0;        // GetQueryResults: the row NextToken names (0: the first page)
};

// Reads `body` (the request's JSON object) as a request of `action`. InvalidArgument names the
// field that is missing, of the wrong type or out of range; Unimplemented for an unknown action.
// Thread-safe.
absl::StatusOr<AthenaRequest> ParseAthenaRequest(const std::string& action,
                                                 const nlohmann::json& body);

// The Athena operations ("AmazonAthena.*"). `queries` and `catalog` (workgroups) must outlive the
// server.
AwsJsonService AthenaService(QueryService& queries, Catalog& catalog);

// Athena's name for a DuckDB type: bigint, double, varchar, date, timestamp, array, row, ...
std::string AthenaTypeName(const std::string& duckdb_type);

}  // namespace loch
