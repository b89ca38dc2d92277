#pragma once
// Columns whose files hold text but whose table type is another: datetimes written as text (see
// datetime_formats.h) and "lenient" numbers and booleans, a column that is almost all numbers
// with a few bad values among them (a CSV column, or a JSON key holding numbers and strings).
// Every loading path types such text the same way; a value that does not parse reads as NULL and
// its text stays in the column's raw companion (`<column>_raw`).
//
// The catalog keeps how in the column's metadata: "datetime_formats" (the formats' tokens) or
// "lenient": true (the type is BIGINT, DOUBLE or BOOLEAN); a raw companion has "raw_of" (the
// column whose text it shows) and its column "raw_column" (the companion's name).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/model.h"

namespace loch {

// The datetime formats a column's text is parsed with (empty if none).
std::vector<std::string> DatetimeFormatsOf(const Column& column);
// True if the column's files hold text that the table reads as the column's type.
bool ParsedFromText(const Column& column);
// For a raw companion column, the column whose text it shows.
std::optional<std::string> RawOf(const Column& column);

// SQL turning the text expression `text_sql` into `column`'s type (for a column ParsedFromText);
// NULL where the text does not parse. A typed value cast to text (a file that stores the column
// typed) always parses back to itself: datetimes fall back to ISO 8601 after their formats.
std::string ParseTextSql(const std::string& text_sql, const Column& column);

// The types a text column may be read as leniently, in order of preference.
const std::vector<std::string>& LenientTypes();
// True if a lenient column may have `type` (one of LenientTypes(), or what numbers widen to:
// other integer types, DECIMAL).
bool LenientTypeParses(const std::string& type);
// SQL reading the text `text_sql` as lenient `type` strictly: integers are digits with an optional
// sign and no leading zeros (as DuckDB's CSV reader decides: "007" stays text), never a rounded
// fraction; booleans what DuckDB reads as booleans (true/false, t/f, ...); other numbers what
// DuckDB casts, without leading zeros. NULL otherwise.
std::string LenientParseSql(const std::string& text_sql, const std::string& type);
// The lenient type for a text column of `sampled` non-null values, of which parsed_per_type[i]
// read as LenientTypes()[i]: the first that at least 90% of them read as; nullopt if none.
std::optional<std::string> ChooseLenientType(int64_t sampled,
                                             const std::vector<int64_t>& parsed_per_type);

// SQL over the first `sample` rows of `relation_sql` that returns a row per column of `columns`
// (non-empty) with values: the column's name, its non-null values, then per
// KnownDatetimeFormats() how many that format parses, then per LenientTypes() how many read as
// that type. With `group_column`, a row per its value and column, the group's value first.
std::string TextSampleSql(const std::string& relation_sql, const std::vector<std::string>& columns,
                          int64_t sample, const std::string& group_column = "");
// Counts TextSampleSql returns per row (after the group value and the name).
size_t TextSampleCountsPerColumn();

}  // namespace loch
