// The commit journal: every write transaction of the catalog reaches the journal before it commits,
// and the changes, replayed in order onto the copy the timeline started from, rebuild the catalog
// exactly (a differential test: the live catalog against its replay).

#include "catalog/catalog_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

#include "catalog/catalog.h"
#include "catalog/catalog_file.h"
#include "common/clock.h"
#include "common/test_dir.h"
#include "fmt/format.h"

namespace loch {
namespace {

using ::testing::HasSubstr;

// Keeps the changes in memory, by sequence (a later append of a sequence replaces an earlier one,
// as the lake's journal does for a transaction that never committed).
class MemoryJournal final : public CommitJournal {
 public:
  absl::StatusOr<std::string> Append(const CatalogChange& change) override {
    if (fail) return absl::UnavailableError("the journal is down");
    changes[change.sequence] = change;
    return HashOf(change);
  }
  void Committed(const CatalogChange& change) override { committed.push_back(change.sequence); }
  void Abandoned(const CatalogChange& change) override { changes.erase(change.sequence); }
  static std::string HashOf(const CatalogChange& change) {
    return fmt::format("{}:{}:{}", change.timeline, change.sequence, change.changeset.size());
  }

  std::map<int64_t, CatalogChange> changes;
  std::vector<int64_t> committed;
  bool fail = false;
};

std::map<std::string, int64_t> IdCounters(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* query = nullptr;
  sqlite3_prepare_v2(db, "SELECT name, seq FROM sqlite_sequence WHERE name != 'query_history'", -1,
                     &query, nullptr);
  std::map<std::string, int64_t> counters;
  while (sqlite3_step(query) == SQLITE_ROW) {
    counters[reinterpret_cast<const char*>(sqlite3_column_text(query, 0))] =
        sqlite3_column_int64(query, 1);
  }
  sqlite3_finalize(query);
  sqlite3_close(db);
  return counters;
}

class CatalogJournalTest : public testing::Test {
 protected:
  void SetUp() override {
    catalog_ = std::move(OpenSqliteCatalog(path(), &journal_)).value();
    absl::StatusOr<bool> started = StartJournalTimeline(
        path(), "t1", base(), [](const JournalPosition& now) { return now.timeline.empty(); },
        [](const std::string&) { return absl::OkStatus(); });
    ASSERT_TRUE(started.ok() && *started) << started.status();
  }

  std::string path() const { return scratch_.path() + "/catalog.sqlite"; }
  std::string base() const { return scratch_.path() + "/base.sqlite"; }

  static DataFile File(const std::string& key, int64_t rows) {
    DataFile file;
    file.key = key;
    file.format = "parquet";
    file.size_bytes = 100 * rows;
    file.row_count = rows;
    file.partition_values = {{"day", "2026-11-01"}};
    file.owned = true;  // loch wrote it: expiring it queues the object for deletion
    file.stats = {ColumnStats{"amount", "1.5", "99.5", 0, "DOUBLE"}};
    return file;
  }

  CommitResult Commit(TableCommit commit) {
    absl::StatusOr<CommitResult> result = catalog_->Commit(admin_, commit);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(CommitResult{});
  }

