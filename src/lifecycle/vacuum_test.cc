#include "lifecycle/vacuum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/ids.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kHour = int64_t{3600} * 1000000;

class VacuumTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("loch-vacuum-" + NewRandomId());
    fs::create_directories(dir_ / "lake");
    store_ = std::move(LocalObjectStore::Open((dir_ / "lake").string())).value();
    catalog_ = std::move(OpenSqliteCatalog((dir_ / "catalog.sqlite").string())).value();
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the object and describes it as a data file.
  DataFile Object(const std::string& key, bool external = false) {
    EXPECT_TRUE(store_->Put(key, "data of " + key).ok());
    DataFile file;
    file.key = key;
    file.format = "parquet";
    file.size_bytes = static_cast<int64_t>(("data of " + key).size());
    file.row_count = 1;
    file.external = external;
    return file;
  }
  bool Exists(const std::string& key) { return store_->Head(key).ok(); }

  // Commits `add` and removes the files with `remove_keys` from shop.<table> (creating it).
  int64_t Commit(const std::string& table, std::vector<DataFile> add,
                 const std::vector<std::string>& remove_keys = {}) {
    TableCommit commit;
    commit.table = {"shop", table};
    auto current = catalog_->ReadTable(admin_, commit.table, std::nullopt);
    if (current.ok()) {
      commit.base_snapshot = current->table.current_snapshot;
      for (const DataFile& file : current->files) {
        if (std::find(remove_keys.begin(), remove_keys.end(), file.key) != remove_keys.end())
          commit.remove_file_ids.push_back(file.file_id);
      }
    } else {
      Schema schema;
      schema.columns = {{"v", "BIGINT"}};
      commit.new_schema = schema;
      commit.location = "tables/shop/" + table + "/";
    }
    commit.operation = "append";
    commit.add_files = std::move(add);
    auto result = catalog_->Commit(admin_, commit);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->snapshot_id : 0;
  }

  absl::StatusOr<VacuumReport> Run(int64_t retain, bool dry_run = false) {
    VacuumOptions options;
    options.retain_micros = retain;
    options.force = true;
    options.dry_run = dry_run;
    return Vacuum(*catalog_, *store_, admin_, options);
  }

  void Age(const std::string& relative, int64_t micros) {
    const fs::path path = dir_ / "lake" / relative;
    const int64_t when = NowMicros() - micros;
    struct timeval times[2];
    times[0].tv_sec = times[1].tv_sec = when / 1000000;
    times[0].tv_usec = times[1].tv_usec = when % 1000000;
    ASSERT_EQ(::utimes(path.c_str(), times), 0) << path;
  }

  fs::path dir_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(VacuumTest, ParsesRetention) {
  EXPECT_EQ(*ParseRetention("7d"), 7 * 24 * kHour);
  EXPECT_EQ(*ParseRetention("36h"), 36 * kHour);
  EXPECT_EQ(*ParseRetention("90m"), 90 * 60 * int64_t{1000000});
  EXPECT_EQ(*ParseRetention("0s"), 0);
  for (const char* bad : {"", "7", "d", "-1d", "1.5h", "7w", "99999999999999999d", "7 d"}) {
    auto parsed = ParseRetention(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(parsed.status())) << bad;
  }
  EXPECT_THAT(ParseRetention("7w").status().message(), HasSubstr("like 7d, 36h"));
}

TEST_F(VacuumTest, ShortRetentionNeedsForce) {
  VacuumOptions options;
  options.retain_micros = 0;
  auto refused = Vacuum(*catalog_, *store_, admin_, options);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  EXPECT_THAT(refused.status().message(), HasSubstr("--force"));
}

