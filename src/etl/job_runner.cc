#include "etl/job_runner.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/clock.h"
#include "common/fault_point.h"
#include "common/file_lock.h"
#include "common/ids.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "etl/quality_gate.h"
#include "etl/quarantine.h"
#include "etl/row_checks.h"
#include "etl/saved_jobs.h"
#include "etl/write_modes.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

using nlohmann::json;

}  // namespace

namespace {

std::vector<std::string> ColumnNames(const std::vector<Column>& columns) {
  std::vector<std::string> names;
  for (const Column& column : columns) names.push_back(column.name);
  return names;
}

int64_t RowsOf(const std::vector<DataFile>& files) {
  int64_t rows = 0;
  for (const DataFile& file : files) rows += std::max<int64_t>(file.row_count, 0);
  return rows;
}

// The snapshot each source was read at by the job's last successful run that was not a range
// re-run (its bookmarks); empty if it has none.
absl::StatusOr<std::map<std::string, int64_t>> Bookmarks(Catalog& catalog, const Principal& who,
                                                         const std::string& job) {
  constexpr int kRunsLooked = 1000;
  std::map<std::string, int64_t> bookmarks;
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs,
                   catalog.ListRuns(who, kJobKind, job, kRunsLooked, RunRecord::kSucceeded));
  auto last = std::find_if(runs.begin(), runs.end(),
                           [](const RunRecord& run) { return !run.report.contains("range"); });
  if (last == runs.end()) {
    if (runs.size() < kRunsLooked) return bookmarks;
    return absl::FailedPreconditionError(fmt::format(
        "job {}: its last {} successful runs were all range re-runs, and its bookmarks are before "
        "them; run it with --full",
        job, kRunsLooked));
  }
  const json& sources = last->report["sources"];
  if (!sources.is_object()) return bookmarks;
  for (const auto& [table, source] : sources.items()) {
    if (source.is_object() && source.value("snapshot", json()).is_number_integer()) {
      bookmarks[table] = source["snapshot"].get<int64_t>();
    }
  }
  return bookmarks;
}

// `sql` without the semicolons (and blanks) it ends with, to be nested in another query.
// Whether `request`'s range (if any) suits the job: a partitioned append or replace-partitions
// job, and not --full (a range run reads what the job processed).
absl::Status CheckRangeRun(const JobSpec& spec, const RunRequest& request) {
  if (!request.range) return absl::OkStatus();
  if (request.full) {
    return absl::InvalidArgumentError("--full and --from/--to do not go together");
  }
  if (spec.partition_by.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "job {} is not partitioned: --from/--to name a range of its first partition column",
        spec.name));
  }
  if (spec.mode != WriteMode::kAppend && spec.mode != WriteMode::kReplacePartitions) {
    return absl::FailedPreconditionError(fmt::format(
        "job {} is a {} job: --from/--to replaces partitions, which would lose what its runs "
        "merged; run it with --full instead",
        spec.name, ModeName(spec.mode)));
  }
  return absl::OkStatus();
}

}  // namespace

json ToJson(const RunReport& report) {
  json sources = json::object();
  for (const auto& [table, source] : report.sources) {
    sources[table] = {{"snapshot", source.snapshot},
                      {"since_snapshot", source.since_snapshot},
                      {"files", source.files},
                      {"rows", source.rows}};
  }
  json out{{"job_version", report.job_version},
           {"mode", report.mode},
           {"incremental", report.incremental},
           {"sources", sources},
           {"staging_prefix", report.staging_prefix},
           {"rows_in_result", report.rows_in_result},
           {"rows_written", report.rows_written},
           {"files_written", report.files_written},
           {"bytes_written", report.bytes_written},
           {"partitions_written", report.partitions_written},
           {"files_replaced", report.files_replaced},
           {"snapshot_written", report.snapshot_written},
           {"note", report.note},
           {"phase_millis", report.phase_millis}};
  if (!report.quarantine_prefix.empty()) {
    out["target"] = report.target;
    out["quarantine_table"] = report.quarantine_table;
    out["quarantine_prefix"] = report.quarantine_prefix;
    out["quarantine_files"] = report.quarantine_files;
    out["quarantine_pending"] = report.quarantine_pending;
    out["rows_quarantined"] = report.rows_quarantined;
    out["failures"] = report.failures;
    out["quarantine_snapshot"] = report.quarantine_snapshot;
  }
  if (!report.dq.empty()) out["dq"] = report.dq;
  if (report.range) {
    out["range"] = {
        {"column", report.range_column}, {"from", report.range->from}, {"to", report.range->to}};
  }
  return out;
}

