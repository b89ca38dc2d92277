#include "orchestrate/triggers.h"

#include <algorithm>

#include "common/logging.h"
#include "common/strings.h"
#include "crawl/crawl_request.h"
#include "etl/job_runner.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/run_execution.h"

namespace loch::orchestrate {
namespace {

using nlohmann::json;

constexpr size_t kCommitsPerPoll = 1000;
constexpr size_t kRunsForCursor = 500;

}  // namespace

absl::Status TriggerWatcher::Start() {
  ASSIGN_OR_RETURN(const std::vector<RunRecord> runs,
                   catalog_.FindRuns(who_, RunQuery{"", "", {}, false, false, kRunsForCursor}));
  for (const RunRecord& run : runs) {
    const json through = run.trigger_detail.value("through_snapshot", json());
    if (through.is_number_integer()) cursor_ = std::max(cursor_, through.get<int64_t>());
  }
  if (cursor_ == 0) {
    // No run was ever started by a commit: only commits from now on start runs.
    ASSIGN_OR_RETURN(cursor_, catalog_.LatestSnapshotId(who_));
  }
  return RefreshJobs();
}

absl::Status TriggerWatcher::RefreshJobs() {
  ASSIGN_OR_RETURN(const std::vector<SavedJob> saved, catalog_.ListJobs(who_));
  std::map<std::string, etl::JobLineage> fresh;
  for (const SavedJob& job : saved) {
    const auto known = jobs_.find(job.name);
    if (known != jobs_.end() && known->second.version == job.version) {
      fresh.emplace(job.name, std::move(known->second));
      continue;
    }
    auto spec = etl::SpecOf(job);
    auto lineage = spec.ok() ? etl::LineageOf(engine_, who_, *spec, job.version)
                             : absl::StatusOr<etl::JobLineage>(spec.status());
    if (!lineage.ok()) {
      // Its SQL no longer reads (a source was dropped): nothing starts it until it is fixed, and
      // its runs say why when started by hand.
      spdlog::warn("job {} version {}: its sources are unknown, commits do not start it: {}",
                   job.name, job.version, ToStd(lineage.status().message()));
      fresh.emplace(job.name, etl::JobLineage{job.name, job.version, {}, {}, {}});
      continue;
    }
    fresh.emplace(job.name, std::move(*lineage));
  }
  jobs_ = std::move(fresh);
  std::erase_if(pending_, [&](const auto& entry) { return !jobs_.contains(entry.first); });
  return absl::OkStatus();
}

int64_t TriggerWatcher::SafeCursor() const {
  int64_t safe = cursor_;
  for (const auto& [job, pending] : pending_) safe = std::min(safe, pending.first_snapshot - 1);
  return safe;
}

RunRecord TriggerWatcher::RunOf(const etl::JobLineage& job, std::string trigger,
                                json detail) const {
  RunRecord run;
  run.kind = etl::kJobKind;
  run.name = job.job;
  run.version = job.version;
  run.trigger = std::move(trigger);
  detail["through_snapshot"] = SafeCursor();
  run.trigger_detail = std::move(detail);
  run.max_attempts = job.policy.max_attempts;
  run.tags = job.policy.tags;
  return run;
}

std::optional<absl::Time> TriggerWatcher::LastScheduled(const std::string& kind,
                                                        const std::string& name) {
  auto runs = catalog_.FindRuns(who_, RunQuery{kind, name, {}, false, false, 50});
  if (!runs.ok()) return std::nullopt;
  std::optional<absl::Time> last;
  for (const RunRecord& run : *runs) {
    const json& detail = run.trigger_detail;
    if (detail.value("type", "") != "schedule") continue;
    const json due = detail.value("scheduled_micros", json());
    if (!due.is_number_integer()) continue;
    const absl::Time at = absl::FromUnixMicros(due.get<int64_t>());
    if (!last || at > *last) last = at;
  }
  return last;
}

absl::Status TriggerWatcher::RefreshSchedules(absl::Time now) {
  struct Wanted {
    std::string kind, name, expression, zone;
    int max_attempts;
    std::vector<std::string> tags;
  };
  std::vector<Wanted> wanted;
  for (const auto& [name, job] : jobs_) {
    if (!job.policy.schedule.empty()) {
      wanted.push_back({etl::kJobKind, name, job.policy.schedule, job.policy.timezone,
                        job.policy.max_attempts, job.policy.tags});
    }
  }
  ASSIGN_OR_RETURN(const std::vector<SavedCrawler> crawlers, catalog_.ListCrawlers(who_));
  for (const SavedCrawler& crawler : crawlers) {
    auto request = CrawlRequestFromJson(crawler.config);
    if (request.ok() && !request->schedule.empty()) {
      wanted.push_back({kCrawlerKind,
                        crawler.name,
                        request->schedule,
                        request->timezone,
                        etl::RunPolicy::kDefaultMaxAttempts,
                        {}});
    }
  }
  std::map<std::string, Scheduled> fresh;
  for (Wanted& want : wanted) {
    const std::string key = want.kind + ":" + want.name;
    const auto known = schedules_.find(key);
    if (known != schedules_.end() && known->second.schedule.expression() == want.expression &&
        known->second.schedule.time_zone() == want.zone) {
      known->second.max_attempts = want.max_attempts;
      known->second.tags = want.tags;
      fresh.emplace(key, std::move(known->second));
      continue;
    }
    auto schedule = CronSchedule::Parse(want.expression, want.zone);
    if (!schedule.ok()) {
      spdlog::warn("{} {}: its schedule is not read: {}", want.kind, want.name,
                   ToStd(schedule.status().message()));
      continue;
    }
    // A time missed while no server ran is made up (once); a new schedule starts from now.
    const std::optional<absl::Time> last =
        known == schedules_.end() ? LastScheduled(want.kind, want.name) : std::nullopt;
    const absl::Time next = schedule->Next(last.value_or(now));
    fresh.emplace(key, Scheduled{want.kind, want.name, std::move(*schedule), next,
                                 want.max_attempts, std::move(want.tags)});
  }
  schedules_ = std::move(fresh);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RunRecord>> TriggerWatcher::Poll(int64_t now_micros) {
  RETURN_IF_ERROR(RefreshJobs());
  const absl::Time now = absl::FromUnixMicros(now_micros);
  RETURN_IF_ERROR(RefreshSchedules(now));
  ASSIGN_OR_RETURN(const std::vector<CommitRecord> commits,
                   catalog_.ListCommits(who_, cursor_, kCommitsPerPoll));
  for (const CommitRecord& commit : commits) {
    cursor_ = commit.snapshot_id;
    if (on_commit_) on_commit_(commit);
    // A compaction moves rows without changing them: nothing to react to.
    if (commit.operation == kCompactOperation) continue;
    for (const auto& [name, job] : jobs_) {
      if (!job.policy.on_update) continue;
      if (commit.summary.value("job", "") == name) continue;  // its own commit never restarts it
      if (std::find(job.sources.begin(), job.sources.end(), commit.table) == job.sources.end()) {
        continue;
      }
      Pending& pending = pending_[name];
      if (pending.commits == 0) {
        pending.first_seen_micros = now_micros;
        pending.first_snapshot = commit.snapshot_id;
      }
      pending.last_seen_micros = now_micros;
      pending.latest = commit;
      ++pending.commits;
    }
  }
  std::vector<RunRecord> due;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const etl::JobLineage& job = jobs_.at(it->first);
    const int64_t debounce = int64_t{job.policy.debounce_seconds} * 1'000'000;
    const Pending& pending = it->second;
    if (now_micros - pending.last_seen_micros < debounce &&
        now_micros - pending.first_seen_micros < 10 * debounce) {
      ++it;
      continue;
    }
    const CommitRecord& commit = pending.latest;
    json detail{{"type", "table_update"},
                {"table", commit.table.ToString()},
                {"snapshot", commit.snapshot_id},
                {"commits", pending.commits}};
    std::string trigger = fmt::format("table update of {} at snapshot {}", commit.table.ToString(),
                                      commit.snapshot_id);
    if (const json run = commit.summary.value("run_id", json()); run.is_number_integer()) {
      detail["upstream_run"] = run;
      trigger += fmt::format(" by run {}", run.get<int64_t>());
    }
    if (pending.commits > 1) trigger += fmt::format(" ({} commits)", pending.commits);
    due.push_back(RunOf(job, std::move(trigger), std::move(detail)));
    it = pending_.erase(it);
  }
  for (auto& [key, scheduled] : schedules_) {
    if (scheduled.next > now) continue;
    const std::string at =
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", scheduled.next, absl::UTCTimeZone());
    RunRecord run;
    run.kind = scheduled.kind;
    run.name = scheduled.name;
    if (const auto job = jobs_.find(scheduled.name);
        scheduled.kind == etl::kJobKind && job != jobs_.end()) {
      run.version = job->second.version;
    }
    run.trigger =
        fmt::format("schedule \"{}\" ({}) due {}{}", scheduled.schedule.expression(),
                    scheduled.schedule.time_zone(), at,
                    now - scheduled.next > absl::Minutes(1) ? " (missed while stopped)" : "");
    run.trigger_detail = json{{"type", "schedule"},
                              {"schedule", scheduled.schedule.expression()},
                              {"timezone", scheduled.schedule.time_zone()},
                              {"scheduled_micros", absl::ToUnixMicros(scheduled.next)},
                              {"through_snapshot", SafeCursor()}};
    run.max_attempts = scheduled.max_attempts;
    run.tags = scheduled.tags;
    due.push_back(std::move(run));
    scheduled.next = scheduled.schedule.Next(now);  // fires missed in between: made up once
  }
  return due;
}

absl::StatusOr<std::vector<RunRecord>> TriggerWatcher::AfterSuccess(const RunRecord& run) {
  RETURN_IF_ERROR(RefreshJobs());
  std::vector<RunRecord> due;
  if (run.kind != etl::kJobKind) return due;
  for (const auto& [name, job] : jobs_) {
    if (name == run.name || !etl::RunsAfter(job.policy, run.name, run.tags)) continue;
    due.push_back(RunOf(
        job, fmt::format("after run {} of job {}", run.run_id, run.name),
        json{{"type", "upstream"}, {"upstream_run", run.run_id}, {"upstream_job", run.name}}));
  }
  return due;
}

}  // namespace loch::orchestrate
