#include "catalog/sqlite_vacuum.h"

#include "catalog/sqlite_db.h"
#include "catalog/sqlite_journal.h"
#include "common/clock.h"

namespace loch {

using sqlite::Statement;
using sqlite::Transaction;

absl::StatusOr<ExpiryResult> SqliteVacuum::ExpireLocked(const ExpiryRequest& request,
                                                        std::optional<int64_t> table_id) {
  RETURN_IF_ERROR(sqlite::Exec(db_,
                               "CREATE TEMP TABLE IF NOT EXISTS expiring("
                               "file_id INTEGER PRIMARY KEY, table_id INTEGER NOT NULL, "
                               "end_snapshot INTEGER NOT NULL); DELETE FROM expiring"));
  // A file removed before the table's first snapshot after the cutoff is in none of the snapshots
  // from then on. (By ids, not times: a clock stepping back never moves a file out of the window.)
  Statement expiring(db_, R"sql(
    INSERT INTO expiring
    SELECT f.file_id, f.table_id, f.end_snapshot FROM data_files f
    WHERE f.end_snapshot IS NOT NULL AND (?2 IS NULL OR f.table_id = ?2)
      AND f.end_snapshot < coalesce(
        (SELECT min(s.snapshot_id) FROM snapshots s
         WHERE s.table_id = f.table_id AND s.committed_micros > ?1),
        9223372036854775807))sql");
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
  // every record of it says loch wrote it.
  Statement objects(db_, R"sql(
    SELECT f.key, max(f.size_bytes), min(f.owned) FROM data_files f
    WHERE f.file_id IN (SELECT file_id FROM expiring) AND NOT EXISTS (
      SELECT 1 FROM data_files g
      WHERE g.key = f.key AND g.file_id NOT IN (SELECT file_id FROM expiring))
    GROUP BY f.key ORDER BY f.key)sql");
  while (objects.Step()) {
    if (objects.Int(2) == 0) {
      ++result.not_owned_kept;
      continue;
    }
    result.to_delete.push_back(ObjectRef{objects.Text(0), objects.Int(1)});
  }
  RETURN_IF_ERROR(objects.status());
  if (request.dry_run || result.files_expired == 0) return result;

  const int64_t now = NowMicros();
  for (const ObjectRef& object : result.to_delete) {
    Statement queue(db_,
                    "INSERT OR IGNORE INTO pending_deletes(key, size_bytes, queued_micros) VALUES "
                    "(?, ?, ?)");
    RETURN_IF_ERROR(queue.Bind(1, object.key).Bind(2, object.size_bytes).Bind(3, now).Run());
  }
  // Reads at a snapshot before the last removal that expired would miss files: refused from now.
  RETURN_IF_ERROR(sqlite::Exec(db_, R"sql(
    UPDATE tables SET vacuumed_through = max(vacuumed_through, (
      SELECT max(end_snapshot) FROM expiring e WHERE e.table_id = tables.table_id))
    WHERE table_id IN (SELECT table_id FROM expiring);
    DELETE FROM file_column_stats WHERE file_id IN (SELECT file_id FROM expiring);
    DELETE FROM data_files WHERE file_id IN (SELECT file_id FROM expiring);
    DELETE FROM expiring)sql"));
  return result;
}

absl::StatusOr<std::vector<ObjectRef>> SqliteVacuum::PendingDeletes(size_t limit) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, /*write=*/false);
  RETURN_IF_ERROR(txn.status());
  Statement query(db_,
                  "SELECT key, size_bytes, same_as FROM pending_deletes WHERE not_before_micros <= ? "
                  "ORDER BY queued_micros, key LIMIT ?");
  query.Bind(1, NowMicros()).Bind(2, static_cast<int64_t>(limit));
  std::vector<ObjectRef> objects;
  while (query.Step()) objects.push_back(ObjectRef{query.Text(0), query.Int(1), query.Text(2)});
  RETURN_IF_ERROR(query.status());
  RETURN_IF_ERROR(txn.Commit());
  return objects;
}

absl::Status SqliteVacuum::ForgetPendingDeletes(const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  JournaledTransaction txn(db_, journal_);
  RETURN_IF_ERROR(txn.status());
  for (const std::string& key : keys) {
    Statement remove(db_, "DELETE FROM pending_deletes WHERE key = ?");
    RETURN_IF_ERROR(remove.Bind(1, key).Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> SqliteVacuum::KnownKeys(std::string_view prefix) {
  return KeysUnder(
      "SELECT key FROM data_files WHERE substr(key, 1, length(?1)) = ?1 UNION "
      "SELECT key FROM pending_deletes WHERE substr(key, 1, length(?1)) = ?1 ORDER BY 1",
      prefix);
}

absl::StatusOr<std::vector<std::string>> SqliteVacuum::QueuedKeys(std::string_view prefix) {
  return KeysUnder(
      "SELECT key FROM pending_deletes WHERE substr(key, 1, length(?1)) = ?1 ORDER BY 1", prefix);
}

absl::StatusOr<std::vector<std::string>> SqliteVacuum::KeysUnder(const char* sql,
                                                                 std::string_view prefix) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, /*write=*/false);
  RETURN_IF_ERROR(txn.status());
  Statement query(db_, sql);
  query.Bind(1, prefix);
  std::vector<std::string> keys;
  while (query.Step()) keys.push_back(query.Text(0));
  RETURN_IF_ERROR(query.status());
  RETURN_IF_ERROR(txn.Commit());
  return keys;
}

}  // namespace loch
