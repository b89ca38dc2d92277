#include "storage/file_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "storage/memory_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

// Counts downloads; otherwise a memory store.
class CountingStore : public MemoryObjectStore {
 public:
  absl::StatusOr<std::string> Get(std::string_view key) override {
    ++gets;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // make overlapping fetches likely
    return MemoryObjectStore::Get(key);
  }
  std::atomic<int> gets{0};
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class FileCacheTest : public testing::Test {
 protected:
  void SetUp() override {
  }
  TestDir scratch_{"loch-cache"};
  std::string dir_ = scratch_ / "cache";
  CountingStore store_;
};

TEST_F(FileCacheTest, SecondFetchDownloadsNothingAndKeepsTheExtension) {
  ASSERT_TRUE(store_.Put("raw/a/events.json.zst", "payload").ok());
  auto cache = std::move(FileCache::Open(store_, dir_, 1 << 20)).value();
  auto etag = store_.Head("raw/a/events.json.zst")->etag;
  auto first = cache->Fetch("raw/a/events.json.zst", etag);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Slurp((*first)->path()), "payload");
  EXPECT_TRUE((*first)->path().ends_with("events.json.zst"));
  auto second = cache->Fetch("raw/a/events.json.zst", etag);
  EXPECT_EQ((*second)->path(), (*first)->path());
  EXPECT_EQ(store_.gets.load(), 1);
  EXPECT_EQ(cache->stats().hits, 1);
}

TEST_F(FileCacheTest, NewEtagMeansNewEntry) {
  ASSERT_TRUE(store_.Put("k.json", "v1").ok());
  auto cache = std::move(FileCache::Open(store_, dir_, 1 << 20)).value();
  auto v1 = cache->Fetch("k.json", store_.Head("k.json")->etag);
  ASSERT_TRUE(store_.Put("k.json", "v2").ok());
  auto v2 = cache->Fetch("k.json", store_.Head("k.json")->etag);
  EXPECT_EQ(Slurp((*v1)->path()), "v1");
  EXPECT_EQ(Slurp((*v2)->path()), "v2");
}

TEST_F(FileCacheTest, ConcurrentFetchesOfOneObjectDownloadOnce) {
  ASSERT_TRUE(store_.Put("shared.parquet", std::string(100000, 'x')).ok());
  auto cache = std::move(FileCache::Open(store_, dir_, 1 << 20)).value();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto lease = cache->Fetch("shared.parquet", "e1");
      if (lease.ok() && fs::file_size((*lease)->path()) == 100000) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(store_.gets.load(), 1);
}

TEST_F(FileCacheTest, EvictsLeastRecentlyUsedButNeverHeldFiles) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_.Put("f" + std::to_string(i), std::string(400, 'a' + i)).ok());
  auto cache = std::move(FileCache::Open(store_, dir_, 1000)).value();  // room for two files
  auto held = std::move(cache->Fetch("f0", "e")).value();
  for (int i = 1; i < 5; ++i) ASSERT_TRUE(cache->Fetch("f" + std::to_string(i), "e").ok());
  EXPECT_LE(cache->stats().cached_bytes, 1000);
  EXPECT_TRUE(fs::exists(held->path()));  // held: never evicted
  EXPECT_GE(cache->stats().evictions, 2);
  const int gets = store_.gets.load();
  ASSERT_TRUE(cache->Fetch("f4", "e").ok());  // most recent: still cached
  EXPECT_EQ(store_.gets.load(), gets);
  ASSERT_TRUE(cache->Fetch("f1", "e").ok());  // evicted: fetched again
  EXPECT_EQ(store_.gets.load(), gets + 1);
}

TEST_F(FileCacheTest, SurvivesRestartAndReportsMissingObjects) {
  ASSERT_TRUE(store_.Put("p.json", "persisted").ok());
  {
    auto cache = std::move(FileCache::Open(store_, dir_, 1 << 20)).value();
    ASSERT_TRUE(cache->Fetch("p.json", "e").ok());
  }
  auto reopened = std::move(FileCache::Open(store_, dir_, 1 << 20)).value();
  auto lease = reopened->Fetch("p.json", "e");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(Slurp((*lease)->path()), "persisted");
  EXPECT_EQ(store_.gets.load(), 1);
  auto missing = reopened->Fetch("nope.json", "e");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  auto all = reopened->FetchAll({{"p.json", "e"}, {"nope.json", "e"}});
  EXPECT_FALSE(all.ok());
}

}  // namespace
}  // namespace loch
