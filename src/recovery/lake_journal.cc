#include "recovery/lake_journal.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "catalog/catalog_file.h"
#include "common/clock.h"
#include "common/content_hash.h"
#include "common/fault_point.h"
#include "common/ids.h"
#include "common/logging.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "recovery/catalog_backup.h"
#include "recovery/envelope.h"
#include "recovery/scratch_dir.h"
#include "recovery/zstd_frame.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRecordMagic = "LOCHLOG1";
// At the next sequence of a timeline another state folder took over: its writers stop there.
constexpr std::string_view kFenceMagic = "LOCHFENC";
constexpr int kRecordFormat = 1;
constexpr int64_t kMaxChangesetBytes = int64_t{256} << 20;
constexpr int kZstdLevel = 3;  // on the commit path: fast

std::string HeadKey() { return std::string(kCatalogJournalPrefix) + "HEAD"; }
std::string TimelinePrefix(const std::string& timeline) {
  return fmt::format("{}{}/", kCatalogJournalPrefix, timeline);
}

std::string Sha256Of(std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes);
  return hash.HexDigest();
}

// The sequence in a key ending in "<20 digits><suffix>"; nullopt for any other key.
std::optional<int64_t> SequenceIn(std::string_view key, std::string_view suffix) {
  if (!key.ends_with(suffix) || key.size() < suffix.size() + 20) return std::nullopt;
  const std::string_view digits = key.substr(key.size() - suffix.size() - 20, 20);
  int64_t sequence = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || sequence > (INT64_MAX - 9) / 10) return std::nullopt;
    sequence = sequence * 10 + (c - '0');
  }
  return sequence;
}

// The timeline HEAD names ("" if there is no HEAD). DataLoss if HEAD is damaged.
absl::StatusOr<std::string> ReadHeadTimeline(ObjectStore& store) {
  absl::StatusOr<std::string> bytes = store.Get(HeadKey());
  if (absl::IsNotFound(bytes.status())) return std::string();
  RETURN_IF_ERROR(Annotate(bytes.status(), "reading the catalog journal's HEAD"));
  const nlohmann::json head = nlohmann::json::parse(*bytes, nullptr, false);
  const std::string timeline = head.is_object() ? HeaderText(head, "timeline") : "";
  if (timeline.empty() || timeline.find('/') != std::string::npos || timeline.size() > 100)
    return absl::DataLossError(fmt::format("{} is damaged: it names no timeline", HeadKey()));
  return timeline;
}

// The sequences of `timeline`'s checkpoints, ascending.
absl::StatusOr<std::vector<int64_t>> CheckpointSequences(ObjectStore& store,
                                                         const std::string& timeline) {
  ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects,
                   ListAll(store, TimelinePrefix(timeline) + "checkpoint-"));
  std::vector<int64_t> sequences;
  for (const ObjectInfo& object : objects)
    if (auto sequence = SequenceIn(object.key, ".bak")) sequences.push_back(*sequence);
  std::sort(sequences.begin(), sequences.end());
  return sequences;
}

}  // namespace

bool LakeKeepsJournal(const LakeLocation& lake) {
  if (lake.remote()) return true;
  std::error_code error;
  const fs::path root = fs::weakly_canonical(lake.root, error);
  const fs::path state = fs::weakly_canonical(lake.state_dir, error);
  const fs::path inside = state.lexically_relative(root);
  return inside.empty() || *inside.begin() == "..";
}

std::string JournalRecordKey(const std::string& timeline, int64_t sequence) {
  return fmt::format("{}log/{:020d}.rec", TimelinePrefix(timeline), sequence);
}

std::string JournalCheckpointKey(const std::string& timeline, int64_t sequence) {
  return fmt::format("{}checkpoint-{:020d}.bak", TimelinePrefix(timeline), sequence);
}

absl::StatusOr<std::string> EncodeJournalRecord(const CatalogChange& change) {
  if (change.changeset.size() > static_cast<uint64_t>(kMaxChangesetBytes)) {
    return absl::ResourceExhaustedError(fmt::format(
        "the commit changes {} bytes of catalog rows, more than a journal record holds (256 MiB): "
        "split it into smaller commits",
        change.changeset.size()));
  }
  const nlohmann::json header = {{"format", kRecordFormat},
                                 {"timeline", change.timeline},
                                 {"sequence", change.sequence},
                                 {"previous_hash", change.previous_hash},
                                 {"schema", change.schema},
                                 {"id_counters", change.id_counters},
                                 {"changeset_bytes", change.changeset.size()},
                                 {"changeset_sha256", Sha256Of(change.changeset)}};
  ASSIGN_OR_RETURN(const std::string compressed,
                   CompressFrame(change.changeset, kZstdLevel, "a catalog change"));
  return EncodeEnvelope(kRecordMagic, header, compressed);
}

