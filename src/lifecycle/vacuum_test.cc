#include "lifecycle/vacuum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/ids.h"
#include "fmt/format.h"
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
  // Objects loch wrote (owned) unless said otherwise.
  DataFile Object(const std::string& key, bool owned = true) {
    EXPECT_TRUE(store_->Put(key, "data of " + key).ok());
    DataFile file;
    file.key = key;
    file.format = "parquet";
    file.size_bytes = static_cast<int64_t>(("data of " + key).size());
    file.row_count = 1;
    file.owned = owned;
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
  Commit("crawled", {Object("raw/src/x.json", /*owned=*/false)});
  Commit("crawled", {Object("raw/src/y.json", false)}, {"raw/src/x.json"});

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
  EXPECT_EQ(dry->expired.not_owned_kept, 1);
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
  EXPECT_TRUE(absl::IsFailedPrecondition(
      catalog_->ChangesBetween(admin_, {"shop", "t"}, 0, created).status()));
  auto from_start = catalog_->ChangesBetween(admin_, {"shop", "t"}, 0, overwritten);
  ASSERT_TRUE(from_start.ok()) << from_start.status();
  ASSERT_EQ(from_start->added.size(), 1u);
  EXPECT_EQ(from_start->added[0].key, "tables/shop/t/b.parquet");

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

TEST_F(VacuumTest, AQueuedObjectCannotBeRegisteredAgain) {
  Commit("t", {Object("tables/shop/t/a.parquet")});
  Commit("t", {}, {"tables/shop/t/a.parquet"});
  ASSERT_TRUE(catalog_->ExpireFiles(admin_, ExpiryRequest{NowMicros(), std::nullopt, false}).ok());
  // Before the queue is worked off, a crawl finds the object and would register it.
  TableCommit commit;
  commit.table = {"shop", "keeper"};
  commit.operation = "create";
  commit.new_schema = Schema{};
  commit.new_schema->columns = {{"v", "BIGINT"}};
  commit.location = "tables/shop/";
  commit.add_files = {Object("tables/shop/t/a.parquet", /*owned=*/false)};
  auto refused = catalog_->Commit(admin_, commit);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("being deleted by vacuum"));
  auto next = Run(0);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->objects_deleted, 1);
  EXPECT_TRUE(catalog_->Commit(admin_, commit).ok());  // gone from the queue: a new object
}

TEST_F(VacuumTest, SweepsOnlyTheOldOutputOfWritesThatNeverCommitted) {
  const std::string dead = "20200101T000000Z-0123456789ab";  // a write id of long ago
  const std::string recent = NewTimeOrderedId();              // a write still running
  Commit("t", {Object("tables/shop/t/" + dead + "/kept.parquet")});
  Object("tables/shop/t/" + dead + "/orphan.parquet");   // its write died before the commit
  Object("tables/shop/t/" + recent + "/in-flight.parquet");
  Object("tables/shop/t/README.txt");                    // not a write's: never loch's to delete
  Object("tables/mine/exports/" + dead + "-copy/x.csv");  // not a write id either
  Object("raw/upload/" + dead + "/user.json");
  for (const std::string key :
       {"tables/shop/t/" + dead + "/kept.parquet", "tables/shop/t/" + dead + "/orphan.parquet",
        "tables/shop/t/" + recent + "/in-flight.parquet", std::string("tables/shop/t/README.txt"),
        "tables/mine/exports/" + dead + "-copy/x.csv", "raw/upload/" + dead + "/user.json"}) {
    Age(key, 25 * kHour);
  }
  // Temporary files and scratch folders of killed writes, outside and inside the state folder.
  fs::create_directories(dir_ / "lake/.loch");
  fs::create_directories(dir_ / "lake/.loch-tmp-query-dead/sub");
  std::ofstream(dir_ / "lake/.loch-tmp-query-dead/sub/f") << "x";
  std::ofstream(dir_ / "lake/tables/shop/t/.loch-tmp-dead") << "x";
  std::ofstream(dir_ / "lake/tables/shop/t/.loch-tmp-live") << "x";
  std::ofstream(dir_ / "lake/.loch/.loch-tmp-state") << "x";
  Age("tables/shop/t/.loch-tmp-dead", 25 * kHour);
  Age(".loch-tmp-query-dead", 25 * kHour);
  Age(".loch/.loch-tmp-state", 25 * kHour);

  // A week's retention keeps a day-old orphan; temporaries older than a day are dead whatever
  // the retention, except in the state folder.
  auto week = Run(7 * 24 * kHour);
  ASSERT_TRUE(week.ok()) << week.status();
  EXPECT_EQ(week->orphans_deleted, 0);
  EXPECT_EQ(week->temporaries_removed, 2);
  EXPECT_FALSE(fs::exists(dir_ / "lake/tables/shop/t/.loch-tmp-dead"));
  EXPECT_FALSE(fs::exists(dir_ / "lake/.loch-tmp-query-dead"));
  EXPECT_TRUE(fs::exists(dir_ / "lake/tables/shop/t/.loch-tmp-live"));
  EXPECT_TRUE(fs::exists(dir_ / "lake/.loch/.loch-tmp-state"));

  auto dry = Run(0, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->orphans_deleted, 1);
  EXPECT_TRUE(Exists("tables/shop/t/" + dead + "/orphan.parquet"));

  auto run = Run(0);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->orphans_deleted, 1);
  EXPECT_FALSE(Exists("tables/shop/t/" + dead + "/orphan.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/" + dead + "/kept.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/" + recent + "/in-flight.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/README.txt"));
  EXPECT_TRUE(Exists("tables/mine/exports/" + dead + "-copy/x.csv"));
  EXPECT_TRUE(Exists("raw/upload/" + dead + "/user.json"));
}

