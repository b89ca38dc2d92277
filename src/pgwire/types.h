#pragma once
// How loch's result columns look to a PostgreSQL client: type OIDs (as in PostgreSQL's pg_type),
// their names, and values in PostgreSQL's text format.

#include <cstdint>
#include <optional>
#include <string>

#include "engine/result_set.h"

namespace loch::pg {

// PostgreSQL type OIDs loch answers with.
enum Oid : int32_t {
  kBool = 16,
  kBytea = 17,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kText = 25,
  kJson = 114,
  kFloat4 = 700,
  kFloat8 = 701,
  kVarchar = 1043,
  kDate = 1082,
  kTime = 1083,
  kTimestamp = 1114,
  kTimestampTz = 1184,
  kInterval = 1186,
  kNumeric = 1700,
  kUuid = 2950,
};

// The OID for a DuckDB column type ("BIGINT", "DECIMAL(18,2)", "STRUCT(a INTEGER)", ...). Nested
// types are json; anything unknown is text.
int32_t TypeOidFor(const ResultColumn& column);

// The fixed size PostgreSQL reports for a type in RowDescription (-1: variable).
int16_t TypeSize(int32_t oid);

// The type's name as format_type() prints it ("bigint", "timestamp without time zone", ...).
std::string TypeName(int32_t oid);

// The DuckDB type a parameter declared with `oid` is cast to; "" (leave the literal untyped) for 0
// and for types without an exact DuckDB match.
std::string DuckTypeForOid(int32_t oid);

// A cell in PostgreSQL's text format for a column of type `oid` (booleans as t/f, NaN and
// Infinity spelled as PostgreSQL does). NULL stays NULL.
std::optional<std::string> ToPgText(const std::optional<std::string>& cell, int32_t oid);

}  // namespace loch::pg
