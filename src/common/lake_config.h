#pragma once
// Where a lake lives and where its local state is kept.

#include <optional>
#include <string>

#include "common/status.h"

namespace loch {

struct LakeLocation {
  std::string root;       // the lake's root directory (absolute)
  std::string state_dir;  // local state: catalog, WAL, caches; <root>/.loch for a local lake

  std::string CatalogPath() const { return state_dir + "/catalog.sqlite"; }
};

// Resolves the lake location from, in order: the explicit `--lake` flag value, the LOCH_LAKE
// environment variable, or "./lake". The result is an absolute, normalised path. Fails only if the
// current directory cannot be determined.
absl::StatusOr<LakeLocation> ResolveLakeLocation(const std::optional<std::string>& flag_value);

}  // namespace loch
