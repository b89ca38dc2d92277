#include "catalog/sqlite_journal.h"

#include <memory>
#include <utility>

#include "catalog/catalog_file.h"
#include "common/content_hash.h"
#include "fmt/format.h"

namespace loch {
namespace {

using sqlite::Connection;
using sqlite::Statement;

absl::StatusOr<JournalPosition> ReadPosition(sqlite3* db) {
  JournalPosition position;
  Statement present(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'journal_state'");
  if (!present.Step()) return present.status();
  if (present.Int(0) == 0) return position;  // a catalog older than journals
  Statement read(db,
                 "SELECT timeline, sequence, last_hash, schema FROM journal_state WHERE id = 1");
  if (read.Step()) {
    position.timeline = read.Text(0);
    position.sequence = read.Int(1);
    position.last_hash = read.Text(2);
    position.schema = read.Text(3);
  }
  RETURN_IF_ERROR(read.status());
  return position;
}

absl::Status WritePosition(sqlite3* db, const JournalPosition& position) {
  Statement write(db,
                  "INSERT OR REPLACE INTO journal_state(id, timeline, sequence, last_hash, schema) "
                  "VALUES (1, ?, ?, ?, ?)");
  return write.Bind(1, position.timeline)
      .Bind(2, position.sequence)
      .Bind(3, position.last_hash)
      .Bind(4, position.schema)
      .Run();
}

absl::StatusOr<std::map<std::string, int64_t>> ReadIdCounters(sqlite3* db) {
  std::map<std::string, int64_t> counters;
  Statement present(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'");
  if (!present.Step()) return present.status();
  if (present.Int(0) == 0) return counters;
  Statement read(db, "SELECT name, seq FROM sqlite_sequence");
  while (read.Step()) {
    if (!TablesOutsideJournal().contains(read.Text(0))) counters[read.Text(0)] = read.Int(1);
  }
  RETURN_IF_ERROR(read.status());
  return counters;
}

int CarriedTable(void*, const char* table) {
  return TablesOutsideJournal().contains(table) ? 0 : 1;
}

// Any conflict means the change does not apply to this catalog as it applied to the original.
int AbortOnConflict(void* conflicts, int reason, sqlite3_changeset_iter*) {
  ++*static_cast<int*>(conflicts);
  (void)reason;
  return SQLITE_CHANGESET_ABORT;
}

class SqliteCatalogReplay final : public CatalogReplay {
 public:
  explicit SqliteCatalogReplay(Connection db) : db_(std::move(db)) {}

  absl::Status Load() {
    ASSIGN_OR_RETURN(position_, ReadPosition(db_.get()));
    ASSIGN_OR_RETURN(schema_, SchemaFingerprint(db_.get()));
    return absl::OkStatus();
  }

  const JournalPosition& position() const override { return position_; }

  absl::Status Apply(const CatalogChange& change, const std::string& hash) override {
    if (change.timeline != position_.timeline || change.sequence != position_.sequence + 1 ||
        change.previous_hash != position_.last_hash) {
      return absl::FailedPreconditionError(fmt::format(
          "change {} of timeline {} does not follow the catalog's position (change {} of {})",
          change.sequence, change.timeline, position_.sequence, position_.timeline));
    }
    if (change.schema != schema_) {
      return absl::FailedPreconditionError(fmt::format(
          "change {} was made to a catalog of another schema ({} here, {} in the change)",
          change.sequence, schema_.substr(0, 12), change.schema.substr(0, 12)));
    }
    // A changeset starts with a table header 'T' (a patchset's is 'P': it carries no old values
    // to check against, so it is refused).
    if (change.changeset.empty() || change.changeset[0] != 'T' ||
        change.changeset.size() > static_cast<size_t>(INT32_MAX)) {
      return absl::DataLossError(fmt::format("change {} of timeline {} is not a changeset",
                                             change.sequence, change.timeline));
    }
    sqlite::Transaction txn(db_.get(), /*write=*/true);
    RETURN_IF_ERROR(txn.status());
    int conflicts = 0;
    const int rc = sqlite3changeset_apply(db_.get(), static_cast<int>(change.changeset.size()),
                                          const_cast<char*>(change.changeset.data()), &CarriedTable,
                                          &AbortOnConflict, &conflicts);
    if (rc != SQLITE_OK || conflicts > 0) {
      return absl::DataLossError(fmt::format(
          "change {} of timeline {} does not apply to the catalog ({})", change.sequence,
          change.timeline,
          conflicts > 0 ? "a row it changes is missing or differs"
                        : fmt::format("its changeset is damaged: {}", sqlite3_errstr(rc))));
    }
    for (const auto& [table, counter] : change.id_counters) {
      Statement update(db_.get(), "UPDATE sqlite_sequence SET seq = ? WHERE name = ?");
      RETURN_IF_ERROR(update.Bind(1, counter).Bind(2, table).Run());
      if (sqlite3_changes(db_.get()) == 0) {
        Statement insert(db_.get(), "INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)");
        RETURN_IF_ERROR(insert.Bind(1, table).Bind(2, counter).Run());
      }
    }
    JournalPosition next = position_;
    next.sequence = change.sequence;
    next.last_hash = hash;
    RETURN_IF_ERROR(WritePosition(db_.get(), next));
    RETURN_IF_ERROR(txn.Commit());
    position_ = std::move(next);
    return absl::OkStatus();
  }

 private:
  Connection db_;
  JournalPosition position_;
  std::string schema_;
};

}  // namespace

const std::set<std::string>& TablesOutsideJournal() {
  static const std::set<std::string> tables = {"query_history", "journal_state"};
  return tables;
}

absl::StatusOr<std::string> SchemaFingerprint(sqlite3* db) {
  Sha256 hash;
  Statement schema(db,
                   "SELECT type, name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name");
  while (schema.Step()) {
    for (int column = 0; column < 3; ++column) {
      const std::string text = schema.Text(column);
      hash.Update(fmt::format("{}:", text.size()));
      hash.Update(text);
    }
  }
  RETURN_IF_ERROR(schema.status());
  Statement format(db, "SELECT value FROM catalog_meta WHERE key = 'format_version'");
  if (format.Step()) hash.Update("format:" + format.Text(0));
  RETURN_IF_ERROR(format.status());
  return hash.HexDigest();
}

JournaledTransaction::JournaledTransaction(sqlite3* db, CommitJournal* journal)
    : db_(db), journal_(journal) {
  if (journal_ != nullptr) status_ = journal_->BeforeWrite();
  if (!status_.ok()) return;
  txn_.emplace(db, /*write=*/true);
  status_ = txn_->status();
  if (!status_.ok() || journal_ == nullptr) return;
  if (sqlite3session_create(db_, "main", &session_) != SQLITE_OK) {
    status_ = sqlite::ErrorStatus(db_, "recording the catalog's changes");
    return;
  }
  sqlite3session_table_filter(session_, &CarriedTable, nullptr);
  if (sqlite3session_attach(session_, nullptr) != SQLITE_OK)
    status_ = sqlite::ErrorStatus(db_, "recording the catalog's changes");
}

JournaledTransaction::~JournaledTransaction() {
  if (session_ != nullptr) sqlite3session_delete(session_);
}

absl::Status JournaledTransaction::Commit() {
  RETURN_IF_ERROR(status_);
  if (journal_ == nullptr) return txn_->Commit();
  int size = 0;
  void* bytes = nullptr;
  if (const int rc = sqlite3session_changeset(session_, &size, &bytes); rc != SQLITE_OK) {
    return absl::InternalError(
        fmt::format("cannot read the catalog's changes: {}", sqlite3_errstr(rc)));
  }
  std::unique_ptr<void, decltype(&sqlite3_free)> owned(bytes, &sqlite3_free);
  if (size == 0) return txn_->Commit();  // nothing the journal carries changed

  ASSIGN_OR_RETURN(JournalPosition position, ReadPosition(db_));
  if (position.timeline.empty()) {
    return absl::FailedPreconditionError(
        "the catalog's journal has not started (reopen the lake to start it)");
  }
  CatalogChange change;
  change.timeline = position.timeline;
  change.sequence = position.sequence + 1;
  change.previous_hash = position.last_hash;
  ASSIGN_OR_RETURN(change.schema, SchemaFingerprint(db_));
  if (change.schema != position.schema) {
    return absl::FailedPreconditionError(
        "the catalog's schema changed since its journal timeline started (reopen the lake to "
        "start a new one)");
  }
  change.changeset.assign(static_cast<const char*>(bytes), static_cast<size_t>(size));
  ASSIGN_OR_RETURN(change.id_counters, ReadIdCounters(db_));
  ASSIGN_OR_RETURN(const std::string hash, journal_->Append(change));
  position.sequence = change.sequence;
  position.last_hash = hash;
  absl::Status committed = WritePosition(db_, position);
  if (committed.ok()) committed = txn_->Commit();
  if (!committed.ok()) {
    journal_->Abandoned(change);
    return committed;
  }
  journal_->Committed(change);
  return absl::OkStatus();
}

absl::StatusOr<std::string> CatalogSchemaFingerprint(const std::string& catalog_path) {
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READONLY));
  return SchemaFingerprint(db.get());
}

absl::StatusOr<JournalPosition> ReadJournalPosition(const std::string& catalog_path) {
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READONLY));
  return ReadPosition(db.get());
}

