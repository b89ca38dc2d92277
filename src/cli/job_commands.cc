#include "cli/job_commands.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "cli/progress.h"
#include "cli/result_writer.h"
#include "common/clock.h"
#include "common/strings.h"
#include "etl/job_runner.h"
#include "etl/row_checks.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/run_control.h"

namespace loch::cli {

struct JobCommandOptions {
  std::string name;
  std::string sql;
  std::string sql_file;
  std::string target;
  std::string mode = "append";
  std::vector<std::string> keys;
  std::vector<std::string> group_by;
  std::string measures;
  std::vector<std::string> partition_by;
  std::vector<std::string> sort_by;
  int64_t file_size_mib = etl::JobSpec::kDefaultFileSizeMib;
  bool incremental = false;
  std::vector<std::string> types;  // COLUMN=TYPE
  std::vector<std::string> required;
  std::optional<double> max_bad_fraction;
  std::string rules_file;
  std::string description;
  // The run policy (etl/run_policy.h).
  bool on_update = false;
  int debounce_seconds = etl::RunPolicy::kDefaultDebounceSeconds;
  std::vector<std::string> after;
  int max_attempts = etl::RunPolicy::kDefaultMaxAttempts;
  int timeout_seconds = etl::RunPolicy::kDefaultTimeoutSeconds;
  std::string memory_limit;
  std::vector<std::string> tags;
  std::string failure_webhook;
  std::string schedule;
  std::string timezone = "UTC";
  bool queue = false;  // run: queue it for `loch serve` instead of running it here
  std::string path;    // apply: a file or a folder
  bool full = false;
  std::optional<std::string> from, to;  // run: a range re-run
  std::optional<int64_t> version;
  size_t limit = 20;
};

namespace {

using nlohmann::json;

absl::StatusOr<std::string> ReadText(const std::string& path, size_t limit) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return absl::NotFoundError(fmt::format("cannot read {}: {}", path, error.message()));
  if (size > limit) {
    return absl::InvalidArgumentError(
        fmt::format("{} is {} bytes; the limit is {}", path, size, limit));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return absl::InternalError(fmt::format("cannot read {}", path));
  return text.str();
}

absl::StatusOr<etl::JobSpec> SpecFromFlags(const JobCommandOptions& options) {
  if (options.sql.empty() == options.sql_file.empty()) {
    return absl::InvalidArgumentError("give the job's query with --sql-file FILE or --sql TEXT");
  }
  std::string sql = options.sql;
  if (!options.sql_file.empty()) {
    ASSIGN_OR_RETURN(sql, ReadText(options.sql_file, etl::JobSpec::kMaxSqlBytes));
  }
  json fields = {{"name", options.name},
                 {"sql", sql},
                 {"target", options.target},
                 {"mode", options.mode},
                 {"keys", options.keys},
                 {"group_by", options.group_by},
                 {"measures", options.measures.empty() ? json() : json(options.measures)},
                 {"partition_by", options.partition_by},
                 {"sort_by", options.sort_by},
                 {"file_size_mib", options.file_size_mib},
                 {"incremental", options.incremental},
                 {"required", options.required},
                 {"description", options.description}};
  if (options.max_bad_fraction) fields["max_bad_fraction"] = *options.max_bad_fraction;
  fields["on_update"] = options.on_update;
  fields["debounce_seconds"] = options.debounce_seconds;
  fields["after"] = options.after;
  fields["max_attempts"] = options.max_attempts;
  fields["timeout_seconds"] = options.timeout_seconds;
  if (!options.memory_limit.empty()) fields["memory_limit"] = options.memory_limit;
  fields["tags"] = options.tags;
  if (!options.failure_webhook.empty()) fields["failure_webhook"] = options.failure_webhook;
  if (!options.schedule.empty()) fields["schedule"] = options.schedule;
  fields["timezone"] = options.timezone;
  if (!options.rules_file.empty()) {
    ASSIGN_OR_RETURN(fields["rules"], ReadText(options.rules_file, etl::kMaxRulesBytes));
  }
  if (!options.types.empty()) {
    json types = json::object();
    for (const std::string& pair : options.types) {
      const size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
        return absl::InvalidArgumentError(
            fmt::format("--type {}: write COLUMN=TYPE, e.g. --type amount=DECIMAL(10,2)", pair));
      }
      types[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    fields["types"] = types;
  }
  return etl::JobSpecFromJson(fields);
}

std::string Seconds(const RunRecord& run) {
  if (run.finished_micros == 0) return "running";
  return fmt::format("{:.2f} s",
                     static_cast<double>(run.finished_micros - run.started_micros) / 1e6);
}

// The run's report as people read it.
std::string FormatRun(const RunRecord& run, const etl::JobSpec* spec) {
  std::string text = fmt::format("Run {} of job {} (version {}, {}): {} ({})\n", run.run_id,
                                 run.name, run.version, run.trigger, run.state, Seconds(run));
  const json& report = run.report;
  if (report.contains("range") && report["range"].is_object()) {
    const json& range = report["range"];
    text += fmt::format("  range    {} from {} to {}: those partitions replaced whole\n",
                        range.value("column", ""), range.value("from", ""), range.value("to", ""));
  }
  const json sources = report.value("sources", json::object());
  for (const auto& [table, source] : sources.items()) {
    const int64_t since = source.value("since_snapshot", int64_t{0});
    text += fmt::format("  read     {} at snapshot {}: {} file(s), {} rows{}\n", table,
                        source.value("snapshot", int64_t{0}), source.value("files", int64_t{0}),
                        WithThousands(source.value("rows", int64_t{0})),
                        since > 0 ? fmt::format(" (committed after snapshot {})", since) : "");
  }
  const int64_t written = report.value("snapshot_written", int64_t{0});
  if (written > 0) {
    std::string partitions;
    if (report.value("partitions_written", int64_t{0}) > 0) {
      partitions = fmt::format(", {} partition(s)", report.value("partitions_written", int64_t{0}));
    }
    std::string replaced;
    if (report.value("files_replaced", int64_t{0}) > 0) {
      replaced = fmt::format(", replacing {} file(s)", report.value("files_replaced", int64_t{0}));
    }
    text += fmt::format("  wrote    {} snapshot {}: {} rows in {} file(s) ({}){}{} ({})\n",
                        spec != nullptr ? spec->target.ToString() : "the target", written,
                        WithThousands(report.value("rows_written", int64_t{0})),
                        report.value("files_written", int64_t{0}),
                        HumanBytes(report.value("bytes_written", int64_t{0})), partitions, replaced,
                        report.value("mode", ""));
  }
  if (report.contains("quarantine_table")) {
    const int64_t bad = report.value("rows_quarantined", int64_t{0});
    text += fmt::format("  checked  {} row(s) failed the job's checks{}\n", WithThousands(bad),
                        bad > 0 && report.value("quarantine_snapshot", int64_t{0}) > 0
                            ? fmt::format(": kept in {} (run_id = {})",
                                          report.value("quarantine_table", ""), run.run_id)
                            : "");
    for (const json& failure : report.value("failures", json::array())) {
      text += fmt::format("           {} x column \"{}\": {}\n",
                          WithThousands(failure.value("rows", int64_t{0})),
                          failure.value("column", ""), failure.value("reason", ""));
    }
  }
  for (const json& rule : report.value("dq", json::array())) {
    const std::string outcome = rule.value("outcome", "");
    text += fmt::format("  rule     line {}: {}: {}{}\n", rule.value("line", 0),
                        rule.value("rule", ""), outcome,
                        rule.value("message", "").empty() ? "" : ", " + rule.value("message", ""));
  }
  if (!report.value("note", "").empty())
    text += fmt::format("  note     {}\n", report["note"].get<std::string>());
  const json phases = report.value("phase_millis", json::object());
  if (!phases.empty()) {
    std::vector<std::string> parts;
    for (const char* phase : {"plan", "check", "write", "quality", "commit"}) {
      if (phases.contains(phase))
        parts.push_back(fmt::format("{} {} ms", phase, phases[phase].get<int64_t>()));
    }
    text += fmt::format("  phases   {}\n", Join(parts, ", "));
  }
  if (!run.error.empty()) text += fmt::format("  error    {}\n", run.error);
  return text;
}

absl::Status Create(const CommonOptions& common, const JobCommandOptions& options,
                    std::ostream& out) {
  ASSIGN_OR_RETURN(etl::JobSpec spec, SpecFromFlags(options));
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  ASSIGN_OR_RETURN(etl::SaveResult saved,
                   etl::SaveJob(lake->catalog(), *engine, Principal::LocalAdmin(), spec,
                                etl::SaveMode::kCreate));
  out << fmt::format("Created job {} (version {}): {} -> {} ({}). Run it with `loch job run {}`.\n",
                     spec.name, saved.job.version, spec.incremental ? "incremental" : "full",
                     spec.target.ToString(), etl::ModeName(spec.mode), spec.name);
  return absl::OkStatus();
}

// The YAML files `path` names: itself, or the *.yaml and *.yml files in it (sorted).
absl::StatusOr<std::vector<std::string>> JobFiles(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    if (!fs::exists(path, error))
      return absl::NotFoundError(fmt::format("no file or folder {}", path));
    return std::vector<std::string>{path};
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, error)) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml")) {
      files.push_back(entry.path().string());
    }
  }
  if (error) return absl::InternalError(fmt::format("cannot list {}: {}", path, error.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::NotFoundError(fmt::format("no job files (*.yaml, *.yml) in {}", path));
  }
  return files;
}

