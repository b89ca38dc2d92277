#include "crawl/crawl_report.h"

#include "fmt/format.h"

namespace loch {

bool CrawlReport::failed() const {
  for (const TableChange& table : tables) {
    if (table.outcome == "failed") return true;
  }
  return false;
}

nlohmann::json CrawlReportToJson(const CrawlReport& report) {
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& table : report.tables) {
    tables.push_back({{"table", table.table},
                      {"outcome", table.outcome},
                      {"failure", table.failure},
                      {"files_added", table.files_added},
                      {"files_removed", table.files_removed},
                      {"rows_added", table.rows_added},
                      {"partitions_added", table.partitions_added},
                      {"columns_added", table.columns_added},
                      {"columns_changed", table.columns_changed},
                      {"typed_columns", table.typed_columns},
                      {"schema_version", table.schema_version}});
  }
  return {{"objects_listed", report.objects_listed},
          {"objects_read", report.objects_read},
          {"objects_unchanged", report.objects_unchanged},
          {"skipped", report.skipped},
          {"warnings", report.warnings},
          {"tables", tables}};
}

CrawlReport CrawlReportFromJson(const nlohmann::json& json) {
  CrawlReport report;
  if (!json.is_object()) return report;
  report.objects_listed = json.value("objects_listed", int64_t{0});
  report.objects_read = json.value("objects_read", int64_t{0});
  report.objects_unchanged = json.value("objects_unchanged", int64_t{0});
  report.skipped = json.value("skipped", std::vector<std::string>{});
  report.warnings = json.value("warnings", std::vector<std::string>{});
  for (const auto& table : json.value("tables", nlohmann::json::array())) {
    CrawlReport::TableChange change;
    change.table = table.value("table", "");
    change.outcome = table.value("outcome", "");
    change.failure = table.value("failure", "");
    change.files_added = table.value("files_added", int64_t{0});
    change.files_removed = table.value("files_removed", int64_t{0});
    change.rows_added = table.value("rows_added", int64_t{0});
    change.partitions_added = table.value("partitions_added", std::vector<std::string>{});
    change.columns_added = table.value("columns_added", std::vector<std::string>{});
    change.columns_changed = table.value("columns_changed", std::vector<std::string>{});
    change.typed_columns = table.value(  // reports stored before typed numbers say datetimes
        "typed_columns", table.value("datetime_columns", std::vector<std::string>{}));
    change.schema_version = table.value("schema_version", int64_t{0});
    report.tables.push_back(std::move(change));
  }
  return report;
}

std::string FormatCrawlReport(const CrawlReport& report) {
  std::string out =
      fmt::format("{} object(s) listed: {} read, {} unchanged, {} skipped\n", report.objects_listed,
                  report.objects_read, report.objects_unchanged, report.skipped.size());
  for (const auto& table : report.tables) {
    out += fmt::format("  {} {}", table.outcome, table.table);
    if (table.outcome == "failed") out += ": " + table.failure;
    out += fmt::format(": +{} file(s), +{} rows", table.files_added, table.rows_added);
    if (table.files_removed > 0) out += fmt::format(", -{} file(s)", table.files_removed);
    if (table.schema_version > 0) out += fmt::format(", schema version {}", table.schema_version);
    out += "\n";
    for (const auto& partition : table.partitions_added)
      out += "    new partition " + partition + "\n";
    for (const auto& column : table.columns_added) out += "    new column " + column + "\n";
    for (const auto& column : table.columns_changed) out += "    changed column " + column + "\n";
    for (const auto& column : table.typed_columns) out += "    parsed from text: " + column + "\n";
  }
  for (const auto& skipped : report.skipped) out += "  skipped " + skipped + "\n";
  for (const auto& warning : report.warnings) out += "  warning: " + warning + "\n";
  return out;
}

}  // namespace loch
