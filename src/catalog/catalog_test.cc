#include "catalog/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <limits>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"

namespace loch {
namespace {

using ::testing::HasSubstr;

class CatalogTest : public testing::Test {
 protected:
  void SetUp() override {
    catalog_ = Open();
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
  }

  std::unique_ptr<Catalog> Open() { return std::move(OpenSqliteCatalog(path())).value(); }
  std::string path() const { return (dir_ / "catalog.sqlite").string(); }

  static Schema OrdersSchema() {
    Schema schema;
    schema.columns = {{"order_id", "BIGINT"}, {"amount", "DOUBLE"}};
    schema.partition_columns = {{"day", "DATE"}};
    return schema;
  }

  static DataFile File(std::string key, int64_t rows, std::string day = "2026-11-01") {
    DataFile file;
    file.key = std::move(key);
    file.format = "parquet";
    file.size_bytes = 100;
    file.row_count = rows;
    file.partition_values = {{"day", day}};
    file.stats = {ColumnStats{"amount", "1.5", "99.5", 0, "DOUBLE"}};
    return file;
  }

  CommitResult Create(const std::string& table = "orders") {
    TableCommit commit;
    commit.table = {"shop", table};
    commit.operation = "create";
    commit.new_schema = OrdersSchema();
    commit.location = "tables/shop/" + table + "/";
    auto result = catalog_->Commit(admin_, commit);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }

  absl::StatusOr<CommitResult> Append(Catalog& catalog, int64_t base, std::vector<DataFile> files) {
    TableCommit commit;
    commit.table = {"shop", "orders"};
    commit.base_snapshot = base;
    commit.operation = "append";
    commit.add_files = std::move(files);
    return catalog.Commit(admin_, commit);
  }