void JobRunner::EnterPhase(std::string_view phase) {
  if (on_phase_) on_phase_(phase);
}

absl::StatusOr<std::unique_ptr<FileLock>> JobRunner::LockJob(const Principal& who,
                                                             const std::string& job) {
  std::error_code error;
  std::filesystem::create_directories(lock_dir_, error);
  bool held_elsewhere = false;
  ASSIGN_OR_RETURN(
      std::unique_ptr<FileLock> lock,
      FileLock::TryAcquire(fmt::format("{}/job-{}.lock", lock_dir_, job), held_elsewhere));
  if (!held_elsewhere) return lock;
  auto running = catalog_.ListRuns(who, kJobKind, job, 1, RunRecord::kRunning);
  std::string which;
  if (running.ok() && !running->empty()) {
    which = fmt::format(" (run {}, pid {})", (*running)[0].run_id, (*running)[0].pid);
  }
  return absl::AbortedError(fmt::format(
      "job \"{}\" is already running{}; runs of a job never overlap, and a running job is not "
      "deleted: wait for it to finish",
      job, which));
}

absl::Status JobRunner::Delete(const Principal& who, const std::string& job) {
  RETURN_IF_ERROR(catalog_.GetJob(who, job).status());  // NotFound before any lock file is made
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockJob(who, job));
  return catalog_.DeleteJob(who, job);
}

absl::StatusOr<RunRecord> JobRunner::Run(const Principal& who, const RunRequest& request) {
  ASSIGN_OR_RETURN(SavedJob named, catalog_.GetJob(who, request.job));
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockJob(who, named.name));
  // Read again under the lock: the job may have been deleted, or changed, meanwhile.
  ASSIGN_OR_RETURN(SavedJob saved, catalog_.GetJob(who, named.name));
  ASSIGN_OR_RETURN(const JobSpec spec, SpecOf(saved));

  EnterPhase("cleanup");
  RETURN_IF_ERROR(CleanUpInterruptedRuns(who, saved.name));

  const std::string write_id = NewTimeOrderedId();
  RunReport report;
  report.job_version = saved.version;
  report.mode = std::string(ModeName(spec.mode));
  report.range = request.range;
  if (request.range && !spec.partition_by.empty()) report.range_column = spec.partition_by[0];
  report.staging_prefix =
      fmt::format("{}{}/{}/{}/", kCuratedZone, spec.target.database, spec.target.table, write_id);
  if (spec.ChecksRows()) {
    report.target = spec.target.ToString();
    report.quarantine_table = QuarantineTableOf(spec.target).ToString();
    report.quarantine_prefix = Quarantine::PrefixOf(spec.target, write_id);
  }
  RunRecord run;
  if (request.run_id != 0) {
    ASSIGN_OR_RETURN(run, catalog_.GetRun(who, request.run_id));
    if (run.kind != kJobKind || run.name != saved.name) {
      return absl::InvalidArgumentError(
          fmt::format("run {} is a run of {} \"{}\", not of job \"{}\"", run.run_id, run.kind,
                      run.name, saved.name));
    }
  } else {
    run.kind = kJobKind;
    run.name = saved.name;
    run.trigger = request.trigger;
  }
  run.version = saved.version;
  run.state = RunRecord::kRunning;
  run.pid = getpid();
  run.started_micros = NowMicros();
  report.run_id = run.run_id;
  run.report = ToJson(report);  // the staging prefix is known before anything is written
  if (request.run_id != 0) {
    // Claimed only if still queued: cancelled meanwhile, or taken by another worker, it is not run.
    RETURN_IF_ERROR(catalog_.UpdateRun(who, run, RunRecord::kQueued));
  } else {
    ASSIGN_OR_RETURN(run.run_id, catalog_.StartRun(who, run));
    report.run_id = run.run_id;
  }

  const absl::Status outcome = Execute(who, spec, request, write_id, run, report);
  FaultPoint("job-after-commit");
  run.finished_micros = NowMicros();
  run.state = outcome.ok() ? RunRecord::kSucceeded : RunRecord::kFailed;
  run.error = outcome.ok() ? "" : std::string(ToStd(outcome.message()));
  run.report = ToJson(report);
  RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
  return run;
}

