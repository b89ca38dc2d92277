#include "common/status.h"

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), fmt::format("{}: {}", context, ToStd(status.message())));
}

}  // namespace loch
