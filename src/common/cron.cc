#include "common/cron.h"

#include <array>
#include <optional>
#include <regex>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr size_t kMaxExpressionBytes = 256;

struct FieldSpec {
  const char* name;
  int low, high;
  const std::vector<std::string>* names;  // names[i] stands for low + i (nullptr: none)
};

const std::vector<std::string> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                              "jul", "aug", "sep", "oct", "nov", "dec"};
const std::vector<std::string> kWeekdayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::optional<int> Number(std::string_view text, const FieldSpec& spec) {
  if (spec.names != nullptr && text.size() == 3) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (size_t i = 0; i < spec.names->size(); ++i) {
      if ((*spec.names)[i] == lower) return spec.low + static_cast<int>(i);
    }
  }
  const std::optional<int64_t> value = ParseInteger(text, 0, 99);
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

// Sets in `bits` (indexed by value) the values `text` names. `high` may be exceeded by one for
// weekdays (7 is Sunday), folded by the caller.
template <size_t N>
absl::Status ParseField(std::string_view text, const FieldSpec& spec, int high,
                        std::bitset<N>& bits, bool& any) {
  auto error = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        fmt::format("cron field {} \"{}\": {}", spec.name, text, what));
  };
  any = text.starts_with('*');  // as Vixie cron: "*/2" is unrestricted for the day-or-weekday rule
  for (std::string_view part : Split(text, ',')) {
    int step = 1;
    if (const size_t slash = part.find('/'); slash != std::string_view::npos) {
      const std::optional<int64_t> parsed = ParseInteger(part.substr(slash + 1), 1, 99);
      if (!parsed) return error("a step is a whole number from 1 to 99");
      step = static_cast<int>(*parsed);
      part = part.substr(0, slash);
    }
    int from = spec.low, to = high;
    if (part != "*") {
      const size_t dash = part.find('-');
      const std::optional<int> first = Number(part.substr(0, dash), spec);
      if (!first) return error(fmt::format("\"{}\" is not a value", part.substr(0, dash)));
      from = to = *first;
      if (dash != std::string_view::npos) {
        const std::optional<int> last = Number(part.substr(dash + 1), spec);
        if (!last) return error(fmt::format("\"{}\" is not a value", part.substr(dash + 1)));
        to = *last;
      } else if (step != 1) {
        to = high;  // "N/STEP": from N to the end
      }
    }
    if (from < spec.low || to > high || from > to) {
      return error(fmt::format("values run from {} to {}", spec.low, spec.high));
    }
    for (int value = from; value <= to; value += step) bits.set(static_cast<size_t>(value));
  }
  if (bits.none()) return error("names no value");
  return absl::OkStatus();
}

int Weekday(const absl::CivilDay& day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::sunday:
      return 0;
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
  }
  return 0;
}

}  // namespace

