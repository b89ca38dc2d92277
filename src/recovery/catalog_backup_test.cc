// Catalog backups against a real SQLite catalog with writers committing in other connections (as
// other loch processes do), and hostile backup files.
#include "recovery/catalog_backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <filesystem>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/catalog_file.h"
#include "common/file_lock.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

constexpr int kTables = 3;

class CatalogBackupTest : public testing::Test {
 protected:
  void SetUp() override {
    lake_.root = dir_.path() + "/lake";
    lake_.state_dir = dir_.path() + "/state";
    fs::create_directories(lake_.state_dir);
    auto catalog = OpenSqliteCatalog(lake_.CatalogPath());
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
    for (int t = 0; t < kTables; ++t) {
      TableCommit create;
      create.table = Table(t);
      create.operation = "create";
      Schema schema;
      schema.columns = {{"id", "BIGINT"}};
      create.new_schema = schema;
      create.location = fmt::format("tables/shop/t{}/", t);
      ASSERT_TRUE(catalog_->Commit(admin_, create).ok());
    }
    auto store = LocalObjectStore::Open(dir_.path() + "/backups");
    ASSERT_TRUE(store.ok());
    backups_ = *std::move(store);
  }

  static TableName Table(int t) { return {"shop", fmt::format("t{}", t)}; }

  // Appends file number `n` (key ".../n.parquet", n rows) to table `t`.
  static absl::Status Append(Catalog& catalog, int t, int n) {
    auto current = catalog.ReadTable(Principal::LocalAdmin(), Table(t), std::nullopt);
    if (!current.ok()) return current.status();
    TableCommit commit;
    commit.table = Table(t);
    commit.base_snapshot = current->snapshot.snapshot_id;
    commit.operation = "append";
    DataFile file;
    file.key = fmt::format("tables/shop/t{}/{}.parquet", t, n);
    file.format = "parquet";
    file.size_bytes = 100 + n;
    file.row_count = n;
    commit.add_files = {file};
    return catalog.Commit(Principal::LocalAdmin(), commit).status();
  }

  // The catalog of `lake` restored from `key` into a new state folder.
  std::unique_ptr<Catalog> RestoredCopy(const std::string& key) {
    LakeLocation copy = lake_;
    copy.state_dir = dir_.path() + "/restored-" + key;
    fs::create_directories(copy.state_dir + "/tmp");
    auto restored = RestoreCatalog(copy, *backups_, key, {});
    EXPECT_TRUE(restored.ok()) << restored.status();
    auto catalog = OpenSqliteCatalog(copy.CatalogPath());
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    return catalog.ok() ? *std::move(catalog) : nullptr;
  }

