#include "load/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/strings.h"
#include "engine/duck.h"
#include "engine/query_test_support.h"
#include "engine/test_lake.h"
#include "fmt/format.h"
#include "load/file_format.h"
#include "storage/local_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class LoaderTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = (fs::path(testing::TempDir()) / ("loch-load-" + NewRandomId())).string();
    inputs_ = root_ + "-inputs";
    TestLake lake = OpenTestLake(root_);
    fs::create_directories(inputs_);
    store_ = std::move(lake.store);
    catalog_ = std::move(lake.catalog);
    engine_ = std::move(lake.engine);
    loader_ = std::make_unique<Loader>(*catalog_, *store_, *engine_);
  }

  std::string Input(const std::string& relative, const std::string& content) {
    fs::path path = fs::path(inputs_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  std::string GzipInput(const std::string& relative, const std::string& content) {
    fs::path path = fs::path(inputs_) / relative;
    gzFile file = gzopen(path.c_str(), "wb");
    gzwrite(file, content.data(), static_cast<unsigned>(content.size()));
    gzclose(file);
    return path.string();
  }

  std::string ZstdInput(const std::string& relative, const std::string& content) {
    std::string compressed(ZSTD_compressBound(content.size()), '\0');
    compressed.resize(
        ZSTD_compress(compressed.data(), compressed.size(), content.data(), content.size(), 3));
    return Input(relative, compressed);
  }

  absl::StatusOr<LoadResult> Load(std::vector<std::string> inputs, const std::string& table) {
    return loader_->Load(
        admin_, LoadRequest{std::move(inputs), std::move(TableName::Parse(table)).value()});
  }

  std::string Scalar(const std::string& sql) { return FirstCell(*engine_, sql); }

  size_t RawObjects() { return ListAll(*store_, "raw/")->size(); }

  std::string root_, inputs_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
  std::unique_ptr<Loader> loader_;
  Principal admin_ = Principal::LocalAdmin();
};

TEST_F(LoaderTest, LoadsEveryFormatAndCompression) {
  const std::string ndjson = "{\"id\": 1, \"v\": 10}\n{\"id\": 2, \"v\": 20}\n";
  std::vector<std::string> files = {
      Input("a.json", ndjson),
      Input("b.json", "[{\"id\": 3, \"v\": 30}, {\"id\": 4, \"v\": 40}]"),
      GzipInput("c.ndjson.gz", "{\"id\": 5, \"v\": 50}\n"),
      ZstdInput("d.jsonl.zst", "{\"id\": 6, \"v\": 60}\n"),
  };
  auto result = Load(files, "shop.mixed");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->rows, 6);
  EXPECT_TRUE(result->created_table);
  EXPECT_EQ(Scalar("SELECT sum(v) FROM shop.mixed"), "210");

  ASSERT_TRUE(Load({Input("o.csv", "order_id,amount\n1,2.5\n2,3.5\n")}, "shop.orders").ok());
  EXPECT_EQ(Scalar("SELECT sum(amount) FROM shop.orders"), "6");
  ASSERT_TRUE(Load({GzipInput("o2.csv.gz", "order_id,amount\n3,4\n")}, "shop.orders").ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.orders"), "3");

  const std::string parquet = inputs_ + "/p.parquet";
  {
    auto db = std::move(duck::Database::OpenInMemory({})).value();
    auto conn = std::move(duck::Connection::Open(db)).value();
    ASSERT_TRUE(
        conn.Execute(fmt::format("COPY (SELECT range AS k FROM range(100)) TO {} (FORMAT parquet)",
                                 QuoteLiteral(parquet)))
            .ok());
  }
  ASSERT_TRUE(Load({parquet}, "shop.numbers").ok());
  EXPECT_EQ(Scalar("SELECT sum(k) FROM shop.numbers"), "4950");
}

TEST_F(LoaderTest, NewColumnsMakeANewSchemaVersion) {
  ASSERT_TRUE(Load({Input("1.json", "{\"id\": 1}\n")}, "shop.t").ok());
  auto second = Load({Input("2.json", "{\"id\": 2.5, \"coupon\": \"X\"}\n")}, "shop.t");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->schema_version, 2);
  EXPECT_EQ(second->schema_change.added, std::vector<std::string>{"coupon"});
  EXPECT_EQ(second->schema_change.widened, std::vector<std::string>{"id: BIGINT -> DOUBLE"});
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.t WHERE coupon IS NULL"), "1");
  EXPECT_EQ(Scalar("SELECT sum(id) FROM shop.t"), "3.5");
  EXPECT_EQ(catalog_->ListSchemas(admin_, {"shop", "t"})->size(), 2u);
}

