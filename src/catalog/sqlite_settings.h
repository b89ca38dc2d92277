#pragma once
// SqliteSettings: the catalog's settings store (internal to catalog/): workgroups, saved crawlers
// and their run reports, delivery streams and how far each has delivered. SqliteCatalog owns one
// and forwards the Catalog interface's settings calls to it; the contracts are Catalog's
// (catalog.h). It shares the catalog's SQLite connection and the mutex that serialises it.

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "catalog/catalog_journal.h"
#include "catalog/model.h"
#include "common/status.h"

namespace loch {

class SqliteSettings {
 public:
  // `db`, `mu` (which serialises every use of `db`) and `journal` (nullptr: none) outlive this
  // object; its write transactions go to `journal`.
  SqliteSettings(sqlite3* db, std::mutex& mu, CommitJournal* journal)
      : db_(db), mu_(mu), journal_(journal) {}

  absl::Status PutWorkgroup(const WorkgroupConfig& config);
  absl::StatusOr<WorkgroupConfig> GetWorkgroup(std::string_view name);
  absl::StatusOr<std::vector<WorkgroupConfig>> ListWorkgroups();
  absl::Status DeleteWorkgroup(std::string_view name);

  absl::Status PutCrawler(const SavedCrawler& crawler, bool replace);
  absl::StatusOr<SavedCrawler> GetCrawler(std::string_view name);
  absl::StatusOr<std::vector<SavedCrawler>> ListCrawlers();
  absl::Status DeleteCrawler(std::string_view name);
  absl::StatusOr<int64_t> AddCrawlerRun(const CrawlerRun& run);
  absl::StatusOr<std::vector<CrawlerRun>> ListCrawlerRuns(std::string_view crawler, size_t limit);

  absl::StatusOr<SavedStream> CreateStream(const SavedStream& stream);
  absl::StatusOr<SavedStream> GetStream(std::string_view name);
  absl::StatusOr<std::vector<SavedStream>> ListStreams();
  absl::Status DeleteStream(std::string_view name);
  absl::Status SetStreamDelivered(std::string_view name, int64_t created_micros, int64_t sequence);

 private:
  sqlite3* db_;
  std::mutex& mu_;
  CommitJournal* journal_;
};

}  // namespace loch
