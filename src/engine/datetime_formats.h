#pragma once
// Datetimes written as text: the formats loch recognises in string columns, how it chooses them
// from sample values, and the SQL that parses them when a table is queried.
//
// A format is a token: "iso8601" (ISO 8601 / RFC 3339 with or without a zone and fractions, and
// `yyyy-MM-dd HH:mm:ss`), "epoch_s" / "epoch_ms" (digits only: seconds or milliseconds since
// 1970), or a strptime pattern (RFC 2822, US `MM/dd/yyyy`, Apache log `dd/MMM/yyyy:HH:mm:ss Z`,
// month-name dates like `Jun 12 1998`, ...). Times with a zone are converted to UTC. A column's
// type is DATE when all of its formats are date-only, TIMESTAMP otherwise. A value no format
// parses reads as NULL (its text stays available in the column's raw companion).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loch {

// Which comes first in an all-numeric date like 03/04/2024, when the format has a counterpart with
// the other order: the two read the same text as different dates.
enum class NumericOrder { kUnambiguous, kMonthFirst, kDayFirst };

struct DatetimeFormat {
  std::string token;  // "iso8601", "epoch_s", "epoch_ms" or a strptime pattern
  std::string label;  // for people, e.g. "Apache log (dd/MMM/yyyy:HH:mm:ss Z)"
  bool date_only = false;
  NumericOrder order = NumericOrder::kUnambiguous;
};

// Every format detection tries, in order of preference (ties go to the earlier one).
const std::vector<DatetimeFormat>& KnownDatetimeFormats();

// The label of `token` (the token itself if unknown).
std::string DatetimeFormatLabel(const std::string& token);

// "DATE" if every format in `tokens` is date-only, else "TIMESTAMP".
std::string DatetimeTypeFor(const std::vector<std::string>& tokens);

// SQL turning the VARCHAR expression `text_sql` into `type` with the first of `tokens` that parses
// it; NULL if none does.
std::string DatetimeParseSql(const std::string& text_sql, const std::vector<std::string>& tokens,
                             const std::string& type);

// True if some format of `a` reads dates month-first and some of `b` day-first, or the other way
// round: one column must not have both (03/04/2024 would read as whichever comes first).
bool DatetimeFormatsConflict(const std::vector<std::string>& a, const std::vector<std::string>& b);

// Chooses formats for column `column_name` from its sample counts: nothing unless some format
// parses at least half of the values; then every format parsing at least 5% of them, most values
// first, except formats whose numeric order conflicts with one chosen before (month-first wins
// ties: day-first is chosen when values like 31/12/2024 show it). Epoch formats count only for
// columns named like times (…_at, ts, time, date, epoch, …), so that ids and phone numbers stay
// text.
std::vector<std::string> ChooseDatetimeFormats(const std::string& column_name, int64_t sampled,
                                               const std::vector<int64_t>& parsed_per_format);

}  // namespace loch
