#pragma once
// CronSchedule: when a schedule fires, from a cron expression in a time zone.
//
//   "MIN HOUR DAY MONTH WEEKDAY"          five fields, as crontab(5)
//   "SEC MIN HOUR DAY MONTH WEEKDAY"      six: a seconds field first (as Quartz and Spring)
//   "@yearly" "@monthly" "@weekly" "@daily" "@hourly"
//
// A field is "*", or a comma-separated list of N, N-M, *, each with an optional "/STEP"; months
// and weekdays also take names (jan-dec, sun-sat; 0 and 7 are Sunday). As in Vixie cron, when both
// DAY and WEEKDAY are restricted, a day matching either fires. Times are civil times in the zone
// (IANA, e.g. "Europe/Paris"; tzdata): a time that a daylight-saving change skips fires at the
// first instant after the gap; a time it repeats fires once.
//
// Thread-safety: a CronSchedule is immutable.

#include <bitset>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/status.h"

namespace loch {

class CronSchedule {
 public:
  // InvalidArgument naming the field and what is wrong, or the unknown time zone.
  static absl::StatusOr<CronSchedule> Parse(std::string_view expression,
                                            std::string_view time_zone = "UTC");

  // The first instant strictly after `after` at which the schedule fires; absl::InfiniteFuture()
  // if none comes within eight years (e.g. "0 0 30 2 *").
  absl::Time Next(absl::Time after) const;

  const std::string& expression() const { return expression_; }
  const std::string& time_zone() const { return zone_name_; }

 private:
  CronSchedule() = default;
  bool DayMatches(const absl::CivilDay& day) const;

  std::string expression_;
  std::string zone_name_;
  absl::TimeZone zone_;
  std::bitset<60> seconds_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31
  std::bitset<13> months_;   // 1-12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool any_day_ = true;      // DAY was "*"
  bool any_weekday_ = true;  // WEEKDAY was "*"
};

}  // namespace loch
