#pragma once
// Catalog: the source of truth for what the lake holds.
//
// Commit semantics (optimistic concurrency):
//   A writer reads a table (its current snapshot S), writes new data files to the object store,
//   then calls Commit with base_snapshot = S. The commit succeeds only if the table is still at S;
//   it then atomically records a new snapshot S' (parent S) with the added/removed files and an
//   optional new schema version. If another writer committed first, Commit fails with Aborted
//   ("conflict: ...") and changes nothing; the writer re-reads and retries (its data files can be
//   reused).
// Reads are consistent: ReadTable returns the schema and files of exactly one snapshot.
// After each successful commit, subscribers receive a CommitEvent (see Subscribe).
//
// Error codes: NotFound (unknown database/table/snapshot; the message lists what exists),
// AlreadyExists, InvalidArgument (bad names, bad schema), Aborted (commit conflict), Internal
// (storage). Implementations are thread-safe. Every call names the Principal asking, for permission
// checks.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_journal.h"
#include "catalog/model.h"
#include "common/principal.h"
#include "common/status.h"

namespace loch {

// How many times a writer tries a commit that keeps losing races with other writers (re-reading
// the table before each try) before it gives up.
inline constexpr int kMaxCommitAttempts = 8;

// True if a commit failed only because another writer went first: Aborted (the table moved past
// its base snapshot) or, for a `create`, AlreadyExists (another writer created the table).
// Re-reading the table and committing again may succeed.
inline bool LostCommitRace(const absl::Status& committed, bool create) {
  return absl::IsAborted(committed) || (create && absl::IsAlreadyExists(committed));
}

// An object to delete and its size.
struct ObjectRef {
  std::string key;
  int64_t size_bytes = 0;
  // When set, the object is deleted only while its bytes are those of the object at this key (its
  // archive copy): other bytes written at the key since are someone else's (a producer replacing
  // a compacted raw object).
  std::string same_as;
};

// A compaction's commit: the table's files rewritten into others holding the same rows. The
// catalog refuses one (InvalidArgument) that has a new schema, removes no file, removes a file of
// unknown row count, adds a file loch did not write (DataFile::owned) or of unknown row count, adds
// a file in a partition none of the removed files was in, or whose files hold other than the
// removed files' number of rows. Its snapshots change no content: ChangesBetween skips them.
inline constexpr std::string_view kCompactOperation = "compact";

// A removed file re-pointed at a copy of its object (a compaction archiving the raw zone): every
// record of the file's key names `key` (with `etag`) from the commit on, at every snapshot.
struct Relocation {
  int64_t file_id = 0;
  std::string key;
  std::string etag;
};

// A change to one table, committed as one snapshot.
struct TableCommit {
  TableName table;
  // The snapshot the writer based its change on. kCreate creates the table (it must not exist).
  static constexpr int64_t kCreate = 0;
  int64_t base_snapshot = kCreate;
  std::string operation;             // "create", "append", "overwrite", "evolve", ...
  std::string message;               // free text for the history
  std::optional<Schema> new_schema;  // required when creating; otherwise a new schema version
  std::string location;              // required when creating: key prefix of the table's files
  std::vector<DataFile> add_files;
  std::vector<int64_t> remove_file_ids;
  nlohmann::json summary = nlohmann::json::object();
  // kCompactOperation only: removed files that loch did not write, moved to copies.
  std::vector<Relocation> relocations;
  // Objects queued for deletion with the commit (see PendingDeletes), not to be deleted before
  // `deletes_not_before_micros`: queries that began earlier may still read them.
  std::vector<ObjectRef> deferred_deletes;
  int64_t deletes_not_before_micros = 0;
};

struct CommitResult {
  int64_t snapshot_id = 0;
  int64_t schema_version = 0;
};

struct CommitEvent {
  enum class Kind { kTableCreated, kSnapshotAdded, kTableDropped, kTableRenamed };
  Kind kind;
  TableName table;  // kTableRenamed: its new name
  int64_t snapshot_id = 0;
  int64_t schema_version = 0;
  bool schema_changed = false;
  std::string operation;
  std::optional<TableName> renamed_from;  // kTableRenamed: its previous name
};

// Vacuum (see Catalog::ExpireFiles).
struct ExpiryRequest {
  int64_t cutoff_micros = 0;       // files that left their table at or before this time expire
  std::optional<TableName> table;  // only this live table; every table, live or dropped, if unset
  bool dry_run = false;            // count, change nothing
};

struct ExpiryResult {
  int64_t files_expired = 0;  // data-file records forgotten (or that would be, in a dry run)
  int64_t bytes_expired = 0;
  int64_t tables = 0;  // tables that had expired files
  // Objects the expired records named that loch wrote (DataFile::owned) and no remaining record
  // uses: queued for deletion (see PendingDeletes), or that would be in a dry run.
  std::vector<ObjectRef> to_delete;
  int64_t not_owned_kept = 0;  // expired crawled or delivered objects: forgotten, never deleted
};

class Catalog {
 public:
  using Subscriber = std::function<void(const CommitEvent&)>;
  virtual ~Catalog() = default;

