#pragma once
// SqliteDocuments: the catalog's console documents (saved queries, dashboards, share links),
// versioned (internal to catalog/). SqliteCatalog owns one and forwards the Catalog interface's
// document calls to it; the contracts are Catalog's (catalog.h). It shares the catalog's SQLite
// connection and the mutex that serialises it.

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "catalog/catalog_journal.h"
#include "catalog/model.h"
#include "common/status.h"

namespace loch {

class SqliteDocuments {
 public:
  // `db`, `mu` (which serialises every use of `db`) and `journal` (nullptr: none) outlive this
  // object; its write transactions go to `journal`.
  SqliteDocuments(sqlite3* db, std::mutex& mu, CommitJournal* journal)
      : db_(db), mu_(mu), journal_(journal) {}

  absl::StatusOr<SavedDocument> Put(const SavedDocument& document, int64_t base_version);
  absl::StatusOr<SavedDocument> Get(std::string_view kind, std::string_view name,
                                    std::optional<int64_t> version);
  absl::StatusOr<std::vector<SavedDocument>> List(std::string_view kind);
  absl::StatusOr<std::vector<SavedDocument>> Versions(std::string_view kind, std::string_view name);
  absl::Status Delete(std::string_view kind, std::string_view name);

 private:
  sqlite3* db_;
  std::mutex& mu_;
  CommitJournal* journal_;
};

}  // namespace loch
