#pragma once
// The AWS Athena API (JSON 1.1 protocol, served through aws_json.h), so that unmodified Athena
// clients work with an endpoint override.
//
// Actions (X-Amz-Target: AmazonAthena.<Action>): StartQueryExecution, GetQueryExecution,
// GetQueryResults (NextToken paging, ResultSetMetadata with Athena type names; the first page
// starts with the header row, as Athena's does), StopQueryExecution, ListQueryExecutions,
// GetWorkGroup. Errors use Athena's shape: HTTP 400 with {"__type": "InvalidRequestException",
// "Message": ...}.

#include "server/aws_json.h"
#include "server/query_service.h"

namespace loch {

// The Athena operations ("AmazonAthena.*"). `queries` and `catalog` (workgroups) must outlive the
// server.
AwsJsonService AthenaService(QueryService& queries, Catalog& catalog);

// Athena's name for a DuckDB type: bigint, double, varchar, date, timestamp, array, row, ...
std::string AthenaTypeName(const std::string& duckdb_type);

}  // namespace loch
