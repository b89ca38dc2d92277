#pragma once
// The catalog's commit journal: every write transaction of the catalog, as the rows it changed,
// handed to a CommitJournal (recovery/ keeps it in the lake) before the transaction commits, so
// a catalog can be rebuilt from a copy of it (a checkpoint) and the changes made after that copy.
//
// Journal positions. A journal is a sequence of changes in a *timeline*: a random id, started
// from a checkpoint at sequence 0 (the catalog as it was), then 1, 2, ... one per committed write
// transaction, each naming the hash of the one before it. A timeline starts when a catalog first
// gets a journal, after its format or schema changed (a migration is not a change the journal
// can carry), and after a restore or a recovery (the copy is another catalog from then on). The
// position (timeline, sequence, hash of the last change) lives in the catalog itself, in a table
// the journal does not carry, and moves in the same transaction as the change.
//
// Not carried: query_history (an operational log, rewritten by every query) and the journal's
// own position. Everything else (databases, tables, schema versions, snapshots, files, column
// statistics, views, crawlers and their runs, streams and their delivered positions, jobs and
// runs, workgroups, deletion queue) is.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"

namespace loch {

// Tables whose rows the journal does not carry.
const std::set<std::string>& TablesOutsideJournal();

// What one committed write transaction changed.
struct CatalogChange {
  std::string timeline;
  int64_t sequence = 0;       // 1, 2, ... within the timeline
  std::string previous_hash;  // the hash of change `sequence - 1` ("" for the first)
  std::string schema;         // CatalogSchemaFingerprint of the catalog it applies to
  std::string changeset;      // a SQLite session changeset (binary)
  // sqlite_sequence after the change (the AUTOINCREMENT counters, which a changeset omits).
  std::map<std::string, int64_t> id_counters;
};

// Where a catalog's journal stands.
struct JournalPosition {
  std::string timeline;  // "" while the catalog has no journal (or after a restore)
  int64_t sequence = 0;
  std::string last_hash;
  std::string schema;  // the fingerprint the timeline started with
};

// Receives the catalog's changes. Append is called with the catalog's write transaction open, so
// changes arrive one at a time and in commit order, across all processes using the catalog file.
// All calls are made on the writing thread with the catalog's mutex held: they must not call the
// catalog.
class CommitJournal {
 public:
  virtual ~CommitJournal() = default;
  // Called before each write transaction begins (no transaction of the catalog's is open): the
  // place to make the journal ready (e.g. start a timeline). An error fails the write.
  virtual absl::Status BeforeWrite() { return absl::OkStatus(); }
  // Makes `change` durable; returns its hash, which the next change names as previous_hash. An
  // error rolls the transaction back (the caller gets the error; nothing changed).
  virtual absl::StatusOr<std::string> Append(const CatalogChange& change) = 0;
  // The transaction that carried `change` committed.
  virtual void Committed(const CatalogChange& change) = 0;
  // The transaction that carried the appended `change` reported that it did not commit (SQLite may
  // still have committed it, e.g. when the WAL's fsync failed after writing the commit).
  virtual void Abandoned(const CatalogChange& change) = 0;
};

// A SHA-256 (hex) over the catalog's schema and format version: changes apply only to a catalog
// with the same fingerprint (a changeset names columns by position).
absl::StatusOr<std::string> CatalogSchemaFingerprint(const std::string& catalog_path);

// The journal position stored in the catalog at `catalog_path`.
absl::StatusOr<JournalPosition> ReadJournalPosition(const std::string& catalog_path);

// Starts a new timeline `timeline` for the catalog at `catalog_path`, holding the catalog's write
// lock throughout so that no change is made meanwhile: copies the catalog to `base_path` (which
// must not exist) with the copy's position set to (timeline, 0), calls `publish(base_path)` (which
// stores the copy as the timeline's checkpoint 0 and names the timeline as the lake's), then moves
// the catalog's own position. Nothing moves if `publish` fails. First, with the lock held,
// `wanted(current position)` decides: false (e.g. another process started a timeline meanwhile)
// does nothing and returns false; an error is returned as it is.
absl::StatusOr<bool> StartJournalTimeline(
    const std::string& catalog_path, const std::string& timeline, const std::string& base_path,
    const std::function<absl::StatusOr<bool>(const JournalPosition&)>& wanted,
    const std::function<absl::Status(const std::string&)>& publish);

// Clears the journal position (a restored or recovered catalog starts a timeline of its own).
absl::Status ResetJournalPosition(const std::string& catalog_path);

// Applies journal changes, in order, to a checkpoint of the catalog (a file nobody else uses).
class CatalogReplay {
 public:
  static absl::StatusOr<std::unique_ptr<CatalogReplay>> Open(const std::string& catalog_path);
  virtual ~CatalogReplay() = default;
  virtual const JournalPosition& position() const = 0;
  // Applies `change`, whose record hashed to `hash`. FailedPrecondition (nothing applied) if it
  // does not follow the position (timeline, sequence, previous hash, schema); DataLoss if it is
  // not a changeset or its rows do not apply exactly (a row missing, or already there). Rows of
  // tables the journal does not carry are ignored.
  virtual absl::Status Apply(const CatalogChange& change, const std::string& hash) = 0;
};

}  // namespace loch
