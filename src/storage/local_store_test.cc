#include "storage/local_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "common/test_dir.h"
#include "storage/memory_store.h"
#include "storage/object_store_conformance.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

std::string FreshDir() {
  static TestDir scratch("loch-store");  // removed when the test program exits
  fs::path dir = fs::path(scratch.path()) / NewRandomId();
  fs::create_directories(dir);
  return dir.string();
}

std::unique_ptr<ObjectStore> MakeLocal() {
  return std::move(LocalObjectStore::Open(FreshDir())).value();
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectStoreConformance,
                         testing::Values(StoreFactory{"local", MakeLocal},
                                         StoreFactory{"memory",
                                                      [] {
                                                        return std::unique_ptr<ObjectStore>(
                                                            new MemoryObjectStore());
                                                      }}),
                         StoreFactoryName);

TEST(LocalObjectStore, FilesAreWhereTheKeysSay) {
  std::string root = FreshDir();
  auto store = std::move(LocalObjectStore::Open(root)).value();
  ASSERT_TRUE(store->Put("raw/a/b.json", "{}").ok());
  std::ifstream in(root + "/raw/a/b.json");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "{}");
  EXPECT_EQ(*store->LocalPath("raw/a/b.json"), root + "/raw/a/b.json");
  // No temporary files are left behind.
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    EXPECT_EQ(entry.path().filename().string().find(".loch-tmp-"), std::string::npos);
  }
}

TEST(LocalObjectStore, SymlinksAreNeverFollowed) {
  std::string root = FreshDir();
  std::string outside = FreshDir();
  { std::ofstream(outside + "/secret") << "top secret"; }
  auto store = std::move(LocalObjectStore::Open(root)).value();
  // A symlinked folder and a symlinked file inside the lake, both pointing outside.
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink((outside + "/secret").c_str(), (root + "/secret-link").c_str()), 0);

  EXPECT_FALSE(store->Get("escape/secret").ok());
  EXPECT_FALSE(store->Get("secret-link").ok());
  EXPECT_FALSE(store->Head("secret-link").ok());
  EXPECT_FALSE(store->Put("escape/planted", "x").ok());
  EXPECT_FALSE(fs::exists(outside + "/planted"));
  auto listed = ListAll(*store, "");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty()) << listed->front().key;
  (void)store->Delete("escape/secret");  // must not reach through the symlink
  EXPECT_TRUE(fs::exists(outside + "/secret"));
}

TEST(LocalObjectStore, StateFolderIsNotAnObject) {
  std::string root = FreshDir();
  fs::create_directories(root + "/.loch");
  { std::ofstream(root + "/.loch/catalog.sqlite") << "db"; }
  auto store = std::move(LocalObjectStore::Open(root)).value();
  EXPECT_TRUE(absl::IsInvalidArgument(store->Get(".loch/catalog.sqlite").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store->Put(".loch/x", "x")));
  EXPECT_TRUE(ListAll(*store, "")->empty());
}

TEST(LocalObjectStore, RootSymlinkIsRefused) {
  std::string real = FreshDir();
  std::string link = real + "-link";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  EXPECT_FALSE(LocalObjectStore::Open(link).ok());
}

}  // namespace
}  // namespace loch