  virtual absl::StatusOr<std::vector<std::string>> ListDatabases(const Principal& who) = 0;
  // Creates a database. AlreadyExists if it exists, unless `if_not_exists`.
  virtual absl::Status CreateDatabase(const Principal& who, std::string_view name,
                                      bool if_not_exists) = 0;

  // Tables of `database` (all databases if nullopt) at their current snapshots, ordered by name.
  virtual absl::StatusOr<std::vector<TableInfo>> ListTables(
      const Principal& who, const std::optional<std::string>& database) = 0;

  // The table at `at_snapshot` (its current snapshot if nullopt), with its live files.
  // FailedPrecondition when vacuum deleted files it had at that snapshot.
  virtual absl::StatusOr<TableSnapshot> ReadTable(const Principal& who, const TableName& table,
                                                  std::optional<int64_t> at_snapshot) = 0;

  // Commits `commit` atomically as described above.
  virtual absl::StatusOr<CommitResult> Commit(const Principal& who, const TableCommit& commit) = 0;

  // Drops the table: a final snapshot ends it and its files (which stay readable at earlier
  // snapshots). NotFound if it does not exist.
  virtual absl::StatusOr<CommitResult> DropTable(const Principal& who, const TableName& table) = 0;
  // Renames the live table `from` to `to` (in the same or another existing database) in a new
  // snapshot (operation "rename"); its files, schema versions and history stay and are read under
  // the new name (its earlier snapshots too). NotFound for an unknown table or database;
  // AlreadyExists if a table or view is named `to`.
  virtual absl::StatusOr<CommitResult> RenameTable(const Principal& who, const TableName& from,
                                                   const TableName& to) = 0;
  // What DROP TABLE ... PURGE deletes: the objects (key and size) loch wrote for the live table
  // (DataFile::owned) in any of its snapshots that no other table, live or dropped, has had.
  // NotFound if it does not exist.
  virtual absl::StatusOr<std::vector<DataFile>> FilesToPurge(const Principal& who,
                                                             const TableName& table) = 0;

  // Vacuum. A data file expires when it left its table (removed by an overwrite or a crawl, or
  // ended by a drop) in a snapshot older than the table's first snapshot committed after
  // `cutoff_micros`: no snapshot from then on reads it. Expired records are forgotten and the
  // objects they named queued for deletion, atomically. Snapshots stay as history, but a table
  // cannot be read or diffed at a snapshot that had expired files any more (FailedPrecondition).
  // NotFound for an unknown `request.table`.
  virtual absl::StatusOr<ExpiryResult> ExpireFiles(const Principal& who,
                                                   const ExpiryRequest& request) = 0;
  // The queue of objects to delete that are due (TableCommit::deferred_deletes wait until their
  // time), oldest first (at most `limit`). A commit that registers a queued key fails
  // (FailedPrecondition) until it leaves the queue, due or not.
  virtual absl::StatusOr<std::vector<ObjectRef>> PendingDeletes(const Principal& who,
                                                                size_t limit) = 0;
  // Removes `keys` from the queue: their objects are gone.
  virtual absl::Status ForgetPendingDeletes(const Principal& who,
                                            const std::vector<std::string>& keys) = 0;
  // Every key under `prefix` a data file (of any table, live or dropped) or the deletion queue
  // names: what is not among them is no table's.
  virtual absl::StatusOr<std::vector<std::string>> KnownKeys(const Principal& who,
                                                             std::string_view prefix) = 0;
  // The keys under `prefix` queued for deletion, due or not (crawlers skip them).
  virtual absl::StatusOr<std::vector<std::string>> QueuedKeys(const Principal& who,
                                                              std::string_view prefix) = 0;

