#pragma once
// Decompressing what clients send (request bodies, files for `loch put`) without trusting it: the
// output is bounded, so a small compressed input cannot make loch allocate without limit.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace loch {

enum class ContentEncoding { kIdentity, kGzip, kZstd };

// The encoding a Content-Encoding header names ("gzip", "x-gzip", "zstd", "identity" or empty,
// any case, surrounding spaces ignored); nullopt for any other.
std::optional<ContentEncoding> ParseContentEncoding(std::string_view header);

// The encoding `data` starts like (gzip's or zstd's magic bytes), else identity.
ContentEncoding SniffContentEncoding(std::string_view data);

// The bytes `data`, compressed with `encoding` (gzip: one or more members), stands for.
// InvalidArgument if it is not valid data of that encoding (truncated, corrupt); OutOfRange, as
// soon as it is known, if they are more than `max_bytes`. Identity returns `data` (same limit).
absl::StatusOr<std::string> DecompressBounded(std::string_view data, ContentEncoding encoding,
                                              size_t max_bytes);

}  // namespace loch
