// The catalog journal in a lake (a local folder here; s3_lake_test does it on S3): recovery from
// the lake alone rebuilds the catalog as it was at its last commit, with several writers, across
// checkpoints, after transactions that never committed, and refuses damaged or foreign journals.
#include "recovery/lake_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "catalog/catalog.h"
#include "catalog/catalog_file.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LakeJournalTest : public testing::Test {
 protected:
  void SetUp() override {
    lake_.root = dir_.path() + "/lake";
    lake_.state_dir = dir_.path() + "/state";
    fs::create_directories(lake_.root);
    fs::create_directories(lake_.state_dir + "/tmp");
    store_ = std::move(LocalObjectStore::Open(lake_.root)).value();
    ASSERT_TRUE(LakeKeepsJournal(lake_));
    Open(/*checkpoint_every=*/1000);
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "shop", false).ok());
    Schema schema;
    schema.columns = {{"id", "BIGINT"}};
    TableCommit create;
    create.table = {"shop", "t"};
    create.operation = "create";
    create.new_schema = schema;
    create.location = "tables/shop/t/";
    ASSERT_TRUE(catalog_->Commit(admin_, create).ok());
  }

  void Open(int64_t checkpoint_every) {
    catalog_.reset();
    journal_ = std::make_unique<LakeJournal>(lake_, *store_, JournalOptions{checkpoint_every});
    catalog_ = std::move(OpenSqliteCatalog(lake_.CatalogPath(), journal_.get())).value();
    absl::Status prepared = journal_->Prepare();
    ASSERT_TRUE(prepared.ok()) << prepared;
  }

  static absl::Status Append(Catalog& catalog, int n) {
    for (int attempt = 0;; ++attempt) {
      auto current = catalog.ReadTable(Principal::LocalAdmin(), {"shop", "t"}, std::nullopt);
      if (!current.ok()) return current.status();
      TableCommit commit;
      commit.table = {"shop", "t"};
      commit.base_snapshot = current->snapshot.snapshot_id;
      commit.operation = "append";
      DataFile file;
      file.key = fmt::format("tables/shop/t/{}.parquet", n);
      file.format = "parquet";
      file.size_bytes = 100 + n;
      file.row_count = n;
      file.stats = {ColumnStats{"id", "1", std::to_string(n), 0, "BIGINT"}};
      commit.add_files = {file};
      absl::Status done = catalog.Commit(Principal::LocalAdmin(), commit).status();
      if (!absl::IsAborted(done) || attempt == 20) return done;  // lost a race: read again
    }
  }

  std::string Recovered() const { return dir_.path() + "/recovered.sqlite"; }

  // Recovers into Recovered() and compares it with the live catalog.
  void ExpectRecoveryMatchesTheCatalog() {
    fs::remove(Recovered());
    absl::StatusOr<RecoveryReport> report = RecoverCatalogFromLake(lake_, *store_, Recovered());
    ASSERT_TRUE(report.ok()) << report.status();
    absl::StatusOr<CatalogFileSummary> live =
        InspectCatalogFile(lake_.CatalogPath(), TablesOutsideJournal());
    absl::StatusOr<CatalogFileSummary> recovered =
        InspectCatalogFile(Recovered(), TablesOutsideJournal());
    ASSERT_TRUE(live.ok() && recovered.ok()) << live.status() << recovered.status();
    EXPECT_EQ(recovered->rows, live->rows);
    EXPECT_EQ(recovered->digest, live->digest);
    EXPECT_EQ(report->last_sequence, ReadJournalPosition(lake_.CatalogPath())->sequence);
    EXPECT_TRUE(ReadJournalPosition(Recovered())->timeline.empty());  // starts its own
  }

  std::vector<std::string> Keys(const std::string& prefix) {
    std::vector<std::string> keys;
    const std::vector<ObjectInfo> objects = ListAll(*store_, prefix).value();
    for (const ObjectInfo& object : objects) keys.push_back(object.key);
    return keys;
  }

  TestDir dir_{"loch-lake-journal"};
  LakeLocation lake_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<LakeJournal> journal_;
  std::unique_ptr<Catalog> catalog_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(LakeJournalTest, RecoveryRebuildsWhatSeveralWritersCommittedAcrossCheckpoints) {
  Open(/*checkpoint_every=*/7);
  // Three more writers, each its own connection and journal object (as other loch processes).
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      LakeJournal journal(lake_, *store_, JournalOptions{7});
      auto catalog = std::move(OpenSqliteCatalog(lake_.CatalogPath(), &journal)).value();
      for (int i = 0; i < 15; ++i)
        if (!Append(*catalog, 1000 * (w + 1) + i).ok()) ++failures;
    });
  }
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(Append(*catalog_, i).ok());
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  catalog_.reset();
  journal_.reset();  // waits for its checkpoint
  ASSERT_TRUE(LakeJournal(lake_, *store_).Checkpoint().ok());

  const std::string timeline = ReadJournalPosition(lake_.CatalogPath())->timeline;
  const std::vector<std::string> checkpoints =
      Keys(std::string(kCatalogJournalPrefix) + timeline + "/checkpoint-");
  EXPECT_GE(checkpoints.size(), 2u);
  EXPECT_LE(checkpoints.size(), 3u);  // older ones are pruned
  // Changes the checkpoint before the last one covers are pruned; the rest are kept.
  EXPECT_FALSE(store_->Get(JournalRecordKey(timeline, 1)).ok());
  ExpectRecoveryMatchesTheCatalog();
  auto recovered = std::move(OpenSqliteCatalog(Recovered())).value();
  EXPECT_EQ(recovered->ReadTable(admin_, {"shop", "t"}, std::nullopt)->files.size(), 60u);
}