absl::Status Apply(const CommonOptions& common, const JobCommandOptions& options,
                   std::ostream& out) {
  ASSIGN_OR_RETURN(std::vector<std::string> files, JobFiles(options.path));
  // Every file is read and checked before any job is stored: a folder applies whole or not at all
  // (as far as its files go; the lake check below runs per job).
  std::vector<etl::JobSpec> specs;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(std::string text, ReadText(file, etl::kMaxYamlBytes));
    auto spec = etl::JobSpecFromYaml(text);
    if (!spec.ok()) return Annotate(spec.status(), file);
    for (const etl::JobSpec& earlier : specs) {
      if (earlier.name == spec->name) {
        return absl::InvalidArgumentError(
            fmt::format("{}: job \"{}\" is defined twice", file, spec->name));
      }
    }
    specs.push_back(std::move(*spec));
  }
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  // A job may read the target of another job of the folder, saved later in name order: jobs that
  // fail the check are tried again after each pass that saved some.
  std::vector<size_t> pending(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::vector<size_t> failed;
    absl::Status first_error;
    for (size_t i : pending) {
      auto saved = etl::SaveJob(lake->catalog(), *engine, Principal::LocalAdmin(), specs[i],
                                etl::SaveMode::kCreateOrUpdate);
      if (!saved.ok()) {
        if (first_error.ok()) first_error = Annotate(saved.status(), files[i]);
        failed.push_back(i);
        continue;
      }
      out << fmt::format("{:<24} {}\n", specs[i].name,
                         saved->created ? fmt::format("created (version {})", saved->job.version)
                         : saved->changed
                             ? fmt::format("updated to version {}", saved->job.version)
                             : fmt::format("unchanged (version {})", saved->job.version));
    }
    if (failed.size() == pending.size()) return first_error;  // no progress: a real error
    pending = std::move(failed);
  }
  return absl::OkStatus();
}

