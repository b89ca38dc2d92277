#pragma once
// `loch job create|apply|run|list|describe|runs|delete`: ETL jobs, kept in the catalog with their
// versions and the reports of their runs (etl/).

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/commands.h"
#include "common/status.h"

namespace loch::cli {

// Adds the `job` command and its subcommands to `app`. `add_lake` adds --lake/--state to a
// command; the chosen subcommand's outcome goes to `status`. The options live in `app`'s
// callbacks (kept alive by the returned object, which must outlive parsing).
struct JobCommandOptions;
std::shared_ptr<JobCommandOptions> AddJobCommands(CLI::App& app, const CommonOptions& common,
                                                  const std::function<void(CLI::App*)>& add_lake,
                                                  absl::Status& status);

}  // namespace loch::cli