absl::Status JobRunner::RecoverInterrupted(const Principal& who, const std::string& job) {
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, LockJob(who, job));
  return CleanUpInterruptedRuns(who, job);
}

absl::StatusOr<bool> JobRunner::DeleteUnknownObjects(const Principal& who,
                                                     const std::string& prefix) {
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListAll(store_, prefix));
  ASSIGN_OR_RETURN(std::vector<std::string> known, catalog_.KnownKeys(who, prefix));
  const std::set<std::string> keep(known.begin(), known.end());
  for (const ObjectInfo& object : objects) {
    if (!keep.contains(object.key)) RETURN_IF_ERROR(store_.Delete(object.key));
  }
  return !keep.empty();
}

absl::Status JobRunner::RollQuarantineForward(const Principal& who, RunRecord& run) {
  std::vector<DataFile> files = FilesFromJson(run.report.value("quarantine_files", json()));
  auto target = TableName::Parse(run.report.value("target", ""));
  if (files.empty() || !target.ok()) return absl::OkStatus();

  ASSIGN_OR_RETURN(const int64_t snapshot,
                   Quarantine(catalog_, engine_).Publish(who, *target, files));
  if (snapshot > 0) run.report["quarantine_snapshot"] = snapshot;
  run.report["quarantine_pending"] = false;
  run.report["note"] = "its quarantined rows were committed by the job's next run";
  return absl::OkStatus();
}

absl::Status JobRunner::CleanUpInterruptedRuns(const Principal& who, const std::string& job) {
  // Runs that succeeded but could not commit their quarantined rows.
  ASSIGN_OR_RETURN(std::vector<RunRecord> succeeded,
                   catalog_.ListRuns(who, kJobKind, job, 20, RunRecord::kSucceeded));
  for (RunRecord& run : succeeded) {
    if (!run.report.is_object() || !run.report.value("quarantine_pending", json()).is_boolean() ||
        !run.report["quarantine_pending"].get<bool>()) {
      continue;
    }
    // Still failing (say, a user's table took the quarantine's name): the run stays pending and
    // this one goes on.
    if (RollQuarantineForward(who, run).ok()) RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
  }
  ASSIGN_OR_RETURN(std::vector<RunRecord> interrupted,
                   catalog_.ListRuns(who, kJobKind, job, 100, RunRecord::kRunning));
  for (RunRecord& run : interrupted) {
    if (!run.report.is_object()) run.report = json::object();  // unreadable: nothing to go by
    const std::string prefix = run.report.value("staging_prefix", "");
    const std::string quarantine_prefix = run.report.value("quarantine_prefix", "");
    bool published = false;
    if (!prefix.empty()) {
      ASSIGN_OR_RETURN(published, DeleteUnknownObjects(who, prefix));
    }
    // A run whose every row was bad commits only its quarantine: that commit is its publish.
    // (Quarantined rows are committed all at once, so its staged files are all known or none.)
    if (!published && !quarantine_prefix.empty()) {
      ASSIGN_OR_RETURN(published, DeleteUnknownObjects(who, quarantine_prefix));
    }
    run.finished_micros = NowMicros();
    if (published) {
      // Its commit happened: it succeeded, and its bookmarks (recorded before the commit) count,
      // so that an incremental job does not read those files again. Its quarantined rows,
      // committed after the target, are committed now if they were not.
      run.state = RunRecord::kSucceeded;
      if (const absl::Status rolled = RollQuarantineForward(who, run); !rolled.ok()) {
        run.report["quarantine_pending"] = true;
        run.report["note"] = fmt::format(
            "its quarantined rows could not be committed ({}); a later run of the job does",
            ToStd(rolled.message()));
        RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
        continue;
      }
      run.report["note"] = fmt::format(
          "its process (pid {}) stopped after the commit; the next run recorded the end", run.pid);
      RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
      continue;
    }
    run.state = RunRecord::kFailed;
    run.error = fmt::format(
        "interrupted: its process (pid {}) stopped before the run finished; nothing it wrote was "
        "published, and its staged files were deleted by the next run",
        run.pid);
    RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
  }
  return absl::OkStatus();
}

