#include "cli/progress.h"

#include <cmath>
#include <cstdlib>
#include <optional>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

std::string ShortDuration(double seconds) {
  seconds = std::max(seconds, 0.0);
  if (seconds < 10) return fmt::format("{:.1f}s", seconds);
  const int64_t whole = static_cast<int64_t>(std::ceil(seconds));
  if (whole < 60) return fmt::format("{}s", whole);
  if (whole < 3600) return fmt::format("{}m{:02}s", whole / 60, whole % 60);
  return fmt::format("{}h{:02}m", whole / 3600, whole % 3600 / 60);
}

std::string ProgressText(std::string_view what, double done, double total, double elapsed_seconds,
                         const std::function<std::string(double)>& amount, std::string_view unit) {
  // A count's noun follows its total: "3 of 10 files".
  const std::string_view noun = unit.substr(0, unit.rfind("/s"));
  std::string text = fmt::format("{}: {} of {}{}{}", what, amount(done), amount(total),
                                 noun.empty() ? "" : " ", noun);
  if (done <= 0 || elapsed_seconds <= 0.05) return text;
  const double rate = done / elapsed_seconds;
  text += unit.empty() ? fmt::format(", {}/s", amount(rate)) : fmt::format(", {:.1f} {}", rate, unit);
  if (total > done) text += fmt::format(", about {} left", ShortDuration((total - done) / rate));
  return text;
}

std::chrono::milliseconds ProgressInterval() {
  const char* text = std::getenv("LOCH_PROGRESS_INTERVAL_MS");
  const std::optional<int64_t> ms =
      text != nullptr ? ParseInteger(text, 1, 60000) : std::nullopt;
  return std::chrono::milliseconds(ms.value_or(250));
}

Ticker::Ticker(std::chrono::milliseconds interval, std::function<void(double)> tick) {
  thread_ = std::thread([this, interval, tick = std::move(tick)] {
    const auto start = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    while (!stop_.wait_for(lock, interval, [this] { return stopping_; })) {
      lock.unlock();
      try {  // (a progress line that cannot be written, e.g. to a closed terminal, is no error)
        tick(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      } catch (...) {
      }
      lock.lock();
    }
  });
}

Ticker::~Ticker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
}

}  // namespace loch