absl::StatusOr<bool> StartJournalTimeline(
    const std::string& catalog_path, const std::string& timeline, const std::string& base_path,
    const std::function<absl::StatusOr<bool>(const JournalPosition&)>& wanted,
    const std::function<absl::Status(const std::string&)>& publish) {
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READWRITE));
  sqlite::Transaction txn(db.get(), /*write=*/true);  // no change is made until it ends
  RETURN_IF_ERROR(txn.status());
  ASSIGN_OR_RETURN(const JournalPosition current, ReadPosition(db.get()));
  ASSIGN_OR_RETURN(const bool needed, wanted(current));
  if (!needed) return false;
  JournalPosition start;
  start.timeline = timeline;
  ASSIGN_OR_RETURN(start.schema, SchemaFingerprint(db.get()));
  {
    // The copy is what another connection reads: the last commit, which the lock keeps current.
    RETURN_IF_ERROR(CopyCatalogFile(catalog_path, base_path));
    ASSIGN_OR_RETURN(Connection base, sqlite::OpenConnection(base_path, SQLITE_OPEN_READWRITE));
    RETURN_IF_ERROR(WritePosition(base.get(), start));
  }
  RETURN_IF_ERROR(publish(base_path));
  RETURN_IF_ERROR(WritePosition(db.get(), start));
  RETURN_IF_ERROR(txn.Commit());
  return true;
}

absl::Status ResetJournalPosition(const std::string& catalog_path) {
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READWRITE));
  ASSIGN_OR_RETURN(const JournalPosition position, ReadPosition(db.get()));
  if (position.timeline.empty()) return absl::OkStatus();
  return sqlite::Exec(db.get(), "DELETE FROM journal_state");
}

absl::StatusOr<std::unique_ptr<CatalogReplay>> CatalogReplay::Open(
    const std::string& catalog_path) {
  ASSIGN_OR_RETURN(Connection db, sqlite::OpenConnection(catalog_path, SQLITE_OPEN_READWRITE));
  auto replay = std::make_unique<SqliteCatalogReplay>(std::move(db));
  RETURN_IF_ERROR(replay->Load());
  return std::unique_ptr<CatalogReplay>(std::move(replay));
}

}  // namespace loch