  TestDir scratch_{"loch-catalog"};
  std::filesystem::path dir_ = scratch_.path();
  std::unique_ptr<Catalog> catalog_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(CatalogTest, StatisticsWrittenBeforeTheirTypeWasKeptReadAsUntyped) {
  CommitResult created = Create();
  ASSERT_TRUE(
      Append(*catalog_, created.snapshot_id, {File("tables/shop/orders/a.parquet", 10)}).ok());
  catalog_.reset();
  // Make the file a format-6 catalog, as an earlier loch left it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "ALTER TABLE file_column_stats DROP COLUMN value_type; UPDATE catalog_meta "
                   "SET value = '6' WHERE key = 'format_version'",
                   nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  catalog_ = Open();
  auto read = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->files.at(0).stats.size(), 1u);
  EXPECT_EQ(read->files[0].stats[0].max, "99.5");
  EXPECT_EQ(read->files[0].stats[0].type, "");  // unknown: pruning will not trust it
}

TEST_F(CatalogTest, CreateReadAppendRoundTrip) {
  CommitResult created = Create();
  EXPECT_EQ(created.schema_version, 1);
  auto appended = Append(*catalog_, created.snapshot_id,
                         {File("tables/shop/orders/day=2026-11-01/a.parquet", 10)});
  ASSERT_TRUE(appended.ok()) << appended.status();

  auto read = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->table.current_snapshot, appended->snapshot_id);
  EXPECT_EQ(read->snapshot.parent_id, created.snapshot_id);
  EXPECT_EQ(read->snapshot.operation, "append");
  EXPECT_EQ(read->snapshot.author, "admin");
  ASSERT_EQ(read->files.size(), 1u);
  const DataFile& file = read->files[0];
  EXPECT_EQ(file.row_count, 10);
  EXPECT_EQ(file.partition_values.at("day"), "2026-11-01");
  ASSERT_EQ(file.stats.size(), 1u);
  EXPECT_EQ(file.stats[0].max, "99.5");
  EXPECT_EQ(file.stats[0].type, "DOUBLE");  // the order the bounds follow is kept
  EXPECT_EQ(read->table.schema.partition_columns[0].name, "day");
  EXPECT_EQ(read->table.location, "tables/shop/orders/");
}

TEST_F(CatalogTest, StaleCommitFailsWithConflictAndChangesNothing) {
  CommitResult created = Create();
  auto other_writer = Open();  // a second connection, as another process would have
  ASSERT_TRUE(Append(*other_writer, created.snapshot_id, {File("a", 1)}).ok());

  auto stale = Append(*catalog_, created.snapshot_id, {File("b", 2)});
  ASSERT_TRUE(absl::IsAborted(stale.status())) << stale.status();
  EXPECT_THAT(std::string(stale.status().message()), HasSubstr("conflict"));

  auto read = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_EQ(read->files.size(), 1u);
  EXPECT_EQ(read->files[0].key, "a");
  EXPECT_EQ(catalog_->ListSnapshots(admin_, {"shop", "orders"})->size(), 2u);
}

TEST_F(CatalogTest, ConcurrentWritersWithRetryLoseNothing) {
  CommitResult created = Create();
  constexpr int kWriters = 4, kCommitsEach = 15;
  std::vector<std::thread> writers;
  std::atomic<int> conflicts{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto catalog = Open();
      for (int i = 0; i < kCommitsEach; ++i) {
        while (true) {
          auto table = catalog->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
          ASSERT_TRUE(table.ok());
          auto result = Append(*catalog, table->table.current_snapshot,
                               {File(fmt::format("w{}-{}", w, i), 1)});
          if (result.ok()) break;
          ASSERT_TRUE(absl::IsAborted(result.status())) << result.status();
          ++conflicts;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  auto read = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  EXPECT_EQ(read->files.size(), static_cast<size_t>(kWriters * kCommitsEach));
  auto snapshots = catalog_->ListSnapshots(admin_, {"shop", "orders"});
  EXPECT_EQ(snapshots->size(), static_cast<size_t>(kWriters * kCommitsEach + 1));
  // Each snapshot's parent is the one before it: a linear history, no lost update.
  for (size_t i = 1; i < snapshots->size(); ++i) {
    EXPECT_EQ((*snapshots)[i].parent_id, (*snapshots)[i - 1].snapshot_id);
  }
  (void)created;
}

TEST_F(CatalogTest, FailedCommitLeavesNoTrace) {
  CommitResult created = Create();
  auto first = Append(*catalog_, created.snapshot_id, {File("dup", 1)});
  ASSERT_TRUE(first.ok());
  // The second file of this commit is already registered: the whole commit fails, including
  // "fresh".
  auto failed = Append(*catalog_, first->snapshot_id, {File("fresh", 1), File("dup", 1)});
  EXPECT_TRUE(absl::IsAlreadyExists(failed.status())) << failed.status();
  auto read = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  EXPECT_EQ(read->table.current_snapshot, first->snapshot_id);
  ASSERT_EQ(read->files.size(), 1u);
  EXPECT_EQ(catalog_->ListSnapshots(admin_, {"shop", "orders"})->size(), 2u);
}

TEST_F(CatalogTest, TimeTravelAndChangesBetweenSnapshots) {
  CommitResult created = Create();
  auto s1 = Append(*catalog_, created.snapshot_id, {File("f1", 1), File("f2", 1)});
  auto read1 = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  TableCommit overwrite;
  overwrite.table = {"shop", "orders"};
  overwrite.base_snapshot = s1->snapshot_id;
  overwrite.operation = "overwrite";
  overwrite.remove_file_ids = {read1->files[0].file_id};
  overwrite.add_files = {File("f3", 1)};
  auto s2 = catalog_->Commit(admin_, overwrite);
  ASSERT_TRUE(s2.ok()) << s2.status();

  auto at_s1 = catalog_->ReadTable(admin_, {"shop", "orders"}, s1->snapshot_id);
  ASSERT_EQ(at_s1->files.size(), 2u);
  EXPECT_EQ(at_s1->files[0].key, "f1");
  auto now = catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_EQ(now->files.size(), 2u);
  EXPECT_EQ(now->files[0].key, "f2");
  EXPECT_EQ(now->files[1].key, "f3");

  auto changes =
      catalog_->ChangesBetween(admin_, {"shop", "orders"}, s1->snapshot_id, s2->snapshot_id);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->added.size(), 1u);
  EXPECT_EQ(changes->added[0].key, "f3");
  ASSERT_EQ(changes->removed.size(), 1u);
  EXPECT_EQ(changes->removed[0].key, "f1");
  auto all = catalog_->ChangesBetween(admin_, {"shop", "orders"}, 0, s2->snapshot_id);
  ASSERT_EQ(all->added.size(), 2u);  // f1 was added and removed within the range: not its rows
  EXPECT_EQ(all->added[0].key, "f2");
  EXPECT_EQ(all->added[1].key, "f3");
  EXPECT_TRUE(all->removed.empty());
}

// Keys of `files`, in order.
std::vector<std::string> KeysOf(const std::vector<DataFile>& files) {
  std::vector<std::string> keys;
  for (const DataFile& file : files) keys.push_back(file.key);
  return keys;
}

TEST_F(CatalogTest, CompactionsMoveRowsWithoutChangingThem) {
  const TableName orders{"shop", "orders"};
  CommitResult created = Create();
  auto s1 = Append(*catalog_, created.snapshot_id, {File("raw/f1", 10), File("raw/f2", 10)});
  ASSERT_TRUE(s1.ok());
  auto s2 = Append(*catalog_, s1->snapshot_id, {File("raw/f3", 5)});
  ASSERT_TRUE(s2.ok());
  auto live = catalog_->ReadTable(admin_, orders, std::nullopt);
  TableCommit compact;
  compact.table = orders;
  compact.base_snapshot = s2->snapshot_id;
  compact.operation = std::string(kCompactOperation);
  DataFile merged = File("tables/shop/orders/c/c1.parquet", 25);
  merged.owned = true;
  compact.add_files = {merged};
  for (const DataFile& file : live->files) {
    compact.remove_file_ids.push_back(file.file_id);
    compact.relocations.push_back(Relocation{file.file_id, "archive/" + file.key, "e"});
    compact.deferred_deletes.push_back(ObjectRef{file.key, file.size_bytes});
  }
  compact.deletes_not_before_micros = std::numeric_limits<int64_t>::max();
  auto s3 = catalog_->Commit(admin_, compact);
  ASSERT_TRUE(s3.ok()) << s3.status();
  auto s4 = Append(*catalog_, s3->snapshot_id, {File("raw/f4", 1)});
  ASSERT_TRUE(s4.ok());

  EXPECT_THAT(KeysOf(catalog_->ReadTable(admin_, orders, std::nullopt)->files),
              testing::ElementsAre("tables/shop/orders/c/c1.parquet", "raw/f4"));
  // The history reads the raw objects where they were moved.
  EXPECT_THAT(KeysOf(catalog_->ReadTable(admin_, orders, s1->snapshot_id)->files),
              testing::ElementsAre("archive/raw/f1", "archive/raw/f2"));
  // An incremental reader bookmarked at s1 gets exactly the rows committed since, in the files
  // they were committed in; the compaction itself is no change.
  auto since_s1 = catalog_->ChangesBetween(admin_, orders, s1->snapshot_id, s4->snapshot_id);
  ASSERT_TRUE(since_s1.ok()) << since_s1.status();
  EXPECT_THAT(KeysOf(since_s1->added), testing::ElementsAre("archive/raw/f3", "raw/f4"));
  EXPECT_TRUE(since_s1->removed.empty());
  auto compaction_only = catalog_->ChangesBetween(admin_, orders, s2->snapshot_id, s3->snapshot_id);
  EXPECT_TRUE(compaction_only->added.empty());
  EXPECT_TRUE(compaction_only->removed.empty());
  EXPECT_THAT(KeysOf(catalog_->ChangesBetween(admin_, orders, 0, s4->snapshot_id)->added),
              testing::ElementsAre("archive/raw/f1", "archive/raw/f2", "archive/raw/f3", "raw/f4"));

  // The originals wait for deletion: not due yet, but no table may register them meanwhile.
  EXPECT_TRUE(catalog_->PendingDeletes(admin_, 10)->empty());
  EXPECT_THAT(*catalog_->QueuedKeys(admin_, "raw/"),
              testing::ElementsAre("raw/f1", "raw/f2", "raw/f3"));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      Append(*catalog_, s4->snapshot_id, {File("raw/f1", 10)}).status()));

  // A real change of a compacted file is a change.
  auto now = catalog_->ReadTable(admin_, orders, std::nullopt);
  TableCommit overwrite;
  overwrite.table = orders;
  overwrite.base_snapshot = s4->snapshot_id;
  overwrite.operation = "overwrite";
  overwrite.remove_file_ids = {now->files[0].file_id};
  auto s5 = catalog_->Commit(admin_, overwrite);
  ASSERT_TRUE(s5.ok()) << s5.status();
  EXPECT_THAT(
      KeysOf(catalog_->ChangesBetween(admin_, orders, s1->snapshot_id, s5->snapshot_id)->removed),
      testing::ElementsAre("tables/shop/orders/c/c1.parquet"));
}

TEST_F(CatalogTest, CompactionsThatWouldChangeRowsAreRefused) {
  const TableName orders{"shop", "orders"};
  CommitResult created = Create();
  DataFile loaded = File("tables/shop/orders/l/a.parquet", 10);
  loaded.owned = true;
  auto s1 = Append(*catalog_, created.snapshot_id, {File("raw/f1", 10), loaded});
  ASSERT_TRUE(s1.ok());
  auto live = catalog_->ReadTable(admin_, orders, std::nullopt);
  const int64_t raw_id = live->files[0].file_id, owned_id = live->files[1].file_id;
  auto compaction = [&](int64_t rows) {
    TableCommit commit;
    commit.table = orders;
    commit.base_snapshot = s1->snapshot_id;
    commit.operation = std::string(kCompactOperation);
    DataFile merged = File("tables/shop/orders/c/c1.parquet", rows);
    merged.owned = true;
    commit.add_files = {merged};
    commit.remove_file_ids = {raw_id, owned_id};
    return commit;
  };
  auto refused = [&](const TableCommit& commit, std::string_view why) {
    const absl::Status status = catalog_->Commit(admin_, commit).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr(why));
  };
  refused(compaction(19), "hold 1 row(s) fewer than it removes");
  refused(compaction(20), "every removed file loch did not write must be relocated");
  auto relocated = [&](int64_t rows) {
    TableCommit commit = compaction(rows);
    commit.relocations = {Relocation{raw_id, "archive/raw/f1", ""}};
    commit.deferred_deletes = {ObjectRef{"raw/f1", 100}};
    return commit;
  };
  TableCommit dropping_live = relocated(20);
  dropping_live.deferred_deletes.push_back(ObjectRef{"tables/shop/orders/l/a.parquet", 100});
  refused(dropping_live, "is not a relocated file's original");
  TableCommit onto_live = relocated(20);
  onto_live.relocations[0].key = "tables/shop/orders/l/a.parquet";
  refused(onto_live, "is a live file's or queued for deletion");
  TableCommit not_owned = relocated(20);
  not_owned.add_files[0].owned = false;
  refused(not_owned, "was not written by loch");
  TableCommit elsewhere = relocated(20);
  elsewhere.add_files[0].partition_values = {{"day", "2026-11-02"}};
  refused(elsewhere, "in a partition no removed file was in");
  TableCommit evolving = relocated(20);
  evolving.new_schema = OrdersSchema();
  refused(evolving, "may not change the schema");
  TableCommit nothing_removed = compaction(0);
  nothing_removed.remove_file_ids.clear();
  refused(nothing_removed, "removes no file");
  TableCommit moving_owned = relocated(20);
  moving_owned.relocations.push_back(Relocation{owned_id, "archive/x", ""});
  refused(moving_owned, "cannot be relocated");
  TableCommit append = compaction(20);
  append.operation = "append";
  append.remove_file_ids.clear();
  append.relocations = {Relocation{raw_id, "archive/raw/f1", ""}};
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_->Commit(admin_, append).status()));
  // None of them changed anything; the right one commits.
  EXPECT_EQ(catalog_->ReadTable(admin_, orders, std::nullopt)->table.current_snapshot,
            s1->snapshot_id);
  EXPECT_TRUE(catalog_->Commit(admin_, relocated(20)).ok());
}

