#include "common/guarded.h"

#include <exception>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace loch {

absl::Status RunGuarded(std::string_view what, const std::function<void()>& body) {
  std::string failure;
  try {
    body();
    return absl::OkStatus();
  } catch (const std::exception& exception) {
    failure = exception.what();
  } catch (...) {
    failure = "an exception of unknown type";
  }
  spdlog::error("{} stopped by an unexpected exception (a bug; the server keeps running): {}", what,
                failure);
  return absl::InternalError(
      fmt::format("{} failed unexpectedly: {} (a bug in loch; it was logged)", what, failure));
}

}  // namespace loch
