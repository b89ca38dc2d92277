#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "catalog/catalog.h"
#include "engine/query_test_support.h"
#include "pgwire/catalog_emulation.h"
#include "pgwire/scram.h"
#include "pgwire/startup_options.h"
#include "pgwire/sql_text.h"
#include "pgwire/types.h"
#include "pgwire/wire.h"

namespace loch::pg {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Decode64(const std::string& text) {
  std::string bytes;
  EXPECT_TRUE(absl::Base64Unescape(text, &bytes));
  return bytes;
}

TEST(StartupOptionsTest, NameTheWorkgroup) {
  EXPECT_EQ(WorkgroupOfStartupOptions(""), "primary");
  EXPECT_EQ(WorkgroupOfStartupOptions("-c workgroup=etl"), "etl");
  EXPECT_EQ(WorkgroupOfStartupOptions("-cworkgroup=etl"), "etl");
  EXPECT_EQ(WorkgroupOfStartupOptions("--loch.workgroup=etl -c statement_timeout=5"), "etl");
  EXPECT_EQ(WorkgroupOfStartupOptions("-c workgroup=a -c workgroup=b"), "b");
  EXPECT_EQ(WorkgroupOfStartupOptions("-c workgroup=my\\ group"), "my group");
  EXPECT_EQ(WorkgroupOfStartupOptions("-c workgroup= -c"), "primary");
  EXPECT_EQ(WorkgroupOfStartupOptions("workgroup=etl"), "primary");  // not a setting
}

TEST(WireTest, ReaderNeverReadsPastTheBody) {
  MessageReader reader(std::string_view("\x00\x01\x02", 3));
  EXPECT_FALSE(reader.Int32().ok());
  MessageReader strings(std::string_view("abc\0de", 6));
  EXPECT_EQ(*strings.CString(), "abc");
  EXPECT_FALSE(strings.CString().ok());  // "de" has no terminator
  MessageReader bytes(std::string_view("\x00\x00\x00\x05xy", 6));
  EXPECT_EQ(*bytes.Int32(), 5);
  EXPECT_FALSE(bytes.Bytes(5).ok());
  EXPECT_FALSE(bytes.ExpectEnd().ok());
}

TEST(WireTest, WriterFillsInLengths) {
  MessageWriter writer;
  writer.Begin('Z').Byte('I').End().Begin('C').CString("SELECT 1").End();
  const std::string expected =
      std::string("Z\0\0\0\x05I", 6) + std::string("C\0\0\0\x0dSELECT 1\0", 14);
  EXPECT_EQ(writer.data(), expected);
}

// RFC 7677, section 3: the SCRAM-SHA-256 example exchange.
TEST(ScramTest, MatchesTheRfc7677Example) {
  const ScramVerifier verifier =
      MakeScramVerifier("pencil", Decode64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  ScramExchange exchange(verifier, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  auto server_first = exchange.ServerFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  ASSERT_TRUE(server_first.ok()) << server_first.status();
  EXPECT_EQ(*server_first,
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
            "i=4096");
  auto server_final = exchange.ServerFinal(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  ASSERT_TRUE(server_final.ok()) << server_final.status();
  EXPECT_EQ(*server_final, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(ScramTest, RejectsAWrongProofAndMalformedMessages) {
  const ScramVerifier verifier =
      MakeScramVerifier("pencil", Decode64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  ScramExchange exchange(verifier, "server");
  ASSERT_TRUE(exchange.ServerFirst("n,,n=user,r=client").ok());
  auto wrong =
      exchange.ServerFinal("c=biws,r=clientserver,p=" + absl::Base64Escape(std::string(32, 'x')));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(exchange.ServerFinal("c=biws,r=otherserver,p=AAAA").ok());  // wrong nonce
  EXPECT_FALSE(exchange.ServerFinal("garbage").ok());

  ScramExchange binding(verifier, "server");
  EXPECT_FALSE(binding.ServerFirst("p=tls-server-end-point,,n=,r=x").ok());
  EXPECT_FALSE(binding.ServerFirst("n,,n=user").ok());  // no nonce
}

TEST(SqlTextTest, SplitsAtTopLevelSemicolonsOnly) {
  EXPECT_THAT(SplitStatements("select 1; select ';' ; -- c;\nselect 2;;"),
              ElementsAre("select 1", "select ';'", "-- c;\nselect 2"));
  EXPECT_THAT(SplitStatements("select $$a;b$$; select \"x;y\" /* ; /* ; */ */"),
              ElementsAre("select $$a;b$$", "select \"x;y\" /* ; /* ; */ */"));
  EXPECT_TRUE(SplitStatements("  ;  ").empty());
}

TEST(SqlTextTest, CountsPlaceholders) {
  EXPECT_EQ(CountParameters("select $1, '$5', \"$6\", $2 -- $9"), 2);
  EXPECT_EQ(CountParameters("select a$1 from t"), 0);  // part of an identifier
}

TEST(SqlTextTest, LeadingKeywordsAndErrorPositions) {
  EXPECT_THAT(LeadingKeywords("  /* hi */ (select 1)", 2), ElementsAre("SELECT"));
  EXPECT_THAT(LeadingKeywords("set search_path = x", 2), ElementsAre("SET", "SEARCH_PATH"));
  EXPECT_EQ(ErrorPosition("select\n  frm x", "syntax error (line 2, column 3)"), 10);
  EXPECT_EQ(ErrorPosition("select 1", "no position here"), std::nullopt);
  // A mark must end a line, and numbers beyond the statement are refused instead of overflowing.
  // (A mark the user writes at the end of a line of their own can still be taken: it only moves
  // the error cursor.)
  EXPECT_EQ(ErrorPosition(R"sql(select * from "(line 99999999999, column 1)".t)sql",
                          R"msg(Catalog Error: "(line 99999999999, column 1)" not found)msg"),
            std::nullopt);
  EXPECT_EQ(ErrorPosition("select 1", "x (line 99999999999, column 1)\n  select 1\n  ^"),
            std::nullopt);
  EXPECT_EQ(ErrorPosition("select 1", "x (line 1, column 99999999999999999999)\n  s\n  ^"),
            std::nullopt);
  EXPECT_EQ(ErrorPosition("select nope",
                          "Binder Error: nope (line 1, column 8)\n  select nope\n  "
                          "       ^"),
            8);
}

TEST(TypesTest, MapsDuckDbTypesToPostgresOids) {
  auto oid = [](const char* type, ValueKind kind = ValueKind::kString) {
    return TypeOidFor(ResultColumn{"c", type, kind});
  };
  EXPECT_EQ(oid("BIGINT"), kInt8);
  EXPECT_EQ(oid("INTEGER"), kInt4);
  EXPECT_EQ(oid("SMALLINT"), kInt2);
  EXPECT_EQ(oid("BOOLEAN"), kBool);
  EXPECT_EQ(oid("DOUBLE"), kFloat8);
  EXPECT_EQ(oid("FLOAT"), kFloat4);
  EXPECT_EQ(oid("DECIMAL(18,2)"), kNumeric);
  EXPECT_EQ(oid("VARCHAR"), kText);
  EXPECT_EQ(oid("DATE"), kDate);
  EXPECT_EQ(oid("TIMESTAMP"), kTimestamp);
  EXPECT_EQ(oid("TIMESTAMP WITH TIME ZONE"), kTimestampTz);
  EXPECT_EQ(oid("INTERVAL"), kInterval);
  EXPECT_EQ(oid("STRUCT(a INTEGER)", ValueKind::kJson), kJson);
  EXPECT_EQ(ToPgText("true", kBool), "t");
  EXPECT_EQ(ToPgText("inf", kFloat8), "Infinity");
  EXPECT_EQ(ToPgText(std::nullopt, kInt4), std::nullopt);
}

class CatalogEmulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("loch-pgcatalog-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto catalog = OpenSqliteCatalog((dir_ / "catalog.db").string());
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = std::move(*catalog);
    ASSERT_TRUE(catalog_->CreateDatabase(admin_, "sales", false).ok());
    TableCommit commit;
    commit.table = {"sales", "orders"};
    commit.operation = "create";
    commit.new_schema = Schema{
        0,
        {Column("id", "BIGINT", false), Column("amount", "DOUBLE"), Column("tags", "VARCHAR[]")},
        {Column("day", "DATE")}};
    commit.location = "tables/sales/orders/";
    ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
    auto emulation = PgCatalogEmulation::Open(catalog_.get(), "loch");
    ASSERT_TRUE(emulation.ok()) << emulation.status();
    emulation_ = std::move(*emulation);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    auto cursor = emulation_->Query(admin_, sql);
    EXPECT_TRUE(cursor.ok()) << cursor.status() << "\n" << RewriteCatalogQuery(sql);
    if (!cursor.ok()) return {};
    auto rows = AllRows(**cursor);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<std::vector<std::string>>{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<PgCatalogEmulation> emulation_;
  Principal admin_ = Principal::LocalAdmin();
};

// The queries below are what psql 15 sends for `\dt` and `\d sales.orders` (captured from a
// PostgreSQL 15 server's statement log).
TEST_F(CatalogEmulationTest, AnswersPsqlListTables) {
  const auto rows = Rows(R"(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;)");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "sales");
  EXPECT_EQ(rows[0][1], "orders");
  EXPECT_EQ(rows[0][2], "table");
  EXPECT_EQ(rows[0][3], "loch");
}

TEST_F(CatalogEmulationTest, AnswersPsqlDescribeTable) {
  const auto found = Rows(R"(SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(sales)$' COLLATE pg_catalog.default
ORDER BY 2, 3;)");
  ASSERT_EQ(found.size(), 1u);
  const std::string oid = found[0][0];
  const auto columns = Rows(R"(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ')" + oid +
                            R"(' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;)");
  ASSERT_EQ(columns.size(), 4u);
  EXPECT_EQ(columns[0][0], "id");
  EXPECT_EQ(columns[0][1], "bigint");
  EXPECT_EQ(columns[0][3], "true");  // NOT NULL
  EXPECT_EQ(columns[1][1], "double precision");
  EXPECT_EQ(columns[2][1], "json");
  EXPECT_EQ(columns[3][0], "day");
  EXPECT_EQ(columns[3][1], "date");
  // The table-details query, with its PostgreSQL-only casts.
  const auto details = Rows(
      "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, "
      "c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', "
      "c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE "
      "c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, "
      "am.amname\nFROM pg_catalog.pg_class c\n LEFT JOIN pg_catalog.pg_class tc ON "
      "(c.reltoastrelid = tc.oid)\nLEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)\nWHERE "
      "c.oid = '" +
      oid + "';");
  ASSERT_EQ(details.size(), 1u);
  EXPECT_EQ(details[0][1], "r");
}

TEST_F(CatalogEmulationTest, InformationSchemaListsColumns) {
  const auto rows = Rows(
      "select column_name, data_type from information_schema.columns where table_schema = "
      "'sales' and table_name = 'orders' order by ordinal_position");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][0], "id");
  EXPECT_EQ(rows[0][1], "bigint");
}

TEST_F(CatalogEmulationTest, SeesNewTablesAndRefusesWritesAndFiles) {
  TableCommit commit;
  commit.table = {"sales", "refunds"};
  commit.operation = "create";
  commit.new_schema = Schema{0, {Column("id", "BIGINT")}, {}};
  commit.location = "tables/sales/refunds/";
  ASSERT_TRUE(catalog_->Commit(admin_, commit).ok());
  EXPECT_EQ(Rows("select relname from pg_catalog.pg_class order by 1").size(), 2u);

  auto write = emulation_->Query(admin_, "delete from pg_class");
  EXPECT_FALSE(write.ok());
  auto file = emulation_->Query(admin_, "select * from pg_class, read_csv('/etc/passwd')");
  EXPECT_FALSE(file.ok());
  EXPECT_EQ(Rows("select relname from pg_catalog.pg_class order by 1").size(), 2u);
}

TEST(CatalogQueryTest, RecognisesCatalogQueries) {
  EXPECT_TRUE(PgCatalogEmulation::IsCatalogQuery("select * from pg_catalog.pg_class"));
  EXPECT_TRUE(PgCatalogEmulation::IsCatalogQuery("SELECT * FROM Information_Schema.tables"));
  EXPECT_TRUE(PgCatalogEmulation::IsCatalogQuery("select typname from pg_type"));
  EXPECT_FALSE(PgCatalogEmulation::IsCatalogQuery("select count(*) from sales.orders"));
  EXPECT_TRUE(PgCatalogEmulation::IsCatalogQuery("SELECT version()"));
  EXPECT_FALSE(PgCatalogEmulation::IsCatalogQuery("select version() from sales.orders"));
}

}  // namespace
}  // namespace loch::pg