TEST_F(CatalogTest, SchemaEvolutionKeepsHistory) {
  CommitResult created = Create();
  Schema wider = OrdersSchema();
  wider.columns.push_back(
      Column{"coupon", "VARCHAR", true, "added later", {{"source", "crawler"}}});
  TableCommit evolve;
  evolve.table = {"shop", "orders"};
  evolve.base_snapshot = created.snapshot_id;
  evolve.operation = "evolve";
  evolve.new_schema = wider;
  auto evolved = catalog_->Commit(admin_, evolve);
  ASSERT_TRUE(evolved.ok());
  EXPECT_EQ(evolved->schema_version, 2);
  auto schemas = catalog_->ListSchemas(admin_, {"shop", "orders"});
  ASSERT_EQ(schemas->size(), 2u);
  EXPECT_EQ((*schemas)[0].columns.size(), 2u);
  EXPECT_EQ((*schemas)[1].columns.back().metadata["source"], "crawler");
  EXPECT_EQ(
      catalog_->ReadTable(admin_, {"shop", "orders"}, created.snapshot_id)->table.schema.version,
      1);
  EXPECT_EQ(catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt)->table.schema.version, 2);
}

TEST_F(CatalogTest, UnknownNamesListWhatExists) {
  Create("orders");
  Create("deals");
  auto missing = catalog_->ReadTable(admin_, {"shop", "ordrs"}, std::nullopt);
  ASSERT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("tables: shop.deals, shop.orders"));
  auto no_db = catalog_->ReadTable(admin_, {"shp", "orders"}, std::nullopt);
  EXPECT_THAT(std::string(no_db.status().message()), HasSubstr("databases: shop"));
  EXPECT_TRUE(absl::IsAlreadyExists(catalog_->CreateDatabase(admin_, "shop", false)));
  EXPECT_TRUE(catalog_->CreateDatabase(admin_, "shop", true).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_->CreateDatabase(admin_, "Bad-Name", false)));
  EXPECT_TRUE(absl::IsInvalidArgument(TableName::Parse("nodot").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(TableName::Parse("a.b.c").status()));
  EXPECT_EQ(TableName::Parse("shop.orders")->table, "orders");
  EXPECT_EQ(TableName::Parse("Shop.Orders")->ToString(), "shop.orders");  // folded
  EXPECT_TRUE(absl::IsInvalidArgument(TableName::Parse("shop.Or-ders").status()));
}

