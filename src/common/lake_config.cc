#include "common/lake_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

std::optional<std::string> NonEmpty(const std::optional<std::string>& flag, const char* env_name) {
  if (flag.has_value() && !flag->empty()) return flag;
  if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0')
    return std::string(env);
  return std::nullopt;
}

absl::StatusOr<std::string> AbsolutePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error)
    return absl::InternalError(
        fmt::format("cannot resolve path \"{}\": {}", path, error.message()));
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

}  // namespace

absl::StatusOr<LakeLocation> ResolveLakeLocation(const std::optional<std::string>& lake_flag,
                                                 const std::optional<std::string>& state_flag) {
  std::optional<std::string> state = NonEmpty(state_flag, "LOCH_STATE");
  std::optional<std::string> lake = NonEmpty(lake_flag, "LOCH_LAKE");
  LakeLocation location;
  if (state.has_value()) {
    ASSIGN_OR_RETURN(location.state_dir, AbsolutePath(*state));
  }
  if (!lake.has_value() && state.has_value()) {
    std::ifstream settings(location.SettingsPath());
    if (settings) {
      auto json = nlohmann::json::parse(settings, nullptr, /*allow_exceptions=*/false);
      if (json.is_object() && json.contains("lake")) lake = json["lake"].get<std::string>();
    }
  }
  const std::string chosen = lake.value_or("lake");
  if (chosen.starts_with("s3://")) {
    location.root = chosen;
    while (location.root.size() > 5 && location.root.back() == '/') location.root.pop_back();
    if (location.state_dir.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("the lake {} is on S3; its catalog and caches need a local state folder: "
                      "pass --state DIR "
                      "(or set LOCH_STATE)",
                      chosen));
    }
    return location;
  }
  ASSIGN_OR_RETURN(location.root, AbsolutePath(chosen));
  if (location.state_dir.empty()) location.state_dir = location.root + "/.loch";
  return location;
}

}  // namespace loch
