#pragma once
// What a crawl did: per table, what changed; overall, what was read, skipped and why. Stored (as
// JSON) with each saved crawler's run, printed by the CLI, returned by the REST API.

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace loch {

struct CrawlReport {
  struct TableChange {
    std::string table;    // DB.TABLE
    std::string outcome;  // "created", "updated", "unchanged", "deprecated", "dropped", "failed"
    std::string failure;  // why, for "failed"
    int64_t files_added = 0;
    int64_t files_removed = 0;  // objects gone from the store (deletes policy)
    int64_t rows_added = 0;
    std::vector<std::string> partitions_added;  // "year=2026/month=11/..." newly seen
    std::vector<std::string> columns_added;     // "name TYPE"
    std::vector<std::string> columns_changed;   // "name: OLD -> NEW" (applied or not, per policy)
    std::vector<std::string> typed_columns;  // text read as another type: "name: TIMESTAMP from Apache log (...)"
    int64_t schema_version = 0;
  };
  int64_t objects_listed = 0;
  int64_t objects_read = 0;
  int64_t objects_unchanged = 0;
  std::vector<std::string> skipped;   // "key: reason" (empty, unknown format, unreadable)
  std::vector<std::string> warnings;  // conflicts naming files, unparsable datetimes, deletes, ...
  std::vector<TableChange> tables;

  bool failed() const;  // some table could not be updated
};

nlohmann::json CrawlReportToJson(const CrawlReport& report);
CrawlReport CrawlReportFromJson(const nlohmann::json& json);

// The report for people: one block per changed table, then skipped objects and warnings.
std::string FormatCrawlReport(const CrawlReport& report);

}  // namespace loch
