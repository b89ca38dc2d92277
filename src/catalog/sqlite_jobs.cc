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
    "error, report, trigger_detail, queued_micros, not_before_micros, attempt, max_attempts, "
    "previous_run_id, retry_run_id, cancel_requested, tags, request, log_tail FROM runs";

// JSON stored by this catalog, or `fallback` if it does not parse (never a discarded value).
nlohmann::json ParseStored(const std::string& text, nlohmann::json fallback) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? fallback : parsed;
}

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
  run.report = ParseStored(row.Text(10), nlohmann::json::object());
  run.trigger_detail = ParseStored(row.Text(11), nlohmann::json::object());
  run.queued_micros = row.Int(12);
  run.not_before_micros = row.Int(13);
  run.attempt = static_cast<int>(row.Int(14));
  run.max_attempts = static_cast<int>(row.Int(15));
  run.previous_run_id = row.Int(16);
  run.retry_run_id = row.Int(17);
  run.cancel_requested = row.Int(18) != 0;
  const nlohmann::json tags = ParseStored(row.Text(19), nlohmann::json::array());
  for (const auto& tag : tags) {
    if (tag.is_string()) run.tags.push_back(tag.get<std::string>());
  }
  run.request = ParseStored(row.Text(20), nlohmann::json::object());
  run.log_tail = row.Text(21);
  return run;
}

}  // namespace