absl::Status JobRunner::Execute(const Principal& who, const JobSpec& spec,
                                const RunRequest& request, const std::string& write_id,
                                RunRecord& run, RunReport& report) {
  Stopwatch phase;
  EnterPhase("plan");
  ASSIGN_OR_RETURN(std::vector<TableName> sources, engine_.SourceTables(who, spec.sql));
  if (spec.incremental && sources.size() > 1) {
    // Reading only the new files of every source would drop the rows that join old ones (a new
    // order of an old customer).
    std::vector<std::string> names;
    for (const TableName& source : sources) names.push_back(source.ToString());
    return absl::FailedPreconditionError(fmt::format(
        "an incremental job reads one table, and this one reads {}: make the job read everything "
        "(incremental: false), or split it",
        Join(names, ", ")));
  }
  RETURN_IF_ERROR(CheckRangeRun(spec, request));
  auto existing = catalog_.ReadTable(who, spec.target, std::nullopt);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  std::map<std::string, int64_t> bookmarks;
  // Without its target (dropped to start over, or renamed) a job reads everything: made from the
  // new rows alone, a rollup, merge or history would silently lack all the earlier ones.
  if (spec.incremental && !request.full && existing.ok()) {
    ASSIGN_OR_RETURN(bookmarks, Bookmarks(catalog_, who, spec.name));
    if (request.range && bookmarks.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "job {} has not run yet: a range re-run of an incremental job reads what its runs "
          "processed; run it once first",
          spec.name));
    }
  }
  StageRequest stage;
  stage.table = spec.target;
  stage.write_id = write_id;
  stage.query = spec.sql;
  stage.layout.partition_by = spec.partition_by;
  stage.layout.sort_by = spec.sort_by;
  stage.layout.target_file_bytes = spec.file_size_mib << 20;
  bool anything_new = bookmarks.empty();
  for (const TableName& source : sources) {
    const auto bookmark = bookmarks.find(source.ToString());
    if (request.range) {
      // What the job's runs processed: the sources as of the bookmarks (new files are the next
      // incremental run's), or as they are now for a job that reads everything each time.
      const std::optional<int64_t> as_of =
          bookmark == bookmarks.end() ? std::nullopt : std::optional<int64_t>(bookmark->second);
      ASSIGN_OR_RETURN(TableSnapshot snapshot, catalog_.ReadTable(who, source, as_of));
      RunReport::Source& read = report.sources[source.ToString()];
      read.snapshot = snapshot.table.current_snapshot;
      read.files = static_cast<int64_t>(snapshot.files.size());
      read.rows = RowsOf(snapshot.files);
      stage.pinned[source] = std::move(snapshot);
      continue;
    }
    ASSIGN_OR_RETURN(TableSnapshot snapshot, catalog_.ReadTable(who, source, std::nullopt));
    RunReport::Source& read = report.sources[source.ToString()];
    read.snapshot = snapshot.table.current_snapshot;
    if (bookmark != bookmarks.end()) {
      read.since_snapshot = bookmark->second;
      report.incremental = true;
      if (bookmark->second > snapshot.table.current_snapshot) {
        return absl::FailedPreconditionError(fmt::format(
            "source {} is at snapshot {}, before the last run's bookmark {} (was it dropped and "
            "created again?); run the job with --full",
            source.ToString(), snapshot.table.current_snapshot, bookmark->second));
      }
      ASSIGN_OR_RETURN(
          FileChanges changes,
          catalog_.ChangesBetween(who, source, bookmark->second, snapshot.table.current_snapshot));
      if (!changes.removed.empty()) {
        return absl::FailedPreconditionError(fmt::format(
            "source {} had {} file(s) removed or replaced since the last run's bookmark (snapshot "
            "{}): an incremental run cannot tell which rows are new; {}",
            source.ToString(), changes.removed.size(), bookmark->second,
            spec.mode == WriteMode::kAppend
                ? "`loch job run --full` reads everything, and appends every row again: drop or "
                  "empty the target first"
                : "run the job with --full"));
      }
      // The rows committed since the bookmark, in the files they were committed in (a compaction
      // since may have moved them into files that also hold older rows).
      snapshot.files = std::move(changes.added);
      anything_new = anything_new || !snapshot.files.empty();
    } else {
      anything_new = true;  // a source the bookmarks do not know is read whole
    }
    read.files = static_cast<int64_t>(snapshot.files.size());
    read.rows = RowsOf(snapshot.files);
    stage.pinned[source] = std::move(snapshot);
  }
  if (existing.ok()) {
    const Schema& schema = existing->table.schema;
    const std::vector<std::string> partitioned_by = ColumnNames(schema.partition_columns);
    if (partitioned_by != spec.partition_by) {
      return absl::FailedPreconditionError(fmt::format(
          "target {} is partitioned by ({}) but the job by ({}): make them agree, or write to a "
          "new table",
          spec.target.ToString(), Join(partitioned_by, ", "), Join(spec.partition_by, ", ")));
    }
    stage.columns = schema.columns;
    stage.columns.insert(stage.columns.end(), schema.partition_columns.begin(),
                         schema.partition_columns.end());
    stage.by_name = true;
  }
  if (request.range) {
    if (!existing.ok()) {
      return absl::FailedPreconditionError(
          fmt::format("target {} does not exist yet: a range re-run replaces partitions of it; "
                      "run the job once first",
                      spec.target.ToString()));
    }
    const Column& column = existing->table.schema.partition_columns.front();
    // Checks the bounds before anything is written.
    RETURN_IF_ERROR(PartitionsInRange(engine_, who, column, {}, *request.range).status());
    stage.query =
        fmt::format("SELECT * FROM (\n{}\n) AS loch_range WHERE {}",
                    WithoutFinalSemicolons(spec.sql), RangeCondition(column, *request.range));
    anything_new = true;
  }
  report.phase_millis["plan"] = static_cast<int64_t>(phase.ElapsedMillis());
  if (!anything_new) {
    report.note = "nothing new to read: no source has files committed since the last run";
    return absl::OkStatus();
  }

  std::optional<TableSnapshot> target;
  if (existing.ok()) target = std::move(*existing);
  if (!target.has_value()) {
    RETURN_IF_ERROR(catalog_.CreateDatabase(who, spec.target.database, true));
  }
  if (!spec.ChecksRows()) return WriteAndPublish(who, spec, request, stage, target, run, report);

  // The query runs once, into the checked result; the target is written from its good rows, and
  // its bad rows, staged and listed in the run record first, are committed to the quarantine
  // after the target's commit (quarantine.h).
  phase = Stopwatch();
  EnterPhase("check");
  Quarantine quarantine(catalog_, engine_);
  RETURN_IF_ERROR(quarantine.CheckTable(who, spec.target));
  ASSIGN_OR_RETURN(const CheckedRows checked, quarantine.Check(who, spec, stage, target));
  report.rows_quarantined = checked.bad_rows;
  report.failures = checked.failures;
  StagedFiles quarantined;
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(Quarantine::OverMaximum(spec, checked));
    ASSIGN_OR_RETURN(quarantined, quarantine.StageBadRows(who, spec, checked, write_id, run.run_id,
                                                          run.started_micros));
    report.quarantine_files = FilesToJson(quarantined.files);
    report.phase_millis["check"] = static_cast<int64_t>(phase.ElapsedMillis());
    StageRequest good = stage;
    good.query = GoodRowsSql();
    good.parameters.clear();
    good.pinned = PinnedChecked(checked.checked);
    return WriteAndPublish(who, spec, request, good, target, run, report);
  }();
  engine_.DiscardStaged(checked.checked);
  if (!status.ok()) {
    engine_.DiscardStaged(quarantined);
    report.quarantine_files = json::array();
    return status;
  }
  FaultPoint("job-before-quarantine-commit");
  auto committed = quarantine.Publish(who, spec.target, quarantined.files);
  if (committed.ok()) {
    report.quarantine_snapshot = *committed;
  } else {
    // The target has the run's rows: the run succeeded. Its bad rows stay staged and listed, and
    // the job's next run commits them.
    report.quarantine_pending = true;
    report.note = fmt::format(
        "the {} quarantined row(s) could not be committed ({}); the job's next run commits them",
        checked.bad_rows, ToStd(committed.status().message()));
  }
  return absl::OkStatus();
}