TEST_F(CatalogTest, CreatingAnExistingTableFails) {
  Create();
  TableCommit again;
  again.table = {"shop", "orders"};
  again.operation = "create";
  again.new_schema = OrdersSchema();
  again.location = "x/";
  EXPECT_TRUE(absl::IsAlreadyExists(catalog_->Commit(admin_, again).status()));
  Schema bad;
  bad.columns = {{"a", "INT"}, {"a", "INT"}};
  again.table.table = "other";
  again.new_schema = bad;
  EXPECT_TRUE(absl::IsInvalidArgument(catalog_->Commit(admin_, again).status()));
  EXPECT_EQ(catalog_->ListTables(admin_, std::nullopt)->size(), 1u);
}

TEST_F(CatalogTest, SubscribersHearEveryCommit) {
  std::vector<CommitEvent> events;
  int id = catalog_->Subscribe([&](const CommitEvent& event) { events.push_back(event); });
  CommitResult created = Create();
  ASSERT_TRUE(Append(*catalog_, created.snapshot_id, {File("x", 1)}).ok());
  catalog_->Unsubscribe(id);
  Create("later");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, CommitEvent::Kind::kTableCreated);
  EXPECT_TRUE(events[0].schema_changed);
  EXPECT_EQ(events[1].kind, CommitEvent::Kind::kSnapshotAdded);
  EXPECT_EQ(events[1].operation, "append");
  EXPECT_EQ(events[1].table.table, "orders");
}

