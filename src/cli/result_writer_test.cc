#include "cli/result_writer.h"

#include <gtest/gtest.h>

#include <sstream>

namespace loch {
namespace {

std::string Render(const std::string& format) {
  std::ostringstream out;
  auto writer = std::move(MakeResultWriter(format, out, 2)).value();
  writer->Begin({{"name", "VARCHAR", ValueKind::kString},
                 {"n", "BIGINT", ValueKind::kNumber},
                 {"tags", "VARCHAR[]", ValueKind::kJson}});
  ResultChunk chunk;
  chunk.row_count = 3;
  chunk.cells = {{"plain", "needs, \"quotes\"", std::nullopt},
                 {"1", "22", "nan"},
                 {"[\"a\"]", "[]", std::nullopt}};
  writer->Write(chunk);
  writer->End(1.25);
  return out.str();
}

TEST(ResultWriter, Csv) {
  EXPECT_EQ(Render("csv"),
            "name,n,tags\nplain,1,\"[\"\"a\"\"]\"\n\"needs, \"\"quotes\"\"\",22,[]\n,nan,\n");
}

TEST(ResultWriter, JsonKeepsTypes) {
  EXPECT_EQ(Render("json"),
            "[\n{\"name\":\"plain\",\"n\":1,\"tags\":[\"a\"]},\n"
            "{\"name\":\"needs, \\\"quotes\\\"\",\"n\":22,\"tags\":[]},\n"
            "{\"name\":null,\"n\":null,\"tags\":null}\n]\n");
}

TEST(ResultWriter, TableAlignsAndCountsHiddenRows) {
  std::string table = Render("table");
  EXPECT_NE(table.find(" name            | n  | tags\n"), std::string::npos) << table;
  EXPECT_NE(table.find(" needs, \"quotes\" | 22 | []\n"), std::string::npos) << table;
  EXPECT_NE(table.find("... 1 more rows not shown"), std::string::npos);
  EXPECT_NE(table.find("(3 rows, 1.2 ms)"), std::string::npos) << table;
}

TEST(ResultWriter, UnknownFormat) { EXPECT_FALSE(MakeResultWriter("xml", std::cout).ok()); }

}  // namespace
}  // namespace loch
