#pragma once
// `loch compact`: rewrites a table's small files into large sorted Parquet files in one commit
// (lifecycle/compaction.h).

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace loch::cli {

struct CompactCommandOptions {
  std::string table;                   // DB.TABLE
  std::vector<std::string> partition;  // COLUMN=VALUE
  int64_t target_mib = 128;
  std::vector<std::string> sort_by;
  bool dry_run = false;
  bool json = false;  // print the report as JSON
};
absl::Status RunCompact(const CommonOptions& common, const CompactCommandOptions& options,
                        std::ostream& out);

}  // namespace loch::cli