  // Views share the table namespace of their database: a name is a table or a view, never both.
  // Creates the view (replaces it if `or_replace`). AlreadyExists if a table, or a view while not
  // `or_replace`, has the name; NotFound for an unknown database.
  virtual absl::StatusOr<ViewInfo> CreateView(const Principal& who, const ViewInfo& view,
                                              bool or_replace) = 0;
  // Drops the view. NotFound if there is none by that name.
  virtual absl::Status DropView(const Principal& who, const TableName& name) = 0;
  // The view, or NotFound.
  virtual absl::StatusOr<ViewInfo> GetView(const Principal& who, const TableName& name) = 0;
  // Views of `database` (all if nullopt), ordered by name.
  virtual absl::StatusOr<std::vector<ViewInfo>> ListViews(
      const Principal& who, const std::optional<std::string>& database) = 0;

  // The query history: finished queries of every front end, newest kept (kQueryHistoryKept).
  static constexpr int64_t kQueryHistoryKept = 10000;
  // The history keeps the first 16 KiB of a query's SQL and error (as valid UTF-8, without NULs).
  static constexpr size_t kQueryHistoryTextBytes = 16 << 10;
  // Records a finished query (replacing a record of the same id).
  virtual absl::Status RecordQuery(const Principal& who, const QueryRecord& query) = 0;
  // The newest `limit` records, newest first; with `id`, only that query's (empty if unknown).
  virtual absl::StatusOr<std::vector<QueryRecord>> ListQueries(
      const Principal& who, size_t limit, const std::optional<std::string>& id = std::nullopt) = 0;

  // Workgroups. "primary" always exists (with defaults until it is stored) and cannot be deleted.
  // Creates or replaces `config`. InvalidArgument for a bad name or negative limits.
  virtual absl::Status PutWorkgroup(const Principal& who, const WorkgroupConfig& config) = 0;
  // The workgroup, or NotFound (listing the workgroups that exist).
  virtual absl::StatusOr<WorkgroupConfig> GetWorkgroup(const Principal& who,
                                                       std::string_view name) = 0;
  // Every workgroup, "primary" included, ordered by name.
  virtual absl::StatusOr<std::vector<WorkgroupConfig>> ListWorkgroups(const Principal& who) = 0;
  // NotFound if unknown; FailedPrecondition for "primary".
  virtual absl::Status DeleteWorkgroup(const Principal& who, std::string_view name) = 0;

  // Freshness expectations. Sets (every_micros > 0) or removes (0) the expectation of `table`.
  // Setting one on a table that does not exist is NotFound; removing an absent one is OK.
  virtual absl::Status SetFreshness(const Principal& who, const TableName& table,
                                    int64_t every_micros) = 0;
  // Every expectation, by table name.
  virtual absl::StatusOr<std::vector<FreshnessExpectation>> ListFreshness(const Principal& who) = 0;