absl::Status SqliteJobs::UnknownJob(std::string_view name) {
  Statement query(db_, "SELECT DISTINCT name FROM job_versions ORDER BY name LIMIT 20");
  std::vector<std::string> names;
  while (query.Step()) names.push_back(query.Text(0));
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(
      fmt::format("unknown job \"{}\"; {}", name,
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
    return absl::AlreadyExistsError(
        fmt::format("job \"{}\" already exists (version {}); update it to store a new version",
                    job.name, current));
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

absl::StatusOr<SavedJob> SqliteJobs::GetJob(std::string_view name, std::optional<int64_t> version) {
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

absl::StatusOr<int64_t> SqliteJobs::InsertRun(const RunRecord& run) {
  Statement insert(
      db_,
      "INSERT INTO runs(kind, name, version, state, trigger, pid, started_micros, finished_micros, "
      "error, report, trigger_detail, queued_micros, not_before_micros, attempt, max_attempts, "
      "previous_run_id, retry_run_id, cancel_requested, tags, request, log_tail) VALUES (?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)");
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
                      .Bind(11, Dump(run.trigger_detail))
                      .Bind(12, run.queued_micros)
                      .Bind(13, run.not_before_micros)
                      .Bind(14, int64_t{run.attempt})
                      .Bind(15, int64_t{run.max_attempts})
                      .Bind(16, run.previous_run_id)
                      .Bind(17, Dump(nlohmann::json(run.tags)))
                      .Bind(18, Dump(run.request))
                      .Bind(19, run.log_tail)
                      .Run());
  return sqlite3_last_insert_rowid(db_);
}

absl::StatusOr<RunRecord> SqliteJobs::LoadRun(int64_t run_id) {
  Statement query(db_, fmt::format("{} WHERE run_id = ?", kRunColumns));
  query.Bind(1, run_id);
  if (query.Step()) return RunFromRow(query);
  RETURN_IF_ERROR(query.status());
  return absl::NotFoundError(fmt::format("unknown run {}", run_id));
}

absl::StatusOr<int64_t> SqliteJobs::StartRun(const RunRecord& run) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(const int64_t run_id, InsertRun(run));
  RETURN_IF_ERROR(txn.Commit());
  return run_id;
}

absl::StatusOr<int64_t> SqliteJobs::QueueRun(const RunRecord& run, int64_t retry_of) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  RunRecord queued = run;
  queued.state = RunRecord::kQueued;
  queued.queued_micros = NowMicros();
  queued.pid = 0;
  queued.started_micros = 0;
  queued.finished_micros = 0;
  if (retry_of != 0) {
    ASSIGN_OR_RETURN(const RunRecord failed, LoadRun(retry_of));
    if (failed.retry_run_id != 0) {
      return absl::AlreadyExistsError(
          fmt::format("run {} is already retried by run {}", retry_of, failed.retry_run_id));
    }
    queued.previous_run_id = retry_of;
  }
  ASSIGN_OR_RETURN(const int64_t run_id, InsertRun(queued));
  if (retry_of != 0) {
    Statement link(db_, "UPDATE runs SET retry_run_id = ? WHERE run_id = ?");
    RETURN_IF_ERROR(link.Bind(1, run_id).Bind(2, retry_of).Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return run_id;
}

absl::Status SqliteJobs::UpdateRun(const RunRecord& run, std::string_view expected_state) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(const RunRecord current, LoadRun(run.run_id));
  if (!expected_state.empty() && current.state != expected_state) {
    return absl::FailedPreconditionError(
        fmt::format("run {} is {}, not {}", run.run_id, current.state, expected_state));
  }
  Statement update(db_,
                   "UPDATE runs SET state = ?, pid = ?, started_micros = ?, finished_micros = ?, "
                   "not_before_micros = ?, error = ?, log_tail = ?, report = ? WHERE run_id = ?");
  RETURN_IF_ERROR(update.Bind(1, run.state)
                      .Bind(2, run.pid)
                      .Bind(3, run.started_micros)
                      .Bind(4, run.finished_micros)
                      .Bind(5, run.not_before_micros)
                      .Bind(6, run.error)
                      .Bind(7, run.log_tail)
                      .Bind(8, Dump(run.report))
                      .Bind(9, run.run_id)
                      .Run());
  return txn.Commit();
}

absl::StatusOr<RunRecord> SqliteJobs::RequestCancel(int64_t run_id) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(RunRecord run, LoadRun(run_id));
  if (run.Finished()) {
    return absl::FailedPreconditionError(
        fmt::format("run {} has already ended ({})", run_id, run.state));
  }
  if (run.state == RunRecord::kQueued) {
    run.state = RunRecord::kCancelled;
    run.finished_micros = NowMicros();
    run.error = "cancelled before it started";
    Statement cancel(db_,
                     "UPDATE runs SET state = ?, finished_micros = ?, error = ?, "
                     "cancel_requested = 1 WHERE run_id = ?");
    RETURN_IF_ERROR(cancel.Bind(1, run.state)
                        .Bind(2, run.finished_micros)
                        .Bind(3, run.error)
                        .Bind(4, run_id)
                        .Run());
  } else {
    Statement request(db_, "UPDATE runs SET cancel_requested = 1 WHERE run_id = ?");
    RETURN_IF_ERROR(request.Bind(1, run_id).Run());
  }
  run.cancel_requested = true;
  RETURN_IF_ERROR(txn.Commit());
  return run;
}

absl::StatusOr<std::vector<RunRecord>> SqliteJobs::FindRuns(const RunQuery& filter) {
  std::lock_guard lock(mu_);
  // States are loch's own constants or a user's filter: bound, never spliced.
  std::string states;
  for (size_t i = 0; i < filter.states.size(); ++i) {
    states += fmt::format("{}?{}", i == 0 ? "" : ", ", i + 5);
  }
  Statement query(
      db_, fmt::format("{} WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR name = ?2) AND (?3 = 0 OR "
                       "(state = 'FAILED' AND attempt < max_attempts AND retry_run_id = 0 AND "
                       "cancel_requested = 0)) AND "
                       "(?4 = 0 OR cancel_requested = 1){} ORDER BY run_id DESC LIMIT {}",
                       kRunColumns, states.empty() ? "" : " AND state IN (" + states + ")",
                       static_cast<int64_t>(std::min<size_t>(filter.limit, INT64_MAX))));
  query.Bind(1, filter.kind)
      .Bind(2, filter.name)
      .Bind(3, int64_t{filter.retry_pending})
      .Bind(4, int64_t{filter.cancel_requested});
  for (size_t i = 0; i < filter.states.size(); ++i) {
    query.Bind(static_cast<int>(i + 5), filter.states[i]);
  }
  std::vector<RunRecord> runs;
  while (query.Step()) runs.push_back(RunFromRow(query));
  RETURN_IF_ERROR(query.status());
  return runs;
}

absl::StatusOr<RunRecord> SqliteJobs::GetRun(int64_t run_id) {
  std::lock_guard lock(mu_);
  return LoadRun(run_id);
}

}  // namespace loch
