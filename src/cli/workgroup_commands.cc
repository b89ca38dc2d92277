#include "cli/workgroup_commands.h"

#include "cli/lake_session.h"
#include "cli/result_writer.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch::cli {
namespace {

std::string Limit(int64_t value, const std::string& shown) { return value > 0 ? shown : "-"; }

void Print(const WorkgroupConfig& workgroup, std::ostream& out) {
  out << fmt::format("workgroup        {}\n", workgroup.name);
  if (!workgroup.description.empty())
    out << fmt::format("description      {}\n", workgroup.description);
  out << fmt::format("timeout          {}\n",
                     Limit(workgroup.timeout_ms,
                           fmt::format("{} s", static_cast<double>(workgroup.timeout_ms) / 1000)));
  out << fmt::format("max concurrent   {}\n",
                     Limit(workgroup.max_concurrent, std::to_string(workgroup.max_concurrent)));
  out << fmt::format("max scanned      {}\n",
                     Limit(workgroup.max_bytes_scanned, HumanBytes(workgroup.max_bytes_scanned)));
  out << fmt::format("failure webhook  {}\n",
                     workgroup.failure_webhook.empty() ? "-" : workgroup.failure_webhook);
  out << fmt::format("results          results/{}/\n", workgroup.name);
}

}  // namespace

absl::Status RunWorkgroupList(const CommonOptions& common, std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(std::vector<WorkgroupConfig> all,
                   lake->catalog().ListWorkgroups(Principal::LocalAdmin()));
  out << fmt::format("{:<20} {:>10} {:>11} {:>12}  {}\n", "workgroup", "timeout", "max running",
                     "max scanned", "failure webhook");
  for (const WorkgroupConfig& workgroup : all) {
    out << fmt::format(
        "{:<20} {:>10} {:>11} {:>12}  {}\n", workgroup.name,
        Limit(workgroup.timeout_ms, fmt::format("{} s", workgroup.timeout_ms / 1000.0)),
        Limit(workgroup.max_concurrent, std::to_string(workgroup.max_concurrent)),
        Limit(workgroup.max_bytes_scanned, HumanBytes(workgroup.max_bytes_scanned)),
        workgroup.failure_webhook.empty() ? "-" : workgroup.failure_webhook);
  }
  return absl::OkStatus();
}

absl::Status RunWorkgroupDescribe(const CommonOptions& common, const std::string& name,
                                  std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  ASSIGN_OR_RETURN(WorkgroupConfig workgroup,
                   lake->catalog().GetWorkgroup(Principal::LocalAdmin(), name));
  Print(workgroup, out);
  return absl::OkStatus();
}

absl::Status RunWorkgroupSet(const CommonOptions& common, const WorkgroupSetOptions& options,
                             std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  const Principal who = Principal::LocalAdmin();
  auto existing = lake->catalog().GetWorkgroup(who, options.name);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  WorkgroupConfig workgroup = existing.ok() ? *existing : WorkgroupConfig::Named(options.name);
  if (options.description) workgroup.description = *options.description;
  if (options.timeout_seconds) {
    workgroup.timeout_ms = static_cast<int64_t>(*options.timeout_seconds * 1000);
  }
  if (options.max_concurrent) workgroup.max_concurrent = *options.max_concurrent;
  if (options.max_bytes_scanned) workgroup.max_bytes_scanned = *options.max_bytes_scanned;
  if (options.failure_webhook) workgroup.failure_webhook = *options.failure_webhook;
  RETURN_IF_ERROR(lake->catalog().PutWorkgroup(who, workgroup));
  out << (existing.ok() ? "Updated" : "Created") << ":\n";
  Print(workgroup, out);
  return absl::OkStatus();
}

absl::Status RunWorkgroupDelete(const CommonOptions& common, const std::string& name,
                                std::ostream& out) {
  ASSIGN_OR_RETURN(auto lake, OpenLake(common));
  RETURN_IF_ERROR(lake->catalog().DeleteWorkgroup(Principal::LocalAdmin(), name));
  out << fmt::format("Deleted workgroup {}.\n", name);
  return absl::OkStatus();
}

}  // namespace loch::cli
