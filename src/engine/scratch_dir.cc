#include "engine/scratch_dir.h"

#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "fmt/format.h"

namespace loch {

absl::StatusOr<std::unique_ptr<ScratchDir>> ScratchDir::Make(const std::string& parent,
                                                             std::string_view purpose) {
  auto dir = std::unique_ptr<ScratchDir>(
      new ScratchDir(fmt::format("{}/.loch-tmp-{}-{}", parent, purpose, NewTimeOrderedId())));
  std::error_code error;
  std::filesystem::create_directories(dir->path_, error);
  if (error) {
    return absl::InternalError(
        fmt::format("cannot create \"{}\": {}", dir->path_, error.message()));
  }
  return dir;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

absl::StatusOr<std::string> ScratchDir::Write(std::string_view name,
                                              std::string_view content) const {
  const std::string file = fmt::format("{}/{}", path_, name);
  std::ofstream out(file, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out.flush()) return absl::InternalError(fmt::format("cannot write \"{}\"", file));
  return file;
}

}  // namespace loch
