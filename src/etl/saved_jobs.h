#pragma once
// Saving job definitions in the catalog, as every front end does it (CLI, REST, YAML apply): the
// spec is checked against the lake before it is stored, and a definition that did not change
// stores no new version.

#include <string>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/job_spec.h"

namespace loch::etl {

enum class SaveMode {
  kCreate,          // AlreadyExists if the job exists
  kCreateOrUpdate,  // a new version if the definition changed
};

struct SaveResult {
  SavedJob job;          // as stored (or as it was, when unchanged)
  bool created = false;  // version 1 was stored now
  bool changed = false;  // a new version was stored now (created included)
};

// Checks `spec` against the lake (its SQL must parse and name existing tables or views, or tables
// other jobs write; it must not read its own target) and stores it. Errors: those of the check
// (InvalidArgument, NotFound), AlreadyExists (kCreate).
absl::StatusOr<SaveResult> SaveJob(Catalog& catalog, LakeEngine& engine, const Principal& who,
                                   const JobSpec& spec, SaveMode mode);

// The spec of a stored job. FailedPrecondition if the stored definition no longer reads (written
// by a newer loch).
absl::StatusOr<JobSpec> SpecOf(const SavedJob& job);

}  // namespace loch::etl
