#include "cli/progress.h"

#include <gtest/gtest.h>

#include <atomic>

#include "fmt/format.h"

namespace loch {
namespace {

std::string Count(double n) { return fmt::format("{}", static_cast<int64_t>(n)); }
std::string Mebibytes(double bytes) { return fmt::format("{:.0f} MiB", bytes / (1 << 20)); }

TEST(ProgressTest, SaysHowMuchIsDoneHowFastAndHowLongIsLeft) {
  EXPECT_EQ(ProgressText("loading", 3, 10, 1.5, Count, "files/s"),
            "loading: 3 of 10 files, 2.0 files/s, about 3.5s left");
  EXPECT_EQ(ProgressText("crawling", 100 << 20, 400 << 20, 10, Mebibytes),
            "crawling: 100 MiB of 400 MiB, 10 MiB/s, about 30s left");
  // Nothing done yet, or no time passed: no rate to tell.
  EXPECT_EQ(ProgressText("loading", 0, 10, 3, Count, "files/s"), "loading: 0 of 10 files");
  EXPECT_EQ(ProgressText("loading", 1, 10, 0, Count, "files/s"), "loading: 1 of 10 files");
  // Done: no time left.
  EXPECT_EQ(ProgressText("loading", 10, 10, 5, Count, "files/s"),
            "loading: 10 of 10 files, 2.0 files/s");
}

TEST(ProgressTest, ShortDurations) {
  EXPECT_EQ(ShortDuration(0), "0.0s");
  EXPECT_EQ(ShortDuration(3.24), "3.2s");
  EXPECT_EQ(ShortDuration(41.2), "42s");
  EXPECT_EQ(ShortDuration(72), "1m12s");
  EXPECT_EQ(ShortDuration(7500), "2h05m");
  EXPECT_EQ(ShortDuration(-1), "0.0s");
}

TEST(ProgressTest, TickerTicksUntilDestroyed) {
  std::atomic<int> ticks{0};
  std::atomic<double> last{0};
  {
    Ticker ticker(std::chrono::milliseconds(5), [&](double elapsed) {
      ++ticks;
      last = elapsed;
    });
    while (ticks < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int after = ticks;
  EXPECT_GT(last.load(), 0.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(ticks.load(), after);  // no tick after destruction
}

}  // namespace
}  // namespace loch
