#include "common/logging.h"

#include <cstdlib>
#include <mutex>

#include "spdlog/sinks/stdout_color_sinks.h"

namespace loch {

void InitLogging(const char* default_level) {
  static std::once_flag once;
  std::call_once(once, [] {
    auto logger = spdlog::stderr_color_mt("loch");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    spdlog::set_default_logger(logger);
  });
  const char* env = std::getenv("LOCH_LOG_LEVEL");
  spdlog::set_level(spdlog::level::from_str(env != nullptr ? env : default_level));
}

}  // namespace loch
