// A cron schedule as job and crawler definitions carry it (common/cron.h): the expression on the
// first line, the time zone on the second, both the client's to lie about. Parsing must refuse
// with a status, never crash; a schedule that parses must answer Next without looping forever.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view expression = input.substr(0, newline);
  const std::string_view zone =
      newline == std::string_view::npos ? "UTC" : input.substr(newline + 1);
  auto schedule = loch::CronSchedule::Parse(expression, zone);
  if (!schedule.ok()) return 0;
  absl::Time at = absl::FromUnixSeconds(1796212376);
  for (int i = 0; i < 3 && at != absl::InfiniteFuture(); ++i) at = schedule->Next(at);
  return 0;
}
