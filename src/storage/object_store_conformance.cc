#include "storage/object_store_conformance.h"

#include <atomic>
#include <fstream>
#include <thread>

#include "fmt/format.h"

namespace loch {
namespace {

TEST_P(ObjectStoreConformance, PutThenGetRoundTrips) {
  std::string binary("a\0b\xff", 4);
  ASSERT_TRUE(store_->Put("raw/x/1.bin", binary).ok());
  auto got = store_->Get("raw/x/1.bin");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, binary);
}

TEST_P(ObjectStoreConformance, EmptyObjectsAreObjects) {
  ASSERT_TRUE(store_->Put("empty", "").ok());
  EXPECT_EQ(*store_->Get("empty"), "");
  EXPECT_EQ(store_->Head("empty")->size, 0u);
  EXPECT_EQ(*store_->GetRange("empty", 0, 10), "");
}

TEST_P(ObjectStoreConformance, PutReplacesAndChangesEtag) {
  ASSERT_TRUE(store_->Put("k", "one").ok());
  auto before = store_->Head("k");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(store_->Put("k", "three").ok());
  auto after = store_->Head("k");
  EXPECT_EQ(*store_->Get("k"), "three");
  EXPECT_EQ(after->size, 5u);
  EXPECT_NE(before->etag, after->etag);
}

TEST_P(ObjectStoreConformance, MissingObjectsAreNotFound) {
  EXPECT_TRUE(absl::IsNotFound(store_->Get("nope").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Head("a/b/nope").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->GetRange("nope", 0, 1).status()));
}

TEST_P(ObjectStoreConformance, PutIfAbsentCreatesOnceAndKeepsTheFirst) {
  ASSERT_TRUE(store_->PutIfAbsent("once", "first").ok());
  absl::Status second = store_->PutIfAbsent("once", "second");
  EXPECT_TRUE(absl::IsAlreadyExists(second)) << second;
  EXPECT_EQ(*store_->Get("once"), "first");
}

TEST_P(ObjectStoreConformance, PutIfAbsentHasExactlyOneWinnerUnderRace) {
  if (!GetParam().atomic_put_if_absent) {
    GTEST_SKIP() << GetParam().name
                 << ": this server ignores If-None-Match, so concurrent creates race";
  }
  constexpr int kThreads = 8;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      if (store_->PutIfAbsent("race/key", fmt::format("writer-{}", i)).ok()) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_TRUE(store_->Get("race/key")->starts_with("writer-"));
}

TEST_P(ObjectStoreConformance, GetRangeReturnsTheSlice) {
  ASSERT_TRUE(store_->Put("r", "0123456789").ok());
  EXPECT_EQ(*store_->GetRange("r", 2, 3), "234");
  EXPECT_EQ(*store_->GetRange("r", 8, 100), "89");
  EXPECT_TRUE(absl::IsOutOfRange(store_->GetRange("r", 10, 1).status()));
}

TEST_P(ObjectStoreConformance, HeadReportsSize) {
  ASSERT_TRUE(store_->Put("h/obj", std::string(1000, 'x')).ok());
  auto info = store_->Head("h/obj");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->key, "h/obj");
  EXPECT_EQ(info->size, 1000u);
  EXPECT_FALSE(info->etag.empty());
  EXPECT_GT(info->modified_micros, 0);
}

TEST_P(ObjectStoreConformance, ListIsSortedPrefixedAndPaginated) {
  std::vector<std::string> keys;
  for (int i = 0; i < 25; ++i) keys.push_back(fmt::format("tables/db/t/part={}/f{}", i % 3, i));
  for (const auto& key : keys) ASSERT_TRUE(store_->Put(key, "x").ok());
  ASSERT_TRUE(store_->Put("tables/db/t2/other", "x").ok());
  ASSERT_TRUE(store_->Put("raw/elsewhere", "x").ok());
  std::sort(keys.begin(), keys.end());

  std::vector<std::string> listed;
  ListOptions options;
  options.prefix = "tables/db/t/";
  options.max_keys = 7;
  int pages = 0;
  while (true) {
    auto page = store_->List(options);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->objects.size(), 7u);
    for (const auto& object : page->objects) listed.push_back(object.key);
    ++pages;
    if (page->next_token.empty()) break;
    options.continuation = page->next_token;
  }
  EXPECT_EQ(listed, keys);
  EXPECT_EQ(pages, 4);
}