  // Writes to every table the journal carries, and to the query history it does not.
  void WriteEverything() {
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
    Schema schema;
    schema.columns = {{"order_id", "BIGINT"}, {"amount", "DOUBLE"}};
    schema.partition_columns = {{"day", "DATE"}};
    TableCommit create;
    create.table = {"shop", "orders"};
    create.operation = "create";
    create.new_schema = schema;
    create.location = "tables/shop/orders/";
    int64_t at = Commit(create).snapshot_id;
    for (int i = 0; i < 3; ++i) {
      TableCommit append;
      append.table = {"shop", "orders"};
      append.base_snapshot = at;
      append.operation = "append";
      append.add_files = {File(fmt::format("tables/shop/orders/{}.parquet", i), 10 + i)};
      at = Commit(append).snapshot_id;
    }
    TableCommit evolve;  // a new column, and a file replaced
    evolve.table = {"shop", "orders"};
    evolve.base_snapshot = at;
    evolve.operation = "overwrite";
    Schema wider = schema;
    wider.columns.push_back({"country", "VARCHAR"});
    evolve.new_schema = wider;
    evolve.add_files = {File("tables/shop/orders/wide.parquet", 7)};
    evolve.remove_file_ids = {
        catalog_->ReadTable(admin_, {"shop", "orders"}, std::nullopt)->files.front().file_id};
    at = Commit(evolve).snapshot_id;
    ASSERT_TRUE(catalog_->RenameTable(admin_, {"shop", "orders"}, {"shop", "sales"}).ok());
    create.table = {"shop", "scratch"};
    create.location = "tables/shop/scratch/";
    Commit(create);
    ASSERT_TRUE(catalog_->DropTable(admin_, {"shop", "scratch"}).ok());
    ViewInfo view;
    view.name = {"shop", "big"};
    view.sql = "SELECT * FROM shop.sales WHERE amount > 10";
    ASSERT_TRUE(catalog_->CreateView(admin_, view, false).ok());
    view.name = {"shop", "gone"};
    ASSERT_TRUE(catalog_->CreateView(admin_, view, false).ok());
    ASSERT_TRUE(catalog_->DropView(admin_, {"shop", "gone"}).ok());
    for (const char* name : {"analysts", "etl"})
      ASSERT_TRUE(catalog_->PutWorkgroup(admin_, WorkgroupConfig::Named(name)).ok());
    ASSERT_TRUE(catalog_->DeleteWorkgroup(admin_, "etl").ok());
    // Crawler runs deleted with their crawler: the id counter stays past them.
    ASSERT_TRUE(
        catalog_->PutCrawler(admin_, SavedCrawler{"raw", {{"path", "raw/"}}, 0}, false).ok());
    for (int i = 0; i < 2; ++i)
      ASSERT_TRUE(
          catalog_->AddCrawlerRun(admin_, CrawlerRun{0, "raw", 1, 2, "SUCCEEDED", {}}).ok());
    ASSERT_TRUE(catalog_->DeleteCrawler(admin_, "raw").ok());
    ASSERT_TRUE(
        catalog_->PutCrawler(admin_, SavedCrawler{"raw", {{"path", "raw/"}}, 0}, false).ok());
    absl::StatusOr<SavedStream> stream =
        catalog_->CreateStream(admin_, SavedStream{"clicks", {{"table", "web.clicks"}}, 0, 0});
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE(catalog_->SetStreamDelivered(admin_, "clicks", stream->created_micros, 42).ok());
    SavedJob job{"daily", 0, {{"sql", "SELECT 1"}}, 0, "admin"};
    ASSERT_TRUE(catalog_->PutJob(admin_, job, false).ok());
    ASSERT_TRUE(catalog_->PutJob(admin_, job, true).ok());
    RunRecord run;
    run.kind = "job";
    run.name = "daily";
    run.version = 2;
    absl::StatusOr<int64_t> run_id = catalog_->StartRun(admin_, run);
    ASSERT_TRUE(run_id.ok()) << run_id.status();
    run.run_id = *run_id;
    run.state = RunRecord::kSucceeded;
    ASSERT_TRUE(catalog_->UpdateRun(admin_, run).ok());
    ExpiryRequest expire;
    expire.cutoff_micros = NowMicros() + 1'000'000;  // the replaced file expires
    absl::StatusOr<ExpiryResult> expired = catalog_->ExpireFiles(admin_, expire);
    ASSERT_TRUE(expired.ok()) << expired.status();
    ASSERT_EQ(expired->files_expired, 1);
    QueryRecord query;
    query.id = "q1";
    query.sql = "SELECT 1";
    query.state = "SUCCEEDED";
    ASSERT_TRUE(catalog_->RecordQuery(admin_, query).ok());
  }

