#pragma once
// Compaction: rewrites a table's small files into large, sorted zstd Parquet files in one commit
// (Catalog's kCompactOperation); the table's rows are unchanged, and so is every answer.
//
// Within each partition (the files sharing their partition values) the small files (under 3/4 of
// the target size, or not Parquet) are rewritten when there are two or more of them, or one that
// is not Parquet. The new files go under tables/<db>/<table>/<write id>/ and hold each column as
// the table reads it from its files: a column the table types from text (datetimes in their
// formats, lenient numbers) keeps its text, so that what later learnt formats, raw companions
// (`<column>_raw`) and values that do not parse show stays as it was.
//
// What happens to the rewritten files:
//   - files loch wrote (DataFile::owned: CTAS, INSERT, jobs, `loch load` copies) leave the table
//     and are deleted by vacuum after the retention, as overwritten files are;
//   - objects loch did not write (crawled files, stream deliveries: the raw zone, the source of
//     truth) are kept: each is copied to archive/<its key> (archive/<write id>/<its key> if a
//     record already names that copy), the table's records of it (its history: time travel and
//     incremental jobs read it there) re-pointed at the copy in the commit, and the original
//     queued for deletion no sooner than kMinSafeRetainMicros later (queries that began before
//     the commit may still read it; vacuum deletes it). Crawlers skip queued objects and the
//     archive zone.
// Objects of a delivery stream whose delivery is not checkpointed yet (a crash before the
// checkpoint delivers the same objects again) are left out, and so are files of unknown row count.
//
// Incremental jobs reading the table see no new rows (Catalog::ChangesBetween skips compactions).
// Raw objects are copied to the archive first and the rewritten files made from the copies.
// Everything is written before the commit: a run that fails or is killed leaves the table as it
// was, its staged files for vacuum (orphans) and its archive copies for the next compaction,
// which writes them again. A commit that loses a race with another writer is based again on the
// new snapshot when every file it rewrites is still live and the schema is the same; otherwise
// the run fails, asking to run it again.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "nlohmann/json.hpp"
#include "storage/object_store.h"

namespace loch {

struct CompactionOptions {
  TableName table;
  // Only the partitions with these values (as the catalog keeps them, e.g. {"day", "2026-12-01"}).
  std::map<std::string, std::string> partition;
  int64_t target_file_bytes = int64_t{128} << 20;  // 1 MiB to 4 GiB
  // Rows are sorted by these columns within each file (columns of the table, not partition ones).
  std::vector<std::string> sort_by;
  bool dry_run = false;  // plan and report; write nothing
};

struct CompactionReport {
  int64_t snapshot_id = 0;  // the compaction's snapshot; 0 if nothing was committed
  int64_t partitions = 0;   // partitions rewritten (that would be, in a dry run)
  int64_t files_before = 0;
  int64_t files_after = 0;  // in a dry run: unknown (0)
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  int64_t rows = 0;
  int64_t archived = 0;       // raw objects copied to archive/ (to be, in a dry run)
  int64_t not_delivered = 0;  // stream objects left out: their delivery is not checkpointed
  int64_t attempts = 0;       // commits tried
  std::string note;           // why nothing was rewritten

  nlohmann::json ToJson() const;
};

// Compacts `options.table`. InvalidArgument for bad options (unknown columns, a target size out of
// range); NotFound for an unknown table; Aborted when the table changed under the compaction in a
// way it cannot be based on (run it again).
absl::StatusOr<CompactionReport> Compact(Catalog& catalog, ObjectStore& store, LakeEngine& engine,
                                         const Principal& who, const CompactionOptions& options);

}  // namespace loch
