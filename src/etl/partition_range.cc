#include "etl/partition_range.h"

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

std::string Typed(const std::string& value, const Column& column) {
  return fmt::format("CAST({} AS {})", QuoteLiteral(value), column.type);
}

// Every row of `sql`'s first column.
absl::StatusOr<std::vector<std::optional<std::string>>> FirstColumn(LakeEngine& engine,
                                                                    const Principal& who,
                                                                    const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<QueryCursor> cursor, engine.Query(who, sql));
  std::vector<std::optional<std::string>> values;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<ResultChunk> chunk, cursor->Next());
    if (!chunk) return values;
    for (size_t row = 0; row < chunk->row_count; ++row) values.push_back(chunk->cells[0][row]);
  }
}

}  // namespace

std::string RangeCondition(const Column& column, const PartitionRange& range) {
  // In the column's type, as the written rows will have it (a timestamp the query returns for a
  // DATE column belongs to its day).
  return fmt::format("CAST({} AS {}) BETWEEN {} AND {}", QuoteIdentifier(column.name), column.type,
                     Typed(range.from, column), Typed(range.to, column));
}

absl::StatusOr<std::set<std::string>> PartitionsInRange(LakeEngine& engine, const Principal& who,
                                                        const Column& column,
                                                        const std::set<std::string>& values,
                                                        const PartitionRange& range) {
  auto ordered = FirstColumn(
      engine, who,
      fmt::format("SELECT {} <= {}", Typed(range.from, column), Typed(range.to, column)));
  if (!ordered.ok()) {  // DuckDB's first line says which bound does not convert
    return absl::InvalidArgumentError(fmt::format(
        "--from {} --to {}: not values of {} ({}): {}", range.from, range.to, column.name,
        column.type, std::string(Split(ToStd(ordered.status().message()), '\n').front())));
  }
  if (ordered->size() != 1 || ordered->front() != "true") {
    return absl::InvalidArgumentError(
        fmt::format("--from {} is after --to {} (as {})", range.from, range.to, column.type));
  }
  std::set<std::string> in_range;
  std::vector<std::string> rows;
  for (const std::string& value : values) {
    // NULL's folder holds no row a range has (BETWEEN is never true for NULL).
    if (value.empty() || value == "__HIVE_DEFAULT_PARTITION__") continue;
    rows.push_back("(" + QuoteLiteral(value) + ")");
  }
  if (rows.empty()) return in_range;
  // A folder's value as DuckDB reads it: URL-decoded (a timestamp's ':' is %3A in its folder).
  ASSIGN_OR_RETURN(auto found,
                   FirstColumn(engine, who,
                               fmt::format("SELECT v FROM (VALUES {}) AS partitions(v) WHERE "
                                           "TRY_CAST(url_decode(v) AS {}) BETWEEN {} AND {}",
                                           Join(rows, ", "), column.type, Typed(range.from, column),
                                           Typed(range.to, column))));
  for (const auto& value : found) {
    if (value) in_range.insert(*value);
  }
  return in_range;
}

}  // namespace loch::etl