  // Saved crawlers and the reports of their runs.
  // Creates the crawler (replaces its configuration if `replace`). AlreadyExists otherwise.
  virtual absl::Status PutCrawler(const Principal& who, const SavedCrawler& crawler,
                                  bool replace) = 0;
  virtual absl::StatusOr<SavedCrawler> GetCrawler(const Principal& who, std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<SavedCrawler>> ListCrawlers(const Principal& who) = 0;
  // Deletes the crawler and its run history. NotFound if unknown.
  virtual absl::Status DeleteCrawler(const Principal& who, std::string_view name) = 0;
  // Records a finished run; returns its id.
  virtual absl::StatusOr<int64_t> AddCrawlerRun(const Principal& who, const CrawlerRun& run) = 0;
  // The crawler's most recent runs, newest first.
  virtual absl::StatusOr<std::vector<CrawlerRun>> ListCrawlerRuns(const Principal& who,
                                                                  std::string_view crawler,
                                                                  size_t limit) = 0;

  // Delivery streams. Creates `stream` (its created_micros is set and returned). AlreadyExists if
  // the name is taken; InvalidArgument for a bad name.
  virtual absl::StatusOr<SavedStream> CreateStream(const Principal& who,
                                                   const SavedStream& stream) = 0;
  virtual absl::StatusOr<SavedStream> GetStream(const Principal& who, std::string_view name) = 0;
  virtual absl::StatusOr<std::vector<SavedStream>> ListStreams(const Principal& who) = 0;
  // NotFound if unknown. The stream's table and objects stay.
  virtual absl::Status DeleteStream(const Principal& who, std::string_view name) = 0;
  // Records that the stream created at `created_micros` has delivered through `sequence`. NotFound
  // if that stream no longer exists (deleted, or replaced by a new one of the same name).
  virtual absl::Status SetStreamDelivered(const Principal& who, std::string_view name,
                                          int64_t created_micros, int64_t sequence) = 0;

  // ETL jobs, versioned. Stores `job.definition` as a new version of the job `job.name` (version
  // 1 creates it; AlreadyExists then if it exists, unless `replace`) and returns it with its
  // version set. InvalidArgument for a bad name.
  virtual absl::StatusOr<SavedJob> PutJob(const Principal& who, const SavedJob& job,
                                          bool replace) = 0;
  // The job's current version, or `version`. NotFound if unknown (listing the jobs that exist).
  virtual absl::StatusOr<SavedJob> GetJob(const Principal& who, std::string_view name,
                                          std::optional<int64_t> version = std::nullopt) = 0;
  // The current version of every job, ordered by name.
  virtual absl::StatusOr<std::vector<SavedJob>> ListJobs(const Principal& who) = 0;
  // Every version of the job, oldest first. NotFound if unknown.
  virtual absl::StatusOr<std::vector<SavedJob>> ListJobVersions(const Principal& who,
                                                                std::string_view name) = 0;
  // Deletes the job's versions and runs. NotFound if unknown. Its tables stay.
  virtual absl::Status DeleteJob(const Principal& who, std::string_view name) = 0;

  // The web console's documents (SavedDocument), versioned. Stores `document` as the next version
  // of (kind, name) if its current version is `base_version` (0: it must not exist yet), and
  // returns it with its version set; otherwise Aborted saying who stored the current version
  // when (two editors never overwrite each other). InvalidArgument for an empty kind or name.
  virtual absl::StatusOr<SavedDocument> PutDocument(const Principal& who,
                                                    const SavedDocument& document,
                                                    int64_t base_version) = 0;
  // The current version of (kind, name), or `version`. NotFound if there is none.
  virtual absl::StatusOr<SavedDocument> GetDocument(
      const Principal& who, std::string_view kind, std::string_view name,
      std::optional<int64_t> version = std::nullopt) = 0;
  // The current version of every document of `kind`, ordered by name.
  virtual absl::StatusOr<std::vector<SavedDocument>> ListDocuments(const Principal& who,
                                                                   std::string_view kind) = 0;
  // Every version of (kind, name), oldest first. NotFound if there is none.
  virtual absl::StatusOr<std::vector<SavedDocument>> ListDocumentVersions(
      const Principal& who, std::string_view kind, std::string_view name) = 0;
  // Deletes every version of (kind, name); their numbers are not given again (a new document of
  // that name starts after them, so a save based on a deleted version is refused). NotFound if
  // there is none.
  virtual absl::Status DeleteDocument(const Principal& who, std::string_view kind,
                                      std::string_view name) = 0;

  // The run store (RunRecord). Records `run` as given (a run started at once: RUNNING) and returns
  // its id.
  virtual absl::StatusOr<int64_t> StartRun(const Principal& who, const RunRecord& run) = 0;
  // Records `run` as QUEUED (its queued_micros set now) and returns its id. With `retry_of`, the
  // run is that failed run's retry, recorded in its retry_run_id in the same transaction:
  // AlreadyExists if it has one already (its retry was queued before), NotFound if unknown.
  virtual absl::StatusOr<int64_t> QueueRun(const Principal& who, const RunRecord& run,
                                           int64_t retry_of = 0) = 0;
  // Replaces the mutable fields of run `run.run_id`: state, pid, started and finished times,
  // not_before, error, log tail, report (never its cancel request, see RequestCancel). With
  // `expected_state`, only if the run is in that state now: FailedPrecondition naming the state
  // it is in otherwise (another process moved it). NotFound if unknown.
  virtual absl::Status UpdateRun(const Principal& who, const RunRecord& run,
                                 std::string_view expected_state = "") = 0;
  // Cancels run `run_id`: a QUEUED run becomes CANCELLED at once; a RUNNING one is marked
  // cancel_requested (the orchestrator that runs it stops its worker). Returns the run as it is
  // then. FailedPrecondition for a finished run, NotFound for an unknown one.
  virtual absl::StatusOr<RunRecord> RequestCancel(const Principal& who, int64_t run_id) = 0;
  // The runs `query` selects, newest first.
  virtual absl::StatusOr<std::vector<RunRecord>> FindRuns(const Principal& who,
                                                          const RunQuery& query) = 0;
  // The newest `limit` runs of `kind` named `name` (every name if empty), newest first; only
  // those in `state` if it is not empty.
  absl::StatusOr<std::vector<RunRecord>> ListRuns(const Principal& who, std::string_view kind,
                                                  std::string_view name, size_t limit,
                                                  std::string_view state = "") {
    RunQuery query{std::string(kind), std::string(name), {}, false, false, limit};
    if (!state.empty()) query.states.emplace_back(state);
    return FindRuns(who, query);
  }
  // The run, or NotFound.
  virtual absl::StatusOr<RunRecord> GetRun(const Principal& who, int64_t run_id) = 0;

  // The commits (snapshots of every table, dropped ones too) after snapshot `after`, oldest
  // first, at most `limit`. Snapshot ids grow with every commit in the catalog.
  virtual absl::StatusOr<std::vector<CommitRecord>> ListCommits(const Principal& who, int64_t after,
                                                                size_t limit) = 0;
  // The id of the newest commit in the catalog (0: none yet).
  virtual absl::StatusOr<int64_t> LatestSnapshotId(const Principal& who) = 0;

  // The table's snapshots, oldest first.
  virtual absl::StatusOr<std::vector<SnapshotInfo>> ListSnapshots(const Principal& who,
                                                                  const TableName& table) = 0;
  // The table's schema versions, oldest first.
  virtual absl::StatusOr<std::vector<Schema>> ListSchemas(const Principal& who,
                                                          const TableName& table) = 0;

  // How the table's rows changed after snapshot `from` (0: the start) up to and including snapshot
  // `to`, by file: `added` holds the files whose rows are there at `to` but were not at `from`;
  // `removed` those whose rows were there at `from` and are not at `to`. Compactions
  // (kCompactOperation) move rows between files without changing them: the files they add are
  // never `added` (a file added after `from` and compacted stays `added`, as its record names its
  // object now), and the files they remove never `removed`. FailedPrecondition when vacuum
  // expired files removed after `from` (see ExpireFiles).
  virtual absl::StatusOr<FileChanges> ChangesBetween(const Principal& who, const TableName& table,
                                                     int64_t from, int64_t to) = 0;

  // Registers `subscriber` to be called after every successful commit through this Catalog object,
  // on the committing thread, outside any catalog lock. Returns an id for Unsubscribe.
  virtual int Subscribe(Subscriber subscriber) = 0;
  // After it returns the subscriber is not called again, nor running (not from a subscriber).
  virtual void Unsubscribe(int id) = 0;
};

// Opens (creating if needed) the SQLite catalog at `path` (WAL mode). The folder must exist. With a
// `journal` (which must outlive the catalog), every write transaction is appended to it before it
// commits (catalog_journal.h); a journal that fails makes the write fail.
absl::StatusOr<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path,
                                                           CommitJournal* journal = nullptr);

}  // namespace loch
