#include "common/cron.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace loch {
namespace {

using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

std::string NextUtc(const std::string& expression, absl::Time after,
                    const std::string& zone = "UTC") {
  auto schedule = CronSchedule::Parse(expression, zone);
  EXPECT_TRUE(schedule.ok()) << schedule.status();
  if (!schedule.ok()) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", schedule->Next(after), absl::UTCTimeZone());
}

TEST(CronTest, FieldsListsRangesStepsAndNames) {
  const absl::Time t = Utc(2026, 12, 2, 10, 17, 30);  // a Wednesday
  EXPECT_EQ(NextUtc("* * * * *", t), "2026-12-02 10:18:00");
  EXPECT_EQ(NextUtc("0 * * * *", t), "2026-12-02 11:00:00");
  EXPECT_EQ(NextUtc("*/15 * * * *", t), "2026-12-02 10:30:00");
  EXPECT_EQ(NextUtc("5,10-12 9 * * *", t), "2026-12-03 09:05:00");
  EXPECT_EQ(NextUtc("30 8 * * mon-fri", t), "2026-12-03 08:30:00");
  EXPECT_EQ(NextUtc("0 0 * * sun", t), "2026-12-06 00:00:00");
  EXPECT_EQ(NextUtc("0 0 * * 7", t), "2026-12-06 00:00:00");  // 7 is Sunday too
  EXPECT_EQ(NextUtc("0 0 1 jan *", t), "2027-01-01 00:00:00");
  EXPECT_EQ(NextUtc("@monthly", t), "2027-01-01 00:00:00");
  EXPECT_EQ(NextUtc("@hourly", t), "2026-12-02 11:00:00");
  EXPECT_EQ(NextUtc("0 12 29 2 *", t), "2028-02-29 12:00:00");     // the next leap day
  EXPECT_EQ(NextUtc("*/20 * * * * *", t), "2026-12-02 10:17:40");  // a seconds field
  // Day and weekday both restricted: either fires (the 5th, or a Monday).
  EXPECT_EQ(NextUtc("0 0 5 * mon", t), "2026-12-05 00:00:00");
  EXPECT_EQ(NextUtc("0 0 1 * mon", Utc(2026, 12, 5, 0, 0)), "2026-12-07 00:00:00");
  // A field starting with "*" counts as unrestricted: then both must match (an odd day, a Monday).
  EXPECT_EQ(NextUtc("0 0 */2 * mon", t), "2026-12-07 00:00:00");
  EXPECT_EQ(NextUtc("0 0 */2 * mon", Utc(2026, 12, 7, 1, 0)), "2026-12-21 00:00:00");
  // Strictly after: a time that matches now fires next time.
  EXPECT_EQ(NextUtc("0 * * * *", Utc(2026, 12, 2, 10, 0)), "2026-12-02 11:00:00");
}

TEST(CronTest, TimeZonesAndDaylightSavingChanges) {
  // 09:00 in Paris is 08:00 UTC in winter.
  EXPECT_EQ(NextUtc("0 9 * * *", Utc(2026, 12, 2, 10, 0), "Europe/Paris"), "2026-12-03 08:00:00");
  // 2027-03-28 02:30 does not exist in Paris (02:00 -> 03:00): it fires at the change.
  EXPECT_EQ(NextUtc("30 2 * * *", Utc(2027, 3, 27, 12, 0), "Europe/Paris"), "2027-03-28 01:00:00");
  // 2026-10-25 02:30 happens twice in Paris: it fires once, at the first.
  const absl::Time first = Utc(2026, 10, 25, 0, 30);
  EXPECT_EQ(NextUtc("30 2 * * *", Utc(2026, 10, 24, 12, 0), "Europe/Paris"), "2026-10-25 00:30:00");
  EXPECT_EQ(NextUtc("30 2 * * *", first, "Europe/Paris"), "2026-10-26 01:30:00");
}

TEST(CronTest, ANeverMatchingScheduleHasNoNextTime) {
  auto never = CronSchedule::Parse("0 0 30 2 *");
  ASSERT_TRUE(never.ok());
  EXPECT_EQ(never->Next(Utc(2026, 1, 1, 0, 0)), absl::InfiniteFuture());
}

TEST(CronTest, BadExpressionsNameWhatIsWrong) {
  for (const auto& [expression, expected] :
       std::vector<std::pair<std::string, std::string>>{{"", "MIN HOUR DAY MONTH WEEKDAY"},
                                                        {"* * * *", "MIN HOUR DAY MONTH WEEKDAY"},
                                                        {"60 * * * *", "MIN"},
                                                        {"* 24 * * *", "HOUR"},
                                                        {"* * 0 * *", "DAY"},
                                                        {"* * * 13 *", "MONTH"},
                                                        {"* * * * 8", "WEEKDAY"},
                                                        {"* * * * xyz", "WEEKDAY"},
                                                        {"*/0 * * * *", "step"},
                                                        {"5-1 * * * *", "MIN"},
                                                        {"1,,2 * * * *", "MIN"},
                                                        {"@often", "MIN HOUR"},
                                                        {std::string(300, '*'), "at most"}}) {
    auto parsed = CronSchedule::Parse(expression);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << expression;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(expected)) << expression;
  }
  auto zone = CronSchedule::Parse("* * * * *", "Mars/Olympus");
  EXPECT_THAT(std::string(zone.status().message()), HasSubstr("unknown time zone"));
  for (const char* path :
       {"../../etc/passwd", "/etc/localtime", "file:/dev/tty", "/proc/self/fd/0"}) {
    EXPECT_FALSE(CronSchedule::Parse("* * * * *", path).ok()) << path;
  }
  EXPECT_TRUE(CronSchedule::Parse("* * * * *", "America/Argentina/Buenos_Aires").ok());
}

}  // namespace
}  // namespace loch
