#pragma once
// The AWS Athena API (JSON 1.1 protocol) on `POST /`, so that unmodified Athena clients work with
// an endpoint override. Requests are SigV4-verified against the lake's admin key pair.
//
// Actions (X-Amz-Target: AmazonAthena.<Action>): StartQueryExecution, GetQueryExecution,
// GetQueryResults (NextToken paging, ResultSetMetadata with Athena type names; the first page
// starts with the header row, as Athena's does), StopQueryExecution, ListQueryExecutions,
// GetWorkGroup. Errors use Athena's shape: HTTP 400 with {"__type": "InvalidRequestException",
// "Message": ...}.

#include "server/admin_credentials.h"
#include "server/query_service.h"

namespace httplib {
class Server;
}

namespace loch {

// Registers `POST /`. `queries`, `catalog` (workgroups) and `credentials` must outlive the server.
void RegisterAthenaApi(httplib::Server& server, QueryService& queries, Catalog& catalog,
                       const AdminCredentials& credentials);

// Athena's name for a DuckDB type: bigint, double, varchar, date, timestamp, array, row, ...
std::string AthenaTypeName(const std::string& duckdb_type);

}  // namespace loch
