#pragma once
// `loch crawl` (one shot) and `loch crawler create|update|run|list|describe|delete` (saved
// crawlers, kept in the catalog with the reports of their runs).

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/status.h"

namespace loch::cli {

struct CrawlOptions {
  std::string name;  // saved crawlers only
  std::vector<std::string> prefixes;
  std::string database;
  std::string schema_change = "update";
  std::string deletes = "log";
  std::string recrawl = "new";
  std::string schedule;  // saved crawlers: a cron expression `loch serve` runs it on
  std::string timezone = "UTC";
};

absl::Status RunCrawl(const CommonOptions& common, const CrawlOptions& options, std::ostream& out);
absl::Status RunCrawlerCreate(const CommonOptions& common, const CrawlOptions& options,
                              std::ostream& out);
// Options given on the command line replace the saved crawler's; the others stay.
struct CrawlerUpdateOptions {
  std::string name;
  std::vector<std::string> prefixes;  // empty: unchanged
  std::optional<std::string> database, schema_change, deletes, recrawl, schedule, timezone;
};
absl::Status RunCrawlerUpdate(const CommonOptions& common, const CrawlerUpdateOptions& options,
                              std::ostream& out);
absl::Status RunCrawlerRun(const CommonOptions& common, const std::string& name, std::ostream& out);
absl::Status RunCrawlerList(const CommonOptions& common, std::ostream& out);
absl::Status RunCrawlerDescribe(const CommonOptions& common, const std::string& name,
                                std::ostream& out);
absl::Status RunCrawlerDelete(const CommonOptions& common, const std::string& name,
                              std::ostream& out);

}  // namespace loch::cli