TEST_F(VacuumTest, DeletesOnlyWhatNoSnapshotAfterTheRetentionNeeds) {
  const int64_t created = Commit("t", {Object("tables/shop/t/a.parquet")});
  const int64_t overwritten =
      Commit("t", {Object("tables/shop/t/b.parquet")}, {"tables/shop/t/a.parquet"});
  // A crawled source, later removed from its table: forgotten, never deleted.
  Commit("crawled", {Object("raw/src/x.json", /*external=*/true)});
  Commit("crawled", {Object("raw/src/y.json", true)}, {"raw/src/x.json"});

  // Everything is younger than a week: nothing expires.
  auto week = Run(7 * 24 * kHour);
  ASSERT_TRUE(week.ok()) << week.status();
  EXPECT_EQ(week->expired.files_expired, 0);
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "t"}, created).ok());

  auto dry = Run(0, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->expired.files_expired, 2);
  EXPECT_EQ(dry->expired.tables, 2);
  ASSERT_EQ(dry->expired.to_delete.size(), 1u);
  EXPECT_EQ(dry->expired.to_delete[0].key, "tables/shop/t/a.parquet");
  EXPECT_EQ(dry->expired.external_kept, 1);
  EXPECT_EQ(dry->objects_deleted, 0);
  EXPECT_TRUE(Exists("tables/shop/t/a.parquet"));  // a dry run changes nothing
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "t"}, created).ok());

  auto run = Run(0);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->expired.files_expired, 2);
  EXPECT_EQ(run->objects_deleted, 1);
  EXPECT_FALSE(Exists("tables/shop/t/a.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/b.parquet"));
  EXPECT_TRUE(Exists("raw/src/x.json"));
  EXPECT_TRUE(Exists("raw/src/y.json"));

  // The table reads as before; the snapshot before the overwrite is history only.
  auto current = catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt);
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_EQ(current->files.size(), 1u);
  EXPECT_EQ(current->files[0].key, "tables/shop/t/b.parquet");
  auto old = catalog_->ReadTable(admin_, {"shop", "t"}, created);
  EXPECT_TRUE(absl::IsFailedPrecondition(old.status())) << old.status();
  EXPECT_THAT(old.status().message(), HasSubstr("vacuum"));
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "t"}, overwritten).ok());
  EXPECT_EQ(catalog_->ListSnapshots(admin_, {"shop", "t"})->size(), 2u);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      catalog_->ChangesBetween(admin_, {"shop", "t"}, created, overwritten).status()));
  auto from_start = catalog_->ChangesBetween(admin_, {"shop", "t"}, 0, overwritten);
  ASSERT_TRUE(from_start.ok()) << from_start.status();
  EXPECT_EQ(from_start->added.size(), 1u);

  // A second run has nothing left to do.
  auto again = Run(0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->expired.files_expired, 0);
  EXPECT_EQ(again->objects_deleted, 0);

  // Dropping a table ends its files: after the retention they go too.
  ASSERT_TRUE(catalog_->DropTable(admin_, {"shop", "t"}).ok());
  auto dropped = Run(0);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->objects_deleted, 1);
  EXPECT_FALSE(Exists("tables/shop/t/b.parquet"));
}

TEST_F(VacuumTest, OneTableOnly) {
  Commit("t", {Object("tables/shop/t/a.parquet")});
  Commit("t", {}, {"tables/shop/t/a.parquet"});
  Commit("u", {Object("tables/shop/u/a.parquet")});
  Commit("u", {}, {"tables/shop/u/a.parquet"});
  VacuumOptions options;
  options.retain_micros = 0;
  options.force = true;
  options.table = TableName{"shop", "u"};
  auto run = Vacuum(*catalog_, *store_, admin_, options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->expired.files_expired, 1);
  EXPECT_FALSE(Exists("tables/shop/u/a.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/a.parquet"));
  options.table = TableName{"shop", "nope"};
  EXPECT_TRUE(absl::IsNotFound(Vacuum(*catalog_, *store_, admin_, options).status()));
}

TEST_F(VacuumTest, AKilledVacuumIsFinishedByTheNext) {
  Commit("t", {Object("tables/shop/t/a.parquet")});
  Commit("t", {}, {"tables/shop/t/a.parquet"});
  // The catalog forgot the file and queued its object, then the process died before deleting.
  auto expired = catalog_->ExpireFiles(admin_, ExpiryRequest{NowMicros(), std::nullopt, false});
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->to_delete.size(), 1u);
  EXPECT_TRUE(Exists("tables/shop/t/a.parquet"));
  auto next = Run(0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->expired.files_expired, 0);
  EXPECT_EQ(next->objects_deleted, 1);
  EXPECT_FALSE(Exists("tables/shop/t/a.parquet"));
  EXPECT_TRUE(catalog_->PendingDeletes(admin_, 10)->empty());
}

