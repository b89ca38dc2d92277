#include "orchestrate/run_control.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "common/clock.h"
#include "common/strings.h"
#include "etl/job_runner.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/run_execution.h"

namespace loch::orchestrate {

using nlohmann::json;

absl::StatusOr<RunRecord> QueueJobRun(Catalog& catalog, const Principal& who,
                                      const std::string& job, json request,
                                      const std::string& trigger) {
  ASSIGN_OR_RETURN(const SavedJob saved, catalog.GetJob(who, job));
  ASSIGN_OR_RETURN(const etl::JobSpec spec, etl::SpecOf(saved));
  RunRecord run;
  run.kind = etl::kJobKind;
  run.name = saved.name;
  run.version = saved.version;
  run.trigger = trigger;
  run.trigger_detail = json{{"type", trigger == "manual" ? "manual" : trigger}, {"by", who.name}};
  run.max_attempts = spec.policy.max_attempts;
  run.tags = spec.policy.tags;
  run.request = request.is_object() ? std::move(request) : json::object();
  ASSIGN_OR_RETURN(run.run_id, catalog.QueueRun(who, run));
  return catalog.GetRun(who, run.run_id);
}

json JobRunOptions(bool full, const std::optional<etl::PartitionRange>& range) {
  json options{{"full", full}};
  if (range) options["range"] = json{{"from", range->from}, {"to", range->to}};
  return options;
}

absl::StatusOr<etl::RunRequest> JobRunRequest(const RunRecord& run) {
  etl::RunRequest request;
  request.job = run.name;
  request.run_id = run.run_id;
  request.trigger = run.trigger;
  const json& options = run.request;
  if (const json full = options.value("full", json()); full.is_boolean()) {
    request.full = full.get<bool>();
  }
  if (const json range = options.value("range", json()); !range.is_null()) {
    if (!range.is_object() || !range.value("from", json()).is_string() ||
        !range.value("to", json()).is_string()) {
      return absl::InvalidArgumentError(
          fmt::format("run {}: its range is not {{\"from\": TEXT, \"to\": TEXT}}", run.run_id));
    }
    request.range =
        etl::PartitionRange{range["from"].get<std::string>(), range["to"].get<std::string>()};
  }
  return request;
}

absl::StatusOr<RunRecord> RetryRun(Catalog& catalog, const Principal& who, int64_t run_id) {
  ASSIGN_OR_RETURN(const RunRecord failed, catalog.GetRun(who, run_id));
  if (failed.kind != etl::kJobKind && failed.kind != kCrawlerKind) {
    return absl::FailedPreconditionError(fmt::format(
        "run {} is a {}: only job and crawler runs are retried (a stream retries its deliveries "
        "itself; run a compaction again with `loch compact`)",
        run_id, failed.kind));
  }
  if (!failed.Finished()) {
    return absl::FailedPreconditionError(
        fmt::format("run {} is {}: only a run that ended can be retried", run_id, failed.state));
  }
  if (failed.state == RunRecord::kSucceeded) {
    return absl::FailedPreconditionError(
        fmt::format("run {} succeeded; start a new run of {} \"{}\" instead", run_id, failed.kind,
                    failed.name));
  }
  if (failed.retry_run_id != 0) {
    return absl::AlreadyExistsError(
        fmt::format("run {} was already retried by run {}", run_id, failed.retry_run_id));
  }
  RunRecord retry = failed;
  retry.attempt = failed.attempt + 1;
  retry.max_attempts = std::max(failed.max_attempts, retry.attempt);
  retry.trigger = fmt::format("retry of run {} by {}", run_id, who.name);
  retry.trigger_detail["retry_of"] = run_id;
  retry.not_before_micros = 0;
  retry.error.clear();
  retry.log_tail.clear();
  retry.report = json::object();
  ASSIGN_OR_RETURN(const int64_t queued, catalog.QueueRun(who, retry, run_id));
  return catalog.GetRun(who, queued);
}

absl::StatusOr<RunRecord> RecordRun(Catalog& catalog, const Principal& who, const std::string& kind,
                                    const std::string& name, const std::string& trigger,
                                    const std::function<WorkOutcome()>& work) {
  RunRecord run;
  run.kind = kind;
  run.name = name;
  run.trigger = trigger;
  run.trigger_detail = json{{"type", "manual"}, {"by", who.name}};
  run.pid = getpid();
  run.started_micros = NowMicros();
  ASSIGN_OR_RETURN(run.run_id, catalog.StartRun(who, run));
  const WorkOutcome outcome = work();
  run.finished_micros = NowMicros();
  run.state = outcome.status.ok() ? RunRecord::kSucceeded : RunRecord::kFailed;
  run.error = std::string(ToStd(outcome.status.message()));
  run.report = outcome.report.is_object() ? outcome.report : json{{"value", outcome.report}};
  RETURN_IF_ERROR(catalog.UpdateRun(who, run));
  return run;
}

std::string RunLogPath(const std::string& state_dir, int64_t run_id) {
  return fmt::format("{}/runs/{}.log", state_dir, run_id);
}

json RunJson(const RunRecord& run) {
  auto micros = [](int64_t value) { return value == 0 ? json(nullptr) : json(value); };
  return json{
      {"run_id", run.run_id},
      {"kind", run.kind},
      {"name", run.name},
      {"version", run.version},
      {"state", run.state},
      {"attempt", run.attempt},
      {"max_attempts", run.max_attempts},
      {"previous_run_id", run.previous_run_id == 0 ? json(nullptr) : json(run.previous_run_id)},
      {"retry_run_id", run.retry_run_id == 0 ? json(nullptr) : json(run.retry_run_id)},
      {"pid", run.pid == 0 ? json(nullptr) : json(run.pid)},
      {"trigger", run.trigger},
      {"trigger_detail", run.trigger_detail},
      {"tags", run.tags},
      {"request", run.request},
      {"queued_micros", micros(run.queued_micros)},
      {"started_micros", micros(run.started_micros)},
      {"finished_micros", micros(run.finished_micros)},
      {"cancel_requested", run.cancel_requested},
      {"error", run.error},
      {"log_tail", run.log_tail},
      {"report", run.report}};
}

int64_t RetryDelayMicros(int attempt, int64_t base_micros) {
  constexpr int64_t kMaxMicros = int64_t{300} * 1'000'000;
  int64_t delay = std::max<int64_t>(base_micros, 0);
  for (int i = 1; i < attempt && delay < kMaxMicros; ++i) delay *= 2;
  delay = std::min(delay, kMaxMicros);
  thread_local std::mt19937_64 random{std::random_device{}()};
  return static_cast<int64_t>(static_cast<double>(delay) *
                              std::uniform_real_distribution<double>(0.5, 1.0)(random));
}

}  // namespace loch::orchestrate
