#include "engine/datetime_formats.h"

#include <algorithm>
#include <numeric>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

const std::vector<DatetimeFormat>& KnownDatetimeFormats() {
  constexpr NumericOrder kMonthFirst = NumericOrder::kMonthFirst;
  constexpr NumericOrder kDayFirst = NumericOrder::kDayFirst;
  static const auto* formats = new std::vector<DatetimeFormat>{
      {"iso8601_date", "ISO 8601 date (yyyy-MM-dd)", true},
      {"iso8601", "ISO 8601 (yyyy-MM-ddTHH:mm:ss[.fff][Z|+hh:mm])", false},
      {"%d/%b/%Y:%H:%M:%S %z", "Apache log (dd/MMM/yyyy:HH:mm:ss Z)", false},
      {"%a, %d %b %Y %H:%M:%S %z", "RFC 2822 (EEE, dd MMM yyyy HH:mm:ss Z)", false},
      {"%a, %d %b %Y %H:%M:%S GMT", "HTTP date (EEE, dd MMM yyyy HH:mm:ss GMT)", false},
      {"%m/%d/%Y %H:%M:%S", "US date and time (MM/dd/yyyy HH:mm:ss)", false, kMonthFirst},
      {"%m/%d/%Y %I:%M:%S %p", "US date and time, 12-hour (MM/dd/yyyy hh:mm:ss a)", false,
       kMonthFirst},
      {"%m/%d/%Y", "US date (MM/dd/yyyy)", true, kMonthFirst},
      {"%d/%m/%Y %H:%M:%S", "day-first date and time (dd/MM/yyyy HH:mm:ss)", false, kDayFirst},
      {"%d/%m/%Y", "day-first date (dd/MM/yyyy)", true, kDayFirst},
      {"%d.%m.%Y %H:%M:%S", "dotted date and time (dd.MM.yyyy HH:mm:ss)", false},
      {"%d.%m.%Y", "dotted date (dd.MM.yyyy)", true},
      {"%m-%d-%Y", "US dashed date (MM-dd-yyyy)", true, kMonthFirst},
      {"%d-%m-%Y", "day-first dashed date (dd-MM-yyyy)", true, kDayFirst},
      {"%Y/%m/%d %H:%M:%S", "yyyy/MM/dd HH:mm:ss", false},
      {"%Y/%m/%d", "yyyy/MM/dd", true},
      {"%b %d %Y", "month-name date (MMM d yyyy)", true},
      {"%b %d, %Y", "month-name date (MMM d, yyyy)", true},
      {"%B %d %Y", "month-name date (MMMM d yyyy)", true},
      {"%B %d, %Y", "month-name date (MMMM d, yyyy)", true},
      {"%d %b %Y", "day month-name year (d MMM yyyy)", true},
      {"%b %d %Y %H:%M:%S", "month-name date and time (MMM d yyyy HH:mm:ss)", false},
      {"epoch_s", "Unix epoch seconds", false},
      {"epoch_ms", "Unix epoch milliseconds", false},
  };
  return *formats;
}

namespace {

NumericOrder OrderOf(const std::string& token) {
  for (const DatetimeFormat& format : KnownDatetimeFormats()) {
    if (format.token == token) return format.order;
  }
  return NumericOrder::kUnambiguous;
}

bool HasOrder(const std::vector<std::string>& tokens, NumericOrder order) {
  return std::any_of(tokens.begin(), tokens.end(),
                     [&](const std::string& token) { return OrderOf(token) == order; });
}

}  // namespace

bool DatetimeFormatsConflict(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  using enum NumericOrder;
  return (HasOrder(a, kMonthFirst) && HasOrder(b, kDayFirst)) ||
         (HasOrder(a, kDayFirst) && HasOrder(b, kMonthFirst));
}

std::string DatetimeFormatLabel(const std::string& token) {
  for (const DatetimeFormat& format : KnownDatetimeFormats()) {
    if (format.token == token) return format.label;
  }
  return token;
}

std::string DatetimeTypeFor(const std::vector<std::string>& tokens) {
  const bool all_dates =
      !tokens.empty() && std::all_of(tokens.begin(), tokens.end(), [](const std::string& t) {
        const auto& known = KnownDatetimeFormats();
        auto it =
            std::find_if(known.begin(), known.end(), [&](const auto& f) { return f.token == t; });
        return it != known.end() && it->date_only;
      });
  return all_dates ? "DATE" : "TIMESTAMP";
}