TEST_F(LoaderTest, PartitionFoldersBecomeTypedPartitionColumns) {
  Input("events/day=2026-10-01/e.json", "{\"x\": 1}\n");
  Input("events/day=2026-10-02/e.json", "{\"x\": 2}\n{\"x\": 3}\n");
  Input("events/_SUCCESS", "");
  auto result = Load({inputs_ + "/events"}, "shop.events");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->partition_columns, std::vector<std::string>{"day"});
  auto table = catalog_->ReadTable(admin_, {"shop", "events"}, std::nullopt);
  ASSERT_EQ(table->table.schema.partition_columns.size(), 1u);
  EXPECT_EQ(table->table.schema.partition_columns[0].type, "DATE");
  EXPECT_EQ(table->files[1].partition_values.at("day"), "2026-10-02");
  EXPECT_EQ(Scalar("SELECT sum(x) FROM shop.events WHERE day = DATE '2026-10-02'"), "5");

  auto mismatch = Load({Input("flat.json", "{\"x\": 9}\n")}, "shop.events");
  ASSERT_TRUE(absl::IsInvalidArgument(mismatch.status()));
  EXPECT_THAT(std::string(ToStd(mismatch.status().message())), HasSubstr("partitioned by (day)"));
}

TEST_F(LoaderTest, BadInputFailsClearlyAndLeavesNothingBehind) {
  ASSERT_TRUE(Load({Input("good.json", "{\"a\": 1}\n")}, "shop.t").ok());
  const size_t objects = RawObjects();
  const int64_t snapshot =
      catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->table.current_snapshot;

  struct Case {
    std::vector<std::string> inputs;
    std::string message;
  };
  std::vector<Case> cases = {
      {{inputs_ + "/missing.json"}, "no such file"},
      {{Input("notes.txt", "hello")}, "cannot tell the format"},
      {{Input("fake.json.gz", "{\"a\": 1}")}, "gzip"},
      {{Input("fake.parquet", "not parquet at all")}, "Parquet"},
      {{Input("ok.json", "{\"a\": 2}\n"), Input("broken.json", "{\"a\": 1\n{{{ nope\n")},
       "broken.json"},
      {{Input("empty.json", "")}, "nothing to load"},
  };
  for (const Case& c : cases) {
    auto result = Load(c.inputs, "shop.t");
    ASSERT_FALSE(result.ok()) << c.inputs.back();
    EXPECT_THAT(std::string(ToStd(result.status().message())), HasSubstr(c.message));
  }
  EXPECT_EQ(RawObjects(), objects);
  EXPECT_EQ(catalog_->ReadTable(admin_, {"shop", "t"}, std::nullopt)->table.current_snapshot,
            snapshot);
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.t"), "1");
}

TEST_F(LoaderTest, ConcurrentLoadsIntoOneTableAllLand) {
  constexpr int kLoads = 6;
  std::vector<std::string> files;
  for (int i = 0; i < kLoads; ++i)
    files.push_back(Input(fmt::format("c{}.json", i), fmt::format("{{\"n\": {}}}\n", i)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kLoads; ++i) {
    threads.emplace_back([&, i] {
      if (!Load({files[i]}, "shop.c").ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Scalar("SELECT count(*) FROM shop.c"), std::to_string(kLoads));
}

TEST(FileFormat, NamesAndContentMustAgree) {
  const std::string dir = testing::TempDir();
  std::ofstream(dir + "/x.tsv") << "a\tb\n1\t2\n";
  EXPECT_EQ(DetectFileFormat(dir + "/x.tsv")->format, "csv");
  std::ofstream(dir + "/y.json") << "\x1f\x8b garbage";
  auto mislabelled = DetectFileFormat(dir + "/y.json");
  ASSERT_FALSE(mislabelled.ok());
  EXPECT_THAT(std::string(ToStd(mislabelled.status().message())), HasSubstr("add .gz"));
}

TEST(SchemaMerge, WideningRules) {
  EXPECT_EQ(WidenType("INTEGER", "BIGINT"), "BIGINT");
  EXPECT_EQ(WidenType("BIGINT", "DOUBLE"), "DOUBLE");
  EXPECT_EQ(WidenType("DATE", "TIMESTAMP"), "TIMESTAMP");
  EXPECT_EQ(WidenType("BIGINT", "VARCHAR"), "VARCHAR");
  EXPECT_EQ(WidenType("NULL", "DATE"), "DATE");
  EXPECT_EQ(InferPartitionType({"1", "22"}), "BIGINT");
  EXPECT_EQ(InferPartitionType({"2026-01-01"}), "DATE");
  EXPECT_EQ(InferPartitionType({"eu", "2026-01-01"}), "VARCHAR");
}

}  // namespace
}  // namespace loch
