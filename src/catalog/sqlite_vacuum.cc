#include "catalog/sqlite_vacuum.h"

#include "catalog/sqlite_db.h"
#include "common/clock.h"

namespace loch {

using sqlite::Statement;
using sqlite::Transaction;

absl::StatusOr<ExpiryResult> SqliteVacuum::ExpireLocked(const ExpiryRequest& request,
                                                        std::optional<int64_t> table_id) {
  RETURN_IF_ERROR(sqlite::Exec(db_,
                               "CREATE TEMP TABLE IF NOT EXISTS expiring("
                               "file_id INTEGER PRIMARY KEY, table_id INTEGER NOT NULL, "
                               "keep_snapshot INTEGER NOT NULL); DELETE FROM expiring"));
  // Per table, its newest snapshot at the cutoff: a file that left before or at it is in none of
  // the snapshots that follow.
  Statement expiring(db_, R"sql(
    INSERT INTO expiring
    SELECT f.file_id, f.table_id, keep.snapshot FROM data_files f JOIN (
      SELECT table_id, max(snapshot_id) AS snapshot FROM snapshots
      WHERE committed_micros <= ?1 AND (?2 IS NULL OR table_id = ?2) GROUP BY table_id) keep
    USING (table_id)
    WHERE f.end_snapshot IS NOT NULL AND f.end_snapshot <= keep.snapshot)sql");
  expiring.Bind(1, request.cutoff_micros);
  if (table_id.has_value())
    expiring.Bind(2, *table_id);
  else
    expiring.BindNull(2);
  RETURN_IF_ERROR(expiring.Run());

  ExpiryResult result;
  Statement counts(db_,
                   "SELECT count(*), count(DISTINCT e.table_id), coalesce(sum(f.size_bytes), 0) "
                   "FROM expiring e JOIN data_files f USING (file_id)");
  if (!counts.Step()) return counts.status();
  result.files_expired = counts.Int(0);
  result.tables = counts.Int(1);
  result.bytes_expired = counts.Int(2);

  // An object may go when no record outside the expiring ones names it; loch deletes it only when
  // it wrote it (no record of it is a crawled source's).
  Statement objects(db_, R"sql(
    SELECT f.key, max(f.size_bytes), max(f.external) FROM data_files f
    WHERE f.file_id IN (SELECT file_id FROM expiring) AND NOT EXISTS (
      SELECT 1 FROM data_files g WHERE g.key = f.key AND g.file_id NOT IN (SELECT file_id FROM expiring))
    GROUP BY f.key ORDER BY f.key)sql");
  while (objects.Step()) {
    if (objects.Int(2) != 0) {
      ++result.external_kept;
      continue;
    }
    DataFile file;
    file.key = objects.Text(0);
    file.size_bytes = objects.Int(1);
    result.to_delete.push_back(std::move(file));
  }
  RETURN_IF_ERROR(objects.status());
  if (request.dry_run || result.files_expired == 0) return result;

  const int64_t now = NowMicros();
  for (const DataFile& file : result.to_delete) {
    Statement queue(db_, "INSERT OR IGNORE INTO pending_deletes VALUES (?, ?, ?)");
    RETURN_IF_ERROR(queue.Bind(1, file.key).Bind(2, file.size_bytes).Bind(3, now).Run());
  }
  RETURN_IF_ERROR(sqlite::Exec(db_, R"sql(
    UPDATE tables SET vacuumed_through = max(vacuumed_through, (
      SELECT max(keep_snapshot) FROM expiring e WHERE e.table_id = tables.table_id))
    WHERE table_id IN (SELECT table_id FROM expiring);
    DELETE FROM file_column_stats WHERE file_id IN (SELECT file_id FROM expiring);
    DELETE FROM data_files WHERE file_id IN (SELECT file_id FROM expiring);
    DELETE FROM expiring)sql"));
  return result;
}

absl::StatusOr<std::vector<DataFile>> SqliteVacuum::PendingDeletes(size_t limit) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, /*write=*/true);
  RETURN_IF_ERROR(txn.status());
  RETURN_IF_ERROR(sqlite::Exec(
      db_, "DELETE FROM pending_deletes WHERE key IN (SELECT key FROM data_files)"));
  Statement query(db_,
                  "SELECT key, size_bytes FROM pending_deletes ORDER BY queued_micros, key "
                  "LIMIT ?");
  query.Bind(1, static_cast<int64_t>(limit));
  std::vector<DataFile> files;
  while (query.Step()) {
    DataFile file;
    file.key = query.Text(0);
    file.size_bytes = query.Int(1);
    files.push_back(std::move(file));
  }
  RETURN_IF_ERROR(query.status());
  RETURN_IF_ERROR(txn.Commit());
  return files;
}

absl::Status SqliteVacuum::ForgetPendingDeletes(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, /*write=*/true);
  RETURN_IF_ERROR(txn.status());
  for (const std::string& key : keys) {
    Statement remove(db_, "DELETE FROM pending_deletes WHERE key = ?");
    RETURN_IF_ERROR(remove.Bind(1, key).Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> SqliteVacuum::KnownKeys(std::string_view prefix) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, /*write=*/false);
  RETURN_IF_ERROR(txn.status());
  Statement query(db_,
                  "SELECT key FROM data_files WHERE substr(key, 1, length(?1)) = ?1 UNION "
                  "SELECT key FROM pending_deletes WHERE substr(key, 1, length(?1)) = ?1 "
                  "ORDER BY 1");
  query.Bind(1, prefix);
  std::vector<std::string> keys;
  while (query.Step()) keys.push_back(query.Text(0));
  RETURN_IF_ERROR(query.status());
  RETURN_IF_ERROR(txn.Commit());
  return keys;
}

}  // namespace loch
