#include "query/query_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
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

// A PostgreSQL client that reads part of a result and goes idle (a suspended portal) held its
// workgroup's slot for as long as it liked: the others waited forever.
TEST_F(QueryServiceTest, AnIdleStreamGivesItsSlotBackWhenItsTimeoutPasses) {
  WorkgroupConfig single = WorkgroupConfig::Named("single");
  single.max_concurrent = 1;
  single.timeout_ms = 300;
  ASSERT_TRUE(lake_.catalog->PutWorkgroup(Principal::LocalAdmin(), single).ok());
  auto idle = service_->Stream(Principal::LocalAdmin(), "SELECT range FROM range(10000000)",
                               "single", {}, "postgresql");
  auto waiting = service_->Stream(Principal::LocalAdmin(), "SELECT 2", "single", {}, "postgresql");
  ASSERT_TRUE(idle.ok() && waiting.ok());
  ASSERT_TRUE(idle->cursor->Next().ok());  // one chunk read, then the client goes quiet
  // The waiting query gets the slot once the idle one's 300 ms are over (without the expiry it
  // would wait forever: the bound below only keeps a broken build from hanging).
  std::promise<absl::Status> rows;
  std::thread reader([&] { rows.set_value(AllRows(*waiting->cursor).status()); });
  auto answered = rows.get_future();
  const bool in_time = answered.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  if (!in_time) waiting->cursor->Cancel();
  reader.join();
  ASSERT_TRUE(in_time) << "the idle stream kept its slot";
  EXPECT_TRUE(answered.get().ok());
  // The engine stopped the idle query at its timeout: its client hears so when it comes back.
  auto late = idle->cursor->Next();
  EXPECT_TRUE(absl::IsDeadlineExceeded(late.status())) << late.status();
  const QueryInfo expired = Info(idle->id);
  EXPECT_EQ(expired.state, QueryState::kFailed);
  EXPECT_TRUE(absl::IsDeadlineExceeded(expired.error)) << expired.error;
  idle->cursor.reset();
  EXPECT_EQ(Info(idle->id).state, QueryState::kFailed);  // ended once, not again as CANCELLED
  std::lock_guard lock(failures_mu_);
  EXPECT_EQ(std::count(failures_.begin(), failures_.end(), idle->id + " in single"), 1);
}

// A statement that runs longer than the workgroup's timeout without a time limit of its own (a
// write: INSERT, CREATE TABLE AS) keeps its slot while it runs, and succeeds.
TEST_F(QueryServiceTest, AWriteLongerThanTheTimeoutKeepsItsSlotAndSucceeds) {
  WorkgroupConfig single = WorkgroupConfig::Named("single");
  single.max_concurrent = 1;
  single.timeout_ms = 1;
  ASSERT_TRUE(lake_.catalog->PutWorkgroup(Principal::LocalAdmin(), single).ok());
  auto write = service_->Stream(Principal::LocalAdmin(),
                                "CREATE TABLE shop.slow AS SELECT range AS n FROM range(300000)",
                                "single", {}, "postgresql");
  ASSERT_TRUE(write.ok()) << write.status();
  auto rows = AllRows(*write->cursor);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(Info(write->id).state, QueryState::kSucceeded);
}

// pgwire describes a prepared statement bound with NULLs before any Bind: a statement that fails
// that way was reported to the workgroup's failure webhook and kept in the history, though it
// never ran.
TEST_F(QueryServiceTest, AStatementThatFailsOnlyToDescribeIsNotAFailedQuery) {
  auto described = service_->Stream(Principal::LocalAdmin(), "SELECT nope", "primary", {},
                                    "postgresql", /*describe_only=*/true);
  ASSERT_FALSE(described.ok());
  EXPECT_THAT(std::string(described.status().message()), testing::HasSubstr("nope"));
  EXPECT_TRUE(service_->List(10).empty());
  std::lock_guard lock(failures_mu_);
  EXPECT_TRUE(failures_.empty());
}

TEST_F(QueryServiceTest, AResultOverTheSpoolLimitIsNotSavedButTheQuerySucceeds) {
  QueryServiceOptions options;
  options.temp_dir = root_ + "/.loch";
  options.max_saved_result_bytes = 1000;
  service_ =
      std::make_unique<QueryService>(*lake_.engine, *lake_.catalog, lake_.store.get(), options);
  auto small = service_->Submit(Principal::LocalAdmin(), "SELECT range FROM range(10)");
  auto large = service_->Submit(Principal::LocalAdmin(), "SELECT range FROM range(100000)");
  ASSERT_TRUE(small.ok() && large.ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  ASSERT_EQ(service_->Wait(*small, deadline)->state, QueryState::kSucceeded);
  ASSERT_EQ(service_->Wait(*large, deadline)->state, QueryState::kSucceeded);
  EXPECT_EQ(Info(*small).result_key, ResultKey("primary", *small));
  EXPECT_EQ(Info(*large).result_key, "");
  EXPECT_EQ(Info(*large).row_count, 100000);
  EXPECT_TRUE(absl::IsNotFound(lake_.store->Get(ResultKey("primary", *large)).status()));
  for (const auto& entry : fs::directory_iterator(options.temp_dir)) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("loch-result-")) << entry.path();
  }
}

}  // namespace
}  // namespace loch