absl::Status RunJob(const CommonOptions& common, const JobCommandOptions& options,
                    std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  std::optional<etl::PartitionRange> range;
  if (options.from) range = etl::PartitionRange{*options.from, *options.to};
  if (options.queue) {
    ASSIGN_OR_RETURN(
        const RunRecord queued,
        orchestrate::QueueJobRun(lake->catalog(), Principal::LocalAdmin(), options.name,
                                 orchestrate::JobRunOptions(options.full, range)));
    out << fmt::format(
        "Queued run {} of job {} (up to {} attempt(s)); `loch serve` runs it. Follow it with "
        "`loch run show {}` or `loch runs --watch`.\n",
        queued.run_id, queued.name, queued.max_attempts, queued.run_id);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  etl::JobRunner runner(lake->catalog(), lake->store(), *engine,
                        lake->location().state_dir + "/locks");
  // The phase and the time it has run, refreshed on a terminal while DuckDB works.
  std::mutex mu;
  std::string phase = "starting";
  runner.set_phase_listener([&](std::string_view entered) {
    std::lock_guard lock(mu);
    phase = entered;
  });
  absl::StatusOr<RunRecord> run;
  {
    Ticker ticker(ProgressInterval(), [&](double elapsed) {
      std::lock_guard lock(mu);
      ShowProgress(fmt::format("job {}: {} ({})", options.name, phase, ShortDuration(elapsed)));
    });
    etl::RunRequest request{options.name, options.full};
    request.range = range;
    run = runner.Run(Principal::LocalAdmin(), request);
  }
  EndProgress();
  RETURN_IF_ERROR(run.status());
  // The version the run ran names its target (the job may have been changed or deleted since).
  auto job = lake->catalog().GetJob(Principal::LocalAdmin(), options.name, run->version);
  absl::StatusOr<etl::JobSpec> spec =
      job.ok() ? etl::SpecOf(*job) : absl::StatusOr<etl::JobSpec>(job.status());
  out << FormatRun(*run, spec.ok() ? &*spec : nullptr);
  if (run->state != RunRecord::kSucceeded) {
    return absl::AbortedError(fmt::format("run {} of job {} failed", run->run_id, options.name));
  }
  return absl::OkStatus();
}

absl::Status List(const CommonOptions& common, std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(std::vector<SavedJob> jobs, lake->catalog().ListJobs(who));
  if (jobs.empty()) {
    out << "No jobs yet; create one with `loch job create NAME --sql-file F.sql --target DB.TABLE` "
           "or `loch job apply FILE.yaml`.\n";
    return absl::OkStatus();
  }
  out << fmt::format("{:<24} {:>7} {:<28} {:<18} {:<11} {:<20} {}\n", "job", "version", "target",
                     "mode", "reads", "last run", "state");
  for (const SavedJob& job : jobs) {
    auto spec = etl::SpecOf(job);
    auto runs = lake->catalog().ListRuns(who, "job", job.name, 1);
    const bool ran = runs.ok() && !runs->empty();
    out << fmt::format("{:<24} {:>7} {:<28} {:<18} {:<11} {:<20} {}\n", job.name, job.version,
                       spec.ok() ? spec->target.ToString() : "?",
                       spec.ok() ? etl::ModeName(spec->mode) : "?",
                       spec.ok() ? (spec->incremental ? "new files" : "everything") : "?",
                       ran ? FormatIsoMicros(runs->front().started_micros).substr(0, 19) : "never",
                       ran ? runs->front().state : "-");
  }
  return absl::OkStatus();
}

absl::Status Describe(const CommonOptions& common, const JobCommandOptions& options,
                      std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  ASSIGN_OR_RETURN(SavedJob job, lake->catalog().GetJob(who, options.name, options.version));
  ASSIGN_OR_RETURN(etl::JobSpec spec, etl::SpecOf(job));
  out << fmt::format(
      "job            {}\nversion        {} (stored {} by {})\ntarget         {}\nmode           "
      "{}\npartition by   {}\nsort by        {}\nfile size      {} MiB\nreads          {}\n",
      spec.name, job.version, FormatIsoMicros(job.created_micros), job.created_by,
      spec.target.ToString(), etl::ModeName(spec.mode),
      spec.partition_by.empty() ? "-" : Join(spec.partition_by, ", "),
      spec.sort_by.empty() ? "-" : Join(spec.sort_by, ", "), spec.file_size_mib,
      spec.incremental ? "the files committed since the last successful run" : "everything");
  if (!spec.keys.empty()) out << fmt::format("keys           {}\n", Join(spec.keys, ", "));
  if (spec.mode == etl::WriteMode::kRollup) {
    std::vector<std::string> measures;
    for (const etl::Measure& measure : spec.measures) measures.push_back(measure.ToText());
    out << fmt::format("group by       {}\nmeasures       {}\n", Join(spec.group_by, ", "),
                       Join(measures, ", "));
  }
  if (spec.ChecksRows()) {
    std::vector<std::string> types;
    for (const auto& [column, type] : spec.types) types.push_back(column + " " + type);
    out << fmt::format(
        "quarantine     rows that fail a cast{}{} go to {}; the run fails over {}% of them\n",
        types.empty() ? "" : " (" + Join(types, ", ") + ")",
        spec.required.empty() ? "" : " or a required column (" + Join(spec.required, ", ") + ")",
        etl::QuarantineTableOf(spec.target).ToString(), 100 * spec.max_bad_fraction.value_or(0));
  }
  if (!spec.rules.empty()) {
    out << "rules:\n";
    for (const etl::DqRule& rule : spec.rules) out << "  " << rule.ToText() << "\n";
  }
  if (!spec.description.empty()) out << fmt::format("description    {}\n", spec.description);
  out << "sql:\n";
  std::string_view sql = spec.sql;
  while (!sql.empty() && (sql.back() == '\n' || sql.back() == ' ')) sql.remove_suffix(1);
  for (std::string_view line : Split(sql, '\n')) out << "  " << line << "\n";
  ASSIGN_OR_RETURN(std::vector<SavedJob> versions, lake->catalog().ListJobVersions(who, spec.name));
  out << "\nversions:\n";
  for (const SavedJob& version : versions) {
    out << fmt::format("  {:>3}  {}  {}\n", version.version,
                       FormatIsoMicros(version.created_micros), version.created_by);
  }
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs, lake->catalog().ListRuns(who, "job", spec.name, 3));
  out << (runs.empty() ? "\nNo runs yet.\n" : "\nlast runs:\n");
  for (const RunRecord& run : runs) out << FormatRun(run, &spec);
  return absl::OkStatus();
}

