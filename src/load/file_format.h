#pragma once
// Recognising data files: format (json, csv, parquet) and compression (gzip, zstd) from the file
// name, confirmed by the file's first bytes so that a mislabelled file fails with a clear message;
// for a name without a telling extension, from the first bytes alone (Parquet magic, a JSON opening
// brace or bracket, text lines sharing a delimiter).

#include <string>

#include "common/status.h"

namespace loch {

// How many leading bytes DetectFormat should be given.
inline constexpr size_t kFormatHeadBytes = 4096;

struct FileFormat {
  std::string format;       // "json" (NDJSON or a JSON array), "csv" (also .tsv), "parquet"
  std::string compression;  // "", "gzip", "zstd"
};

// Classifies the local file at `path`. InvalidArgument naming the file and what was expected when
// the name has no known extension, the content contradicts it, or the file is empty.
absl::StatusOr<FileFormat> DetectFileFormat(const std::string& path);

// The same for any named content (a lake object): `head` is its first bytes (up to
// kFormatHeadBytes); `name` is used in messages.
absl::StatusOr<FileFormat> DetectFormat(const std::string& name, std::string_view head);

}  // namespace loch