TEST_P(ObjectStoreConformance, ListPrefixMayEndMidSegment) {
  ASSERT_TRUE(store_->Put("logs/app-1/a", "x").ok());
  ASSERT_TRUE(store_->Put("logs/app-2/b", "x").ok());
  ASSERT_TRUE(store_->Put("logs/web/c", "x").ok());
  auto all = ListAll(*store_, "logs/app");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "logs/app-1/a");
  EXPECT_EQ((*all)[1].key, "logs/app-2/b");
  EXPECT_TRUE(ListAll(*store_, "nothing/here")->empty());
}

TEST_P(ObjectStoreConformance, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put("d/k", "x").ok());
  EXPECT_TRUE(store_->Delete("d/k").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Get("d/k").status()));
  EXPECT_TRUE(store_->Delete("d/k").ok());
  EXPECT_TRUE(store_->Delete("never/existed").ok());
  EXPECT_TRUE(ListAll(*store_, "d/")->empty());
}

TEST_P(ObjectStoreConformance, InvalidKeysAreRefusedAndChangeNothing) {
  for (const std::string& key :
       std::vector<std::string>{"", "/abs", "a/../b", "..", "a//b", "a/./b", "trailing/", "a\\b",
                                std::string("nul\0x", 5), std::string(1025, 'k')}) {
    absl::Status put = store_->Put(key, "x");
    EXPECT_TRUE(absl::IsInvalidArgument(put)) << "key [" << key << "]: " << put;
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Get(key).status())) << key;
    EXPECT_TRUE(absl::IsInvalidArgument(store_->Delete(key))) << key;
  }
  EXPECT_TRUE(ListAll(*store_, "")->empty());
}

TEST_P(ObjectStoreConformance, PutFileCopiesALocalFile) {
  std::string path = testing::TempDir() + "/loch-putfile-" + GetParam().name;
  {
    FILE* f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string content(3 << 20, 'z');
    fwrite(content.data(), 1, content.size(), f);
    fclose(f);
  }
  ASSERT_TRUE(store_->PutFile("files/big", path).ok());
  EXPECT_EQ(store_->Head("files/big")->size, 3u << 20);
  EXPECT_TRUE(absl::IsNotFound(store_->PutFile("files/missing", path + ".missing")));
  EXPECT_TRUE(absl::IsNotFound(store_->Head("files/missing").status()));
  std::remove(path.c_str());
}

TEST_P(ObjectStoreConformance, GetToFileWritesTheWholeObject) {
  const std::string data(3 << 20, 'g');
  ASSERT_TRUE(store_->Put("files/download", data).ok());
  const std::string path = testing::TempDir() + "/loch-gettofile-" + GetParam().name;
  auto size = store_->GetToFile("files/download", path);
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, data.size());
  std::ifstream in(path, std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), data);
  EXPECT_TRUE(absl::IsNotFound(store_->GetToFile("files/missing", path).status()));
  std::remove(path.c_str());
}

TEST_P(ObjectStoreConformance, CopyMakesAnIndependentCopy) {
  const std::string data(2 << 20, 'c');
  ASSERT_TRUE(store_->Put("raw/day/one.json", data).ok());
  ASSERT_TRUE(store_->Copy("raw/day/one.json", "archive/raw/day/one.json").ok());
  EXPECT_EQ(*store_->Get("archive/raw/day/one.json"), data);
  ASSERT_TRUE(store_->Delete("raw/day/one.json").ok());
  EXPECT_EQ(*store_->Get("archive/raw/day/one.json"), data);  // the copy outlives the original
  EXPECT_TRUE(absl::IsNotFound(store_->Copy("raw/day/missing", "archive/missing")));
  EXPECT_TRUE(absl::IsNotFound(store_->Head("archive/missing").status()));
}

TEST_P(ObjectStoreConformance, ConcurrentReadersSeeWholeObjects) {
  if (!GetParam().atomic_replace) {
    GTEST_SKIP()
        << GetParam().name
        << ": this server rewrites objects in place, so racing readers see partial objects";
  }
  const std::string a(1 << 16, 'a'), b(1 << 16, 'b');
  ASSERT_TRUE(store_->Put("swap", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      auto got = store_->Get("swap");
      if (got.ok() && *got != a && *got != b) ++torn;
    }
  });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->Put("swap", i % 2 ? a : b).ok());
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

}  // namespace
}  // namespace loch