absl::Status JobRunner::WriteAndPublish(const Principal& who, const JobSpec& spec,
                                        const RunRequest& request, const StageRequest& stage,
                                        std::optional<TableSnapshot> target, RunRecord& run,
                                        RunReport& report) {
  for (int attempt = 1;; ++attempt) {
    Stopwatch phase;
    EnterPhase("write");
    // A range's partitions are replaced whole (the ones the run has no rows for too) as they are
    // in this target: another writer's commit makes the run produce again (no rebase).
    std::set<std::string> in_range;
    std::optional<Column> range_column;
    if (request.range) {
      const std::vector<Column>& partitioned_by = target->table.schema.partition_columns;
      if (partitioned_by.empty() || partitioned_by.front().name != spec.partition_by.front()) {
        return absl::AbortedError(
            fmt::format("target {} changed its partitioning while the run wrote; run it again",
                        spec.target.ToString()));
      }
      range_column = partitioned_by.front();
      std::set<std::string> values;
      for (const DataFile& file : target->files)
        values.insert(PartitionOf(file, {*range_column})[0]);
      ASSIGN_OR_RETURN(in_range,
                       PartitionsInRange(engine_, who, *range_column, values, *request.range));
    }
    ASSIGN_OR_RETURN(RunOutput output,
                     ProduceOutput(engine_, who, spec, stage, target, run.started_micros,
                                   /*read_everything=*/!report.incremental));
    if (request.range) {
      output.replaced = [in_range, column = *range_column](const TableSnapshot& planned) {
        std::vector<int64_t> replaced;
        for (const DataFile& file : planned.files) {
          if (in_range.contains(PartitionOf(file, {column})[0])) replaced.push_back(file.file_id);
        }
        return replaced;
      };
      output.rebases = false;
      output.publish_when_empty = true;
    }
    report.phase_millis["write"] += static_cast<int64_t>(phase.ElapsedMillis());
    // What a run that publishes nothing would be checked on is not checked.
    const bool publishes = !target.has_value() || output.rows_in_result > 0 ||
                           (output.publish_when_empty && !output.replaced(*target).empty());
    if (!spec.rules.empty() && publishes) {
      phase = Stopwatch();
      EnterPhase("quality");
      // The query's rows (merge and history stage them first, as "changes"); a rollup's rows.
      const bool keyed = spec.mode == WriteMode::kMerge || spec.mode == WriteMode::kHistory;
      const StagedFiles& checked =
          keyed && !output.temporary.empty() ? output.temporary.front() : output.staged;
      auto outcomes = EvaluateRules(engine_, who, spec.rules, checked, run.started_micros);
      absl::Status verdict = outcomes.ok() ? Verdict(*outcomes) : outcomes.status();
      if (outcomes.ok()) report.dq = ToJson(*outcomes);
      report.phase_millis["quality"] += static_cast<int64_t>(phase.ElapsedMillis());
      if (!verdict.ok()) {
        engine_.DiscardStaged(output.staged);
        for (const StagedFiles& temporary : output.temporary) engine_.DiscardStaged(temporary);
        return verdict;
      }
    }
    // The sources read are recorded before the commit: a process that dies right after it
    // leaves a run the next one recognises as published, with its bookmarks (CleanUpInterrupted).
    run.report = ToJson(report);
    RETURN_IF_ERROR(catalog_.UpdateRun(who, run));
    FaultPoint("job-before-commit");
    phase = Stopwatch();
    EnterPhase("commit");
    const absl::StatusOr<bool> published = Publish(who, spec, output, target, report);
    for (const StagedFiles& temporary : output.temporary) engine_.DiscardStaged(temporary);
    report.phase_millis["commit"] += static_cast<int64_t>(phase.ElapsedMillis());
    if (!published.ok()) return published.status();
    if (*published) return absl::OkStatus();
    if (attempt == kMaxCommitAttempts) {
      return absl::AbortedError(
          fmt::format("target {} kept changing while the run wrote ({} attempts); run it again",
                      spec.target.ToString(), attempt));
    }
    // Another writer changed the files this output was made from: make it again.
    auto fresh = catalog_.ReadTable(who, spec.target, std::nullopt);
    if (!fresh.ok()) return fresh.status();
    target = std::move(*fresh);
  }
}

