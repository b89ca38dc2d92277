#include "pgwire/types.h"

#include <string_view>

namespace loch::pg {

int32_t TypeOidFor(const ResultColumn& column) {
  if (column.kind == ValueKind::kJson) return kJson;
  const std::string_view type = column.type;
  auto starts = [&](std::string_view prefix) { return type.substr(0, prefix.size()) == prefix; };
  if (type == "BOOLEAN") return kBool;
  if (type == "TINYINT" || type == "SMALLINT" || type == "UTINYINT") return kInt2;
  if (type == "INTEGER" || type == "USMALLINT") return kInt4;
  if (type == "BIGINT" || type == "UINTEGER") return kInt8;
  if (type == "UBIGINT" || type == "HUGEINT" || type == "UHUGEINT" || starts("DECIMAL")) {
    return kNumeric;
  }
  if (type == "FLOAT") return kFloat4;
  if (type == "DOUBLE") return kFloat8;
  if (type == "DATE") return kDate;
  if (type == "TIME") return kTime;
  if (type == "TIMESTAMP WITH TIME ZONE") return kTimestampTz;
  if (starts("TIMESTAMP")) return kTimestamp;  // TIMESTAMP, TIMESTAMP_S/_MS/_NS
  if (type == "INTERVAL") return kInterval;
  if (type == "UUID") return kUuid;
  if (type == "BLOB") return kBytea;
  if (type == "JSON") return kJson;
  return kText;
}

int16_t TypeSize(int32_t oid) {
  switch (oid) {
    case kBool:
      return 1;
    case kInt2:
      return 2;
    case kInt4:
    case kFloat4:
    case kDate:
      return 4;
    case kInt8:
    case kFloat8:
    case kTime:
    case kTimestamp:
    case kTimestampTz:
      return 8;
    case kInterval:
    case kUuid:
      return 16;
    default:
      return -1;
  }
}

std::string TypeName(int32_t oid) {
  switch (oid) {
    case kBool:
      return "boolean";
    case kBytea:
      return "bytea";
    case kInt2:
      return "smallint";
    case kInt4:
      return "integer";
    case kInt8:
      return "bigint";
    case kJson:
      return "json";
    case kFloat4:
      return "real";
    case kFloat8:
      return "double precision";
    case kVarchar:
      return "character varying";
    case kDate:
      return "date";
    case kTime:
      return "time without time zone";
    case kTimestamp:
      return "timestamp without time zone";
    case kTimestampTz:
      return "timestamp with time zone";
    case kInterval:
      return "interval";
    case kNumeric:
      return "numeric";
    case kUuid:
      return "uuid";
    default:
      return "text";
  }
}

std::string DuckTypeForOid(int32_t oid) {
  switch (oid) {
    case kBool:
      return "BOOLEAN";
    case kInt2:
      return "SMALLINT";
    case kInt4:
      return "INTEGER";
    case kInt8:
      return "BIGINT";
    case kFloat4:
      return "FLOAT";
    case kFloat8:
      return "DOUBLE";
    case kText:
    case kVarchar:
      return "VARCHAR";
    case kDate:
      return "DATE";
    case kTime:
      return "TIME";
    case kTimestamp:
      return "TIMESTAMP";
    case kTimestampTz:
      return "TIMESTAMPTZ";
    case kInterval:
      return "INTERVAL";
    case kUuid:
      return "UUID";
    default:
      return "";
  }
}

std::optional<std::string> ToPgText(const std::optional<std::string>& cell, int32_t oid) {
  if (!cell) return std::nullopt;
  if (oid == kBool) return std::string(*cell == "true" ? "t" : "f");
  if (oid == kFloat4 || oid == kFloat8) {
    if (*cell == "nan") return std::string("NaN");
    if (*cell == "inf") return std::string("Infinity");
    if (*cell == "-inf") return std::string("-Infinity");
  }
  return cell;
}

}  // namespace loch::pg
