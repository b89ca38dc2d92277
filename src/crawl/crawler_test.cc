#include "crawl/crawler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>

#include "common/ids.h"
#include "common/strings.h"
#include "engine/query_test_support.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Gzip(const std::string& text) {
  std::string out(compressBound(text.size()) + 32, '\0');
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  stream.avail_in = static_cast<uInt>(text.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

class CrawlerTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::path(testing::TempDir()) / ("loch-crawl-" + NewRandomId())).string();
    fs::create_directories(root_ + "/.loch");
    store_ = std::move(LocalObjectStore::Open(root_)).value();
    catalog_ = std::move(OpenSqliteCatalog(root_ + "/.loch/catalog.sqlite")).value();
    EngineOptions options;
    options.readable_root = root_;
    engine_ = std::move(LakeEngine::Open(options, catalog_.get(), store_.get())).value();
    crawler_ = std::make_unique<Crawler>(*catalog_, *store_, *engine_);
  }

  void Put(const std::string& key, const std::string& data) {
    ASSERT_TRUE(store_->Put(key, data).ok());
  }

  CrawlReport Crawl() {
    auto report = crawler_->Crawl(admin_, CrawlRequest{{"raw/"}, "landing"});
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : CrawlReport{};
  }

  std::string Scalar(const std::string& sql) { return FirstCell(*engine_, sql); }

  std::string root_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
  std::unique_ptr<Crawler> crawler_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST(PartitionFolders, HiveAndDateShapes) {
  EXPECT_EQ(PartitionsFromFolders({"region=eu", "kind=a"}),
            (std::map<std::string, std::string>{{"region", "eu"}, {"kind", "a"}}));
  EXPECT_EQ(PartitionsFromFolders({"2026", "11", "26", "10"}),
            (std::map<std::string, std::string>{
                {"year", "2026"}, {"month", "11"}, {"day", "26"}, {"hour", "10"}}));
  EXPECT_EQ(PartitionsFromFolders({}), (std::map<std::string, std::string>{}));
  EXPECT_FALSE(PartitionsFromFolders({"misc", "stuff"}).has_value());
  EXPECT_FALSE(PartitionsFromFolders({"2026", "november"}).has_value());
}

TEST_F(CrawlerTest, DiscoversTablesPartitionsAndReportsBadObjects) {
  Put("raw/clicks/2026/11/26/10/a.json",
      "{\"user\": 1, \"page\": \"/\"}\n{\"user\": 2, \"page\": \"/x\"}\n");
  Put("raw/clicks/2026/11/26/11/b.json.gz", Gzip("{\"user\": 3, \"page\": \"/y\"}\n"));
  Put("raw/orders/region=eu/o.csv", "order_id,amount\n1,9.5\n");
  Put("raw/orders/region=us/o.csv", "order_id,amount\n2,10\n3,11\n");
  Put("raw/clicks/2026/11/26/12/empty.json", "");
  Put("raw/clicks/2026/11/26/12/corrupt.json.gz", "\x1f\x8b this is not really gzip");
  Put("raw/clicks/2026/11/26/12/notes.txt", "hello");

  CrawlReport report = Crawl();
  EXPECT_EQ(report.objects_listed, 7);
  ASSERT_EQ(report.tables.size(), 2u);
  EXPECT_EQ(report.tables[0].table, "landing.clicks");
  EXPECT_TRUE(report.tables[0].created);
  EXPECT_EQ(report.tables[0].rows_added, 3);
  EXPECT_THAT(report.tables[0].partitions_added, ElementsAre("year=2026/month=11/day=26/hour=10",
                                                             "year=2026/month=11/day=26/hour=11"));
  EXPECT_EQ(report.tables[1].table, "landing.orders");
  std::string skipped = Join(report.skipped, "\n");
  EXPECT_THAT(skipped, HasSubstr("empty.json: empty"));
  EXPECT_THAT(skipped, HasSubstr("corrupt.json.gz: unreadable"));
  EXPECT_THAT(skipped, HasSubstr("notes.txt: cannot tell the format"));

  EXPECT_EQ(Scalar("SELECT count(*) FROM landing.clicks WHERE hour = 11"), "1");
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM landing.orders WHERE region = 'us'"), "21");
}

TEST_F(CrawlerTest, RecrawlsReadOnlyWhatIsNewAndEvolveTheSchema) {
  Put("raw/events/day=2026-10-01/e.json", "{\"id\": 1}\n");
  Crawl();
  CrawlReport nothing = Crawl();
  EXPECT_EQ(nothing.objects_read, 0);
  EXPECT_EQ(nothing.objects_unchanged, 1);
  EXPECT_TRUE(nothing.tables.empty());

  Put("raw/events/day=2026-10-02/e.json", "{\"id\": 2, \"coupon\": \"X\"}\n");
  CrawlReport more = Crawl();
  EXPECT_EQ(more.objects_read, 1);
  ASSERT_EQ(more.tables.size(), 1u);
  EXPECT_THAT(more.tables[0].partitions_added, ElementsAre("day=2026-10-02"));
  EXPECT_THAT(more.tables[0].columns_added, ElementsAre("coupon"));
  EXPECT_EQ(more.tables[0].schema_version, 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM landing.events WHERE coupon IS NULL"), "1");
  EXPECT_EQ(Scalar("SELECT max(day) FROM landing.events"), "2026-10-02");
}

}  // namespace
}  // namespace loch
