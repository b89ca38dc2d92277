#pragma once
// `loch stream create|list|describe|delete|flush` and `loch put`: delivery streams live in the
// running server (which owns their write-ahead logs), so these commands talk to it over its HTTP
// API: `--server` (default $LOCH_SERVER, else http://127.0.0.1:8080) with the bearer token from
// the lake's admin-credentials.json.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/status.h"

namespace loch::cli {

struct ServerOptions {
  std::optional<std::string> server;  // base URL
  std::optional<std::string> ca_file;  // trusted CA for https (default: $LOCH_CA_FILE, system CAs)
};

struct StreamCreateOptions {
  std::string name;
  std::optional<uint64_t> buffer_mib;
  std::optional<int64_t> buffer_seconds;
  std::optional<std::string> compression;
  bool validate_json = false;
  bool reject_invalid = false;
  std::vector<std::string> partition_by;
  std::optional<size_t> max_open_partitions;
  std::optional<std::string> error_prefix;
  std::optional<std::string> parquet_table;
};

absl::Status RunStreamCreate(const CommonOptions& common, const ServerOptions& server,
                             const StreamCreateOptions& options, std::ostream& out);
absl::Status RunStreamList(const CommonOptions& common, const ServerOptions& server,
                           std::ostream& out);
absl::Status RunStreamDescribe(const CommonOptions& common, const ServerOptions& server,
                               const std::string& name, std::ostream& out);
// `force`: delete even if the stream's undelivered records cannot be delivered (they are lost).
absl::Status RunStreamDelete(const CommonOptions& common, const ServerOptions& server,
                             const std::string& name, bool force, std::ostream& out);
absl::Status RunStreamFlush(const CommonOptions& common, const ServerOptions& server,
                            const std::string& name, std::ostream& out);

// Sends the NDJSON (or JSON array) records of `file` ("-": stdin) to `stream` in batches of at
// most 500 records / 4 MiB, retrying while the server pushes back (503). Fails if a record was
// refused, after sending the rest.
absl::Status RunPut(const CommonOptions& common, const ServerOptions& server,
                    const std::string& stream, const std::string& file, std::ostream& out);

}  // namespace loch::cli
