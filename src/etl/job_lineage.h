#pragma once
// Lineage of ETL jobs: which tables each job reads and writes, and which jobs follow which (a job
// follows another when it reads the table the other writes, or names it in its `after`). The
// orchestrator starts downstream jobs along these edges, and a job whose definition would close a
// cycle is refused when it is saved (a cycle of triggers would run forever).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_spec.h"

namespace loch::etl {

struct JobLineage {
  std::string job;
  int64_t version = 0;
  std::vector<TableName> sources;  // the tables and views its SQL reads
  TableName target;
  RunPolicy policy;
};

// The lineage of `spec` (its sources from the engine's parse of its SQL). Errors: the engine's
// (InvalidArgument for SQL that does not parse).
absl::StatusOr<JobLineage> LineageOf(LakeEngine& engine, const Principal& who, const JobSpec& spec,
                                     int64_t version = 0);

// Whether a job with `policy` runs after each successful run of job `job` carrying `tags`: its
// `after` names the job, or "tag:T" for one of the tags.
bool RunsAfter(const RunPolicy& policy, const std::string& job,
               const std::vector<std::string>& tags);

// Whether `downstream` follows `upstream`: it reads the table `upstream` writes, or runs after it
// (RunsAfter).
bool Follows(const JobLineage& downstream, const JobLineage& upstream);

// A cycle through `job` in `jobs` (by name): the names along it, `job` first and last ("a", "b",
// "a"), or nullopt if there is none.
std::optional<std::vector<std::string>> FindCycle(const std::map<std::string, JobLineage>& jobs,
                                                  const std::string& job);

}  // namespace loch::etl