absl::Status Runs(const CommonOptions& common, const JobCommandOptions& options,
                  std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  RETURN_IF_ERROR(lake->catalog().GetJob(who, options.name).status());
  ASSIGN_OR_RETURN(std::vector<RunRecord> runs,
                   lake->catalog().ListRuns(who, "job", options.name, options.limit));
  if (runs.empty()) {
    out << fmt::format("Job {} has not run yet; run it with `loch job run {}`.\n", options.name,
                       options.name);
    return absl::OkStatus();
  }
  out << fmt::format("{:>6} {:>7} {:<20} {:<10} {:>10} {:>12} {:>9}  {}\n", "run", "version",
                     "started", "state", "time", "rows", "files", "error");
  for (const RunRecord& run : runs) {
    out << fmt::format("{:>6} {:>7} {:<20} {:<10} {:>10} {:>12} {:>9}  {}\n", run.run_id,
                       run.version, FormatIsoMicros(run.started_micros).substr(0, 19), run.state,
                       Seconds(run), WithThousands(run.report.value("rows_written", int64_t{0})),
                       run.report.value("files_written", int64_t{0}), run.error.substr(0, 100));
  }
  return absl::OkStatus();
}

absl::Status Delete(const CommonOptions& common, const JobCommandOptions& options,
                    std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  etl::JobRunner runner(lake->catalog(), lake->store(), *engine,
                        lake->location().state_dir + "/locks");
  RETURN_IF_ERROR(runner.Delete(Principal::LocalAdmin(), options.name));
  out << fmt::format("Deleted job {}, its versions and its run history (its tables stay).\n",
                     options.name);
  return absl::OkStatus();
}

