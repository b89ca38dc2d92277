#pragma once
// Content hashes of files: what identifies a file's bytes wherever it lies.

#include <string>

#include "absl/status/statusor.h"

namespace loch {

// SHA-256 of the bytes of the file at `path`, as 64 lowercase hex digits. Reads the file in
// blocks (any size). NotFound / Internal (naming the path) if it cannot be read.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace loch
