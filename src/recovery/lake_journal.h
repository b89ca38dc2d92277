#pragma once
// The catalog's commit journal, kept in the lake itself, so that the catalog can be rebuilt from
// the bucket alone when its state folder is lost (`loch init --recover`).
//
// Layout (object keys under the lake root):
//   _loch/catalog/HEAD                          {"timeline", "lake", "started_at"}: the timeline
//                                               to recover from
//   _loch/catalog/<T>/checkpoint-<seq>.bak      the catalog after change <seq> of timeline <T>
//                                               (catalog_backup.h's format); seq 0 starts <T>
//   _loch/catalog/<T>/log/<seq>.rec             change <seq> of <T>
// (<seq> has 20 digits, so keys sort in sequence order.) A change is written with PutIfAbsent
// before the catalog's transaction commits (catalog_journal.h), so every commit a caller was told
// about is in the lake. A record is never replaced or deleted: after a write that failed or died
// between its record and its COMMIT, the next write starts a new timeline from the catalog as it
// really is. So at most the last record of a timeline may be a change whose caller got an error
// or no answer: as with any database after a crash, such a commit may or may not have happened.
//
// A timeline another state folder took over is fenced: "LOCHFENC" and {"superseded_by"} at its
// next sequence, so a writer still on it (the machine thought lost, or a stale copy) fails at its
// next commit instead of writing changes nobody will recover.
//
// Record format (version 1): "LOCHLOG1", a 4-byte big-endian header length, a JSON header
// {format, timeline, sequence, previous_hash, schema, id_counters, changeset_bytes,
// changeset_sha256}, then one zstd frame of the changeset. A record's hash is the SHA-256 of all
// its bytes.
//
// Checkpoints: every `checkpoint_every` changes a copy of the catalog (taken online, as a backup
// is) is stored on a thread of the journal's; log records that the checkpoint before it covers are
// then deleted. Timelines other than HEAD's are left in place (each holds at least a checkpoint of
// the whole catalog; delete them by hand if space matters).
//
// Trust: the hashes detect damage, not tampering; whoever can write the bucket can write the
// catalog (as they can write its data).
//
// Cost: Append holds the catalog's write lock for one put-if-absent (a HEAD and a PUT on S3);
// starting a timeline holds it while the whole catalog is stored and read back.
//
// Thread-safety: Append and Committed are called by the catalog one transaction at a time; the
// checkpoint thread is the journal's own. Several processes sharing one state folder each have a
// LakeJournal; the catalog's write lock orders their appends.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "catalog/catalog_journal.h"
#include "common/lake_config.h"
#include "common/status.h"
#include "storage/object_store.h"

namespace loch {

inline constexpr std::string_view kCatalogJournalPrefix = "_loch/catalog/";  // in kSystemZone

// Whether the lake keeps its catalog's journal: remote lakes, and local lakes whose state folder
// is not inside the lake (a local lake with its state inside loses both together).
bool LakeKeepsJournal(const LakeLocation& lake);

struct JournalOptions {
  int64_t checkpoint_every = 1000;  // changes between checkpoints
};

class LakeJournal final : public CommitJournal {
 public:
  // `store` is the lake's (keys relative to its root) and outlives the journal.
  LakeJournal(LakeLocation lake, ObjectStore& store, JournalOptions options = {});
  // Waits for a checkpoint in progress.
  ~LakeJournal() override;

  // Makes the journal ready for writes; the first write of the process (and the first after a
  // failed one) calls it (BeforeWrite), and `loch init`, `--recover` and restore call it at once.
  // Starts a timeline (stores checkpoint 0, fences the timelines it replaces, names it in HEAD,
  // holding the catalog's write lock throughout) if the catalog has none (new, restored,
  // recovered: it takes the lake over), its schema changed, or one record that never committed
  // follows its last change. FailedPrecondition, changing nothing, if this catalog is no longer
  // the lake's: HEAD names another timeline, or the log goes on past its last change (a stale
  // copy of the state folder).
  absl::Status Prepare();

  absl::Status BeforeWrite() override;
  absl::StatusOr<std::string> Append(const CatalogChange& change) override;
  void Committed(const CatalogChange& change) override;
  void Abandoned(const CatalogChange& change) override;

  // Stores a checkpoint now, on the calling thread; returns its sequence.
  absl::StatusOr<int64_t> Checkpoint();

 private:
  absl::StatusOr<std::string> AppendRecord(const CatalogChange& change);
  // Why a catalog at `position`, whose schema is now `schema`, needs a new timeline ("": it does
  // not); FailedPrecondition if it is no longer the lake's catalog (see Prepare).
  absl::StatusOr<std::string> WhyStartTimeline(const JournalPosition& position,
                                               const std::string& schema);
  absl::Status PublishHead(const std::string& timeline);
  // Fences `timeline` at its first free sequence from `from` on.
  absl::Status FenceTimeline(const std::string& timeline, int64_t from,
                             const std::string& successor);
  void PruneBefore(const std::string& timeline, int64_t sequence);

  LakeLocation lake_;
  ObjectStore& store_;
  JournalOptions options_;
  std::atomic<bool> ready_{false};  // Prepare succeeded and no write failed since
  std::mutex checkpoint_mu_;
  std::thread checkpointer_;    // guarded by checkpoint_mu_
  bool checkpointing_ = false;  // guarded by checkpoint_mu_
};

// A change as the lake keeps it, and back. ParseJournalRecord: DataLoss naming what is wrong;
// memory stays bounded whatever the bytes claim (a changeset is at most 256 MiB, and only
// what really decompresses is held).
absl::StatusOr<std::string> EncodeJournalRecord(const CatalogChange& change);
absl::StatusOr<CatalogChange> ParseJournalRecord(std::string_view bytes);

// The key of change `sequence` of `timeline`, and of its checkpoint.
std::string JournalRecordKey(const std::string& timeline, int64_t sequence);
std::string JournalCheckpointKey(const std::string& timeline, int64_t sequence);

struct RecoveryReport {
  std::string timeline;
  int64_t checkpoint_sequence = 0;  // the checkpoint it started from
  std::string checkpoint_taken_at;
  int64_t last_sequence = 0;  // the last change applied
  int64_t changes_applied = 0;
  std::string stopped_because;  // why no later change was applied
};

// Rebuilds the lake's catalog from the lake alone into the new file `out_path`: HEAD's timeline,
// its newest checkpoint that reads back whole, then every change after it, in order, each checked
// (hash chain, schema) before it is applied, up to the log's end or its fence. NotFound if the lake
// has no journal; DataLoss if no checkpoint is usable, a change is damaged, or a change is missing
// while later ones exist. The result has no journal position
// (its first open starts a timeline of its own).
absl::StatusOr<RecoveryReport> RecoverCatalogFromLake(const LakeLocation& lake, ObjectStore& store,
                                                      const std::string& out_path);

}  // namespace loch
