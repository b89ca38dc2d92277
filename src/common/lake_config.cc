#include "common/lake_config.h"

#include <cstdlib>
#include <filesystem>

namespace loch {

absl::StatusOr<LakeLocation> ResolveLakeLocation(const std::optional<std::string>& flag_value) {
  std::string chosen = "lake";
  if (flag_value.has_value() && !flag_value->empty()) {
    chosen = *flag_value;
  } else if (const char* env = std::getenv("LOCH_LAKE"); env != nullptr && *env != '\0') {
    chosen = env;
  }
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(chosen, error);
  if (error) {
    return absl::InternalError("cannot resolve lake path \"" + chosen + "\": " + error.message());
  }
  std::string root = absolute.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return LakeLocation{root, root + "/.loch"};
}

}  // namespace loch