TEST_F(CatalogTest, CatalogsOfTheFirstFormatAreUpgraded) {
  CommitResult created = Create();
  ASSERT_TRUE(Append(*catalog_, created.snapshot_id, {File("old", 3)}).ok());
  catalog_.reset();
  // Turn the file back into format 1: no etag column, no version row.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(
          db,
          "DROP INDEX data_files_live_key; ALTER TABLE data_files DROP COLUMN etag; "
          "ALTER TABLE data_files DROP COLUMN content_hash; "
          "CREATE UNIQUE INDEX data_files_live_key ON data_files(key) WHERE end_snapshot IS NULL; "
          "DELETE FROM catalog_meta",
          nullptr, nullptr, nullptr),
      SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto upgraded = Open();
  auto read = upgraded->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->files[0].row_count, 3);
  EXPECT_EQ(read->files[0].etag, "");
  EXPECT_EQ(read->files[0].content_hash, "");
  // The upgraded catalog keeps what the new columns hold.
  DataFile hashed = File("new", 1);
  hashed.content_hash = std::string(64, 'a');
  ASSERT_TRUE(Append(*upgraded, read->table.current_snapshot, {hashed}).ok());
  auto again = upgraded->ReadTable(admin_, {"shop", "orders"}, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->files.size(), 2u);
  EXPECT_EQ(again->files[1].content_hash, hashed.content_hash);
}

TEST_F(CatalogTest, DroppedTablesAreGoneButTheirPastIsReadable) {
  CommitResult created = Create();
  auto appended = Append(*catalog_, created.snapshot_id, {File("kept-for-history", 5)});
  ASSERT_TRUE(appended.ok());
  auto dropped = catalog_->DropTable(admin_, {"shop", "orders"});
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_TRUE(
      absl::IsNotFound(catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt).status()));
  EXPECT_TRUE(catalog_->ListTables(admin_, std::nullopt)->empty());
  auto past = catalog_->ReadTable(admin_, {"shop", "orders"}, appended->snapshot_id);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_EQ(past->files.size(), 1u);
  EXPECT_TRUE(absl::IsNotFound(catalog_->DropTable(admin_, {"shop", "orders"}).status()));
  Create();  // the name can be used again
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt)->files.empty());
}

TEST_F(CatalogTest, StatePersistsAcrossReopen) {
  CommitResult created = Create();
  ASSERT_TRUE(Append(*catalog_, created.snapshot_id, {File("persist", 7)}).ok());
  catalog_.reset();
  auto reopened = Open();
  auto tables = reopened->ListTables(admin_, std::string("shop"));
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ(reopened->ReadTable(admin_, {"shop", "orders"}, std::nullopt)->files[0].row_count, 7);
}

