#pragma once
// SqliteVacuum: the catalog's side of vacuum (internal to catalog/): which data-file records have
// expired, the queue of objects to delete, and the keys tables know. SqliteCatalog owns one and
// forwards the Catalog interface's vacuum calls to it; the contracts are Catalog's (catalog.h). It
// shares the catalog's SQLite connection and the mutex that serialises it.

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/catalog_journal.h"
#include "common/status.h"

namespace loch {

class SqliteVacuum {
 public:
  // `db`, `mu` (which serialises every use of `db`) and `journal` (nullptr: none) outlive this
  // object; its write transactions go to `journal`.
  SqliteVacuum(sqlite3* db, std::mutex& mu, CommitJournal* journal)
      : db_(db), mu_(mu), journal_(journal) {}

  // Expires the files of the table `table_id` (every table if nullopt). The caller holds `mu` inside
  // a write transaction, which it commits unless `request.dry_run`.
  absl::StatusOr<ExpiryResult> ExpireLocked(const ExpiryRequest& request,
                                            std::optional<int64_t> table_id);

  absl::StatusOr<std::vector<ObjectRef>> PendingDeletes(size_t limit);
  absl::Status ForgetPendingDeletes(const std::vector<std::string>& keys);
  absl::StatusOr<std::vector<std::string>> KnownKeys(std::string_view prefix);
  absl::StatusOr<std::vector<std::string>> QueuedKeys(std::string_view prefix);

 private:
  // The keys `sql` selects, its ?1 bound to `prefix`.
  absl::StatusOr<std::vector<std::string>> KeysUnder(const char* sql, std::string_view prefix);

  sqlite3* db_;
  std::mutex& mu_;
  CommitJournal* journal_;
};

}  // namespace loch