TEST_F(LakeJournalTest, ARecordLeftByAWriteThatDidNotCommitIsNeverReplacedButLeftBehind) {
  ASSERT_TRUE(Append(*catalog_, 1).ok());
  const JournalPosition position = *ReadJournalPosition(lake_.CatalogPath());
  // What a process that died between the journal and COMMIT leaves behind.
  CatalogChange orphan;
  orphan.timeline = position.timeline;
  orphan.sequence = position.sequence + 1;
  orphan.previous_hash = position.last_hash;
  orphan.schema = position.schema;
  orphan.changeset = "never committed";
  ASSERT_TRUE(journal_->Append(orphan).ok());
  absl::Status refused = Append(*catalog_, 2);  // it might be another copy's committed change
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("Try again"));
  ASSERT_TRUE(Append(*catalog_, 2).ok());  // the next write goes on in a new timeline
  EXPECT_NE(ReadJournalPosition(lake_.CatalogPath())->timeline, position.timeline);
  EXPECT_TRUE(store_->Get(JournalRecordKey(position.timeline, position.sequence + 1)).ok());
  ExpectRecoveryMatchesTheCatalog();
}

TEST_F(LakeJournalTest, AStaleCopyOfTheStateFolderIsRefusedAndARecoveryFencesTheOriginalOut) {
  ASSERT_TRUE(Append(*catalog_, 1).ok());
  const auto copy_state = [&](const std::string& name) {
    LakeLocation copy = lake_;
    copy.state_dir = dir_.path() + "/" + name;
    fs::create_directories(copy.state_dir + "/tmp");
    EXPECT_TRUE(CopyCatalogFile(lake_.CatalogPath(), copy.CatalogPath()).ok());
    return copy;
  };
  const LakeLocation stale = copy_state("stale-copy");
  ASSERT_TRUE(Append(*catalog_, 2).ok());  // the original goes on
  ASSERT_TRUE(Append(*catalog_, 3).ok());
  {
    LakeJournal journal(stale, *store_);
    auto catalog = std::move(OpenSqliteCatalog(stale.CatalogPath(), &journal)).value();
    absl::Status refused = Append(*catalog, 9);
    EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
    EXPECT_THAT(refused.message(), HasSubstr("stale copy"));
  }
  ASSERT_TRUE(Append(*catalog_, 4).ok());  // untouched

  // A recovery elsewhere (a catalog without a position) takes the lake over.
  const LakeLocation recovered = copy_state("recovered");
  ASSERT_TRUE(ResetJournalPosition(recovered.CatalogPath()).ok());
  {
    LakeJournal journal(recovered, *store_);
    auto catalog = std::move(OpenSqliteCatalog(recovered.CatalogPath(), &journal)).value();
    ASSERT_TRUE(journal.Prepare().ok());
    ASSERT_TRUE(Append(*catalog, 5).ok());
  }
  absl::Status fenced = Append(*catalog_, 6);
  EXPECT_TRUE(absl::IsFailedPrecondition(fenced)) << fenced;
  EXPECT_THAT(fenced.message(), HasSubstr("taken over by another state folder"));
  fenced = Append(*catalog_, 6);  // and it stays out: the lake names another timeline
  EXPECT_THAT(fenced.message(), HasSubstr("took the lake over"));
  fs::remove(Recovered());
  ASSERT_TRUE(RecoverCatalogFromLake(lake_, *store_, Recovered()).ok());
  auto lake_catalog = std::move(OpenSqliteCatalog(Recovered())).value();
  EXPECT_EQ(lake_catalog->ReadTable(admin_, {"shop", "t"}, std::nullopt)->files.size(), 5u);
}

