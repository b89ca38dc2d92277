#include "catalog/sqlite_jobs.h"

#include "catalog/sqlite_db.h"
#include "catalog/sqlite_journal.h"
#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Statement;
using sqlite::Transaction;

std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

constexpr const char* kJobColumns =
    "SELECT name, version, definition, created_micros, created_by FROM job_versions";
SavedJob JobFromRow(const Statement& row) {
  return SavedJob{row.Text(0), row.Int(1), nlohmann::json::parse(row.Text(2), nullptr, false),
                  row.Int(3), row.Text(4)};
}

constexpr const char* kRunColumns =
    "SELECT run_id, kind, name, version, state, trigger, pid, started_micros, finished_micros, "
    "error, report FROM runs";
RunRecord RunFromRow(const Statement& row) {
  RunRecord run;
  run.run_id = row.Int(0);
  run.kind = row.Text(1);
  run.name = row.Text(2);
  run.version = row.Int(3);
  run.state = row.Text(4);
  run.trigger = row.Text(5);
  run.pid = row.Int(6);
  run.started_micros = row.Int(7);
  run.finished_micros = row.Int(8);
  run.error = row.Text(9);
  run.report = nlohmann::json::parse(row.Text(10), nullptr, false);
  return run;
}

}  // namespace

absl::Status SqliteJobs::UnknownJob(std::string_view name) {
  Statement query(db_, "SELECT DISTINCT name FROM job_versions ORDER BY name LIMIT 20");
  std::vector<std::string> names;
  while (query.Step()) names.push_back(query.Text(0));
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(fmt::format(
      "unknown job \"{}\"; {}", name,
      names.empty() ? "there are no jobs yet (create one with `loch job create`)"
                    : "the jobs are: " + Join(names, ", ")));
}

absl::StatusOr<SavedJob> SqliteJobs::PutJob(const SavedJob& job, bool replace) {
  RETURN_IF_ERROR(ValidateIdentifier(job.name, "job"));
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement latest(db_, "SELECT coalesce(max(version), 0) FROM job_versions WHERE name = ?");
  latest.Bind(1, job.name);
  if (!latest.Step()) return latest.status();
  const int64_t current = latest.Int(0);
  if (current > 0 && !replace) {
    return absl::AlreadyExistsError(fmt::format(
        "job \"{}\" already exists (version {}); update it to store a new version", job.name,
        current));
  }
  SavedJob stored = job;
  stored.version = current + 1;
  stored.created_micros = NowMicros();
  Statement insert(db_,
                   "INSERT INTO job_versions(name, version, definition, created_micros, "
                   "created_by) VALUES (?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(insert.Bind(1, stored.name)
                      .Bind(2, stored.version)
                      .Bind(3, Dump(stored.definition))
                      .Bind(4, stored.created_micros)
                      .Bind(5, stored.created_by)
                      .Run());
  RETURN_IF_ERROR(txn.Commit());
  return stored;
}

absl::StatusOr<SavedJob> SqliteJobs::GetJob(std::string_view name,
                                            std::optional<int64_t> version) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY "
                                   "version DESC LIMIT 1",
                                   kJobColumns));
  query.Bind(1, name);
  if (version) {
    query.Bind(2, *version);
  } else {
    query.BindNull(2);
  }
  if (query.Step()) return JobFromRow(query);
  RETURN_IF_ERROR(query.status());
  if (version) {
    Statement exists(db_, "SELECT 1 FROM job_versions WHERE name = ?");
    if (exists.Bind(1, name).Step()) {
      return absl::NotFoundError(fmt::format("job \"{}\" has no version {}", name, *version));
    }
  }
  return UnknownJob(name);
}

absl::StatusOr<std::vector<SavedJob>> SqliteJobs::ListJobs() {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} AS j WHERE version = (SELECT max(version) FROM "
                                   "job_versions WHERE name = j.name) ORDER BY name",
                                   kJobColumns));
  std::vector<SavedJob> jobs;
  while (query.Step()) jobs.push_back(JobFromRow(query));
  RETURN_IF_ERROR(query.status());
  return jobs;
}

absl::StatusOr<std::vector<SavedJob>> SqliteJobs::ListJobVersions(std::string_view name) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE name = ? ORDER BY version", kJobColumns));
  query.Bind(1, name);
  std::vector<SavedJob> versions;
  while (query.Step()) versions.push_back(JobFromRow(query));
  RETURN_IF_ERROR(query.status());
  if (versions.empty()) return UnknownJob(name);
  return versions;
}

absl::Status SqliteJobs::DeleteJob(std::string_view name) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement remove(db_, "DELETE FROM job_versions WHERE name = ?");
  RETURN_IF_ERROR(remove.Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0) return UnknownJob(name);
  Statement runs(db_, "DELETE FROM runs WHERE kind = 'job' AND name = ?");
  RETURN_IF_ERROR(runs.Bind(1, name).Run());
  return txn.Commit();
}

absl::StatusOr<int64_t> SqliteJobs::StartRun(const RunRecord& run) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement insert(db_,
                   "INSERT INTO runs(kind, name, version, state, trigger, pid, started_micros, "
                   "finished_micros, error, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  RETURN_IF_ERROR(insert.Bind(1, run.kind)
                      .Bind(2, run.name)
                      .Bind(3, run.version)
                      .Bind(4, run.state)
                      .Bind(5, run.trigger)
                      .Bind(6, run.pid)
                      .Bind(7, run.started_micros)
                      .Bind(8, run.finished_micros)
                      .Bind(9, run.error)
                      .Bind(10, Dump(run.report))
                      .Run());
  const int64_t run_id = sqlite3_last_insert_rowid(db_);
  RETURN_IF_ERROR(txn.Commit());
  return run_id;
}

absl::Status SqliteJobs::UpdateRun(const RunRecord& run) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  Statement update(db_,
                   "UPDATE runs SET state = ?, finished_micros = ?, error = ?, report = ? WHERE "
                   "run_id = ?");
  RETURN_IF_ERROR(update.Bind(1, run.state)
                      .Bind(2, run.finished_micros)
                      .Bind(3, run.error)
                      .Bind(4, Dump(run.report))
                      .Bind(5, run.run_id)
                      .Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(fmt::format("unknown run {}", run.run_id));
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<RunRecord>> SqliteJobs::ListRuns(std::string_view kind,
                                                           std::string_view name, size_t limit,
                                                           std::string_view state) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE kind = ?1 AND (?2 = '' OR name = ?2) AND (?3 = '' OR "
                                   "state = ?3) ORDER BY run_id DESC LIMIT ?4",
                                   kRunColumns));
  query.Bind(1, kind).Bind(2, name).Bind(3, state).Bind(4, static_cast<int64_t>(limit));
  std::vector<RunRecord> runs;
  while (query.Step()) runs.push_back(RunFromRow(query));
  RETURN_IF_ERROR(query.status());
  return runs;
}

absl::StatusOr<RunRecord> SqliteJobs::GetRun(int64_t run_id) {
  std::lock_guard lock(mu_);
  Statement query(db_, fmt::format("{} WHERE run_id = ?", kRunColumns));
  query.Bind(1, run_id);
  if (query.Step()) return RunFromRow(query);
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(fmt::format("unknown run {}", run_id));
}

}  // namespace loch
