#pragma once
// `loch vacuum`: deletes the files no snapshot needs after a retention period (lifecycle/vacuum.h).

#include <optional>
#include <ostream>
#include <string>

#include "cli/commands.h"

namespace loch::cli {

struct VacuumCommandOptions {
  std::optional<std::string> table;  // DB.TABLE; every table if unset
  std::string retain = "7d";
  bool dry_run = false;
  bool force = false;
};
absl::Status RunVacuum(const CommonOptions& common, const VacuumCommandOptions& options,
                       std::ostream& out);

}  // namespace loch::cli
