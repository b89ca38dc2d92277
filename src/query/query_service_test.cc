#include "query/query_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class QueryServiceTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::path(testing::TempDir()) / ("loch-query-" + NewRandomId())).string();
    lake_ = OpenTestLake(root_);
    QueryServiceOptions options;
    options.temp_dir = root_ + "/.loch";
    options.on_failed = [this](const QueryInfo& info, const WorkgroupConfig& workgroup) {
      std::lock_guard lock(failures_mu_);
      failures_.push_back(info.id + " in " + workgroup.name);
    };
    service_ =
        std::make_unique<QueryService>(*lake_.engine, *lake_.catalog, lake_.store.get(), options);
  }
  void TearDown() override {
    service_.reset();
    lake_ = TestLake{};
    fs::remove_all(root_);
  }

  QueryInfo Info(const std::string& id) { return service_->Describe(id).value(); }

  // A long query and a short one, streamed in a workgroup that runs one query at a time.
  std::pair<absl::StatusOr<QueryService::Streamed>, absl::StatusOr<QueryService::Streamed>>
  TwoQueriesInAOneSlotWorkgroup() {
    WorkgroupConfig single = WorkgroupConfig::Named("single");
    single.max_concurrent = 1;
    EXPECT_TRUE(lake_.catalog->PutWorkgroup(Principal::LocalAdmin(), single).ok());
    return {service_->Stream(Principal::LocalAdmin(), "SELECT range FROM range(100000)", "single",
                             {}, "postgresql"),
            service_->Stream(Principal::LocalAdmin(), "SELECT 2", "single", {}, "postgresql")};
  }

  std::string root_;
  TestLake lake_;
  std::unique_ptr<QueryService> service_;
  std::mutex failures_mu_;
  std::vector<std::string> failures_;
};

TEST_F(QueryServiceTest, StreamedQueryIsInTheHistoryWithItsRowsAndResult) {
  auto streamed = service_->Stream(Principal::LocalAdmin(), "SELECT range AS n FROM range(5000)",
                                   WorkgroupConfig::kPrimary, {}, "postgresql");
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(Info(streamed->id).state, QueryState::kQueued);  // nothing runs before Next()
  auto rows = AllRows(*streamed->cursor);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->size(), 5000u);
  const QueryInfo info = Info(streamed->id);
  EXPECT_EQ(info.state, QueryState::kSucceeded);
  EXPECT_EQ(info.row_count, 5000);
  EXPECT_EQ(info.front_end, "postgresql");
  EXPECT_EQ(info.result_key, ResultKey("primary", streamed->id));
  auto csv = lake_.store->Get(info.result_key);
  ASSERT_TRUE(csv.ok()) << csv.status();
  EXPECT_TRUE(csv->starts_with("n\n0\n1\n"));
  ASSERT_FALSE(service_->List(10).empty());
  EXPECT_EQ(service_->List(10).front().id, streamed->id);
  // Its rows went to its client: paging them is an error naming the CSV, not an empty page.
  auto page = service_->Results(streamed->id, 0, 10);
  EXPECT_TRUE(absl::IsFailedPrecondition(page.status())) << page.status();
  EXPECT_THAT(std::string(page.status().message()), testing::HasSubstr(info.result_key));
}