void AddDefinitionOptions(CLI::App* command, JobCommandOptions& options) {
  command->add_option("--sql-file", options.sql_file, "File holding the job's SELECT");
  command->add_option("--sql", options.sql, "The job's SELECT, inline");
  command->add_option("--target", options.target, "DB.TABLE the result goes to")->required();
  command
      ->add_option("--mode", options.mode, "append, replace-partitions, merge, history or rollup")
      ->capture_default_str();
  command->add_option("--key", options.keys,
                      "Merge and history: a column identifying a row (repeatable); rows whose _op "
                      "is 'D' delete");
  command->add_option("--group-by", options.group_by,
                      "Rollup: a column of the query's rows to group by (repeatable)");
  command->add_option("--measures", options.measures,
                      "Rollup: what each group keeps, e.g. \"count(*), sum(price) AS revenue\" "
                      "(count, sum, min, max: merged as new data arrives)");
  command->add_option("--partition-by", options.partition_by,
                      "Partition column (repeatable): Hive-style folders");
  command->add_option("--sort-by", options.sort_by,
                      "Sort column within each partition (repeatable): tighter min/max pruning");
  command
      ->add_option("--file-size-mib", options.file_size_mib,
                   "Split each partition into files of about this size")
      ->capture_default_str();
  command->add_flag("--incremental", options.incremental,
                    "Read only the source files committed since the last successful run");
  command->add_option("--type", options.types,
                      "COLUMN=TYPE: cast the column's values to TYPE (repeatable); rows whose "
                      "value does not cast go to the quarantine");
  command->add_option("--required", options.required,
                      "A column that may not be NULL (repeatable); rows where it is go to the "
                      "quarantine");
  command
      ->add_option("--max-bad-fraction", options.max_bad_fraction,
                   "Quarantine rows that fail a cast (to --type, or to the target's types) or a "
                   "--required column, and fail the run only when more than this fraction (0 to "
                   "1) of its rows do")
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--rules", options.rules_file,
                   "File of data-quality rules (IsComplete \"col\", IsUnique, ColumnValues, "
                   "RowCount, Freshness, ReferentialIntegrity, CustomSql; severity error|warn), "
                   "checked on what a run publishes before it does")
      ->check(CLI::ExistingFile);
  command->add_option("--description", options.description, "Free text");
  command->add_flag("--on-update", options.on_update,
                    "`loch serve` runs the job when one of the tables it reads gets a commit");
  command
      ->add_option("--debounce", options.debounce_seconds,
                   "With --on-update: wait until its sources have had no commit for this many "
                   "seconds, so that a burst of commits makes one run")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  command->add_option("--after", options.after,
                      "`loch serve` runs the job after each successful run of this job "
                      "(repeatable)");
  command
      ->add_option("--max-attempts", options.max_attempts,
                   "Runs started by `loch serve` that fail are retried in a new worker process "
                   "until this many attempts")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  command
      ->add_option("--timeout", options.timeout_seconds,
                   "Seconds a run started by `loch serve` may take; its worker is killed then")
      ->check(CLI::Range(1, 7 * 24 * 3600))
      ->capture_default_str();
  command->add_option("--memory-limit", options.memory_limit,
                      "Query-engine memory of the job's worker process, e.g. 2GB");
  command->add_option("--tags", options.tags,
                      "Dependency tags the job's runs carry (repeatable), to find them by");
  command->add_option(
      "--schedule", options.schedule,
      "Cron expression (MIN HOUR DAY MONTH WEEKDAY, an optional seconds field "
      "first, or @hourly, @daily, @weekly, @monthly) on which `loch serve` runs it");
  command->add_option("--timezone", options.timezone, "Time zone of --schedule (IANA name)")
      ->capture_default_str();
  command->add_option("--failure-webhook", options.failure_webhook,
                      "http(s) URL that gets a signed JSON POST when a run of the job fails or "
                      "times out");
}

}  // namespace

