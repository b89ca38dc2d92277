#pragma once
// `loch runs` and `loch run show|logs|cancel|retry`: the run store (orchestrate/run_control.h);
// `loch freshness`: tables' last changes and expected freshness (orchestrate/freshness.h);
// and `loch worker RUN`, the worker process the orchestrator of `loch serve` starts for each run.

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/commands.h"
#include "common/status.h"

namespace loch::cli {

// The exit status of `loch worker` when the run's job is running elsewhere: the run stays queued
// and the orchestrator starts it again later (EX_TEMPFAIL; orchestrate/orchestrator.cc).
inline constexpr int kWorkerBusyExit = 75;

// Adds `runs`, `run`, `freshness` and `worker` to `app` (see AddJobCommands for the arguments).
// `exit_code` is set when a command ends with a status other than 0 or 1.
struct RunCommandOptions;
std::shared_ptr<RunCommandOptions> AddRunCommands(CLI::App& app, const CommonOptions& common,
                                                  const std::function<void(CLI::App*)>& add_lake,
                                                  absl::Status& status, int& exit_code);

}  // namespace loch::cli