TEST_F(CatalogTest, StreamsRememberHowFarTheyDelivered) {
  auto created = catalog_->CreateStream(admin_, SavedStream{"click-events", {{"x", 1}}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_micros, 0);
  EXPECT_EQ(catalog_->CreateStream(admin_, SavedStream{"click-events", {}}).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(
      catalog_->SetStreamDelivered(admin_, "click-events", created->created_micros, 42).ok());
  // Never backwards: a late, older checkpoint does not undo a newer one.
  ASSERT_TRUE(
      catalog_->SetStreamDelivered(admin_, "click-events", created->created_micros, 7).ok());
  auto reopened = Open();
  auto read = reopened->GetStream(admin_, "click-events");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->delivered_through, 42);
  EXPECT_EQ(read->config["x"], 1);
  EXPECT_EQ(reopened->ListStreams(admin_)->size(), 1u);

  // A stream that replaced a deleted one of the same name does not take the old one's checkpoints.
  ASSERT_TRUE(reopened->DeleteStream(admin_, "click-events").ok());
  EXPECT_EQ(reopened->GetStream(admin_, "click-events").status().code(),
            absl::StatusCode::kNotFound);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto again = reopened->CreateStream(admin_, SavedStream{"click-events", {}});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->created_micros, created->created_micros);
  EXPECT_EQ(again->delivered_through, 0);
  EXPECT_EQ(
      reopened->SetStreamDelivered(admin_, "click-events", created->created_micros, 99).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(reopened->DeleteStream(admin_, "nope").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace loch

namespace loch {
namespace {

TEST_F(CatalogTest, ViewsShareTheTableNamespace) {
  Create();  // shop.orders
  ViewInfo view;
  view.name = {"shop", "big_orders"};
  view.sql = "SELECT * FROM shop.orders WHERE amount > 100";
  view.columns = {Column("order_id", "BIGINT")};
  auto created = catalog_->CreateView(admin_, view, /*or_replace=*/false);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->view_id, 0);
  EXPECT_EQ(created->author, admin_.name);

  auto read = catalog_->GetView(admin_, view.name);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->sql, view.sql);
  ASSERT_EQ(read->columns.size(), 1u);
  EXPECT_EQ(read->columns[0].type, "BIGINT");

  EXPECT_EQ(catalog_->CreateView(admin_, view, false).status().code(),
            absl::StatusCode::kAlreadyExists);
  view.sql = "SELECT 1 AS one";
  auto replaced = catalog_->CreateView(admin_, view, /*or_replace=*/true);
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(replaced->view_id, created->view_id);
  EXPECT_EQ(catalog_->GetView(admin_, view.name)->sql, "SELECT 1 AS one");

  // A name is a table or a view, never both.
  ViewInfo clash = view;
  clash.name = {"shop", "orders"};
  EXPECT_EQ(catalog_->CreateView(admin_, clash, true).status().code(),
            absl::StatusCode::kAlreadyExists);
  TableCommit table;
  table.table = view.name;
  table.operation = "create";
  table.new_schema = OrdersSchema();
  table.location = "tables/shop/big_orders/";
  EXPECT_EQ(catalog_->Commit(admin_, table).status().code(), absl::StatusCode::kAlreadyExists);

  auto listed = catalog_->ListViews(admin_, "shop");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name.table, "big_orders");
  EXPECT_EQ(catalog_->ListViews(admin_, "nowhere").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(catalog_->DropView(admin_, view.name).ok());
  EXPECT_EQ(catalog_->GetView(admin_, view.name).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(catalog_->DropView(admin_, view.name).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace loch

namespace loch {
namespace {

TEST_F(CatalogTest, WorkgroupsKeepTheirLimits) {
  auto initial = catalog_->ListWorkgroups(admin_);
  ASSERT_TRUE(initial.ok());
  ASSERT_EQ(initial->size(), 1u);
  EXPECT_EQ((*initial)[0].name, "primary");

  WorkgroupConfig etl{"etl", "nightly jobs", 30000, 2, 1 << 20, "http://127.0.0.1:9/hook"};
  ASSERT_TRUE(catalog_->PutWorkgroup(admin_, etl).ok());
  auto read = catalog_->GetWorkgroup(admin_, "etl");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->timeout_ms, 30000);
  EXPECT_EQ(read->max_concurrent, 2);
  EXPECT_EQ(read->max_bytes_scanned, 1 << 20);
  EXPECT_EQ(read->failure_webhook, "http://127.0.0.1:9/hook");
  EXPECT_EQ(catalog_->ListWorkgroups(admin_)->size(), 2u);

  etl.max_concurrent = 5;
  ASSERT_TRUE(catalog_->PutWorkgroup(admin_, etl).ok());
  EXPECT_EQ(catalog_->GetWorkgroup(admin_, "etl")->max_concurrent, 5);

  auto unknown = catalog_->GetWorkgroup(admin_, "nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.status().message()), testing::HasSubstr("etl, primary"));
  EXPECT_FALSE(catalog_->PutWorkgroup(admin_, WorkgroupConfig::Named("bad name")).ok());
  WorkgroupConfig negative = WorkgroupConfig::Named("neg");
  negative.timeout_ms = -1;
  EXPECT_FALSE(catalog_->PutWorkgroup(admin_, negative).ok());
  WorkgroupConfig file_hook = WorkgroupConfig::Named("hook");
  file_hook.failure_webhook = "file:///x";
  EXPECT_FALSE(catalog_->PutWorkgroup(admin_, file_hook).ok());
  EXPECT_EQ(catalog_->DeleteWorkgroup(admin_, "primary").code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(catalog_->DeleteWorkgroup(admin_, "etl").ok());
  EXPECT_EQ(catalog_->DeleteWorkgroup(admin_, "etl").code(), absl::StatusCode::kNotFound);
}

TEST_F(CatalogTest, QueryHistoryKeepsTheNewestRecords) {
  const int64_t total = Catalog::kQueryHistoryKept + 3;
  for (int64_t i = 0; i < total; ++i) {
    QueryRecord record;
    record.id = fmt::format("q{:06}", i);
    record.sql = "SELECT " + std::to_string(i);
    record.state = "SUCCEEDED";
    record.submitted_micros = i;
    ASSERT_TRUE(catalog_->RecordQuery(admin_, record).ok());
  }
  auto newest = catalog_->ListQueries(admin_, 2);
  ASSERT_TRUE(newest.ok()) << newest.status();
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ(newest->at(0).id, fmt::format("q{:06}", total - 1));
  EXPECT_EQ(newest->at(1).sql, "SELECT " + std::to_string(total - 2));
  EXPECT_EQ(catalog_->ListQueries(admin_, 1000000)->size(),
            static_cast<size_t>(Catalog::kQueryHistoryKept));
  EXPECT_TRUE(catalog_->ListQueries(admin_, 1, "q000000")->empty());  // the oldest went
  EXPECT_EQ(catalog_->ListQueries(admin_, 1, "q000003")->size(), 1u);
  // Recording a query again replaces its record.
  QueryRecord again = newest->at(0);
  again.state = "CANCELLED";
  ASSERT_TRUE(catalog_->RecordQuery(admin_, again).ok());
  EXPECT_EQ(catalog_->ListQueries(admin_, 1, again.id)->front().state, "CANCELLED");
}

}  // namespace
}  // namespace loch

namespace loch {
namespace {

class CatalogJobsTest : public testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::move(OpenSqliteCatalog((dir_ / "catalog.sqlite").string())).value();
  }
  SavedJob Job(std::string name, std::string sql) {
    return SavedJob{std::move(name), 0, {{"sql", std::move(sql)}}, 0, ""};
  }
  TestDir scratch_{"loch-catalog-jobs"};
  std::filesystem::path dir_ = scratch_.path();
  Principal admin_ = Principal::LocalAdmin();
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogJobsTest, EveryChangeIsANewVersionAndOldVersionsStayReadable) {
  auto first = catalog_->PutJob(admin_, Job("clean", "SELECT 1"), /*replace=*/false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->created_by, "admin");
  auto again = catalog_->PutJob(admin_, Job("clean", "SELECT 2"), /*replace=*/false);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();
  auto second = catalog_->PutJob(admin_, Job("clean", "SELECT 2"), /*replace=*/true);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->version, 2);
  ASSERT_TRUE(catalog_->PutJob(admin_, Job("daily", "SELECT 3"), false).ok());

  EXPECT_EQ(catalog_->GetJob(admin_, "clean")->definition["sql"], "SELECT 2");
  EXPECT_EQ(catalog_->GetJob(admin_, "clean", 1)->definition["sql"], "SELECT 1");
  EXPECT_THAT(std::string(catalog_->GetJob(admin_, "clean", 7).status().message()),
              HasSubstr("no version 7"));
  auto jobs = catalog_->ListJobs(admin_);
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].name, "clean");
  EXPECT_EQ((*jobs)[0].version, 2);
  EXPECT_EQ(catalog_->ListJobVersions(admin_, "clean")->size(), 2u);

  auto unknown = catalog_->GetJob(admin_, "clan");
  EXPECT_TRUE(absl::IsNotFound(unknown.status()));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("clean, daily"));
  EXPECT_TRUE(
      absl::IsInvalidArgument(catalog_->PutJob(admin_, Job("bad name", ""), false).status()));
}

TEST_F(CatalogJobsTest, RunsAreRecordedUpdatedAndListedNewestFirst) {
  ASSERT_TRUE(catalog_->PutJob(admin_, Job("clean", "SELECT 1"), false).ok());
  RunRecord run;
  run.kind = "job";
  run.name = "clean";
  run.version = 1;
  run.pid = 42;
  run.started_micros = 1000;
  auto first = catalog_->StartRun(admin_, run);
  ASSERT_TRUE(first.ok());
  run.run_id = *first;
  run.state = RunRecord::kSucceeded;
  run.finished_micros = 2000;
  run.report = {{"rows_written", 5}};
  ASSERT_TRUE(catalog_->UpdateRun(admin_, run).ok());
  run.state = RunRecord::kRunning;
  auto second = catalog_->StartRun(admin_, run);
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);

  auto runs = catalog_->ListRuns(admin_, "job", "clean", 10);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].run_id, *second);
  EXPECT_EQ((*runs)[1].report["rows_written"], 5);
  auto succeeded = catalog_->ListRuns(admin_, "job", "clean", 10, RunRecord::kSucceeded);
  ASSERT_EQ(succeeded->size(), 1u);
  EXPECT_EQ((*succeeded)[0].finished_micros, 2000);
  EXPECT_EQ(catalog_->GetRun(admin_, *first)->pid, 42);
  EXPECT_TRUE(absl::IsNotFound(catalog_->GetRun(admin_, 999).status()));

  ASSERT_TRUE(catalog_->DeleteJob(admin_, "clean").ok());
  EXPECT_TRUE(catalog_->ListRuns(admin_, "job", "clean", 10)->empty());
  EXPECT_TRUE(absl::IsNotFound(catalog_->DeleteJob(admin_, "clean")));
}