  TestDir scratch_{"loch-catalog-journal"};
  MemoryJournal journal_;
  std::unique_ptr<Catalog> catalog_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(CatalogJournalTest, ReplayingTheChangesRebuildsTheCatalogExactly) {
  WriteEverything();
  ASSERT_FALSE(HasFailure());
  // One change per write transaction, each committed, in order; the query history is not one.
  ASSERT_GE(journal_.changes.size(), 20u);
  std::vector<int64_t> expected;
  for (const auto& [sequence, change] : journal_.changes) expected.push_back(sequence);
  EXPECT_EQ(journal_.committed, expected);
  EXPECT_EQ(expected.front(), 1);
  EXPECT_EQ(expected.back(), static_cast<int64_t>(expected.size()));

  absl::StatusOr<std::unique_ptr<CatalogReplay>> replay = CatalogReplay::Open(base());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ((*replay)->position().timeline, "t1");
  EXPECT_EQ((*replay)->position().sequence, 0);
  for (const auto& [sequence, change] : journal_.changes) {
    absl::Status applied = (*replay)->Apply(change, MemoryJournal::HashOf(change));
    ASSERT_TRUE(applied.ok()) << "change " << sequence << ": " << applied;
  }
  replay->reset();

  absl::StatusOr<CatalogFileSummary> live = InspectCatalogFile(path(), TablesOutsideJournal());
  absl::StatusOr<CatalogFileSummary> replayed = InspectCatalogFile(base(), TablesOutsideJournal());
  ASSERT_TRUE(live.ok() && replayed.ok()) << live.status() << replayed.status();
  EXPECT_EQ(replayed->rows, live->rows);
  EXPECT_EQ(replayed->digest, live->digest);
  EXPECT_GT(live->rows.at("file_column_stats"), 0);
  EXPECT_GT(live->rows.at("pending_deletes"), 0);
  EXPECT_EQ(IdCounters(base()), IdCounters(path()));
  // The replay follows the live catalog's position, so the next change would apply too.
  absl::StatusOr<JournalPosition> live_position = ReadJournalPosition(path());
  absl::StatusOr<JournalPosition> replayed_position = ReadJournalPosition(base());
  EXPECT_EQ(replayed_position->sequence, live_position->sequence);
  EXPECT_EQ(replayed_position->last_hash, live_position->last_hash);

  // The replayed catalog answers as the live one does.
  catalog_.reset();
  auto reopened = std::move(OpenSqliteCatalog(base())).value();
  absl::StatusOr<TableSnapshot> sales =
      reopened->ReadTable(admin_, {"shop", "sales"}, std::nullopt);
  ASSERT_TRUE(sales.ok()) << sales.status();
  EXPECT_EQ(sales->files.size(), 3u);
  EXPECT_EQ(sales->table.schema.columns.size(), 3u);
}

TEST_F(CatalogJournalTest, ChangesApplyOnlyInOrderAndOnlyAsTheyWereMade) {
  WriteEverything();
  ASSERT_FALSE(HasFailure());
  auto replay = std::move(CatalogReplay::Open(base())).value();
  const CatalogChange& first = journal_.changes.at(1);
  const CatalogChange& second = journal_.changes.at(2);
  absl::Status skipped = replay->Apply(second, MemoryJournal::HashOf(second));
  EXPECT_TRUE(absl::IsFailedPrecondition(skipped)) << skipped;
  CatalogChange forged = first;
  forged.previous_hash = "someone else's";
  EXPECT_TRUE(absl::IsFailedPrecondition(replay->Apply(forged, "x")));
  forged = first;
  forged.schema = "another schema";
  EXPECT_TRUE(absl::IsFailedPrecondition(replay->Apply(forged, "x")));
  ASSERT_TRUE(replay->Apply(first, MemoryJournal::HashOf(first)).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(replay->Apply(first, MemoryJournal::HashOf(first))));
  // The first change again, as change 2: its row is already there.
  forged = first;
  forged.sequence = 2;
  forged.previous_hash = MemoryJournal::HashOf(first);
  absl::Status again = replay->Apply(forged, "x");
  EXPECT_TRUE(absl::IsDataLoss(again)) << again;
  EXPECT_EQ(replay->position().sequence, 1);  // nothing of the refused change stayed
  EXPECT_TRUE(replay->Apply(second, MemoryJournal::HashOf(second)).ok());
}

TEST_F(CatalogJournalTest, AJournalThatFailsFailsTheWriteAndLeavesNoTrace) {
  ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
  journal_.fail = true;
  absl::Status refused = catalog_->CreateDatabase(admin_, "lost", false);
  EXPECT_TRUE(absl::IsUnavailable(refused)) << refused;
  EXPECT_THAT(*catalog_->ListDatabases(admin_), testing::ElementsAre("shop"));
  EXPECT_EQ(ReadJournalPosition(path())->sequence, 1);
  journal_.fail = false;
  ASSERT_TRUE(catalog_->CreateDatabase(admin_, "kept", false).ok());
  EXPECT_EQ(ReadJournalPosition(path())->sequence, 2);
  EXPECT_EQ(journal_.committed, (std::vector<int64_t>{1, 2}));
  // Reads and the query history do not reach the journal.
  ASSERT_TRUE(catalog_->ListTables(admin_, std::nullopt).ok());
  QueryRecord query;
  query.id = "q";
  ASSERT_TRUE(catalog_->RecordQuery(admin_, query).ok());
  EXPECT_EQ(journal_.changes.size(), 2u);
}

TEST_F(CatalogJournalTest, ACatalogWithAJournalButNoTimelineRefusesToWrite) {
  ASSERT_TRUE(ResetJournalPosition(path()).ok());
  absl::Status refused = catalog_->CreateDatabase(admin_, "shop", false);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("journal has not started"));
  EXPECT_TRUE(catalog_->ListDatabases(admin_)->empty());
}

}  // namespace
}  // namespace loch