absl::StatusOr<CronSchedule> CronSchedule::Parse(std::string_view expression,
                                                 std::string_view time_zone) {
  if (expression.size() > kMaxExpressionBytes) {
    return absl::InvalidArgumentError(
        fmt::format("a cron expression is at most {} bytes", kMaxExpressionBytes));
  }
  CronSchedule schedule;
  schedule.expression_ = std::string(expression);
  schedule.zone_name_ = std::string(time_zone);
  // Only names (Area/Location): the loader also takes paths, and reading a FIFO or a device
  // would block the caller.
  static const std::regex kZoneName("[A-Za-z0-9_+-]{1,32}(/[A-Za-z0-9_+-]{1,32}){0,2}");
  if (!std::regex_match(std::string(time_zone), kZoneName) ||
      !absl::LoadTimeZone(std::string(time_zone), &schedule.zone_)) {
    return absl::InvalidArgumentError(fmt::format(
        "unknown time zone \"{}\"; use an IANA name such as UTC or Europe/Paris", time_zone));
  }
  static const std::array<std::pair<std::string_view, std::string_view>, 5> kMacros = {{
      {"@yearly", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  std::string_view text = expression;
  for (const auto& [macro, meaning] : kMacros) {
    if (expression == macro) text = meaning;
  }
  std::vector<std::string_view> fields;
  for (std::string_view field : Split(text, ' ')) {
    if (!field.empty()) fields.push_back(field);
  }
  if (fields.size() != 5 && fields.size() != 6) {
    return absl::InvalidArgumentError(fmt::format(
        "cron expression \"{}\": write MIN HOUR DAY MONTH WEEKDAY (or a seconds field first), "
        "e.g. \"0 * * * *\" for every hour, or @hourly, @daily, @weekly, @monthly, @yearly",
        expression));
  }
  if (fields.size() == 5) {
    schedule.seconds_.set(0);
  } else {
    bool ignored = false;
    RETURN_IF_ERROR(ParseField(fields[0], {"SEC", 0, 59, nullptr}, 59, schedule.seconds_, ignored));
    fields.erase(fields.begin());
  }
  bool ignored = false;
  RETURN_IF_ERROR(ParseField(fields[0], {"MIN", 0, 59, nullptr}, 59, schedule.minutes_, ignored));
  RETURN_IF_ERROR(ParseField(fields[1], {"HOUR", 0, 23, nullptr}, 23, schedule.hours_, ignored));
  RETURN_IF_ERROR(
      ParseField(fields[2], {"DAY", 1, 31, nullptr}, 31, schedule.days_, schedule.any_day_));
  RETURN_IF_ERROR(
      ParseField(fields[3], {"MONTH", 1, 12, &kMonthNames}, 12, schedule.months_, ignored));
  std::bitset<8> weekdays;
  RETURN_IF_ERROR(
      ParseField(fields[4], {"WEEKDAY", 0, 7, &kWeekdayNames}, 7, weekdays, schedule.any_weekday_));
  for (size_t day = 0; day < 7; ++day) schedule.weekdays_[day] = weekdays[day];
  if (weekdays[7]) schedule.weekdays_.set(0);  // 7 is Sunday too
  return schedule;
}

bool CronSchedule::DayMatches(const absl::CivilDay& day) const {
  const bool day_ok = days_[static_cast<size_t>(day.day())];
  const bool weekday_ok = weekdays_[static_cast<size_t>(Weekday(day))];
  // As Vixie cron: both restricted (neither starts with "*"): either; otherwise both.
  if (any_day_ || any_weekday_) return day_ok && weekday_ok;
  return day_ok || weekday_ok;
}

absl::Time CronSchedule::Next(absl::Time after) const {
  const absl::CivilSecond start = absl::ToCivilSecond(after, zone_) + 1;
  const absl::CivilYear last_year = absl::CivilYear(start) + 8;
  absl::CivilSecond t = start;
  // Each step moves to the next candidate of the coarsest field that does not match; the loop
  // ends within eight years (at most ~8 * (12 + 366 + 366 * 24 + ...) steps, far fewer in
  // practice).
  while (absl::CivilYear(t) <= last_year) {
    if (!months_[static_cast<size_t>(t.month())]) {
      t = absl::CivilSecond(absl::CivilMonth(t) + 1);
      continue;
    }
    if (!DayMatches(absl::CivilDay(t))) {
      t = absl::CivilSecond(absl::CivilDay(t) + 1);
      continue;
    }
    if (!hours_[static_cast<size_t>(t.hour())]) {
      t = absl::CivilSecond(absl::CivilHour(t) + 1);
      continue;
    }
    if (!minutes_[static_cast<size_t>(t.minute())]) {
      t = absl::CivilSecond(absl::CivilMinute(t) + 1);
      continue;
    }
    if (!seconds_[static_cast<size_t>(t.second())]) {
      t += 1;
      continue;
    }
    // A civil time that a daylight-saving change skips fires at the change; a repeated one at its
    // first occurrence.
    const absl::TimeZone::TimeInfo info = zone_.At(t);
    const absl::Time when = info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
    if (when > after) return when;
    t += 1;  // a repeated civil time already passed (after a daylight-saving change)
  }
  return absl::InfiniteFuture();
}

}  // namespace loch