TEST_F(CatalogJobsTest, QueuedRunsAreClaimedOnceRetriedOnceAndCancelled) {
  RunRecord run;
  run.kind = "job";
  run.name = "clean";
  run.max_attempts = 2;
  run.tags = {"shop", "daily"};
  run.trigger_detail = {{"type", "table_update"}, {"snapshot", 7}};
  run.request = {{"full", true}};
  auto first = catalog_->QueueRun(admin_, run);
  ASSERT_TRUE(first.ok()) << first.status();
  RunRecord queued = *catalog_->GetRun(admin_, *first);
  EXPECT_EQ(queued.state, RunRecord::kQueued);
  EXPECT_GT(queued.queued_micros, 0);
  EXPECT_EQ(queued.tags, (std::vector<std::string>{"shop", "daily"}));
  EXPECT_EQ(queued.trigger_detail["snapshot"], 7);
  EXPECT_EQ(queued.request["full"], true);

  // A worker claims it only while it is queued: a second claim finds it RUNNING.
  queued.state = RunRecord::kRunning;
  queued.pid = 101;
  ASSERT_TRUE(catalog_->UpdateRun(admin_, queued, RunRecord::kQueued).ok());
  const absl::Status again = catalog_->UpdateRun(admin_, queued, RunRecord::kQueued);
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_THAT(std::string(again.message()), HasSubstr("is RUNNING, not QUEUED"));

  // A failed attempt below max_attempts waits for its retry, which is linked once.
  queued.state = RunRecord::kFailed;
  ASSERT_TRUE(catalog_->UpdateRun(admin_, queued).ok());
  RunQuery pending{"job", "", {}, /*retry_pending=*/true, false, 10};
  ASSERT_EQ(catalog_->FindRuns(admin_, pending)->size(), 1u);
  RunRecord retry = queued;
  retry.attempt = 2;
  auto second = catalog_->QueueRun(admin_, retry, *first);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(absl::IsAlreadyExists(catalog_->QueueRun(admin_, retry, *first).status()));
  EXPECT_EQ(catalog_->GetRun(admin_, *first)->retry_run_id, *second);
  EXPECT_EQ(catalog_->GetRun(admin_, *second)->previous_run_id, *first);
  EXPECT_EQ(catalog_->GetRun(admin_, *second)->pid, 0);
  EXPECT_TRUE(catalog_->FindRuns(admin_, pending)->empty());
  EXPECT_TRUE(absl::IsNotFound(catalog_->QueueRun(admin_, retry, 999).status()));

  // Cancel: a queued run at once; a running one is asked; a finished one is refused.
  auto cancelled = catalog_->RequestCancel(admin_, *second);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->state, RunRecord::kCancelled);
  EXPECT_EQ(catalog_->GetRun(admin_, *second)->state, RunRecord::kCancelled);
  EXPECT_TRUE(absl::IsFailedPrecondition(catalog_->RequestCancel(admin_, *second).status()));
  run.state = RunRecord::kRunning;
  auto running = catalog_->StartRun(admin_, run);
  auto asked = catalog_->RequestCancel(admin_, *running);
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->state, RunRecord::kRunning);
  auto requested = catalog_->FindRuns(admin_, RunQuery{"", "", {}, false, true, 10});
  ASSERT_EQ(requested->size(), 2u);  // the running one, and the one cancelled while queued
  EXPECT_EQ((*requested)[0].run_id, *running);
  auto by_state = catalog_->FindRuns(
      admin_, RunQuery{"", "", {RunRecord::kFailed, RunRecord::kCancelled}, false, false, 10});
  ASSERT_EQ(by_state->size(), 2u);
}

TEST_F(CatalogTest, CommitsAreListedInOrderAcrossTables) {
  EXPECT_EQ(*catalog_->LatestSnapshotId(admin_), 0);
  const CommitResult orders = Create("orders");
  const CommitResult users = Create("users");
  auto commits = catalog_->ListCommits(admin_, 0, 10);
  ASSERT_TRUE(commits.ok()) << commits.status();
  ASSERT_EQ(commits->size(), 2u);
  EXPECT_EQ((*commits)[0].snapshot_id, orders.snapshot_id);
  EXPECT_EQ((*commits)[0].table.ToString(), "shop.orders");
  EXPECT_EQ((*commits)[1].table.ToString(), "shop.users");
  EXPECT_EQ(catalog_->ListCommits(admin_, orders.snapshot_id, 10)->size(), 1u);
  EXPECT_EQ(catalog_->ListCommits(admin_, 0, 1)->size(), 1u);
  EXPECT_EQ(*catalog_->LatestSnapshotId(admin_), users.snapshot_id);
}

}  // namespace
}  // namespace loch
