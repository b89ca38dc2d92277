#include "engine/json_conversion.h"

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr const char* kRecord = "__loch_record";

bool IsNested(const std::string& type) {
  return type.find("STRUCT") != std::string::npos || type.find("MAP") != std::string::npos ||
         type.find('[') != std::string::npos || type == "JSON";
}

// `function` (json_extract or json_extract_string) of the column's field in the record: by its
// name, or for a renamed column, the first of its names the record has (producers may still send
// the old one).
std::string Extract(const char* function, const Column& column) {
  std::vector<std::string> reads;
  for (const std::string& name : column.FileNames()) {
    reads.push_back(
        fmt::format("{}({}, {})", function, kRecord, QuoteLiteral("$." + QuoteIdentifier(name))));
  }
  return reads.size() == 1 ? reads.front() : "COALESCE(" + Join(reads, ", ") + ")";
}

// The field of `column` in the record, as JSON (NULL when absent).
std::string FieldJson(const Column& column) { return Extract("json_extract", column); }

// The field cast to the column's type; NULL when absent, null, or not castable.
std::string Cast(const Column& column) {
  if (column.type == "VARCHAR")  // text as is; other JSON values as their JSON text
    return Extract("json_extract_string", column);
  if (IsNested(column.type))
    return fmt::format("TRY_CAST({} AS {})", FieldJson(column), column.type);
  return fmt::format("TRY_CAST({} AS {})", Extract("json_extract_string", column), column.type);
}

// True when the record has a non-null value for the column that does not cast.
std::string Fails(const Column& column) {
  return fmt::format("({0} IS NOT NULL AND json_type({0}) <> 'NULL' AND {1} IS NULL)",
                     FieldJson(column), Cast(column));
}

std::string Source(const std::string& path) {
  return fmt::format("(SELECT json AS {} FROM read_ndjson_objects({}))", kRecord,
                     QuoteLiteral(path));
}

std::string AnyFails(const std::vector<Column>& columns) {
  std::vector<std::string> failures = {fmt::format("json_type({}) <> 'OBJECT'", kRecord)};
  for (const Column& column : columns) failures.push_back(Fails(column));
  return Join(failures, " OR ");
}

}  // namespace

std::vector<Column> ConversionColumns(const Schema& schema) {
  std::vector<Column> columns;
  for (const Column& column : schema.columns) {
    if (column.metadata.contains("raw_of")) continue;
    columns.push_back(column);
  }
  return columns;
}

std::string ConvertedRowsSql(const std::string& path, const std::vector<Column>& columns) {
  std::vector<std::string> projection;
  for (const Column& column : columns)
    projection.push_back(fmt::format("{} AS {}", Cast(column), QuoteIdentifier(column.name)));
  return fmt::format("SELECT {} FROM {} WHERE NOT ({})", Join(projection, ", "), Source(path),
                     AnyFails(columns));
}

std::string RejectedRowsSql(const std::string& path, const std::vector<Column>& columns) {
  std::vector<std::string> reasons = {
      fmt::format("CASE WHEN json_type({}) <> 'OBJECT' THEN 'not a JSON object' END", kRecord)};
  for (const Column& column : columns) {
    reasons.push_back(
        fmt::format("CASE WHEN {} THEN {} || CAST({} AS VARCHAR) || {} END", Fails(column),
                    QuoteLiteral(fmt::format("column {}: ", column.name)), FieldJson(column),
                    QuoteLiteral(fmt::format(" is not {}", column.type))));
  }
  return fmt::format("SELECT CAST({} AS VARCHAR), concat_ws('; ', {}) FROM {} WHERE {}", kRecord,
                     Join(reasons, ", "), Source(path), AnyFails(columns));
}

}  // namespace loch
