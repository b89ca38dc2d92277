#pragma once
// One zstd frame in, one out, with the bounds every reader of untrusted bytes needs (internal to
// recovery/).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace loch {

// `bytes` as one zstd frame at `level`. `what` names them in an error.
absl::StatusOr<std::string> CompressFrame(std::string_view bytes, int level, std::string_view what);

// Decompresses the one zstd frame in `compressed`, handing `sink` at most 1 MiB at a time; the
// output must come to exactly `expected` bytes and use all of `compressed` (DataLoss naming
// `what` otherwise). Memory stays bounded whatever the frame claims.
absl::Status DecompressFrame(std::string_view compressed, uint64_t expected, std::string_view what,
                             const std::function<absl::Status(std::string_view)>& sink);

}  // namespace loch
