#pragma once
// `loch workgroup list|describe|set|delete`: the workgroups queries run under (limits and failure
// webhook), stored in the lake's catalog, so a running server applies changes to the next query.

#include <optional>
#include <ostream>
#include <string>

#include "cli/commands.h"
#include "common/status.h"

namespace loch::cli {

// Fields of `loch workgroup set`; the ones not given keep their current values.
struct WorkgroupSetOptions {
  std::string name;
  std::optional<std::string> description;
  std::optional<double> timeout_seconds;
  std::optional<int> max_concurrent;
  std::optional<int64_t> max_bytes_scanned;
  std::optional<std::string> failure_webhook;
};

absl::Status RunWorkgroupList(const CommonOptions& common, std::ostream& out);
absl::Status RunWorkgroupDescribe(const CommonOptions& common, const std::string& name,
                                  std::ostream& out);
absl::Status RunWorkgroupSet(const CommonOptions& common, const WorkgroupSetOptions& options,
                             std::ostream& out);
absl::Status RunWorkgroupDelete(const CommonOptions& common, const std::string& name,
                                std::ostream& out);

}  // namespace loch::cli
