#pragma once
// Progress of long CLI work, shown on stderr through ShowProgress (only when a person watches).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace loch {

// "loading: 3 of 10 files, 2.1 files/s, about 4s left" (a count, `unit` "files/s") or "crawling:
// 1.2 GiB of 4 GiB, 40 MiB/s, about 1m12s left" (`amount` writes bytes, no `unit`). The rate and
// time left appear once something is done and time has passed.
std::string ProgressText(std::string_view what, double done, double total, double elapsed_seconds,
                         const std::function<std::string(double)>& amount,
                         std::string_view unit = "");

// "3.2s", "42s", "1m12s", "2h05m".
std::string ShortDuration(double seconds);

// Calls `tick(elapsed seconds)` every `interval` on its own thread (the first after one interval)
// until it is destroyed, for work that cannot report by itself (a query running inside DuckDB).
// `tick` runs on that thread; what it throws is dropped.
//
// The interval of the CLI's progress lines (ProgressInterval) is 250 ms; LOCH_PROGRESS_INTERVAL_MS
// changes it (tests use it to see a line for sure).
std::chrono::milliseconds ProgressInterval();
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void(double elapsed_seconds)> tick);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loch