namespace {

// One format applied to `text_sql`, as a TIMESTAMP (UTC). Epochs count only between 2000 and
// 2100.
std::string ParseOne(const std::string& text_sql, const std::string& token) {
  if (token == "iso8601") {
    // Only dash-separated dates: TRY_CAST alone would also read other shapes.
    return fmt::format(
        "CASE WHEN regexp_matches({0}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN "
        "CAST(TRY_CAST({0} AS TIMESTAMPTZ) AS TIMESTAMP) END",
        text_sql);
  }
  if (token == "iso8601_date") {
    return fmt::format(
        "CASE WHEN regexp_full_match({0}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN "
        "CAST(TRY_CAST({0} AS DATE) AS TIMESTAMP) END",
        text_sql);
  }
  if (token == "epoch_s") {
    return fmt::format(
        "CASE WHEN regexp_full_match({0}, '[0-9]{{9,10}}') AND "
        "TRY_CAST({0} AS BIGINT) BETWEEN 946684800 AND 4102444800 THEN "
        "CAST(to_timestamp(TRY_CAST({0} AS DOUBLE)) AS TIMESTAMP) END",
        text_sql);
  }
  if (token == "epoch_ms") {
    return fmt::format(
        "CASE WHEN regexp_full_match({0}, '[0-9]{{12,13}}') AND "
        "TRY_CAST({0} AS BIGINT) BETWEEN 946684800000 AND 4102444800000 THEN "
        "epoch_ms(TRY_CAST({0} AS BIGINT)) END",
        text_sql);
  }
  return fmt::format("CAST(try_strptime({}, {}) AS TIMESTAMP)", text_sql, QuoteLiteral(token));
}

}  // namespace

std::string DatetimeParseSql(const std::string& text_sql, const std::vector<std::string>& tokens,
                             const std::string& type) {
  std::vector<std::string> parts;
  for (const std::string& token : tokens) parts.push_back(ParseOne(text_sql, token));
  if (parts.empty()) return fmt::format("CAST(NULL AS {})", type);
  const std::string any = parts.size() == 1 ? parts[0] : "coalesce(" + Join(parts, ", ") + ")";
  return fmt::format("CAST({} AS {})", any, type);
}

namespace {

bool NamedLikeATime(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* hint : {"time", "date", "epoch", "created", "updated", "modified"}) {
    if (lower.find(hint) != std::string::npos) return true;
  }
  return lower == "ts" || lower.ends_with("_ts") || lower.starts_with("ts_") ||
         lower.ends_with("_at") || lower.ends_with("_on");
}

}  // namespace

std::vector<std::string> ChooseDatetimeFormats(const std::string& column_name, int64_t sampled,
                                               const std::vector<int64_t>& parsed_per_format) {
  const auto& known = KnownDatetimeFormats();
  const bool epochs_allowed = NamedLikeATime(column_name);
  std::vector<size_t> order;
  for (size_t i = 0; i < std::min(known.size(), parsed_per_format.size()); ++i) {
    const bool epoch = known[i].token.starts_with("epoch_");
    if (parsed_per_format[i] > 0 && (!epoch || epochs_allowed)) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return parsed_per_format[a] > parsed_per_format[b]; });
  std::vector<std::string> chosen;
  if (sampled <= 0 || order.empty() || parsed_per_format[order[0]] * 2 < sampled) return chosen;
  // ISO 8601 reads every ISO date too: the column is of dates if ISO 8601 reads no other values,
  // else of timestamps (then the date-only format is not needed).
  auto index_of = [&](const char* token) {
    return static_cast<size_t>(
        std::find_if(known.begin(), known.end(), [&](const auto& f) { return f.token == token; }) -
        known.begin());
  };
  const size_t iso_date = index_of("iso8601_date"), iso = index_of("iso8601");
  const bool only_dates = std::max(iso, iso_date) < parsed_per_format.size() &&
                          parsed_per_format[iso] == parsed_per_format[iso_date];
  std::erase(order, only_dates ? iso : iso_date);
  for (size_t index : order) {
    if (parsed_per_format[index] * 20 < sampled) break;
    if (DatetimeFormatsConflict(chosen, {known[index].token})) continue;
    chosen.push_back(known[index].token);
  }
  return chosen;
}

}  // namespace loch
