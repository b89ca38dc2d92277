#pragma once
// Time helpers. All timestamps in loch are UTC microseconds since the Unix epoch.

#include <chrono>
#include <cstdint>
#include <string>

namespace loch {

// Current wall-clock time in microseconds since the epoch (UTC).
int64_t NowMicros();

// Formats microseconds since the epoch as ISO 8601 UTC, e.g. "2026-11-26T21:33:45.123456Z".
std::string FormatIsoMicros(int64_t micros);

// Monotonic stopwatch for measuring durations.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double ElapsedMillis() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace loch
