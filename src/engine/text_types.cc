#include "engine/text_types.h"

#include <algorithm>

#include "common/strings.h"
#include "engine/datetime_formats.h"
#include "fmt/format.h"

namespace loch {

std::vector<std::string> DatetimeFormatsOf(const Column& column) {
  std::vector<std::string> formats;
  if (auto it = column.metadata.find("datetime_formats");
      it != column.metadata.end() && it->is_array()) {
    for (const auto& format : *it) {
      if (format.is_string()) formats.push_back(format.get<std::string>());
    }
  }
  return formats;
}

bool ParsedFromText(const Column& column) {
  return !DatetimeFormatsOf(column).empty() || column.metadata.value("lenient", false);
}

std::optional<std::string> RawOf(const Column& column) {
  if (auto it = column.metadata.find("raw_of"); it != column.metadata.end() && it->is_string())
    return it->get<std::string>();
  return std::nullopt;
}

std::string ParseTextSql(const std::string& text_sql, const Column& column) {
  if (std::vector<std::string> formats = DatetimeFormatsOf(column); !formats.empty()) {
    // Last, ISO 8601: how a value some file stores typed (a Parquet TIMESTAMP) reads as text. It
    // can only parse what the formats did not, so ranges measured with the formats still hold
    // for files whose every value they parsed (other files' ranges are not used).
    if (std::find(formats.begin(), formats.end(), "iso8601") == formats.end())
      formats.push_back("iso8601");
    return DatetimeParseSql(text_sql, formats, column.type);
  }
  return LenientParseSql(text_sql, column.type);
}

const std::vector<std::string>& LenientTypes() {
  static const auto* types = new std::vector<std::string>{"BIGINT", "DOUBLE", "BOOLEAN"};
  return *types;
}

namespace {

bool IsIntegerType(const std::string& type) {
  return type == "TINYINT" || type == "SMALLINT" || type == "INTEGER" || type == "BIGINT" ||
         type == "HUGEINT";
}

}  // namespace

bool LenientTypeParses(const std::string& type) {
  return IsIntegerType(type) || type == "DOUBLE" || type == "BOOLEAN" ||
         type.starts_with("DECIMAL");
}

std::string LenientParseSql(const std::string& text_sql, const std::string& type) {
  if (IsIntegerType(type)) {
    return fmt::format(
        "CASE WHEN regexp_full_match({0}, '[-+]?(0|[1-9][0-9]*)') THEN TRY_CAST({0} AS {1}) "
        "END",
        text_sql, type);
  }
  if (type == "BOOLEAN") {
    // As DuckDB reads booleans (its CSV reader types t/f columns BOOLEAN), but not numbers: a
    // column of 0/1 is an integer column.
    return fmt::format(
        "CASE WHEN NOT regexp_matches({0}, '^[-+]?[0-9]') THEN TRY_CAST({0} AS BOOLEAN) END",
        text_sql);
  }
  // Text DuckDB reads as a number, but not ones with leading zeros (identifiers, as for BIGINT).
  return fmt::format(
      "CASE WHEN NOT regexp_matches({0}, '^[-+]?0[0-9]') THEN TRY_CAST({0} AS {1}) END", text_sql,
      type);
}

std::optional<std::string> ChooseLenientType(int64_t sampled,
                                             const std::vector<int64_t>& parsed_per_type) {
  if (sampled <= 0) return std::nullopt;
  for (size_t i = 0; i < LenientTypes().size() && i < parsed_per_type.size(); ++i) {
    if (parsed_per_type[i] * 10 >= sampled * 9) return LenientTypes()[i];
  }
  return std::nullopt;
}

std::string TextSampleSql(const std::string& relation_sql, const std::vector<std::string>& columns,
                          int64_t sample, const std::string& group_column) {
  // The columns are unpivoted into (name, text) rows, so the query has the same few expressions
  // however many columns it counts (DuckDB plans a query's expressions in time that grows faster
  // than their number, and a file may have thousands of columns).
  constexpr const char* kName = "__loch_column";
  constexpr const char* kText = "__loch_text";
  std::vector<std::string> projected, unpivoted;
  if (!group_column.empty()) projected.push_back(QuoteIdentifier(group_column));
  for (const std::string& column : columns) {
    projected.push_back(fmt::format("CAST({0} AS VARCHAR) AS {0}", QuoteIdentifier(column)));
    unpivoted.push_back(QuoteIdentifier(column));
  }
  std::vector<std::string> keys;
  if (!group_column.empty()) keys.push_back(QuoteIdentifier(group_column));
  keys.push_back(kName);
  std::vector<std::string> counts = keys;
  const std::string text = fmt::format("trim({})", kText);
  counts.push_back(fmt::format("count({})", kText));
  for (const DatetimeFormat& format : KnownDatetimeFormats())
    counts.push_back(fmt::format("count({})", DatetimeParseSql(text, {format.token}, "TIMESTAMP")));
  for (const std::string& type : LenientTypes())
    counts.push_back(fmt::format("count({})", LenientParseSql(text, type)));
  return fmt::format(
      "SELECT {} FROM (UNPIVOT (SELECT {} FROM {} LIMIT {}) ON {} INTO NAME {} VALUE {}) "
      "GROUP BY {}",
      Join(counts, ", "), Join(projected, ", "), relation_sql, sample, Join(unpivoted, ", "), kName,
      kText, Join(keys, ", "));
}

size_t TextSampleCountsPerColumn() {
  return 1 + KnownDatetimeFormats().size() + LenientTypes().size();
}

}  // namespace loch
