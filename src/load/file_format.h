#pragma once
// Recognising data files: format (json, csv, parquet) and compression (gzip, zstd) from the file
// name, confirmed by the file's first bytes so that a mislabelled file fails with a clear message.

#include <string>

#include "common/status.h"

namespace loch {

struct FileFormat {
  std::string format;       // "json" (NDJSON or a JSON array), "csv" (also .tsv), "parquet"
  std::string compression;  // "", "gzip", "zstd"
};

// Classifies the local file at `path`. InvalidArgument naming the file and what was expected when
// the name has no known extension, the content contradicts it, or the file is empty.
absl::StatusOr<FileFormat> DetectFileFormat(const std::string& path);

// The same for any named content (a lake object): `head` is its first bytes (at least 4 if it has
// them); `name` is used in messages.
absl::StatusOr<FileFormat> DetectFormat(const std::string& name, std::string_view head);

}  // namespace loch
