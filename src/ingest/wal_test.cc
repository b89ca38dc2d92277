#include "ingest/wal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "fmt/format.h"
#include "ingest/file_size_limit.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

class WalTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::path(testing::TempDir()) / ("loch-wal-" + NewRandomId())).string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<WriteAheadLog> Open(uint64_t segment_bytes = 64 << 20) {
    auto log = WriteAheadLog::Open(WalOptions{dir_, segment_bytes});
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  static std::vector<std::pair<uint64_t, std::string>> All(const WriteAheadLog& log,
                                                           uint64_t after = 0) {
    std::vector<std::pair<uint64_t, std::string>> records;
    EXPECT_TRUE(log.Replay(after,
                           [&](uint64_t sequence, std::string_view payload) {
                             records.emplace_back(sequence, std::string(payload));
                             return absl::OkStatus();
                           })
                    .ok());
    return records;
  }

  std::vector<fs::path> Segments(std::string_view prefix = "wal-") const {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().filename().string().starts_with(prefix)) paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  std::string dir_;
};

TEST_F(WalTest, AppendsAreReplayedInOrderAfterReopening) {
  {
    auto log = Open();
    EXPECT_EQ(*log->Append({"a", "bb"}), 1u);
    EXPECT_EQ(*log->Append({"ccc"}), 3u);
    EXPECT_EQ(log->last_sequence(), 3u);
  }
  auto log = Open();
  EXPECT_EQ(log->last_sequence(), 3u);
  EXPECT_THAT(All(*log), testing::ElementsAre(testing::Pair(1, "a"), testing::Pair(2, "bb"),
                                              testing::Pair(3, "ccc")));
  EXPECT_THAT(All(*log, 2), testing::ElementsAre(testing::Pair(3, "ccc")));
  EXPECT_EQ(*log->Append({"d"}), 4u);
}

TEST_F(WalTest, ConcurrentAppendersShareFsyncs) {
  auto log = Open();
  constexpr int kThreads = 8, kAppends = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        ASSERT_TRUE(log->Append({std::to_string(t) + ":" + std::to_string(i)}).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const WalStats stats = log->stats();
  EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kAppends));
  EXPECT_LT(stats.fsyncs, stats.records);  // group commit: waiting appenders ride along
  // Every record exactly once, each producer's in its own order.
  std::map<int, int> next;
  const auto records = All(*log);
  ASSERT_EQ(records.size(), static_cast<size_t>(kThreads * kAppends));
  for (const auto& [sequence, payload] : records) {
    const int thread = std::stoi(payload.substr(0, payload.find(':')));
    EXPECT_EQ(std::stoi(payload.substr(payload.find(':') + 1)), next[thread]++);
  }
}

TEST_F(WalTest, AsyncAppendsAreCalledBackInOrderOnceDurable) {
  auto log = Open(/*segment_bytes=*/4096);  // some appends also start a segment
  constexpr int kAppends = 2000;
  std::mutex mu;
  std::vector<uint64_t> called_back;  // first sequences, in callback order
  std::vector<int> called_back_appends;
  std::thread sync_appender([&] {  // blocking appends share the fsyncs
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(log->Append({"sync"}).ok());
  });
  for (int i = 0; i < kAppends; ++i) {
    log->AppendAsync({"async-" + std::to_string(i), "second"}, {},
                     [&, i](const absl::StatusOr<uint64_t>& first) {
                       ASSERT_TRUE(first.ok()) << first.status();
                       // Durable means replayable, and nothing is called back before it is.
                       EXPECT_GE(log->last_sequence(), *first + 1);
                       std::lock_guard lock(mu);
                       called_back.push_back(*first);
                       called_back_appends.push_back(i);
                     });
  }
  sync_appender.join();
  log->AwaitCallbacks();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(called_back.size(), static_cast<size_t>(kAppends));
  }
  EXPECT_TRUE(std::is_sorted(called_back.begin(), called_back.end()));
  EXPECT_TRUE(std::is_sorted(called_back_appends.begin(), called_back_appends.end()));
  EXPECT_EQ(All(*log).size(), static_cast<size_t>(2 * kAppends + 200));
  // Destroying the log calls back what is still waiting.
  bool last_called_back = false;
  log->AppendAsync({"last"}, {},
                   [&](const absl::StatusOr<uint64_t>& first) { last_called_back = first.ok(); });
  log.reset();
  EXPECT_TRUE(last_called_back);
  auto reopened = Open(4096);
  EXPECT_EQ(reopened->last_sequence(), static_cast<uint64_t>(2 * kAppends + 201));
}

TEST_F(WalTest, AsyncAppendsShareFsyncs) {
  std::atomic<int> durable{0}, failed{0};  // outlive the log, which may still call back
  auto log = Open();
  constexpr int kAppends = 500;
  for (int i = 0; i < kAppends; ++i) {
    log->AppendAsync({"x"}, {}, [&](const absl::StatusOr<uint64_t>& first) {
      ++(first.ok() ? durable : failed);
    });
  }
  // A lost callback fails here, within a minute, instead of hanging the suite.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (durable.load() + failed.load() < kAppends && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(durable.load(), kAppends) << failed.load() << " failed";
  EXPECT_LT(log->stats().fsyncs, static_cast<uint64_t>(kAppends));
}