// The cutoff is per table, by snapshot: only files removed before the first snapshot after it go.
TEST_F(VacuumTest, TheRetentionCountsFromWhenAFileLeftItsTable) {
  Commit("t", {Object("tables/shop/t/a.parquet"), Object("tables/shop/t/b.parquet")});
  const int64_t removed_a = Commit("t", {}, {"tables/shop/t/a.parquet"});
  const int64_t removed_b = Commit("t", {}, {"tables/shop/t/b.parquet"});
  // a left ten days ago, b two days ago (and a clock that stepped back: the snapshot after b's
  // removal claims an older time than b's).
  Commit("t", {Object("tables/shop/t/c.parquet")});
  catalog_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "catalog.sqlite").c_str(), &db), SQLITE_OK);
  const int64_t now = NowMicros();
  const std::string sql = fmt::format(
      "UPDATE snapshots SET committed_micros = {} WHERE snapshot_id <= {}; "
      "UPDATE snapshots SET committed_micros = {} WHERE snapshot_id = {}; "
      "UPDATE snapshots SET committed_micros = {} WHERE snapshot_id > {}",
      now - 10 * 24 * kHour, removed_a, now - 2 * 24 * kHour, removed_b, now - 20 * 24 * kHour,
      removed_b);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  catalog_ = std::move(OpenSqliteCatalog((dir_ / "catalog.sqlite").string())).value();

  auto run = Run(7 * 24 * kHour);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->expired.files_expired, 1);
  EXPECT_FALSE(Exists("tables/shop/t/a.parquet"));
  EXPECT_TRUE(Exists("tables/shop/t/b.parquet"));
  // Readable from the snapshot that removed a on; not before.
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "t"}, removed_a).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      catalog_->ReadTable(admin_, {"shop", "t"}, removed_a - 1).status()));
}

TEST_F(VacuumTest, AnObjectTwoTablesShareGoesOnlyWhenBothLetItGo) {
  // (A key is live in one table at a time: t lets it go, then u takes it.)
  Commit("t", {Object("tables/shop/t/shared.parquet")});
  Commit("t", {}, {"tables/shop/t/shared.parquet"});
  Commit("u", {Object("tables/shop/t/shared.parquet")});
  auto first = Run(0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->expired.files_expired, 1);
  EXPECT_EQ(first->objects_deleted, 0);
  EXPECT_TRUE(Exists("tables/shop/t/shared.parquet"));
  ASSERT_EQ(catalog_->ReadTable(admin_, {"shop", "u"}, std::nullopt)->files.size(), 1u);
  // Owned by one table, a crawled source of another: never deleted.
  Commit("v", {Object("tables/shop/v/mixed.parquet")});
  Commit("v", {}, {"tables/shop/v/mixed.parquet"});
  Commit("w", {Object("tables/shop/v/mixed.parquet", /*owned=*/false)});
  Commit("w", {}, {"tables/shop/v/mixed.parquet"});
  auto mixed = Run(0);
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->expired.not_owned_kept, 1);
  EXPECT_TRUE(Exists("tables/shop/v/mixed.parquet"));
}

// Catalogs from before format 11 learn which files loch wrote (loads, CTAS, INSERT): only those
// can be deleted.
TEST_F(VacuumTest, UpgradedCatalogsKeepCrawledFiles) {
  TableCommit commit;
  commit.table = {"shop", "crawled"};
  commit.operation = "create";
  commit.message = "crawl: +1 object(s), -0 object(s)";
  // (Before format 11 every file was registered as a crawl registers it now: not owned.)
  commit.new_schema = Schema{};
  commit.new_schema->columns = {{"v", "BIGINT"}};
  commit.location = "raw/src/";
  commit.add_files = {Object("raw/src/x.json", /*owned=*/false)};
  ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
  commit.table = {"shop", "loaded"};
  commit.message = "loch load: 1 file(s), load 20261201T000000Z-0123456789ab";
  commit.location = "raw/shop/loaded/";
  commit.add_files = {Object("raw/shop/loaded/x.csv", false)};
  ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
  commit.table = {"shop", "t"};
  commit.message = "CREATE TABLE (1 rows)";
  commit.location = "tables/shop/t/";
  commit.add_files = {Object("tables/shop/t/a.parquet", false)};
  ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
  catalog_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "ALTER TABLE data_files DROP COLUMN owned; UPDATE catalog_meta SET "
                         "value = '10' WHERE key = 'format_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  catalog_ = std::move(OpenSqliteCatalog((dir_ / "catalog.sqlite").string())).value();
  auto owned = [&](const std::string& table) {
    auto read = catalog_->ReadTable(admin_, {"shop", table}, std::nullopt);
    EXPECT_TRUE(read.ok() && read->files.size() == 1) << read.status();
    return read.ok() && !read->files.empty() && read->files[0].owned;
  };
  EXPECT_FALSE(owned("crawled"));
  EXPECT_TRUE(owned("loaded"));
  EXPECT_TRUE(owned("t"));
  // DROP TABLE ... PURGE deletes only what loch wrote.
  EXPECT_TRUE(catalog_->FilesToPurge(admin_, {"shop", "crawled"})->empty());
  EXPECT_EQ(catalog_->FilesToPurge(admin_, {"shop", "t"})->size(), 1u);

  // A catalog of a newer format is refused, not rewritten.
  catalog_.reset();
  ASSERT_EQ(sqlite3_open((dir_ / "catalog.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE catalog_meta SET value = '99' WHERE key = 'format_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto newer = OpenSqliteCatalog((dir_ / "catalog.sqlite").string());
  EXPECT_TRUE(absl::IsFailedPrecondition(newer.status())) << newer.status();
  EXPECT_THAT(newer.status().message(), HasSubstr("newer than this loch"));
}

}  // namespace
}  // namespace loch