TEST_F(VacuumTest, AQueuedObjectRegisteredAgainStays) {
  Commit("t", {Object("tables/shop/t/a.parquet")});
  Commit("t", {}, {"tables/shop/t/a.parquet"});
  ASSERT_TRUE(catalog_->ExpireFiles(admin_, ExpiryRequest{NowMicros(), std::nullopt, false}).ok());
  // Before the queue was worked off, another table took the object.
  DataFile again;
  again.key = "tables/shop/t/a.parquet";
  again.format = "parquet";
  again.row_count = 1;
  Commit("keeper", {again});
  auto next = Run(0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->objects_deleted, 0);
  EXPECT_TRUE(Exists("tables/shop/t/a.parquet"));
  EXPECT_TRUE(catalog_->PendingDeletes(admin_, 10)->empty());
}

TEST_F(VacuumTest, SweepsOldOrphansUnderTablesOnly) {
  Commit("t", {Object("tables/shop/t/kept.parquet")});
  Object("tables/shop/t/orphan.parquet");     // a CTAS that died before its commit
  Object("tables/shop/t/in-flight.parquet");  // a write that has not committed yet
  Object("raw/upload/user.json");             // the user's, never loch's to delete
  Age("tables/shop/t/kept.parquet", 2 * kHour);
  Age("tables/shop/t/orphan.parquet", 2 * kHour);
  Age("raw/upload/user.json", 2 * kHour);
  // Temporary files of killed writes, outside and inside the state folder.
  fs::create_directories(dir_ / "lake" / ".loch");
  std::ofstream(dir_ / "lake/tables/shop/t/.loch-tmp-dead") << "x";
  std::ofstream(dir_ / "lake/tables/shop/t/.loch-tmp-live") << "x";
  std::ofstream(dir_ / "lake/.loch/.loch-tmp-state") << "x";
  Age("tables/shop/t/.loch-tmp-dead", 2 * kHour);
  Age(".loch/.loch-tmp-state", 2 * kHour);

  // A week's retention keeps a two-hour-old orphan; temporary files older than an hour are
  // dead whatever the retention: only the old one outside the state folder goes.
  auto week = Run(7 * 24 * kHour);
  ASSERT_TRUE(week.ok()) << week.status();
  EXPECT_EQ(week->orphans_deleted, 0);
  EXPECT_EQ(week->temporaries_removed, 1);
  EXPECT_FALSE(fs::exists(dir_ / "lake/tables/shop/t/.loch-tmp-dead"));
  EXPECT_TRUE(fs::exists(dir_ / "lake/tables/shop/t/.loch-tmp-live"));
  EXPECT_TRUE(fs::exists(dir_ / "lake/.loch/.loch-tmp-state"));

  auto dry = Run(0, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->orphans_deleted, 1);
  EXPECT_TRUE(Exists("tables/shop/t/orphan.parquet"));

  auto run = Run(0);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->orphans_deleted, 1);
  EXPECT_FALSE(Exists("tables/shop/t/orphan.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/kept.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/in-flight.parquet"));
  EXPECT_TRUE(Exists("raw/upload/user.json"));
  EXPECT_EQ(run->temporaries_removed, 0);
}

// Catalogs from before format 11 learn which files crawls registered: those stay external.
TEST_F(VacuumTest, UpgradedCatalogsKeepCrawledFiles) {
  TableCommit commit;
  commit.table = {"shop", "crawled"};
  commit.operation = "create";
  commit.message = "crawl: +1 object(s), -0 object(s)";
  commit.new_schema = Schema{};
  commit.new_schema->columns = {{"v", "BIGINT"}};
  commit.location = "raw/src/";
  commit.add_files = {Object("raw/src/x.json")};
  ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
  Commit("t", {Object("tables/shop/t/a.parquet")});
  catalog_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE data_files DROP COLUMN external; UPDATE catalog_meta SET "
                         "value = '10' WHERE key = 'format_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  catalog_ = std::move(OpenSqliteCatalog((dir_ / "catalog.sqlite").string())).value();
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "crawled"}, std::nullopt)->files[0].external);
  EXPECT_FALSE(catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->files[0].external);
  // DROP TABLE ... PURGE deletes only what loch wrote.
  EXPECT_TRUE(catalog_->FilesOnlyItHasHad(admin_, {"shop", "crawled"})->empty());
  EXPECT_EQ(catalog_->FilesOnlyItHasHad(admin_, {"shop", "t"})->size(), 1u);
}

}  // namespace
}  // namespace loch