TEST_F(WalTest, ATornTailIsCutOnRecovery) {
  {
    auto log = Open();
    ASSERT_TRUE(log->Append({"one", "two", "three"}).ok());
  }
  // A crash in the middle of the next write: half a header and some payload bytes.
  std::ofstream(Segments().back(), std::ios::app | std::ios::binary)
      << std::string("\x05\x00\x00\x00\x12\x34", 6);
  auto log = Open();
  EXPECT_EQ(log->last_sequence(), 3u);
  EXPECT_EQ(*log->Append({"four"}), 4u);
  EXPECT_EQ(All(*log).size(), 4u);
  EXPECT_EQ(All(*log).back().second, "four");
}

TEST_F(WalTest, DamageInAnOlderSegmentIsDataLoss) {
  {
    auto log = Open(/*segment_bytes=*/64);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append({"record-" + std::to_string(i)}).ok());
  }
  const auto segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  {
    std::fstream file(segments.front(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20);
    file.put('X');  // inside the first record's payload
  }
  auto reopened = WriteAheadLog::Open(WalOptions{dir_, 64});
  EXPECT_TRUE(absl::IsDataLoss(reopened.status())) << reopened.status();
  EXPECT_THAT(std::string(reopened.status().message()), testing::HasSubstr("checksum"));
}

TEST_F(WalTest, SegmentsRotateAndTruncateDeletesOnlyWhatIsDone) {
  auto log = Open(/*segment_bytes=*/100);
  for (int i = 1; i <= 30; ++i) ASSERT_TRUE(log->Append({std::string(20, 'a' + i % 26)}).ok());
  const size_t before = Segments().size();
  ASSERT_GT(before, 3u);
  ASSERT_TRUE(log->Truncate(15).ok());
  EXPECT_LT(Segments().size(), before);
  const auto rest = All(*log, 15);
  ASSERT_EQ(rest.size(), 15u);
  EXPECT_EQ(rest.front().first, 16u);
  EXPECT_LE(All(*log).front().first, 16u);  // nothing after 15 was deleted
  ASSERT_TRUE(log->Truncate(30).ok());
  EXPECT_GE(Segments().size(), 1u);  // the segment being written stays
  auto reopened = Open(100);
  EXPECT_EQ(reopened->last_sequence(), 30u);
}

TEST_F(WalTest, DeliveredSegmentsAreRecycledAndTheirStaleBytesAreNeverRecords) {
  auto record = [](int i) { return fmt::format("record-{:04}-{}", i, std::string(20, 'x')); };
  int appended = 0;
  {
    auto log = Open(/*segment_bytes=*/200);
    while (appended < 40) ASSERT_TRUE(log->Append({record(++appended)}).ok());
    ASSERT_TRUE(log->Truncate(30).ok());
    ASSERT_EQ(Segments("recycled-").size(), 2u);  // the rest were deleted
    // Written until a recycled file is the segment being written, its old records after ours.
    while (!Segments("recycled-").empty()) ASSERT_TRUE(log->Append({record(++appended)}).ok());
    ASSERT_TRUE(log->Append({record(++appended)}).ok());
    EXPECT_EQ(All(*log, 30).size(), static_cast<size_t>(appended - 30));
  }
  auto log = Open(200);  // recovery: stale bytes in every reused file, the newest one included
  EXPECT_EQ(log->last_sequence(), static_cast<uint64_t>(appended));
  const auto records = All(*log, 30);
  ASSERT_EQ(records.size(), static_cast<size_t>(appended - 30));
  for (const auto& [sequence, payload] : records)
    EXPECT_EQ(payload, record(static_cast<int>(sequence)));
  EXPECT_EQ(*log->Append({record(appended + 1)}), static_cast<uint64_t>(appended + 1));
  log.reset();
  EXPECT_EQ(Open(200)->last_sequence(), static_cast<uint64_t>(appended + 1));
}

TEST_F(WalTest, OversizedRecordsAreRefusedWithoutWritingAnything) {
  auto log = WriteAheadLog::Open(WalOptions{dir_, 64 << 20, 1024});
  ASSERT_TRUE(log.ok());
  auto refused = (*log)->Append({"fine", std::string(2000, 'x')});
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  (*log)->AppendAsync({std::string(2000, 'x')}, {},
                      [&](const absl::StatusOr<uint64_t>& first) { refused = first; });
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));  // called back right away
  EXPECT_EQ((*log)->last_sequence(), 0u);
  EXPECT_EQ(*(*log)->Append({"next"}), 1u);
}

// A full disk in the middle of a record (see file_size_limit.h).
TEST_F(WalTest, AFullDiskFailsTheAppendAndKeepsWhatWasAcknowledged) {
  auto log = Open();
  ASSERT_TRUE(log->Append({"one", "two"}).ok());
  const uintmax_t used = fs::file_size(Segments().front());
  absl::StatusOr<uint64_t> failed, after;
  {
    FileSizeLimit disk_full(used + 40);  // room for part of the next record only
    ASSERT_TRUE(disk_full.applied());
    failed = log->Append({std::string(100, 'x')});
    after = log->Append({"small"});
  }

  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_TRUE(absl::IsUnavailable(after.status())) << "a failed log must refuse appends";
  EXPECT_EQ(log->last_sequence(), 2u);
  log.reset();
  auto reopened = Open();  // recovery cuts the partial record
  const auto records = All(*reopened);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].second, "two");
  EXPECT_EQ(*reopened->Append({"three"}), 3u);
}

}  // namespace
}  // namespace loch
