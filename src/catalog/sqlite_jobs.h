#pragma once
// SqliteJobs: the catalog's job definitions (versioned) and its run store (internal to catalog/).
// SqliteCatalog owns one and forwards the Catalog interface's job and run calls to it; the
// contracts are Catalog's (catalog.h). It shares the catalog's SQLite connection and the mutex
// that serialises it.

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "catalog/catalog_journal.h"
#include "catalog/model.h"
#include "common/status.h"

namespace loch {

class SqliteJobs {
 public:
  // `db`, `mu` (which serialises every use of `db`) and `journal` (nullptr: none) outlive this
  // object; its write transactions go to `journal`.
  SqliteJobs(sqlite3* db, std::mutex& mu, CommitJournal* journal)
      : db_(db), mu_(mu), journal_(journal) {}

  absl::StatusOr<SavedJob> PutJob(const SavedJob& job, bool replace);
  absl::StatusOr<SavedJob> GetJob(std::string_view name, std::optional<int64_t> version);
  absl::StatusOr<std::vector<SavedJob>> ListJobs();
  absl::StatusOr<std::vector<SavedJob>> ListJobVersions(std::string_view name);
  absl::Status DeleteJob(std::string_view name);

  absl::StatusOr<int64_t> StartRun(const RunRecord& run);
  absl::StatusOr<int64_t> QueueRun(const RunRecord& run, int64_t retry_of);
  absl::Status UpdateRun(const RunRecord& run, std::string_view expected_state);
  absl::StatusOr<RunRecord> RequestCancel(int64_t run_id);
  absl::StatusOr<std::vector<RunRecord>> FindRuns(const RunQuery& query);
  absl::StatusOr<RunRecord> GetRun(int64_t run_id);

 private:
  // NotFound for the unknown job `name`, naming the jobs that exist. Caller holds mu_.
  absl::Status UnknownJob(std::string_view name);
  // Inserts `run` as it is; its id. Caller holds mu_ and a write transaction.
  absl::StatusOr<int64_t> InsertRun(const RunRecord& run);
  // The run, or NotFound. Caller holds mu_.
  absl::StatusOr<RunRecord> LoadRun(int64_t run_id);

  sqlite3* db_;
  std::mutex& mu_;
  CommitJournal* journal_;
};

}  // namespace loch
