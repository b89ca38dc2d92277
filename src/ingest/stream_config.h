#pragma once
// A delivery stream's configuration: how records are buffered, checked, partitioned, compressed and
// named in the raw zone. Defaults follow Firehose (5 MiB or 60 s buffers).

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace loch {

enum class Compression { kZstd, kGzip, kNone };

struct StreamConfig {
  std::string name;                 // letters, digits, '-', '_' (1-64)
  uint64_t buffer_bytes = 5 << 20;  // flush when a buffer holds this much (1-128 MiB)
  int64_t buffer_seconds = 60;      // ... or when its oldest record is this old (0-900 s)
  Compression compression = Compression::kZstd;
  // Kept for configurations that set it: records that are not JSON always go to the error prefix
  // (a table cannot read an object with such a line).
  bool validate_json = false;
  // Records that would go to the error prefix (RecordRejection) are refused by the put, each with
  // its reason, instead of being accepted.
  bool reject_invalid = false;
  std::vector<std::string> partition_by;  // JSON fields whose values name sub-folders
  size_t max_open_partitions = 64;        // buffers at once; more flushes the oldest
  std::string error_prefix = "errors";    // under raw/<stream>/
  // "DB.TABLE": deliver records as zstd Parquet with that catalog table's columns (records whose
  // fields do not fit go to the error prefix); empty: NDJSON as sent.
  std::string parquet_table;

  // The stream's table in the catalog: raw.<name with dashes as underscores>.
  std::string TableName() const;
  // The table of its records that went to the error prefix, with the reason per record:
  // raw.<name>_errors (columns error, sequence, data; partitioned by the delivery hour).
  std::string ErrorsTableName() const;
};

// Checks names and ranges; InvalidArgument says which field is wrong and what is allowed.
absl::Status ValidateStreamConfig(const StreamConfig& config);

nlohmann::json StreamConfigToJson(const StreamConfig& config);
// Fields absent from `json` keep their defaults; `name` is required. Validated.
absl::StatusOr<StreamConfig> StreamConfigFromJson(const nlohmann::json& json);

const char* CompressionName(Compression compression);    // "zstd", "gzip", "none"
const char* CompressionSuffix(Compression compression);  // ".zst", ".gz", ""

}  // namespace loch