TEST_F(LakeJournalTest, AnotherCatalogWritingTheSameTimelineIsRefused) {
  const JournalPosition position = *ReadJournalPosition(lake_.CatalogPath());
  CatalogChange foreign;
  foreign.timeline = position.timeline;
  foreign.sequence = position.sequence + 1;
  foreign.previous_hash = "another catalog's";
  foreign.schema = position.schema;
  foreign.changeset = "theirs";
  ASSERT_TRUE(journal_->Append(foreign).ok());
  absl::Status refused = Append(*catalog_, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("another state folder"));
  EXPECT_TRUE(catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->files.empty());
}

TEST_F(LakeJournalTest, RecoveryRefusesAJournalWithAChangeMissingOrDamaged) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Append(*catalog_, i).ok());
  const std::string timeline = ReadJournalPosition(lake_.CatalogPath())->timeline;
  const std::string key = JournalRecordKey(timeline, 3);
  const std::string record = *store_->Get(key);

  std::string damaged = record;
  damaged[damaged.size() - 3] ^= 0x40;
  ASSERT_TRUE(store_->Put(key, damaged).ok());
  absl::StatusOr<RecoveryReport> report = RecoverCatalogFromLake(lake_, *store_, Recovered());
  EXPECT_TRUE(absl::IsDataLoss(report.status())) << report.status();

  ASSERT_TRUE(store_->Delete(key).ok());
  fs::remove(Recovered());
  report = RecoverCatalogFromLake(lake_, *store_, Recovered());
  EXPECT_TRUE(absl::IsDataLoss(report.status())) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("missing"));

  ASSERT_TRUE(store_->Put(key, record).ok());
  ExpectRecoveryMatchesTheCatalog();

  ASSERT_TRUE(store_->Delete(std::string(kCatalogJournalPrefix) + "HEAD").ok());
  fs::remove(Recovered());
  report = RecoverCatalogFromLake(lake_, *store_, Recovered());
  EXPECT_TRUE(absl::IsNotFound(report.status())) << report.status();
}

TEST_F(LakeJournalTest, ARestoredCatalogStartsATimelineOfItsOwnAndTheLakeNamesIt) {
  ASSERT_TRUE(Append(*catalog_, 1).ok());
  const std::string before = ReadJournalPosition(lake_.CatalogPath())->timeline;
  ASSERT_TRUE(ResetJournalPosition(lake_.CatalogPath()).ok());  // as a restore does
  Open(1000);
  const std::string after = ReadJournalPosition(lake_.CatalogPath())->timeline;
  EXPECT_NE(after, before);
  EXPECT_THAT(*store_->Get(std::string(kCatalogJournalPrefix) + "HEAD"), HasSubstr(after));
  ASSERT_TRUE(Append(*catalog_, 2).ok());
  ExpectRecoveryMatchesTheCatalog();
}

TEST(JournalRecordTest, RoundTripsAndRefusesHostileBytes) {
  CatalogChange change;
  change.timeline = "20261202T000000Z-abc";
  change.sequence = 7;
  change.previous_hash = "prev";
  change.schema = "schema";
  change.changeset = std::string(100000, 'x') + "tail";
  change.id_counters = {{"snapshots", 12}};
  const std::string record = EncodeJournalRecord(change).value();
  absl::StatusOr<CatalogChange> parsed = ParseJournalRecord(record);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->changeset, change.changeset);
  EXPECT_EQ(parsed->id_counters, change.id_counters);
  EXPECT_EQ(parsed->sequence, 7);
  EXPECT_LT(record.size(), 2000u);  // compressed

  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, record.size() / 2, record.size() - 1}) {
    EXPECT_TRUE(absl::IsDataLoss(ParseJournalRecord(record.substr(0, cut)).status())) << cut;
  }
  std::string tampered = record;
  tampered.replace(tampered.find("\"sequence\":7"), 12, "\"sequence\":8");
  absl::StatusOr<CatalogChange> renumbered = ParseJournalRecord(tampered);
  ASSERT_TRUE(renumbered.ok());  // the header is not signed: the hash chain catches this
  std::string huge = record;
  huge.replace(huge.find("\"changeset_bytes\":100004"), 24, "\"changeset_bytes\":9999999999999");
  EXPECT_TRUE(absl::IsDataLoss(ParseJournalRecord(huge).status()));
}

}  // namespace
}  // namespace loch
