#pragma once
// Vacuum: deletes what no snapshot of the lake needs any more, after a retention period.
//
//   1. Files that left their tables (removed by an overwrite or a crawl, or ended by DROP TABLE) at
//      least `retain` ago expire: the catalog forgets them and queues the objects loch wrote for
//      deletion (Catalog::ExpireFiles). The tables stay readable at every snapshot since; earlier
//      snapshots remain as history only.
//   2. The queued objects are deleted, then leave the queue. The queue is in the catalog, so a
//      vacuum killed half way leaves nothing behind: the next one deletes the rest.
//   3. Orphans: objects under "tables/" (the zone only loch writes: CTAS, INSERT) that no table
//      names and that are older than the retention and than kOrphanMinAge (a write still in
//      flight is never an orphan), and temporary files of writes a killed process left.
//
// Objects loch did not write (crawled sources) and stream deliveries (the raw zone) are never
// deleted; their expired records are only forgotten. A dry run reports without changing anything.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "storage/object_store.h"

namespace loch {

inline constexpr int64_t kDefaultRetainMicros = int64_t{7} * 24 * 3600 * 1000000;
// Retention below this needs `VacuumOptions::force`: a query that began before a table was
// overwritten may still be reading the files that overwrite removed.
inline constexpr int64_t kMinSafeRetainMicros = int64_t{3600} * 1000000;
// An unreferenced object younger than this may belong to a write that has not committed yet.
inline constexpr int64_t kOrphanMinAgeMicros = int64_t{3600} * 1000000;

struct VacuumOptions {
  int64_t retain_micros = kDefaultRetainMicros;
  std::optional<TableName> table;  // only this table's files (every table's if unset)
  bool dry_run = false;
  bool force = false;  // allow retain_micros < kMinSafeRetainMicros
  // Called as objects are deleted (done of total).
  std::function<void(size_t done, size_t total)> progress;
};

struct VacuumReport {
  ExpiryResult expired;  // what the catalog forgot (would forget, in a dry run)
  int64_t objects_deleted = 0;  // expired files' objects (queued ones from earlier runs included)
  int64_t bytes_deleted = 0;
  int64_t orphans_deleted = 0;  // unreferenced objects under tables/ (found, in a dry run)
  int64_t orphan_bytes = 0;
  int64_t temporaries_removed = 0;
  std::vector<std::string> failures;  // objects that could not be deleted (first few); retried next run
};

// "7d", "36h", "90m", "0s": a whole number and a unit (d, h, m, s). InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseRetention(std::string_view text);

// Runs vacuum over the lake (catalog and store). InvalidArgument for a retention below the safe
// minimum without `force`; NotFound for an unknown table. Objects that cannot be deleted are
// reported in `failures` and stay queued.
absl::StatusOr<VacuumReport> Vacuum(Catalog& catalog, ObjectStore& store, const Principal& who,
                                    const VacuumOptions& options);

}  // namespace loch
