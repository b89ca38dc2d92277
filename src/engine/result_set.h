#pragma once
// Query results as loch hands them to front ends: named, typed columns and chunks of text cells.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loch {

// How a front end should render a column's values.
enum class ValueKind {
  kBoolean,  // "true" / "false"
  kNumber,  // a decimal number in plain notation (integers, floats, decimals); "nan"/"inf" possible
  kString,  // any text: strings, dates, timestamps, intervals, UUIDs, blobs
  kJson,    // a JSON document: structs, lists, maps
};

struct ResultColumn {
  std::string name;
  std::string type;  // DuckDB type name, e.g. "BIGINT", "DECIMAL(18,2)", "TIMESTAMP"
  ValueKind kind = ValueKind::kString;
};

// A block of rows, column-major: cells[column][row]. NULL is nullopt.
struct ResultChunk {
  size_t row_count = 0;
  std::vector<std::vector<std::optional<std::string>>> cells;
};

// A cell as a JSON value: numbers, booleans and nested values as they are, NULL and non-finite
// numbers as null, everything else as a JSON string.
std::string CellToJson(const std::optional<std::string>& cell, ValueKind kind);

// A cell as an RFC 4180 CSV field: NULL is empty, fields with commas, quotes or line breaks are
// quoted.
std::string CellToCsv(const std::optional<std::string>& cell);

}  // namespace loch
