#include "cli/vacuum_command.h"

#include "cli/result_writer.h"
#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "lifecycle/vacuum.h"

namespace loch::cli {

absl::Status RunVacuum(const CommonOptions& common, const VacuumCommandOptions& options,
                       std::ostream& out) {
  VacuumOptions vacuum;
  ASSIGN_OR_RETURN(vacuum.retain_micros, ParseRetention(options.retain));
  if (options.table.has_value()) {
    ASSIGN_OR_RETURN(vacuum.table, TableName::Parse(*options.table));
  }
  vacuum.dry_run = options.dry_run;
  vacuum.force = options.force;
  vacuum.progress = [](size_t done, size_t total) {
    ShowProgress(fmt::format("vacuum: deleted {}/{} objects", done, total));
  };
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  auto report = Vacuum(lake->catalog(), lake->store(), Principal::LocalAdmin(), vacuum);
  EndProgress();
  RETURN_IF_ERROR(report.status());

  const std::string would = options.dry_run ? "would be " : "";
  out << fmt::format("{}{} (retention {}: files that left their tables before {}):\n",
                     options.dry_run ? "Dry run of vacuum of " : "Vacuum of ",
                     vacuum.table ? vacuum.table->ToString() : "every table", options.retain,
                     FormatIsoMicros(NowMicros() - vacuum.retain_micros));
  const ExpiryResult& expired = report->expired;
  out << fmt::format("  {} file record(s) in {} table(s) {}forgotten ({})\n",
                     WithThousands(expired.files_expired), expired.tables, would,
                     HumanBytes(expired.bytes_expired));
  if (options.dry_run) {
    int64_t bytes = 0;
    for (const ObjectRef& object : expired.to_delete) bytes += object.size_bytes;
    out << fmt::format("  {} object(s) would be deleted ({})\n",
                       WithThousands(static_cast<int64_t>(expired.to_delete.size())),
                       HumanBytes(bytes));
  } else {
    out << fmt::format("  {} object(s) deleted ({})\n", WithThousands(report->objects_deleted),
                       HumanBytes(report->bytes_deleted));
  }
  if (expired.not_owned_kept > 0) {
    out << fmt::format(
        "  {} crawled or delivered object(s) kept: vacuum deletes only what loch wrote itself\n",
        WithThousands(expired.not_owned_kept));
  }
  out << fmt::format(
      "  {} orphan object(s) of writes that never committed {}deleted ({})\n",
                     WithThousands(report->orphans_deleted), would,
                     HumanBytes(report->orphan_bytes));
  if (report->replaced_kept > 0) {
    out << fmt::format(
        "  {} compacted raw object(s) written again since they were archived: left in place\n",
        report->replaced_kept);
  }
  if (report->temporaries_removed > 0) {
    out << fmt::format("  {} temporary file(s) of unfinished writes removed\n",
                       report->temporaries_removed);
  }
  if (!options.dry_run && expired.files_expired > 0) {
    out << "  Earlier snapshots stay in the history, but the tables can no longer be read at them.\n";
  }
  if (!report->failures.empty()) {
    for (const std::string& failure : report->failures) out << "  not deleted: " << failure << "\n";
    return absl::UnavailableError(
        "some objects could not be deleted; they stay queued and the next vacuum retries them");
  }
  return absl::OkStatus();
}

}  // namespace loch::cli
