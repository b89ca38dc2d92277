#include "etl/saved_jobs.h"

#include <algorithm>
#include <map>

#include "common/strings.h"
#include "etl/job_lineage.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

// The jobs `spec` names in `after` exist, and saving it closes no cycle of jobs.
absl::Status CheckDependencies(Catalog& catalog, LakeEngine& engine, const Principal& who,
                               const JobSpec& spec, const std::vector<TableName>& sources) {
  ASSIGN_OR_RETURN(const std::vector<SavedJob> saved, catalog.ListJobs(who));
  std::map<std::string, JobLineage> jobs;
  for (const SavedJob& job : saved) {
    if (job.name == spec.name) continue;
    auto other = SpecOf(job);
    if (!other.ok()) continue;  // a definition this loch cannot read runs nothing
    auto lineage = LineageOf(engine, who, *other, job.version);
    if (lineage.ok()) jobs.emplace(job.name, std::move(*lineage));
  }
  for (const std::string& upstream : spec.policy.after) {
    if (upstream.starts_with(kTagPrefix)) continue;  // a tag: the jobs carrying it may come later
    if (!jobs.contains(upstream)) {
      return absl::NotFoundError(
          fmt::format("job \"{}\" runs after \"{}\", which is not a job (create it first)",
                      spec.name, upstream));
    }
  }
  jobs[spec.name] = JobLineage{spec.name, 0, sources, spec.target, spec.policy};
  if (const auto cycle = FindCycle(jobs, spec.name)) {
    return absl::InvalidArgumentError(fmt::format(
        "job \"{}\" would close a cycle of jobs ({}): each would start the next forever; a job "
        "must not depend, through the tables it reads or its `after`, on itself",
        spec.name, Join(*cycle, " -> ")));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SaveResult> SaveJob(Catalog& catalog, LakeEngine& engine, const Principal& who,
                                   const JobSpec& spec, SaveMode mode) {
  ASSIGN_OR_RETURN(std::vector<TableName> sources, engine.SourceTables(who, spec.sql));
  if (std::find(sources.begin(), sources.end(), spec.target) != sources.end()) {
    return absl::InvalidArgumentError(fmt::format(
        "job \"{}\" reads its own target {}: a job writes a table other than those it reads",
        spec.name, spec.target.ToString()));
  }
  // A source that is no table yet must be the target of another job (a chain defined before its
  // first run); anything else is a typo, named with the tables that do exist.
  ASSIGN_OR_RETURN(std::vector<TableInfo> tables, catalog.ListTables(who, std::nullopt));
  std::vector<SavedJob> jobs;
  for (const TableName& source : sources) {
    if (std::any_of(tables.begin(), tables.end(),
                    [&](const TableInfo& table) { return table.name == source; })) {
      continue;
    }
    if (jobs.empty()) {
      ASSIGN_OR_RETURN(jobs, catalog.ListJobs(who));
    }
    const bool written_by_a_job = std::any_of(jobs.begin(), jobs.end(), [&](const SavedJob& job) {
      auto other = SpecOf(job);
      return other.ok() && other->target == source && other->name != spec.name;
    });
    if (!written_by_a_job) RETURN_IF_ERROR(catalog.ReadTable(who, source, std::nullopt).status());
  }
  RETURN_IF_ERROR(CheckDependencies(catalog, engine, who, spec, sources));
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
