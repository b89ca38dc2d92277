#pragma once
// Content hashes of files: what identifies a file's bytes wherever it lies.

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loch {

// An incremental SHA-256: Update with the bytes, in any pieces, then HexDigest once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void Update(std::string_view bytes);
  // 64 lowercase hex digits of everything given.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// SHA-256 of the bytes of the file at `path`, as 64 lowercase hex digits. Reads the file in
// blocks (any size). NotFound / Internal (naming the path) if it cannot be read.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace loch