  TestDir dir_{"catalog-backup"};
  LakeLocation lake_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LocalObjectStore> backups_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(CatalogBackupTest, BackupsTakenUnderConcurrentCommitsRestoreToOneConsistentSnapshot) {
  // One writer per table, each in its own connection, committing as fast as it can.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged[kTables] = {};
  std::vector<std::thread> writers;
  for (int t = 0; t < kTables; ++t) {
    writers.emplace_back([&, t] {
      auto catalog = OpenSqliteCatalog(lake_.CatalogPath());
      ASSERT_TRUE(catalog.ok());
      for (int n = 1; !stop; ++n) {
        ASSERT_TRUE(Append(**catalog, t, n).ok());
        acknowledged[t] = n;
      }
    });
  }
  struct Taken {
    std::string key;
    int acknowledged_before[kTables];
  };
  std::vector<Taken> taken;
  for (int b = 0; b < 4; ++b) {
    // Each writer commits twice more before the next backup: backups and commits interleave.
    int start[kTables];
    for (int t = 0; t < kTables; ++t) start[t] = acknowledged[t];
    for (int t = 0; t < kTables; ++t) {
      while (acknowledged[t] < start[t] + 2)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    Taken backup{fmt::format("backup-{}", b), {}};
    for (int t = 0; t < kTables; ++t) backup.acknowledged_before[t] = acknowledged[t];
    auto info = BackupCatalog(lake_, *backups_, backup.key);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_GT(info->rows.at("data_files"), 0);
    taken.push_back(backup);
  }
  stop = true;
  for (std::thread& writer : writers) writer.join();
  for (int t = 0; t < kTables; ++t) ASSERT_GE(acknowledged[t], 8);

  for (const Taken& backup : taken) {
    SCOPED_TRACE(backup.key);
    std::unique_ptr<Catalog> restored = RestoredCopy(backup.key);
    ASSERT_NE(restored, nullptr);
    for (int t = 0; t < kTables; ++t) {
      auto table = restored->ReadTable(admin_, Table(t), std::nullopt);
      ASSERT_TRUE(table.ok()) << table.status();
      // Files 1..k, none missing: the table as of one of its commits.
      const int k = static_cast<int>(table->files.size());
      std::set<std::string> keys;
      for (const DataFile& file : table->files) keys.insert(file.key);
      for (int n = 1; n <= k; ++n)
        EXPECT_TRUE(keys.contains(fmt::format("tables/shop/t{}/{}.parquet", t, n))) << n;
      EXPECT_GE(k, backup.acknowledged_before[t]);  // nothing acknowledged before it is missing
      // Its history is the start of the live table's history.
      auto snapshots = restored->ListSnapshots(admin_, Table(t));
      auto live = catalog_->ListSnapshots(admin_, Table(t));
      ASSERT_TRUE(snapshots.ok() && live.ok());
      ASSERT_EQ(snapshots->size(), static_cast<size_t>(k + 1));  // create + k appends
      for (size_t i = 0; i < snapshots->size(); ++i)
        EXPECT_EQ((*snapshots)[i].snapshot_id, (*live)[i].snapshot_id);
    }
  }
}

TEST_F(CatalogBackupTest, DamagedForeignOrLockedRestoresAreRefusedAndChangeNothing) {
  ASSERT_TRUE(Append(*catalog_, 0, 1).ok());
  ASSERT_TRUE(BackupCatalog(lake_, *backups_, "good").ok());
  // A backup never replaces another.
  auto again = BackupCatalog(lake_, *backups_, "good");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();

  const std::string good = *backups_->Get("good");
  ASSERT_TRUE(Append(*catalog_, 0, 2).ok());  // the live catalog moves on
  const std::string before = InspectCatalogFile(lake_.CatalogPath())->digest;
  std::string flipped = good;
  flipped[flipped.size() - 10] ^= 0x40;
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"flipped", flipped},
      {"cut", good.substr(0, good.size() / 2)},
      {"header-only", good.substr(0, 40)},
      {"not-a-backup", "SQLite format 3\0"},
      {"huge-header", std::string("LOCHBAK1\x7f\xff\xff\xff", 12) + "{}"},
  };
  for (const auto& [key, bytes] : damaged) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(backups_->Put(key, bytes).ok());
    auto restored = RestoreCatalog(lake_, *backups_, key, {});
    ASSERT_FALSE(restored.ok());
    EXPECT_TRUE(absl::IsDataLoss(restored.status())) << restored.status();
    EXPECT_EQ(InspectCatalogFile(lake_.CatalogPath())->digest, before);
  }

  LakeLocation other = lake_;
  other.root = "s3://another-lake";
  auto foreign = RestoreCatalog(other, *backups_, "good", {});
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("--other-lake"), std::string::npos);

  {
    bool held = false;
    auto serving = FileLock::TryAcquire(ServeLockPath(lake_), held);  // as `loch serve` does
    ASSERT_TRUE(serving.ok() && *serving != nullptr);
    auto locked = RestoreCatalog(lake_, *backups_, "good", {});
    ASSERT_FALSE(locked.ok());
    EXPECT_NE(locked.status().message().find("loch serve"), std::string::npos);
  }
  EXPECT_EQ(InspectCatalogFile(lake_.CatalogPath())->digest, before);

  // The good one restores the catalog as it was, with this connection still open.
  auto restored = RestoreCatalog(lake_, *backups_, "good", {});
  ASSERT_TRUE(restored.ok()) << restored.status();
  auto table = catalog_->ReadTable(admin_, Table(0), std::nullopt);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->files.size(), 1u);
}

}  // namespace
}  // namespace loch
