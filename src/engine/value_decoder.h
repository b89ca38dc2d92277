#pragma once
// Decodes DuckDB result vectors into text cells (see result_set.h).
//
// Only "simple" types are decoded here (booleans, integers, floats, strings, dates, timestamps);
// for any other type the engine first casts the column in SQL (to VARCHAR, or to JSON for nested
// values), so a result column is always simple by the time it is decoded.

#include <duckdb.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/result_set.h"

namespace loch {

// True if DecodeVector handles `type` directly.
bool IsDirectlyDecodable(duckdb_type type);

// The kind a column of `type` has once decoded (after any SQL cast the engine applied).
ValueKind KindOf(duckdb_type type);

// Appends `rows` values of `vector` (of logical type id `type`, which must be directly decodable)
// to `out`. NULLs become nullopt.
void DecodeVector(duckdb_vector vector, duckdb_type type, size_t rows,
                  std::vector<std::optional<std::string>>& out);

// Civil-calendar helpers (proleptic Gregorian, UTC), exposed for tests.
std::string FormatDate(int32_t days_since_epoch);
std::string FormatTimestampMicros(int64_t micros_since_epoch);

}  // namespace loch