std::shared_ptr<JobCommandOptions> AddJobCommands(CLI::App& app, const CommonOptions& common,
                                                  const std::function<void(CLI::App*)>& add_lake,
                                                  absl::Status& status) {
  auto options = std::make_shared<JobCommandOptions>();
  JobCommandOptions& o = *options;
  auto* job = app.add_subcommand(
      "job",
      "ETL jobs: a SELECT over the lake's tables written into a table as partitioned "
      "Parquet; versioned, with the report of every run");
  job->require_subcommand(1);
  auto add_name = [&](CLI::App* command) {
    command->add_option("NAME", o.name, "Job name")->required();
    add_lake(command);
  };

  auto* create = job->add_subcommand("create", "Define a job (checked against the lake first)");
  add_name(create);
  AddDefinitionOptions(create, o);
  create->callback([&, options] { status = Create(common, *options, std::cout); });

  auto* apply = job->add_subcommand(
      "apply",
      "Create or update jobs from a YAML file, or every *.yaml / *.yml file of a folder "
      "(fields: name, sql, target, mode, keys, group_by, measures, partition_by, sort_by, "
      "types, required, max_bad_fraction, rules, file_size_mib, incremental, description); a "
      "changed job "
      "gets a new version");
  apply->add_option("PATH", o.path, "YAML file or folder")->required();
  add_lake(apply);
  apply->callback([&, options] { status = Apply(common, *options, std::cout); });

  auto* run = job->add_subcommand(
      "run", "Run a job now and print its report (exit status 1 when the run fails)");
  add_name(run);
  run->add_flag("--full", o.full, "Read every file of the sources, not only the new ones");
  auto* from = run->add_option("--from", o.from,
                               "Re-run only this range of the target's first partition column "
                               "(inclusive; with --to): its partitions are replaced whole");
  auto* to = run->add_option("--to", o.to, "... up to this value (inclusive)");
  from->needs(to);
  to->needs(from);
  run->add_flag("--queue", o.queue,
                "Queue the run for `loch serve`, which runs it in a worker process with the "
                "job's retries and timeout; prints the run's id (see `loch run show`)");
  run->callback([&, options] { status = RunJob(common, *options, std::cout); });

  auto* list = job->add_subcommand("list", "List jobs with their last run");
  add_lake(list);
  list->callback([&, options] { status = List(common, std::cout); });

  auto* describe =
      job->add_subcommand("describe", "Show a job's definition, its versions and its last runs");
  add_name(describe);
  describe->add_option("--version", o.version, "Show this version of the definition");
  describe->callback([&, options] { status = Describe(common, *options, std::cout); });

  auto* runs = job->add_subcommand("runs", "List a job's runs, newest first");
  add_name(runs);
  runs->add_option("--limit", o.limit, "How many runs")->capture_default_str();
  runs->callback([&, options] { status = Runs(common, *options, std::cout); });

  auto* remove = job->add_subcommand("delete", "Delete a job, its versions and its runs");
  add_name(remove);
  remove->callback([&, options] { status = Delete(common, *options, std::cout); });
  return options;
}

}  // namespace loch::cli
