#pragma once
// RunPolicy: how the orchestrator (orchestrate/) runs a job, kept with the job's definition
// (job_spec.h) under these fields of its JSON and YAML forms:
//
//   on_update         run when one of the job's source tables gets a commit (default false)
//   debounce_seconds  wait this long after a source's last commit before running, so that a
//                     burst of commits makes one run (0 to 3600, default 1)
//   after             jobs whose successful run starts this one: names, and "tag:NAME" for every
//                     job that carries the tag NAME
//   max_attempts      a failed run is retried in a new worker process until this many attempts
//                     (1 to 20, default 3)
//   timeout_seconds   a run's worker is killed after this long (1 to 604800, default 3600)
//   memory_limit      the worker's memory limit, e.g. "2GB" (64MB to 1PB): the query engine's
//                     limit, and a hard cap on the worker process's address space of this plus
//                     the headroom WorkerAddressSpaceBytes adds (default: the engine's, no cap)
//   tags              dependency tags: jobs naming "tag:NAME" in `after` run after this one; the
//                     runs carry them too, to find and filter them
//   schedule          a cron expression (common/cron.h): `loch serve` runs the job then
//   timezone          the schedule's time zone (IANA name, default UTC)
//   failure_webhook   http(s) URL that gets a signed JSON notification when a run fails or times
//                     out (besides `loch serve --failure-webhook`)

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace loch::etl {

struct RunPolicy {
  static constexpr int kDefaultMaxAttempts = 3;
  static constexpr int kDefaultTimeoutSeconds = 3600;
  static constexpr int kDefaultDebounceSeconds = 1;
  static constexpr int64_t kMinMemoryLimitBytes = 64 * 1000 * 1000;
  static constexpr int64_t kMaxMemoryLimitBytes = int64_t{1000} * 1000 * 1000 * 1000 * 1000;
  bool on_update = false;
  int debounce_seconds = kDefaultDebounceSeconds;
  std::vector<std::string> after;
  int max_attempts = kDefaultMaxAttempts;
  int timeout_seconds = kDefaultTimeoutSeconds;
  std::string memory_limit;  // "": the engine's default
  std::vector<std::string> tags;
  std::string failure_webhook;
  std::string schedule;  // "": none
  std::string timezone = "UTC";

  bool operator==(const RunPolicy&) const = default;
};

// How `after` names the jobs that carry a tag: "tag:NAME".
inline constexpr std::string_view kTagPrefix = "tag:";

// The fields above, as job_spec.cc accepts them.
inline const std::vector<std::string> kRunPolicyFields = {
    "on_update", "debounce_seconds", "after",    "max_attempts", "timeout_seconds", "memory_limit",
    "tags",      "failure_webhook",  "schedule", "timezone"};

// The hard cap on the address space of a worker whose memory limit is `memory_limit_bytes`: the
// limit plus 1 GiB for what the engine does not count (code, allocator slack), and 80 MiB per
// hardware thread for the stack (8 MiB) and the malloc arena (64 MiB reserved) of each of its
// threads.
int64_t WorkerAddressSpaceBytes(int64_t memory_limit_bytes);

// The policy from a job's JSON object (absent fields keep their defaults). InvalidArgument naming
// the field for a wrong type or a value out of range.
absl::StatusOr<RunPolicy> RunPolicyFromJson(const nlohmann::json& object);
// Adds the fields that differ from the defaults to `object` (a job stored before policies existed
// keeps its stored form, and its version).
void AddRunPolicyJson(const RunPolicy& policy, nlohmann::json& object);
// YAML scalars arrive as text: the policy's numbers and booleans are read from it, in place.
absl::Status TypeRunPolicyYamlScalars(nlohmann::json& object);

}  // namespace loch::etl
