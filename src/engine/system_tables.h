#pragma once
// loch's system tables, database `loch`: read-only tables made from the catalog for the one query
// that reads them (never files), with the rows the caller may see.
//   loch.query_history  the queries the catalog keeps (Catalog::ListQueries), newest first
//   loch.runs           the run store: every run of every kind, with attempts, workers and
//                       triggers (Catalog::FindRuns), newest first
//   loch.job_runs       ETL job runs from the run store (Catalog::ListRuns), with their reports
//   loch.dq_results     the data-quality rules of those runs, one row per rule per run
// Values are bound into the query's private DuckDB catalog, never spliced into SQL: they hold
// whatever clients sent.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/duck.h"

namespace loch {

enum class SystemTable { kQueryHistory, kRuns, kJobRuns, kDqResults };

inline constexpr const char* kSystemDatabase = "loch";

// The system table `loch.<table>`, or nullopt if there is none.
std::optional<SystemTable> SystemTableNamed(std::string_view table);
// "loch.query_history, loch.job_runs", for messages.
std::string SystemTableList();

// One cell: NULL, text, an integer, a double, or a timestamp (microseconds since the epoch).
struct Micros {
  int64_t value;
};
using SystemValue = std::variant<std::monostate, std::string, int64_t, double, Micros>;

struct SystemRows {
  SystemTable table;
  std::vector<std::vector<SystemValue>> rows;  // each with a value per column of the table
};

// What `who` may see of `table` now. Errors: the catalog's.
absl::StatusOr<SystemRows> ReadSystemTable(Catalog& catalog, const Principal& who,
                                           SystemTable table);

// Creates loch.<table> in the attached DuckDB catalog `catalog_name` with `rows`. Caller holds
// whatever guards `connection`.
absl::Status MaterializeSystemTable(duck::Connection& connection, const std::string& catalog_name,
                                    const SystemRows& rows);

}  // namespace loch
