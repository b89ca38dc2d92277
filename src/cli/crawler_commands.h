#pragma once
// `loch crawl` (one shot) and `loch crawler create|run|list|describe|delete` (saved crawlers, kept
// in the catalog with the reports of their runs).

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
};

absl::Status RunCrawl(const CommonOptions& common, const CrawlOptions& options, std::ostream& out);
absl::Status RunCrawlerCreate(const CommonOptions& common, const CrawlOptions& options,
                              std::ostream& out);
absl::Status RunCrawlerRun(const CommonOptions& common, const std::string& name, std::ostream& out);
absl::Status RunCrawlerList(const CommonOptions& common, std::ostream& out);
absl::Status RunCrawlerDescribe(const CommonOptions& common, const std::string& name,
                                std::ostream& out);
absl::Status RunCrawlerDelete(const CommonOptions& common, const std::string& name,
                              std::ostream& out);

}  // namespace loch::cli