absl::StatusOr<CatalogChange> ParseJournalRecord(std::string_view bytes) {
  ASSIGN_OR_RETURN(const Envelope envelope,
                   ParseEnvelope(bytes, kRecordMagic, "loch catalog journal record"));
  const nlohmann::json& header = envelope.header;
  if (HeaderNumber(header, "format") != kRecordFormat) {
    return absl::FailedPreconditionError(
        fmt::format("the journal record has format {}; this loch reads format {}: use a newer loch",
                    HeaderNumber(header, "format"), kRecordFormat));
  }
  CatalogChange change;
  change.timeline = HeaderText(header, "timeline");
  change.sequence = HeaderNumber(header, "sequence");
  change.previous_hash = HeaderText(header, "previous_hash");
  change.schema = HeaderText(header, "schema");
  const int64_t changeset_bytes = HeaderNumber(header, "changeset_bytes");
  const std::string changeset_sha256 = HeaderText(header, "changeset_sha256");
  if (change.timeline.empty() || change.sequence < 1 || change.schema.empty() ||
      changeset_bytes < 0 || changeset_sha256.empty() || !header.contains("id_counters") ||
      !header["id_counters"].is_object()) {
    return absl::DataLossError("the journal record's header is not valid");
  }
  for (const auto& [table, counter] : header["id_counters"].items()) {
    if (!counter.is_number_integer())
      return absl::DataLossError("the journal record's id counters are not valid");
    change.id_counters[table] = counter.get<int64_t>();
  }
  if (changeset_bytes > kMaxChangesetBytes) {
    return absl::DataLossError(
        fmt::format("the journal record announces {} bytes of changes", changeset_bytes));
  }
  RETURN_IF_ERROR(DecompressFrame(envelope.payload, static_cast<uint64_t>(changeset_bytes),
                                  "the journal record's changes", [&](std::string_view piece) {
                                    change.changeset.append(piece);
                                    return absl::OkStatus();
                                  }));
  if (Sha256Of(change.changeset) != changeset_sha256)
    return absl::DataLossError("the journal record's changes do not match their SHA-256");
  return change;
}

LakeJournal::LakeJournal(LakeLocation lake, ObjectStore& store, JournalOptions options)
    : lake_(std::move(lake)), store_(store), options_(options) {}

LakeJournal::~LakeJournal() {
  std::thread running;
  {
    std::lock_guard lock(checkpoint_mu_);
    running = std::move(checkpointer_);
  }
  if (running.joinable()) running.join();  // it takes checkpoint_mu_ as it ends
}

absl::Status LakeJournal::BeforeWrite() {
  if (ready_.load()) return absl::OkStatus();
  return Prepare();
}

