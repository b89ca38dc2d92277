#include "cli/compact_command.h"

#include "cli/result_writer.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "lifecycle/compaction.h"
#include "orchestrate/run_control.h"

namespace loch::cli {

absl::Status RunCompact(const CommonOptions& common, const CompactCommandOptions& options,
                        std::ostream& out) {
  CompactionOptions compaction;
  ASSIGN_OR_RETURN(compaction.table, TableName::Parse(options.table));
  for (const std::string& filter : options.partition) {
    const size_t eq = filter.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          fmt::format("--partition \"{}\": expected COLUMN=VALUE, e.g. day=2026-12-01", filter));
    }
    compaction.partition[filter.substr(0, eq)] = filter.substr(eq + 1);
  }
  if (options.target_mib < 1 || options.target_mib > 4096) {
    return absl::InvalidArgumentError(
        fmt::format("--target-mib {} is outside 1-4096", options.target_mib));
  }
  compaction.target_file_bytes = options.target_mib << 20;
  compaction.sort_by = options.sort_by;
  compaction.dry_run = options.dry_run;
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(LakeEngine * engine, lake->engine());
  ShowProgress(fmt::format("compacting {}", options.table));
  absl::StatusOr<CompactionReport> report;
  auto compact = [&]() -> orchestrate::WorkOutcome {
    report = Compact(lake->catalog(), lake->store(), *engine, Principal::LocalAdmin(), compaction);
    if (!report.ok()) return {report.status()};
    return {absl::OkStatus(), report->ToJson()};
  };
  if (compaction.dry_run) {
    compact();
  } else {  // a compaction that changes the table is a run in the run store
    RETURN_IF_ERROR(orchestrate::RecordRun(lake->catalog(), Principal::LocalAdmin(), "compaction",
                                           compaction.table.ToString(), "manual", compact)
                        .status());
  }
  EndProgress();
  RETURN_IF_ERROR(report.status());
  if (options.json) {
    out << report->ToJson().dump(2) << "\n";
    return absl::OkStatus();
  }
  if (!report->note.empty()) {
    out << fmt::format("{}: {}\n", options.table, report->note);
    if (report->not_delivered > 0) {
      out << fmt::format("  {} stream object(s) left out until their delivery is checkpointed\n",
                         report->not_delivered);
    }
    return absl::OkStatus();
  }
  out << fmt::format("{}{}: {} file(s) ({}) in {} partition(s), {} rows\n",
                     options.dry_run ? "Dry run: would compact " : "Compacted ", options.table,
                     WithThousands(report->files_before), HumanBytes(report->bytes_before),
                     report->partitions, WithThousands(report->rows));
  if (!options.dry_run) {
    out << fmt::format("  -> {} file(s) ({}), snapshot {}\n", WithThousands(report->files_after),
                       HumanBytes(report->bytes_after), report->snapshot_id);
  }
  if (report->archived > 0) {
    out << fmt::format(
        "  {} raw object(s) {}archived under archive/ (the table's history reads them there; the "
        "originals are deleted by `loch vacuum` an hour later at the earliest)\n",
        WithThousands(report->archived), options.dry_run ? "would be " : "");
  }
  if (report->not_delivered > 0) {
    out << fmt::format("  {} stream object(s) left out until their delivery is checkpointed\n",
                       report->not_delivered);
  }
  if (report->attempts > 1) {
    out << fmt::format("  committed at attempt {} (other writers committed meanwhile)\n",
                       report->attempts);
  }
  return absl::OkStatus();
}

}  // namespace loch::cli
