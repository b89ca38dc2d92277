#include "cli/run_commands.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/progress.h"
#include "common/clock.h"
#include "common/sanitizers.h"
#include "common/strings.h"
#include "etl/job_runner.h"
#include "etl/run_policy.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/freshness.h"
#include "orchestrate/run_control.h"
#include "orchestrate/run_execution.h"
#include "orchestrate/worker_process.h"

namespace loch::cli {

struct RunCommandOptions {
  int64_t run_id = 0;
  std::string table;         // freshness: one table
  std::string expect_every;  // freshness: set its expectation ("1h")
  bool clear = false;        // freshness: remove it
  std::string name;
  std::string kind;
  std::string tag;
  bool failed = false;
  bool watch = false;
  bool json = false;
  size_t limit = 30;
};

namespace {

using nlohmann::json;

std::string Duration(const RunRecord& run) {
  if (run.started_micros == 0) return "-";
  const int64_t end = run.finished_micros != 0 ? run.finished_micros : NowMicros();
  const double seconds = static_cast<double>(end - run.started_micros) / 1e6;
  return seconds < 10 ? fmt::format("{:.2f}s", seconds) : ShortDuration(seconds);
}

std::string OneLine(std::string text, size_t width) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

absl::StatusOr<std::vector<RunRecord>> SelectRuns(Catalog& catalog,
                                                  const RunCommandOptions& options) {
  RunQuery query{options.kind, options.name, {}, false, false, options.limit};
  if (options.failed) {
    query.states = {RunRecord::kFailed, RunRecord::kTimeout, RunRecord::kCancelled};
  }
  if (options.tag.empty()) return catalog.FindRuns(Principal::LocalAdmin(), query);
  query.limit = std::max<size_t>(options.limit * 10, 1000);
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs, catalog.FindRuns(Principal::LocalAdmin(), query));
  std::erase_if(runs, [&](const RunRecord& run) {
    return std::find(run.tags.begin(), run.tags.end(), options.tag) == run.tags.end();
  });
  if (runs.size() > options.limit) runs.resize(options.limit);
  return runs;
}

void PrintRuns(const std::vector<RunRecord>& runs, std::ostream& out) {
  if (runs.empty()) {
    out << "No runs.\n";
    return;
  }
  out << fmt::format("{:>6} {:<14} {:<10} {:>7} {:>8} {:>9}  {:<19}  {}\n", "run", "name", "state",
                     "attempt", "pid", "took", "queued", "trigger / error");
  for (const RunRecord& run : runs) {
    const std::string queued = run.queued_micros != 0
                                   ? FormatIsoMicros(run.queued_micros).substr(0, 19)
                                   : FormatIsoMicros(run.started_micros).substr(0, 19);
    out << fmt::format("{:>6} {:<14} {:<10} {:>7} {:>8} {:>9}  {:<19}  {}\n", run.run_id,
                       OneLine(run.name, 14), run.state,
                       fmt::format("{}/{}", run.attempt, run.max_attempts),
                       run.pid == 0 ? "-" : std::to_string(run.pid), Duration(run), queued,
                       OneLine(run.error.empty() ? run.trigger : run.error, 70));
  }
}

absl::Status ListRuns(const CommonOptions& common, const RunCommandOptions& options,
                      std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  for (;;) {
    ASSIGN_OR_RETURN(const std::vector<RunRecord> runs, SelectRuns(lake->catalog(), options));
    if (options.json) {
      json list = json::array();
      for (const RunRecord& run : runs) list.push_back(orchestrate::RunJson(run));
      out << list.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
      if (options.watch && terminal) out << "\x1b[H\x1b[2J";  // redraw in place
      if (options.watch) {
        out << fmt::format("{}  (refreshed every 2 s; Ctrl-C to stop)\n",
                           FormatIsoMicros(NowMicros()).substr(0, 19));
      }
      PrintRuns(runs, out);
    }
    out.flush();
    if (!options.watch) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

absl::Status ShowRun(const CommonOptions& common, const RunCommandOptions& options,
                     std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(const RunRecord run,
                   lake->catalog().GetRun(Principal::LocalAdmin(), options.run_id));
  if (options.json) {
    out << orchestrate::RunJson(run).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return absl::OkStatus();
  }
  out << fmt::format("Run {}: {} {} (version {})\n", run.run_id, run.kind, run.name, run.version);
  out << fmt::format("  state      {}{}\n", run.state,
                     run.cancel_requested && !run.Finished() ? " (cancel requested)" : "");
  out << fmt::format(
      "  attempt    {} of {}{}{}\n", run.attempt, run.max_attempts,
      run.previous_run_id != 0 ? fmt::format(", retries run {}", run.previous_run_id) : "",
      run.retry_run_id != 0 ? fmt::format(", retried by run {}", run.retry_run_id) : "");
  out << fmt::format("  trigger    {}\n", run.trigger);
  if (!run.tags.empty()) out << fmt::format("  tags       {}\n", Join(run.tags, ", "));
  if (run.pid != 0) out << fmt::format("  worker     pid {}\n", run.pid);
  if (run.queued_micros != 0) {
    out << fmt::format("  queued     {}\n", FormatIsoMicros(run.queued_micros));
  }
  if (run.started_micros != 0) {
    out << fmt::format("  started    {}\n", FormatIsoMicros(run.started_micros));
  }
  if (run.finished_micros != 0) {
    out << fmt::format("  finished   {} (took {})\n", FormatIsoMicros(run.finished_micros),
                       Duration(run));
  }
  if (!run.error.empty()) out << fmt::format("  error      {}\n", run.error);
  const json report = run.report;
  if (const int64_t written = report.value("snapshot_written", int64_t{0}); written > 0) {
    out << fmt::format("  wrote      snapshot {}: {} rows, {}\n", written,
                       WithThousands(report.value("rows_written", int64_t{0})),
                       HumanBytes(report.value("bytes_written", int64_t{0})));
  }
  const json sources = report.value("sources", json::object());
  for (const auto& [table, source] : sources.items()) {
    out << fmt::format("  read       {} at snapshot {}: {} rows\n", table,
                       source.value("snapshot", int64_t{0}),
                       WithThousands(source.value("rows", int64_t{0})));
  }
  if (!run.log_tail.empty()) {
    out << "  log (end):\n";
    for (std::string_view line : Split(run.log_tail, '\n')) {
      if (!line.empty()) out << "    " << line << "\n";
    }
  }
  return absl::OkStatus();
}

absl::Status ShowLogs(const CommonOptions& common, const RunCommandOptions& options,
                      std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(const RunRecord run,
                   lake->catalog().GetRun(Principal::LocalAdmin(), options.run_id));
  const std::string path = orchestrate::RunLogPath(lake->location().state_dir, run.run_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!run.log_tail.empty()) {
      out << run.log_tail;
      return absl::OkStatus();
    }
    return absl::NotFoundError(fmt::format(
        "run {} has no worker log on this machine ({}): only runs that `loch serve` started in a "
        "worker have one",
        run.run_id, path));
  }
  out << in.rdbuf();
  return absl::OkStatus();
}

absl::Status CancelRun(const CommonOptions& common, const RunCommandOptions& options,
                       std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(const RunRecord run,
                   lake->catalog().RequestCancel(Principal::LocalAdmin(), options.run_id));
  if (run.state == RunRecord::kCancelled) {
    out << fmt::format("Cancelled run {} (it had not started).\n", run.run_id);
  } else {
    out << fmt::format(
        "Asked `loch serve` to cancel run {} ({}): its worker is stopped within a second.\n",
        run.run_id, run.state);
  }
  return absl::OkStatus();
}

absl::Status Retry(const CommonOptions& common, const RunCommandOptions& options,
                   std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(const RunRecord retry,
                   orchestrate::RetryRun(lake->catalog(), Principal::LocalAdmin(), options.run_id));
  out << fmt::format("Queued run {} (attempt {}) to retry run {}; `loch serve` runs it.\n",
                     retry.run_id, retry.attempt, options.run_id);
  return absl::OkStatus();
}

absl::Status Freshness(const CommonOptions& common, const RunCommandOptions& options,
                       std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  if (!options.expect_every.empty() || options.clear) {
    if (options.table.empty()) {
      return absl::InvalidArgumentError(
          "name the table: loch freshness DB.TABLE --expect-every 1h");
    }
    ASSIGN_OR_RETURN(const TableName table, TableName::Parse(options.table));
    int64_t every = 0;
    if (!options.clear) {
      ASSIGN_OR_RETURN(every, ParseDurationMicros(options.expect_every, "--expect-every"));
      if (every < 1'000'000) {
        return absl::InvalidArgumentError("--expect-every is at least 1s");
      }
    }
    RETURN_IF_ERROR(lake->catalog().SetFreshness(who, table, every));
    out << (options.clear ? fmt::format("{} has no expected freshness now.\n", table.ToString())
                          : fmt::format("{} is expected to change every {}; `loch serve` raises "
                                        "an alert (event, webhook) when it does not.\n",
                                        table.ToString(), options.expect_every));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<orchestrate::TableFreshness> tables,
                   orchestrate::ReadFreshness(lake->catalog(), who, /*expected_only=*/false));
  if (!options.table.empty()) {
    std::erase_if(tables, [&](const auto& t) { return t.table.ToString() != options.table; });
    if (tables.empty()) {
      return absl::NotFoundError(fmt::format("unknown table {}", options.table));
    }
  }
  const int64_t now = NowMicros();
  if (options.json) {
    json list = json::array();
    for (const auto& table : tables) list.push_back(table.ToJson(now));
    out << list.dump(2) << "\n";
    return absl::OkStatus();
  }
  out << fmt::format("{:<32} {:<20} {:>9} {:>8} {:>10}  {}\n", "table", "last changed", "ago",
                     "by run", "expected", "status");
  for (const auto& table : tables) {
    const double age = static_cast<double>(now - table.last_changed_micros) / 1e6;
    out << fmt::format(
        "{:<32} {:<20} {:>9} {:>8} {:>10}  {}\n", table.table.ToString(),
        FormatIsoMicros(table.last_changed_micros).substr(0, 19), ShortDuration(age),
        table.run_id == 0 ? "-" : std::to_string(table.run_id),
        table.expect_every_micros == 0
            ? "-"
            : ShortDuration(static_cast<double>(table.expect_every_micros) / 1e6),
        table.expect_every_micros == 0 ? "" : (table.Stale(now) ? "STALE" : "fresh"));
  }
  return absl::OkStatus();
}

// The worker: runs one queued run and records its end. Its output goes to the run's log.
absl::Status Work(const CommonOptions& common, const RunCommandOptions& options, int& exit_code) {
  RETURN_IF_ERROR(orchestrate::DieWithParent());
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(const RunRecord run, lake->catalog().GetRun(who, options.run_id));
  if (run.kind == etl::kJobKind) {
    // The job's memory limit is the engine's, set before it opens, and (with headroom) a hard
    // cap on this process.
    ASSIGN_OR_RETURN(const SavedJob job, lake->catalog().GetJob(who, run.name));
    ASSIGN_OR_RETURN(const etl::JobSpec spec, etl::SpecOf(job));
    lake->set_engine_settings(EngineSettings{spec.policy.memory_limit, 0});
    if (const std::optional<int64_t> limit = ParseByteSize(spec.policy.memory_limit)) {
      const int64_t cap = etl::WorkerAddressSpaceBytes(*limit);
      RETURN_IF_ERROR(orchestrate::CapAddressSpace(cap));
      if (!kUnderSanitizer) {
        fmt::print(
            "memory: the engine's limit is {}; this process's address space is capped at "
            "{} bytes ({})\n",
            spec.policy.memory_limit, cap, HumanBytes(cap));
      }
    }
  }
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  fmt::print("{} run {} of {} {} (attempt {} of {}) in worker pid {}\n",
             FormatIsoMicros(NowMicros()), run.run_id, run.kind, run.name, run.attempt,
             run.max_attempts, ::getpid());
  std::fflush(stdout);
  absl::StatusOr<RunRecord> ended = orchestrate::ExecuteQueuedRun(
      lake->catalog(), lake->store(), *engine, lake->location().state_dir + "/locks", who, run);
  if (absl::IsAborted(ended.status())) {
    fmt::print("{}; the run stays queued\n", ToStd(ended.status().message()));
    exit_code = kWorkerBusyExit;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ended.status());
  fmt::print("{} run {} {}{}\n", FormatIsoMicros(NowMicros()), ended->run_id, ended->state,
             ended->error.empty() ? "" : ": " + ended->error);
  return absl::OkStatus();
}

}  // namespace

std::shared_ptr<RunCommandOptions> AddRunCommands(CLI::App& app, const CommonOptions& common,
                                                  const std::function<void(CLI::App*)>& add_lake,
                                                  absl::Status& status, int& exit_code) {
  auto options = std::make_shared<RunCommandOptions>();
  RunCommandOptions& o = *options;

  auto* runs = app.add_subcommand(
      "runs", "List the run store's runs (job runs, with their attempts), newest first");
  runs->add_option("--name", o.name, "Only the runs of this job");
  runs->add_option("--kind", o.kind, "Only runs of this kind (job)");
  runs->add_option("--tag", o.tag, "Only runs that carry this dependency tag");
  runs->add_flag("--failed", o.failed, "Only runs that failed, timed out or were cancelled");
  runs->add_flag("--watch", o.watch, "Show the list again every 2 seconds until Ctrl-C");
  runs->add_flag("--json", o.json, "Print JSON (as /api/v1/runs answers)");
  runs->add_option("--limit", o.limit, "How many runs")->capture_default_str();
  add_lake(runs);
  runs->callback([&, options] { status = ListRuns(common, *options, std::cout); });

  auto* run = app.add_subcommand("run", "One run of the run store: show, logs, cancel, retry");
  run->require_subcommand(1);
  auto add_id = [&](CLI::App* command) {
    command->add_option("RUN", o.run_id, "The run's id (see `loch runs`)")->required();
    add_lake(command);
  };
  auto* show = run->add_subcommand("show", "Show a run: state, attempts, trigger, error, log end");
  add_id(show);
  show->add_flag("--json", o.json, "Print JSON (as /api/v1/runs/RUN answers)");
  show->callback([&, options] { status = ShowRun(common, *options, std::cout); });
  auto* logs = run->add_subcommand("logs", "Print the log of a run's worker process");
  add_id(logs);
  logs->callback([&, options] { status = ShowLogs(common, *options, std::cout); });
  auto* cancel = run->add_subcommand(
      "cancel", "Cancel a run: a queued one at once, a running one by stopping its worker");
  add_id(cancel);
  cancel->callback([&, options] { status = CancelRun(common, *options, std::cout); });
  auto* retry = run->add_subcommand(
      "retry", "Queue a new attempt of a run that failed, timed out or was cancelled");
  add_id(retry);
  retry->callback([&, options] { status = Retry(common, *options, std::cout); });

  auto* freshness = app.add_subcommand(
      "freshness",
      "When each table last changed and which run changed it; set how often a table is "
      "expected to change (a stale table raises an alert in `loch serve`)");
  freshness->add_option("TABLE", o.table, "One table (DATABASE.TABLE)");
  auto* every = freshness->add_option(
      "--expect-every", o.expect_every,
      "Expect TABLE to change at least this often (e.g. 1h, 30m, 1d): `loch serve` publishes a "
      "freshness event and posts its failure webhook when it does not");
  freshness->add_flag("--clear", o.clear, "Remove TABLE's expected freshness")->excludes(every);
  freshness->add_flag("--json", o.json, "Print JSON (as /api/v1/freshness answers)");
  add_lake(freshness);
  freshness->callback([&, options] { status = Freshness(common, *options, std::cout); });

  auto* worker = app.add_subcommand(
      "worker",
      "Run one queued run (the worker process `loch serve` starts for each run; not for users)");
  worker->group("");  // hidden from `loch --help`
  add_id(worker);
  worker->callback([&, options] { status = Work(common, *options, exit_code); });
  return options;
}

}  // namespace loch::cli