absl::Status LakeJournal::Prepare() {
  const std::string catalog = lake_.CatalogPath();
  ASSIGN_OR_RETURN(const JournalPosition seen, ReadJournalPosition(catalog));
  ASSIGN_OR_RETURN(const std::string schema, CatalogSchemaFingerprint(catalog));
  ASSIGN_OR_RETURN(std::string why, WhyStartTimeline(seen, schema));
  if (why.empty()) {
    ready_ = true;
    return absl::OkStatus();
  }
  // Decided again under the catalog's write lock: no change is being appended then.
  ScratchDir scratch(lake_, "journal-start");
  const std::string timeline = NewTimeOrderedId();
  JournalPosition replaced;
  ASSIGN_OR_RETURN(
      const bool started,
      StartJournalTimeline(
          catalog, timeline, scratch.File("base.sqlite"),
          [&](const JournalPosition& now) -> absl::StatusOr<bool> {
            replaced = now;
            ASSIGN_OR_RETURN(why, WhyStartTimeline(now, schema));
            return !why.empty();
          },
          [&](const std::string& base) -> absl::Status {
            RETURN_IF_ERROR(Annotate(
                StoreCatalogCopy(lake_, base, store_, JournalCheckpointKey(timeline, 0)).status(),
                "storing the catalog's first checkpoint in the lake"));
            // Writers still on the timelines this one replaces fail at their next commit.
            ASSIGN_OR_RETURN(const std::string head, ReadHeadTimeline(store_));
            if (!replaced.timeline.empty())
              RETURN_IF_ERROR(FenceTimeline(replaced.timeline, replaced.sequence + 1, timeline));
            if (!head.empty() && head != replaced.timeline)  // taken over from another catalog
              RETURN_IF_ERROR(FenceTimeline(head, 1, timeline));
            return PublishHead(timeline);
          }));
  if (started) {
    spdlog::info("catalog journal: timeline {} started in {} ({})", timeline, lake_.root, why);
  }
  ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> LakeJournal::WhyStartTimeline(const JournalPosition& position,
                                                          const std::string& schema) {
  // A new, restored or recovered catalog: it takes the lake over.
  if (position.timeline.empty()) return std::string("the catalog had none");
  const bool schema_changed = position.schema != schema;
  absl::StatusOr<ObjectInfo> next =
      store_.Head(JournalRecordKey(position.timeline, position.sequence + 1));
  if (!next.ok() && !absl::IsNotFound(next.status()))
    return Annotate(next.status(), "reading the lake's catalog journal");
  if (!schema_changed && !next.ok()) return std::string();  // the timeline goes on
  // It cannot go on. A new one may start only while this is still the lake's catalog: the lake
  // names its timeline, and nothing but (at most) one record that never committed follows its
  // last change.
  ASSIGN_OR_RETURN(const std::string head, ReadHeadTimeline(store_));
  if (head != position.timeline) {
    return absl::FailedPreconditionError(fmt::format(
        "the lake's catalog journal names timeline {}, not this catalog's ({}): another state "
        "folder (a recovery, a restore) took the lake over, and {} is no longer its catalog",
        head, position.timeline, lake_.state_dir));
  }
  if (!next.ok()) return std::string("the catalog's schema changed");
  absl::StatusOr<ObjectInfo> after =
      store_.Head(JournalRecordKey(position.timeline, position.sequence + 2));
  if (after.ok()) {
    return absl::FailedPreconditionError(fmt::format(
        "the lake's catalog journal goes on past this catalog's last change ({} of timeline {}): "
        "{} is a stale copy of the lake's state folder; use the current one, or `loch init "
        "--recover` into a new one",
        position.sequence, position.timeline, lake_.state_dir));
  }
  return fmt::format("change {} of timeline {} was left by a write that did not commit",
                     position.sequence + 1, position.timeline);
}

absl::Status LakeJournal::PublishHead(const std::string& timeline) {
  const nlohmann::json head = {
      {"timeline", timeline}, {"lake", lake_.root}, {"started_at", FormatIsoMicros(NowMicros())}};
  return Annotate(
      store_.Put(HeadKey(),
                 head.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"),
      "naming the catalog journal's timeline in the lake");
}

absl::Status LakeJournal::FenceTimeline(const std::string& timeline, int64_t from,
                                        const std::string& successor) {
  // After the last record listed: a writer still on `timeline` (another state folder) then finds
  // its next sequence taken. A few tries, as that writer may be appending meanwhile.
  int64_t sequence = from;
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> records,
                   ListAll(store_, TimelinePrefix(timeline) + "log/"));
  for (const ObjectInfo& record : records)
    if (auto at = SequenceIn(record.key, ".rec")) sequence = std::max(sequence, *at + 1);
  const std::string fence =
      std::string(kFenceMagic) + nlohmann::json{{"superseded_by", successor}}.dump();
  for (int attempt = 0; attempt < 5; ++attempt, ++sequence) {
    const absl::Status written = store_.PutIfAbsent(JournalRecordKey(timeline, sequence), fence);
    if (written.ok()) return absl::OkStatus();
    if (!absl::IsAlreadyExists(written) && !absl::IsFailedPrecondition(written))
      return Annotate(written, fmt::format("fencing the catalog journal's timeline {}", timeline));
  }
  return absl::UnavailableError(fmt::format(
      "cannot fence the catalog journal's timeline {}: a writer keeps appending to it", timeline));
}

absl::StatusOr<std::string> LakeJournal::Append(const CatalogChange& change) {
  absl::StatusOr<std::string> hash = AppendRecord(change);
  // A failed put may still have landed: the next write looks before going on.
  if (!hash.ok()) ready_ = false;
  return hash;
}

absl::StatusOr<std::string> LakeJournal::AppendRecord(const CatalogChange& change) {
  ASSIGN_OR_RETURN(const std::string record, EncodeJournalRecord(change));
  const std::string key = JournalRecordKey(change.timeline, change.sequence);
  const absl::Status written = store_.PutIfAbsent(key, record);
  if (absl::IsAlreadyExists(written) || absl::IsFailedPrecondition(written)) {
    // Never replaced: a record there may be a committed change of another copy of this catalog.
    absl::StatusOr<std::string> existing = store_.Get(key);
    if (existing.ok() && existing->starts_with(kFenceMagic)) {
      return absl::FailedPreconditionError(fmt::format(
          "this catalog's journal timeline {} was taken over by another state folder (a "
          "recovery, a restore or a copy of this one): {} is no longer the lake's catalog; stop "
          "using it (the lake's is in the other state folder)",
          change.timeline, lake_.state_dir));
    }
    return absl::FailedPreconditionError(fmt::format(
        "the lake's catalog journal already holds change {} of timeline {} ({}): a write that "
        "did not commit, or another state folder writing this lake. Try again: the next write "
        "looks into it (and starts a new journal timeline if this catalog is still the lake's)",
        change.sequence, change.timeline, key));
  }
  RETURN_IF_ERROR(Annotate(written, "making the commit durable in the lake's catalog journal"));
  FaultPoint("journal-appended");
  return Sha256Of(record);
}

void LakeJournal::Abandoned(const CatalogChange& change) {
  // Not deleted: SQLite may have committed it after all (a failed fsync of a written commit). The
  // next write starts a timeline from the catalog as it really is.
  ready_ = false;
  spdlog::warn(
      "catalog journal: change {} of timeline {} reported as not committed; the next "
      "write starts a new timeline",
      change.sequence, change.timeline);
}

void LakeJournal::Committed(const CatalogChange& change) {
  if (options_.checkpoint_every <= 0 || change.sequence % options_.checkpoint_every != 0) return;
  std::lock_guard lock(checkpoint_mu_);
  if (checkpointing_) return;  // the next multiple of checkpoint_every asks again
  if (checkpointer_.joinable()) checkpointer_.join();  // done: it cleared checkpointing_
  checkpointing_ = true;
  try {
    checkpointer_ = std::thread([this] {
      absl::StatusOr<int64_t> taken = absl::UnknownError("");
      try {
        taken = Checkpoint();
      } catch (const std::exception& error) {  // a file system or JSON error: not fatal here
        taken = absl::InternalError(error.what());
      }
      if (!taken.ok()) {
        spdlog::warn("catalog journal: checkpoint failed (the log keeps every change): {}",
                     taken.status().ToString());
      }
      std::lock_guard done(checkpoint_mu_);
      checkpointing_ = false;
    });
  } catch (const std::system_error& error) {  // no thread to spare: the log keeps every change
    checkpointing_ = false;
    spdlog::warn("catalog journal: cannot start a checkpoint: {}", error.what());
  }
}

absl::StatusOr<int64_t> LakeJournal::Checkpoint() {
  ScratchDir scratch(lake_, "journal-checkpoint");
  const std::string copy = scratch.File("checkpoint.sqlite");
  RETURN_IF_ERROR(CopyCatalogFile(lake_.CatalogPath(), copy));
  ASSIGN_OR_RETURN(const JournalPosition position, ReadJournalPosition(copy));
  if (position.timeline.empty())
    return absl::FailedPreconditionError("the catalog's journal has not started");
  const absl::Status stored =
      StoreCatalogCopy(lake_, copy, store_,
                       JournalCheckpointKey(position.timeline, position.sequence))
          .status();
  if (!stored.ok() && !absl::IsAlreadyExists(stored)) return stored;
  PruneBefore(position.timeline, position.sequence);
  return position.sequence;
}

void LakeJournal::PruneBefore(const std::string& timeline, int64_t sequence) {
  // Keeps the checkpoint before `sequence` and the changes after it: recovery can start from
  // either checkpoint.
  absl::StatusOr<std::vector<int64_t>> checkpoints = CheckpointSequences(store_, timeline);
  if (!checkpoints.ok()) return;
  std::optional<int64_t> previous;
  for (int64_t at : *checkpoints)
    if (at < sequence) previous = at;
  if (!previous) return;
  for (int64_t at : *checkpoints)
    if (at < *previous) store_.Delete(JournalCheckpointKey(timeline, at)).IgnoreError();
  absl::StatusOr<std::vector<ObjectInfo>> records =
      ListAll(store_, TimelinePrefix(timeline) + "log/");
  if (!records.ok()) return;
  for (const ObjectInfo& record : *records) {
    const std::optional<int64_t> at = SequenceIn(record.key, ".rec");
    if (at && *at <= *previous) store_.Delete(record.key).IgnoreError();
  }
}

absl::StatusOr<RecoveryReport> RecoverCatalogFromLake(const LakeLocation& lake, ObjectStore& store,
                                                      const std::string& out_path) {
  RecoveryReport report;
  ASSIGN_OR_RETURN(report.timeline, ReadHeadTimeline(store));
  if (report.timeline.empty()) {
    return absl::NotFoundError(fmt::format(
        "{} has no catalog journal ({} is missing): the lake was not written by a loch that keeps "
        "one (a local lake keeps it only when its state folder is elsewhere)",
        lake.root, HeadKey()));
  }

  ASSIGN_OR_RETURN(const std::vector<int64_t> checkpoints,
                   CheckpointSequences(store, report.timeline));
  if (checkpoints.empty()) {
    return absl::DataLossError(
        fmt::format("the catalog journal's timeline {} has no checkpoint", report.timeline));
  }
  // The newest checkpoint that reads back whole (the one before it and the changes after it are
  // kept for this).
  absl::Status fetched;
  for (auto at = checkpoints.rbegin(); at != checkpoints.rend(); ++at) {
    std::error_code ignored;
    fs::remove(out_path, ignored);
    absl::StatusOr<BackupInfo> checkpoint =
        FetchCatalogBackup(store, JournalCheckpointKey(report.timeline, *at), out_path);
    fetched = checkpoint.status();
    if (fetched.ok()) {
      report.checkpoint_sequence = *at;
      report.checkpoint_taken_at = checkpoint->taken_at;
      break;
    }
    spdlog::warn("catalog journal: checkpoint {} of timeline {} is unusable: {}", *at,
                 report.timeline, fetched.ToString());
  }
  RETURN_IF_ERROR(fetched);
  ASSIGN_OR_RETURN(std::unique_ptr<CatalogReplay> replay, CatalogReplay::Open(out_path));
  if (replay->position().timeline != report.timeline ||
      replay->position().sequence != report.checkpoint_sequence) {
    return absl::DataLossError(
        fmt::format("checkpoint {} of timeline {} holds the catalog at change {} of timeline {}",
                    report.checkpoint_sequence, report.timeline, replay->position().sequence,
                    replay->position().timeline));
  }
  // Changes in the log after the checkpoint, to tell a missing change from the end of the log.
  ASSIGN_OR_RETURN(const std::vector<ObjectInfo> logged,
                   ListAll(store, TimelinePrefix(report.timeline) + "log/"));
  int64_t last_logged = report.checkpoint_sequence;
  for (const ObjectInfo& record : logged)
    if (auto at = SequenceIn(record.key, ".rec")) last_logged = std::max(last_logged, *at);

  report.last_sequence = report.checkpoint_sequence;
  report.stopped_because = "it is the last change in the log";
  for (int64_t sequence = report.checkpoint_sequence + 1;; ++sequence) {
    const std::string key = JournalRecordKey(report.timeline, sequence);
    absl::StatusOr<std::string> bytes = store.Get(key);
    if (absl::IsNotFound(bytes.status())) {
      if (sequence <= last_logged) {
        return absl::DataLossError(fmt::format(
            "change {} of the catalog journal ({}) is missing, but the log goes on to {}", sequence,
            key, last_logged));
      }
      break;
    }
    RETURN_IF_ERROR(Annotate(bytes.status(), "reading " + key));
    if (bytes->starts_with(kFenceMagic)) {  // another state folder went on in a timeline of its own
      report.stopped_because = "the timeline was superseded there";
      break;
    }
    absl::StatusOr<CatalogChange> change = ParseJournalRecord(*bytes);
    if (!change.ok()) return Annotate(change.status(), key);
    if (change->timeline != report.timeline || change->sequence != sequence) {
      return absl::DataLossError(fmt::format("{} holds change {} of timeline {}", key,
                                             change->sequence, change->timeline));
    }
    if (change->previous_hash != replay->position().last_hash) {
      return absl::DataLossError(fmt::format(
          "change {} of the catalog journal does not follow change {} (hash chain broken at {})",
          sequence, sequence - 1, key));
    }
    RETURN_IF_ERROR(Annotate(replay->Apply(*change, Sha256Of(*bytes)), key));
    report.last_sequence = sequence;
    ++report.changes_applied;
  }
  replay.reset();
  RETURN_IF_ERROR(ResetJournalPosition(out_path));
  return report;
}

}  // namespace loch
