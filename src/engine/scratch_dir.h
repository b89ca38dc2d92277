#pragma once
// ScratchDir: a private folder for files DuckDB reads or writes on the engine's behalf (DuckDB may
// only touch files under the readable root, so it lives there:
// "<parent>/.loch-tmp-<purpose>-<id>"); removed with everything in it when destroyed. Nothing in it
// is meant to survive a crash.

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch {

class ScratchDir {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDir>> Make(const std::string& parent,
                                                          std::string_view purpose);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to the file `name` in the folder and returns its path.
  absl::StatusOr<std::string> Write(std::string_view name, std::string_view content) const;

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace loch
