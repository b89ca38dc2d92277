#include "recovery/catalog_backup.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "catalog/catalog_file.h"
#include "catalog/catalog_journal.h"
#include "common/clock.h"
#include "common/content_hash.h"
#include "common/file_lock.h"
#include "common/ids.h"
#include "fmt/format.h"
#include "recovery/envelope.h"
#include "recovery/scratch_dir.h"
#include "recovery/zstd_frame.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "LOCHBAK1";
constexpr int kBackupFormat = 1;
constexpr uint64_t kMaxCatalogBytes = uint64_t{64} << 30;
constexpr int kZstdLevel = 9;  // catalogs are small and compress well; restore speed is the same

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError(fmt::format("cannot read \"{}\"", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

nlohmann::json HeaderJson(const BackupInfo& info) {
  return {{"format", kBackupFormat},          {"lake", info.lake},
          {"catalog_format", info.catalog_format}, {"taken_at", info.taken_at},
          {"db_bytes", info.db_bytes},        {"db_sha256", info.db_sha256},
          {"digest", info.digest},            {"rows", info.rows}};
}

// Reads, parses and checks the backup at `key` against its header (size, SHA-256, SQLite's
// integrity check, content digest, format); its catalog file ends up at `db_path`.
absl::StatusOr<BackupInfo> FetchAndCheck(ObjectStore& store, const std::string& key,
                                         const std::string& db_path) {
  const std::string where = fmt::format("the backup {} in {}", key, store.Describe());
  absl::StatusOr<std::string> bytes = store.Get(key);
  if (!bytes.ok()) return Annotate(bytes.status(), "reading " + where);
  std::ofstream file(db_path, std::ios::binary | std::ios::trunc);
  Sha256 hash;
  absl::StatusOr<BackupInfo> info =
      ParseCatalogBackup(*bytes, [&](std::string_view chunk) {
        hash.Update(chunk);
        file.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        return file ? absl::OkStatus()
                    : absl::ResourceExhaustedError(fmt::format("cannot write \"{}\"", db_path));
      });
  file.close();
  if (!info.ok()) return Annotate(info.status(), where);
  info->stored_bytes = bytes->size();
  if (!file) return absl::ResourceExhaustedError(fmt::format("cannot write \"{}\"", db_path));
  if (hash.HexDigest() != info->db_sha256) {
    return absl::DataLossError(
        where + ": its catalog does not match its SHA-256: the backup is damaged");
  }
  absl::StatusOr<CatalogFileSummary> summary = InspectCatalogFile(db_path);
  if (!summary.ok()) return Annotate(summary.status(), where);
  if (summary->digest != info->digest || summary->format != info->catalog_format) {
    return absl::DataLossError(
        where + ": its catalog holds other rows than when it was taken: the backup is damaged");
  }
  info->streams = std::move(summary->streams);
  return info;
}

}  // namespace

std::string ServeLockPath(const LakeLocation& lake) { return lake.state_dir + "/serve.lock"; }

absl::StatusOr<BackupInfo> ParseCatalogBackup(std::string_view bytes, const CatalogSink& sink) {
  ASSIGN_OR_RETURN(const Envelope envelope,
                   ParseEnvelope(bytes, kMagic, "loch catalog backup"));
  const nlohmann::json& header = envelope.header;
  const auto text = [&](const char* name) { return HeaderText(header, name); };
  const auto number = [&](const char* name) { return HeaderNumber(header, name); };
  if (number("format") < 0 || number("db_bytes") < 0 || number("catalog_format") < 0 ||
      text("db_sha256").empty() || text("digest").empty()) {
    return absl::DataLossError("the backup's header is not valid");
  }
  if (number("format") != kBackupFormat) {
    return absl::FailedPreconditionError(fmt::format(
        "the backup has format {}; this loch reads format {}: use a newer loch",
        number("format"), kBackupFormat));
  }
  BackupInfo info;
  info.lake = text("lake");
  info.catalog_format = number("catalog_format");
  info.taken_at = text("taken_at");
  info.db_bytes = static_cast<uint64_t>(number("db_bytes"));
  info.db_sha256 = text("db_sha256");
  info.digest = text("digest");
  if (header.contains("rows") && header["rows"].is_object()) {
    for (const auto& [table, count] : header["rows"].items())
      if (count.is_number_integer()) info.rows[table] = count.get<int64_t>();
  }
  if (info.db_bytes > kMaxCatalogBytes)
    return absl::DataLossError(fmt::format("the backup announces {} bytes of catalog", info.db_bytes));
  RETURN_IF_ERROR(DecompressFrame(envelope.payload, info.db_bytes, "the backup's catalog", sink));
  return info;
}

absl::StatusOr<BackupInfo> BackupCatalog(const LakeLocation& lake, ObjectStore& store,
                                         const std::string& key) {
  ScratchDir scratch(lake, "catalog-backup");
  const std::string copy = scratch.File("copy.sqlite");
  RETURN_IF_ERROR(CopyCatalogFile(lake.CatalogPath(), copy));
  return StoreCatalogCopy(lake, copy, store, key);
}

absl::StatusOr<BackupInfo> StoreCatalogCopy(const LakeLocation& lake, const std::string& copy,
                                            ObjectStore& store, const std::string& key) {
  ScratchDir scratch(lake, "catalog-backup");
  ASSIGN_OR_RETURN(CatalogFileSummary summary, InspectCatalogFile(copy));
  ASSIGN_OR_RETURN(std::string db, ReadFile(copy));
  BackupInfo info;
  info.lake = lake.root;
  info.catalog_format = summary.format;
  info.taken_at = FormatIsoMicros(NowMicros());
  info.db_bytes = db.size();
  Sha256 hash;
  hash.Update(db);
  info.db_sha256 = hash.HexDigest();
  info.digest = summary.digest;
  info.rows = summary.rows;
  ASSIGN_OR_RETURN(std::string compressed, CompressFrame(db, kZstdLevel, "the catalog"));
  db = std::string();
  const std::string bytes = EncodeEnvelope(kMagic, HeaderJson(info), compressed);
  const absl::Status written = store.PutIfAbsent(key, bytes);
  if (absl::IsAlreadyExists(written) || absl::IsFailedPrecondition(written)) {
    return absl::AlreadyExistsError(fmt::format(
        "{} already holds {}: a backup never replaces another; choose another name",
        store.Describe(), key));
  }
  RETURN_IF_ERROR(Annotate(written, fmt::format("writing the backup {}", key)));
  // Verified as a restore would read it: from where it went.
  ASSIGN_OR_RETURN(BackupInfo verified, FetchAndCheck(store, key, scratch.File("verify.sqlite")));
  return verified;
}

absl::StatusOr<BackupInfo> FetchCatalogBackup(ObjectStore& store, const std::string& key,
                                              const std::string& db_path) {
  return FetchAndCheck(store, key, db_path);
}

absl::StatusOr<BackupInfo> VerifyCatalogBackup(const LakeLocation& lake, ObjectStore& store,
                                               const std::string& key) {
  ScratchDir scratch(lake, "catalog-backup");
  return FetchAndCheck(store, key, scratch.File("verify.sqlite"));
}

absl::StatusOr<BackupInfo> RestoreCatalog(const LakeLocation& lake, ObjectStore& store,
                                          const std::string& key, const RestoreOptions& options) {
  ScratchDir scratch(lake, "catalog-backup");
  const std::string db_path = scratch.File("restore.sqlite");
  ASSIGN_OR_RETURN(BackupInfo info, FetchAndCheck(store, key, db_path));
  if (info.lake != lake.root && !options.other_lake) {
    return absl::FailedPreconditionError(fmt::format(
        "the backup {} is of the lake {}, not {}: add --other-lake to restore it here anyway "
        "(the data files it names must then be in this lake)",
        key, info.lake, lake.root));
  }
  bool held = false;
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, FileLock::TryAcquire(ServeLockPath(lake), held));
  if (held) {
    return absl::FailedPreconditionError(
        fmt::format("a `loch serve` is using the state folder {}: stop it, then restore",
                    lake.state_dir));
  }
  // The restored catalog is another catalog from now on: its next open starts a journal timeline
  // of its own (the lake's journal then names it), rather than writing into the one it was copied
  // from. Cleared in the copy, so the catalog never holds the backup's position.
  RETURN_IF_ERROR(ResetJournalPosition(db_path));
  ASSIGN_OR_RETURN(const CatalogFileSummary expected, InspectCatalogFile(db_path));
  RETURN_IF_ERROR(RestoreCatalogFile(db_path, lake.CatalogPath()));
  ASSIGN_OR_RETURN(CatalogFileSummary restored, InspectCatalogFile(lake.CatalogPath()));
  if (restored.digest != expected.digest) {
    return absl::InternalError(fmt::format(
        "the restored catalog {} does not hold what the backup holds; restore it again",
        lake.CatalogPath()));
  }
  return info;
}

}  // namespace loch