TEST_F(QueryServiceTest, TheHistoryOutlivesTheServiceAndIsASystemTable) {
  auto ok = service_->Submit(Principal::LocalAdmin(), "SELECT 42 AS answer");
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto bad = service_->Submit(Principal::LocalAdmin(), "SELECT nope", "primary", "athena");
  ASSERT_TRUE(bad.ok()) << bad.status();
  ASSERT_EQ(service_->Wait(*ok, std::chrono::steady_clock::now() + std::chrono::seconds(30))->state,
            QueryState::kSucceeded);
  // A query run elsewhere (the CLI records its own).
  QueryRecord cli;
  cli.id = NewTimeOrderedId();
  cli.sql = "SELECT 'from the cli'";
  cli.principal = "admin";
  cli.workgroup = "primary";
  cli.front_end = "cli";
  cli.state = "SUCCEEDED";
  cli.submitted_micros = cli.finished_micros = NowMicros();
  ASSERT_TRUE(lake_.catalog->RecordQuery(Principal::LocalAdmin(), cli).ok());

  // A new service (a restarted server) over the same catalog still knows them all.
  service_ = std::make_unique<QueryService>(*lake_.engine, *lake_.catalog, lake_.store.get(),
                                            QueryServiceOptions{});
  const QueryInfo answered = Info(*ok);
  EXPECT_EQ(answered.state, QueryState::kSucceeded);
  EXPECT_EQ(answered.row_count, 1);
  EXPECT_EQ(answered.result_key, ResultKey("primary", *ok));
  const QueryInfo failed = Info(*bad);
  EXPECT_EQ(failed.state, QueryState::kFailed);
  EXPECT_EQ(failed.front_end, "athena");
  EXPECT_TRUE(absl::IsInvalidArgument(failed.error)) << failed.error;
  EXPECT_THAT(std::string(ToStd(failed.error.message())), testing::HasSubstr("nope"));
  std::vector<std::string> listed;
  for (const QueryInfo& info : service_->List(10)) listed.push_back(info.id);
  EXPECT_EQ(listed, (std::vector<std::string>{cli.id, *bad, *ok}));
  EXPECT_TRUE(absl::IsNotFound(service_->Describe("no-such-id").status()));

  // Every front end's queries are one table to SQL.
  auto counted =
      service_->Submit(Principal::LocalAdmin(),
                       "SELECT string_agg(front_end || ':' || state, ',' ORDER BY submitted) FROM "
                       "loch.query_history");
  ASSERT_TRUE(counted.ok());
  ASSERT_EQ(
      service_->Wait(*counted, std::chrono::steady_clock::now() + std::chrono::seconds(30))->state,
      QueryState::kSucceeded);
  auto page = service_->Results(*counted, 0, 1);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->rows[0][0].value_or(""), "http:SUCCEEDED,athena:FAILED,cli:SUCCEEDED");
}

TEST_F(QueryServiceTest, AStatementOnlyDescribedIsNotInTheHistory) {
  auto described = service_->Stream(Principal::LocalAdmin(), "SELECT 1 AS one",
                                    WorkgroupConfig::kPrimary, {}, "postgresql");
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->cursor->columns().front().name, "one");
  described->cursor.reset();  // never executed
  EXPECT_TRUE(absl::IsNotFound(service_->Describe(described->id).status()));
  EXPECT_TRUE(service_->List(10).empty());
}

TEST_F(QueryServiceTest, StreamedFailuresAreReportedLikeSubmittedOnes) {
  auto bad = service_->Stream(Principal::LocalAdmin(), "SELECT nope FROM range(3)",
                              WorkgroupConfig::kPrimary, {}, "postgresql");
  ASSERT_FALSE(bad.ok());
  auto failing =
      service_->Stream(Principal::LocalAdmin(),
                       "SELECT CAST(CAST(range AS VARCHAR) || 'x' AS INTEGER) FROM range(3)",
                       WorkgroupConfig::kPrimary, {}, "postgresql");
  ASSERT_TRUE(failing.ok()) << failing.status();
  EXPECT_FALSE(AllRows(*failing->cursor).ok());
  EXPECT_EQ(Info(failing->id).state, QueryState::kFailed);
  std::lock_guard lock(failures_mu_);
  ASSERT_EQ(failures_.size(), 2u);
  EXPECT_EQ(failures_[1], failing->id + " in primary");
  const std::vector<QueryInfo> history = service_->List(10);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].state, QueryState::kFailed);  // the one that did not bind
}

TEST_F(QueryServiceTest, StreamedQueriesWaitForTheirWorkgroupsSlot) {
  auto queries = TwoQueriesInAOneSlotWorkgroup();  // no structured binding: lambdas capture these
  auto& first = queries.first;
  auto& second = queries.second;
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(first->cursor->Next().ok());  // holds the slot while its result is read
  std::atomic<bool> second_done{false};
  std::thread reader([&] {
    EXPECT_TRUE(AllRows(*second->cursor).ok());
    second_done = true;
  });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(second_done);
  EXPECT_EQ(Info(second->id).state, QueryState::kQueued);
  first->cursor.reset();  // the client closed the first result halfway
  reader.join();
  EXPECT_TRUE(second_done);
  EXPECT_EQ(Info(first->id).state, QueryState::kCancelled);
  EXPECT_EQ(Info(second->id).state, QueryState::kSucceeded);
}

TEST_F(QueryServiceTest, CancelEndsTheWaitForASlot) {
  auto queries = TwoQueriesInAOneSlotWorkgroup();  // no structured binding: lambdas capture these
  auto& first = queries.first;
  auto& second = queries.second;
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(first->cursor->Next().ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(100));
    second->cursor->Cancel();
  });
  auto next = second->cursor->Next();
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(next.status())) << next.status();
  EXPECT_EQ(Info(second->id).state, QueryState::kCancelled);
  EXPECT_TRUE(AllRows(*first->cursor).ok());
  EXPECT_EQ(Info(first->id).state, QueryState::kSucceeded);
}

}  // namespace
}  // namespace loch
