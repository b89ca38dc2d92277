#include "etl/saved_jobs.h"

#include <algorithm>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {

absl::StatusOr<SaveResult> SaveJob(Catalog& catalog, LakeEngine& engine, const Principal& who,
                                   const JobSpec& spec, SaveMode mode) {
  ASSIGN_OR_RETURN(std::vector<TableName> sources, engine.SourceTables(who, spec.sql));
  if (std::find(sources.begin(), sources.end(), spec.target) != sources.end()) {
    return absl::InvalidArgumentError(fmt::format(
        "job \"{}\" reads its own target {}: a job writes a table other than those it reads",
        spec.name, spec.target.ToString()));
  }
  const nlohmann::json definition = ToJson(spec);
  auto existing = catalog.GetJob(who, spec.name);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  if (existing.ok()) {
    if (mode == SaveMode::kCreate) {
      return absl::AlreadyExistsError(fmt::format(
          "job \"{}\" already exists (version {}); `loch job apply` stores a new version",
          spec.name, existing->version));
    }
    if (existing->definition == definition) return SaveResult{*existing, false, false};
  }
  ASSIGN_OR_RETURN(SavedJob stored, catalog.PutJob(who, SavedJob{spec.name, 0, definition, 0, ""},
                                                   /*replace=*/existing.ok()));
  return SaveResult{stored, !existing.ok(), true};
}

absl::StatusOr<JobSpec> SpecOf(const SavedJob& job) {
  auto spec = JobSpecFromJson(job.definition);
  if (!spec.ok()) {
    return absl::FailedPreconditionError(fmt::format("job \"{}\" version {} cannot be read: {}",
                                                     job.name, job.version,
                                                     ToStd(spec.status().message())));
  }
  return spec;
}

}  // namespace loch::etl
