#pragma once
// JournaledTransaction: a catalog write transaction whose changes go to the catalog's
// CommitJournal (catalog_journal.h) before it commits. Internal to catalog/.

#include <sqlite3.h>

#include <optional>
#include <string>

#include "catalog/catalog_journal.h"
#include "catalog/sqlite_db.h"
#include "common/status.h"

namespace loch {

// BEGIN IMMEDIATE ... COMMIT like sqlite::Transaction(db, true); with a journal, the journal's
// BeforeWrite comes first, and the rows changed in between (in the tables the journal carries) are
// recorded by a SQLite session and appended to the journal by Commit(), under the write lock,
// before COMMIT. Rolled back unless Commit() succeeded. Without a journal (nullptr) it is a plain
// write transaction.
class JournaledTransaction {
 public:
  JournaledTransaction(sqlite3* db, CommitJournal* journal);
  ~JournaledTransaction();
  JournaledTransaction(const JournaledTransaction&) = delete;
  JournaledTransaction& operator=(const JournaledTransaction&) = delete;

  const absl::Status& status() const { return status_; }
  // Appends the change to the journal (if anything the journal carries changed), moves the
  // catalog's journal position and commits. The journal's error, or the commit's, rolls back.
  absl::Status Commit();

 private:
  sqlite3* db_;
  CommitJournal* journal_;
  std::optional<sqlite::Transaction> txn_;  // begun once the journal is ready
  sqlite3_session* session_ = nullptr;
  absl::Status status_;
};

// CatalogSchemaFingerprint of an open connection.
absl::StatusOr<std::string> SchemaFingerprint(sqlite3* db);

}  // namespace loch