absl::StatusOr<bool> JobRunner::Publish(const Principal& who, const JobSpec& spec,
                                        const RunOutput& output,
                                        std::optional<TableSnapshot> target, RunReport& report) {
  const StagedFiles& staged = output.staged;
  auto discard = [&](absl::Status status) {
    engine_.DiscardStaged(staged);
    return status;
  };
  report.rows_in_result = output.rows_in_result;
  if (target.has_value() && output.rows_in_result == 0 &&
      (!output.publish_when_empty || output.replaced(*target).empty())) {
    engine_.DiscardStaged(staged);
    report.note = "the query returned no rows: nothing was published";
    return true;
  }
  TableCommit commit;
  commit.table = spec.target;
  commit.message = fmt::format("job {} ({} rows)", spec.name, output.rows_in_result);
  commit.add_files = staged.files;
  if (!target.has_value()) {
    commit.base_snapshot = TableCommit::kCreate;
    commit.operation = "create";
    commit.new_schema = staged.schema;
    commit.location =
        fmt::format("{}{}/{}/", kCuratedZone, spec.target.database, spec.target.table);
  }
  for (int attempt = 1;; ++attempt) {
    if (target.has_value()) {
      commit.base_snapshot = target->table.current_snapshot;
      commit.remove_file_ids = output.replaced(*target);
      commit.operation = commit.remove_file_ids.empty() ? "append" : "overwrite";
    }
    commit.summary = {{"job", spec.name},
                      {"run_id", report.run_id},  // which run changed it (triggers, freshness)
                      {"files_added", staged.files.size()},
                      {"rows_added", staged.rows},
                      {"files_removed", commit.remove_file_ids.size()}};
    auto committed = catalog_.Commit(who, commit);
    if (committed.ok()) {
      report.snapshot_written = committed->snapshot_id;
      report.rows_written = staged.rows;
      report.files_written = static_cast<int64_t>(staged.files.size());
      report.bytes_written = staged.bytes;
      report.files_replaced = static_cast<int64_t>(commit.remove_file_ids.size());
      std::set<std::vector<std::string>> partitions;
      for (const DataFile& file : staged.files) {
        partitions.insert(PartitionOf(file, staged.schema.partition_columns));
      }
      report.partitions_written = spec.partition_by.empty() ? 0 : partitions.size();
      return true;
    }
    if (!target.has_value() && absl::IsAlreadyExists(committed.status())) {
      engine_.DiscardStaged(staged);  // another writer created it: write for its schema
      return false;
    }
    if (!LostCommitRace(committed.status(), /*create=*/false) || attempt == kMaxCommitAttempts) {
      return discard(committed.status());
    }
    auto fresh = catalog_.ReadTable(who, spec.target, std::nullopt);
    if (!fresh.ok()) return discard(fresh.status());
    if (!output.rebases) {  // made from files that may have changed: the caller makes it again
      engine_.DiscardStaged(staged);
      return false;
    }
    target = std::move(*fresh);  // rebase on the new snapshot
  }
}

}  // namespace loch::etl
