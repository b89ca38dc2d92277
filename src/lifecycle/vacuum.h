#pragma once
// Vacuum: deletes what no snapshot of the lake needs any more, after a retention period.
//
//   1. Files that left their tables (removed by an overwrite or a crawl, or ended by DROP TABLE) at
//      least `retain` ago expire: the catalog forgets them and queues the objects loch wrote for
//      deletion (Catalog::ExpireFiles). The tables stay readable at every snapshot since; earlier
//      snapshots remain as history only.
//   2. The queued objects (this run's and any an interrupted run left, whatever table they were
//      of) are deleted, then leave the queue: a vacuum killed half way is finished by the next.
//   3. Orphans: objects of CTAS and INSERT writes that never committed (under
//      tables/<db>/<table>/<write id>/) that no table names, whose write began more than
//      kOrphanMinAge ago and that are older than the retention; and the temporary files and
//      folders of writes a killed process left (older than kOrphanMinAge).
//
// Only objects loch wrote for a table (DataFile::owned: `loch load` copies, CTAS and INSERT files)
// are deleted; crawled sources and stream deliveries are only forgotten. A dry run reports
// without changing anything.

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
// A write may take this long to commit: its files and temporary files are never orphans before.
inline constexpr int64_t kOrphanMinAgeMicros = int64_t{24} * 3600 * 1000000;

struct VacuumOptions {
  int64_t retain_micros = kDefaultRetainMicros;
  // Only this table's files and orphans (every table's if unset); temporaries are left alone.
  std::optional<TableName> table;
  bool dry_run = false;
  bool force = false;  // allow retain_micros < kMinSafeRetainMicros
  // Called as objects are deleted (done of total).
  std::function<void(size_t done, size_t total)> progress;
};

struct VacuumReport {
  ExpiryResult expired;  // what the catalog forgot (would forget, in a dry run)
  int64_t objects_deleted = 0;  // expired files' objects (queued ones from earlier runs included)
  int64_t bytes_deleted = 0;
  int64_t orphans_deleted = 0;  // objects of writes that never committed (found, in a dry run)
  int64_t orphan_bytes = 0;
  int64_t temporaries_removed = 0;
  // Queued objects whose bytes changed since they were queued (ObjectRef::same_as): left in place.
  int64_t replaced_kept = 0;
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
