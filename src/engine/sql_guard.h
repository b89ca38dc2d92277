#pragma once
// SqlGuard: decides whether a user's SQL may run, before DuckDB binds it.
//
// The engine's DuckDB can read every file under the lake folder, so user SQL must not name files
// itself. A statement is accepted only if:
//   - it is exactly one SELECT-like statement (SELECT, WITH, VALUES, DESCRIBE/SUMMARIZE of a
//   query);
//   - every table it reads is a DATABASE.TABLE reference (checked against the catalog by the
//   caller) or
//     the name of a CTE in the statement (a plain identifier, so it can never be a file path);
//   - every table function it calls is on a short allowlist of functions that read no files
//     (range, generate_series, unnest, ...).
// Parsing uses DuckDB's own parser (json_serialize_sql), so what is checked is what would run.

#include <string>
#include <string_view>
#include <vector>

#include "catalog/model.h"
#include "common/status.h"
#include "engine/duck.h"
#include "nlohmann/json.hpp"

namespace loch {

struct StatementTables {
  std::vector<TableName> qualified;      // DATABASE.TABLE references, deduplicated, in order
  std::vector<std::string> unqualified;  // plain names that are not CTEs of the statement
  nlohmann::json statement;              // DuckDB's parse tree of the statement (for pruning)
};

// Checks `sql` as described above, parsing with `connection`. On success returns the tables it
// reads. Errors: InvalidArgument for syntax errors (with line and column) and for file or unknown
// references, PermissionDenied for statements that are not queries and for disallowed table
// functions.
absl::StatusOr<StatementTables> CheckUserQuery(duck::Connection& connection, std::string_view sql);

// Why a statement that is not a query was refused, naming it and what to do instead (UPDATE:
// append or write a new table; ALTER: write a new table; COPY, SET, ATTACH: never).
std::string RefusedStatementMessage(std::string_view sql);

// "(line L, column C)" for a byte offset into `text`; lines and columns count from 1.
std::string DescribePosition(std::string_view text, size_t offset);

}  // namespace loch
