#include "cli/catalog_commands.h"

#include <filesystem>
#include <set>

#include "cli/lake_session.h"
#include "common/lake_config.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "ingest/ingest_service.h"
#include "lifecycle/vacuum.h"
#include "recovery/catalog_backup.h"
#include "server/admin_credentials.h"
#include "storage/s3_config.h"

namespace loch::cli {
namespace {

namespace fs = std::filesystem;

// Where a backup goes or comes from: a store and the key in it.
struct Place {
  std::unique_ptr<ObjectStore> store;
  std::string key;
};

absl::StatusOr<Place> OpenPlace(const LakeLocation& lake, const std::string& place) {
  std::string folder, key;
  if (IsS3Url(place)) {
    const size_t slash = place.rfind('/');
    if (slash < std::string_view("s3://").size() || slash + 1 == place.size()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: name the backup's object, s3://BUCKET/[PREFIX/]NAME", place));
    }
    folder = place.substr(0, slash);
    key = place.substr(slash + 1);
  } else {
    const fs::path path = fs::absolute(place);
    if (!path.has_filename())
      return absl::InvalidArgumentError(fmt::format("{}: name the backup file", place));
    folder = path.parent_path().string();
    key = path.filename().string();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ObjectStore> store, OpenStoreAt(lake, folder));
  return Place{std::move(store), std::move(key)};
}

void Print(const BackupInfo& info, std::ostream& out) {
  int64_t rows = 0;
  for (const auto& [table, count] : info.rows) rows += count;
  out << fmt::format("  lake            {}\n", info.lake);
  out << fmt::format("  taken at        {}\n", info.taken_at);
  out << fmt::format("  catalog format  {}\n", info.catalog_format);
  out << fmt::format("  size            {} ({} compressed)\n", HumanBytes(info.db_bytes),
                     HumanBytes(info.stored_bytes));
  out << fmt::format("  tables          {} snapshots, {} files, {} catalog rows in all\n",
                     info.rows.contains("snapshots") ? info.rows.at("snapshots") : 0,
                     info.rows.contains("data_files") ? info.rows.at("data_files") : 0, rows);
  out << fmt::format("  content digest  {}\n", info.digest);
}

}  // namespace

absl::Status RunCatalogBackup(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(std::unique_ptr<LakeSession> lake, OpenLake(common));  // checks it exists
  ASSIGN_OR_RETURN(Place place, OpenPlace(lake->location(), options.place));
  ASSIGN_OR_RETURN(BackupInfo info, BackupCatalog(lake->location(), *place.store, place.key));
  out << fmt::format("backed up the catalog to {} and verified it\n", options.place);
  Print(info, out);
  return absl::OkStatus();
}

absl::Status RunCatalogVerify(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out) {
  ASSIGN_OR_RETURN(LakeLocation lake, ResolveLakeLocation(common.lake, common.state));
  fs::create_directories(lake.state_dir + "/tmp");
  ASSIGN_OR_RETURN(Place place, OpenPlace(lake, options.place));
  ASSIGN_OR_RETURN(BackupInfo info, VerifyCatalogBackup(lake, *place.store, place.key));
  out << fmt::format("{} is a good backup\n", options.place);
  Print(info, out);
  return absl::OkStatus();
}

absl::Status RunCatalogRestore(const CommonOptions& common, const CatalogBackupOptions& options,
                               std::ostream& out) {
  // The lake must be set up here (`loch init` on a new machine), so its store and settings are.
  ASSIGN_OR_RETURN(std::unique_ptr<LakeSession> lake, OpenLake(common));
  ASSIGN_OR_RETURN(Place place, OpenPlace(lake->location(), options.place));
  // The server removes the logs of streams its catalog does not have: those the backup does not
  // have may hold acknowledged records.
  ASSIGN_OR_RETURN(const BackupInfo checked,
                   VerifyCatalogBackup(lake->location(), *place.store, place.key));
  std::set<std::string> known;
  for (const auto& [name, created] : checked.streams)
    known.insert(StreamLogFolderName(name, created));
  std::vector<std::string> unknown;
  std::error_code error;
  const std::string wal_dir = CurrentWalDir(lake->location().state_dir);
  for (const auto& entry : fs::directory_iterator(wal_dir, error)) {
    if (entry.is_directory() && !known.contains(entry.path().filename().string()))
      unknown.push_back(entry.path().filename().string());
  }
  if (!unknown.empty() && !options.discard_wal) {
    return absl::FailedPreconditionError(fmt::format(
        "the write-ahead log {} holds the logs of streams the backup does not have ({}): their "
        "records would be lost. Start `loch serve`, `loch stream flush` them, stop it, then "
        "restore with --discard-wal",
        wal_dir, Join(unknown, ", ")));
  }
  ASSIGN_OR_RETURN(BackupInfo info, RestoreCatalog(lake->location(), *place.store, place.key,
                                                   {.other_lake = options.other_lake}));
  // Opening it starts its journal in the lake now (a lake that keeps one then names it).
  ASSIGN_OR_RETURN(auto restored, LakeSession::Open(lake->location()));
  RETURN_IF_ERROR(restored->PrepareJournal());
  out << fmt::format("restored the catalog of {} from {}\n", lake->location().root,
                     options.place);
  Print(info, out);
  out << "Commits made after the backup was taken are not in it: files they added stay in the "
         "lake, unknown to the catalog, until a crawler or `loch load` adds them again.\n";
  return absl::OkStatus();
}

absl::Status RunCredentialsRotate(const CommonOptions& common, const std::string& keep_old_for,
                                  std::ostream& out) {
  ASSIGN_OR_RETURN(LakeLocation lake, ResolveLakeLocation(common.lake, common.state));
  ASSIGN_OR_RETURN(const int64_t grace_micros, ParseRetention(keep_old_for));
  ASSIGN_OR_RETURN(AdminCredentials rotated,
                   RotateAdminCredentials(lake.state_dir, grace_micros / 1'000'000));
  out << fmt::format(
      "new token, access key ({}) and pg password written to {}/admin-credentials.json\n",
      rotated.access_key_id, lake.state_dir);
  out << (grace_micros > 0
              ? fmt::format("the replaced token and access key stay valid for {}; ", keep_old_for)
              : std::string("the replaced token and access key are no longer valid; "))
      << "the replaced pg password is not. A running `loch serve` reads the file within 2 s.\n";
  return absl::OkStatus();
}

}  // namespace loch::cli
