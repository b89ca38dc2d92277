#pragma once
// What users do with the run store, the same from the CLI (`loch runs`, `loch run ...`) and the
// HTTP API (/api/v1/runs): queue a job's run for the orchestrator of `loch serve`, cancel a run,
// retry one, find a run's log, and show runs as JSON. They work on the catalog alone: any process
// may queue or cancel, and the server's orchestrator acts on it within its tick.

#include <cstdint>
#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "etl/job_runner.h"
#include "nlohmann/json.hpp"

namespace loch::orchestrate {

// Queues a run of job `job` (started by `trigger`, "manual" for a user), with the job's attempts
// and tags. `request` holds the run's options ({"full": true}). NotFound for an unknown job,
// FailedPrecondition if its definition cannot be read.
absl::StatusOr<RunRecord> QueueJobRun(Catalog& catalog, const Principal& who,
                                      const std::string& job, nlohmann::json request,
                                      const std::string& trigger = "manual");

// A job run's options as a queued run keeps them (RunRecord::request), and back: the request a
// worker runs (InvalidArgument for options it cannot read).
nlohmann::json JobRunOptions(bool full, const std::optional<etl::PartitionRange>& range);
absl::StatusOr<etl::RunRequest> JobRunRequest(const RunRecord& run);

// Queues a new attempt of run `run_id`, which ended without succeeding (FAILED, TIMEOUT,
// CANCELLED): same job and options, attempt + 1. FailedPrecondition for a run that succeeded or
// has not ended; AlreadyExists for one retried already (naming its retry); NotFound for an
// unknown run.
absl::StatusOr<RunRecord> RetryRun(Catalog& catalog, const Principal& who, int64_t run_id);

// What a piece of work done in this process reports: its outcome and what it did (JSON).
struct WorkOutcome {
  absl::Status status;
  nlohmann::json report = nlohmann::json::object();
};

// Runs `work` here and now (a command's own work, not a worker's: `loch compact`, `loch crawler
// run`) and records it in the run store as a run of `kind` `name`: RUNNING while it works, then
// SUCCEEDED, or FAILED with the outcome's error. Returns the ended run; errors only when the run
// store cannot be written.
absl::StatusOr<RunRecord> RecordRun(Catalog& catalog, const Principal& who, const std::string& kind,
                                    const std::string& name, const std::string& trigger,
                                    const std::function<WorkOutcome()>& work);

// Where the worker of run `run_id` writes its output, under the state folder.
std::string RunLogPath(const std::string& state_dir, int64_t run_id);

// A run as the API and `--json` show it.
nlohmann::json RunJson(const RunRecord& run);

// The first retry's delay after attempt `attempt` failed: `base` doubled per attempt, at most
// five minutes, times a random factor in [0.5, 1) (jitter: retries of many runs that failed
// together do not all start together).
int64_t RetryDelayMicros(int attempt, int64_t base_micros);

}  // namespace loch::orchestrate
