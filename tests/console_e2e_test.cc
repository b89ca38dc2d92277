// The web console of a real `loch serve`: its files (gzip, ETag, CSP), signing in (cookies, CSRF,
// throttling, hostile bodies) through the HTTP API, and the console itself in a real headless
// Chromium driven by playwright-core (tests/support/console_browser_check.mjs), which keeps a
// screenshot of each step in <build>/test-artifacts/console/.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_support::LochServer;
using testing_support::RunCommand;

class ConsoleE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCommand(LOCH_BINARY, {"init", "--lake", lake_}).exit_code, 0);
    std::ifstream in(lake_ + "/.loch/admin-credentials.json");
    const json credentials = json::parse(in);
    user_ = credentials["pg_user"];
    password_ = credentials["pg_password"];
    std::string error;
    server_ = LochServer::Start(LOCH_BINARY, lake_, {}, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    return client;
  }

  // shop.orders: 250 orders (so the grid pages, 100 a page), 25 a day from 2026-01-01 to -10.
  void LoadOrders() {
    const std::string file = dir_.path() + "/orders.json";
    {
      std::ofstream out(file);
      for (int id = 1; id <= 250; ++id) {
        out << fmt::format(
                   R"({{"id": {}, "customer": "c{}", "amount": {}.5, "day": "2026-01-{:02d}"}})",
                   id, id % 7, id, 1 + (id - 1) / 25)
            << "\n";
      }
    }
    ASSERT_EQ(RunCommand(LOCH_BINARY, {"load", file, "--table", "shop.orders", "--lake", lake_})
                  .exit_code,
              0);
  }

  // The API as a script would call it: the admin's bearer token.
  httplib::Client Api() const {
    httplib::Client client = Client();
    std::ifstream in(lake_ + "/.loch/admin-credentials.json");
    client.set_default_headers(
        {{"Authorization", "Bearer " + json::parse(in)["token"].get<std::string>()}});
    return client;
  }

  json Put(const std::string& path, const json& body, int expected_status) {
    auto answer = Api().Put(path, body.dump(), "application/json");
    EXPECT_TRUE(answer);
    if (!answer) return json();
    EXPECT_EQ(answer->status, expected_status) << path << ": " << answer->body;
    return json::parse(answer->body, nullptr, false);
  }

  enum class As { kAdmin, kAnonymous };
  // GET `path` with the admin's token, or with no credentials: its status and JSON.
  std::pair<int, json> Get(const std::string& path, As as = As::kAdmin) {
    auto answer = as == As::kAdmin ? Api().Get(path) : Client().Get(path);
    if (!answer) return {0, json()};
    return {answer->status, json::parse(answer->body, nullptr, false)};
  }

  // Signs in; the session's cookie ("loch_session=...") and CSRF token.
  std::pair<std::string, std::string> SignIn() {
    auto answer =
        Client().Post("/api/v1/session", json{{"user", user_}, {"password", password_}}.dump(),
                      "application/json");
    EXPECT_TRUE(answer);
    if (!answer) return {};
    EXPECT_EQ(answer->status, 200) << answer->body;
    const std::string set_cookie = answer->get_header_value("Set-Cookie");
    return {set_cookie.substr(0, set_cookie.find(';')),
            json::parse(answer->body)["csrf_token"].get<std::string>()};
  }

  TestDir dir_{"console-e2e"};
  std::string lake_ = dir_.path() + "/lake";
  std::string user_, password_;
  std::unique_ptr<LochServer> server_;
};

std::string Gunzip(const std::string& gzipped) {
  std::string out;
  z_stream stream{};
  inflateInit2(&stream, 16 + MAX_WBITS);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzipped.data()));
  stream.avail_in = static_cast<uInt>(gzipped.size());
  char buffer[1 << 16];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  }
  inflateEnd(&stream);
  return result == Z_STREAM_END ? out : "";
}

TEST_F(ConsoleE2eTest, TheConsoleIsServedFromTheBinaryWithItsOwnPolicy) {
  auto client = Client();
  client.set_decompress(false);
  auto page = client.Get("/", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Encoding"), "gzip");
  EXPECT_THAT(page->get_header_value("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  const std::string html = Gunzip(page->body);
  ASSERT_THAT(html, HasSubstr("<html"));
  // Nothing is loaded from anywhere else: every script and style is one of ours.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  const std::regex kAsset(R"re((?:src|href)="(/assets/[^"]+)")re");
  int assets = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kAsset);
       it != std::sregex_iterator(); ++it) {
    auto asset = client.Get((*it)[1].str(), {{"Accept-Encoding", "identity"}});
    ASSERT_TRUE(asset);
    EXPECT_EQ(asset->status, 200) << (*it)[1];
    EXPECT_EQ(asset->get_header_value("Content-Encoding"), "");  // inflated for this client
    EXPECT_THAT(asset->get_header_value("Cache-Control"), HasSubstr("immutable"));
    EXPECT_GT(asset->body.size(), 100u);
    ++assets;
  }
  EXPECT_GE(assets, 2);  // a script and a style sheet

  // A second visit with the ETag costs nothing.
  auto again = client.Get("/", {{"If-None-Match", page->get_header_value("ETag")}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(client.Get("/assets/nope.js")->status, 404);
}

TEST_F(ConsoleE2eTest, AnswersToBrowsersAreGzippedNotBrotliAtItsSlowestQuality) {
  auto client = Api();
  client.set_decompress(false);
  auto answer = client.Get("/api/v1/tables", {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->get_header_value("Content-Encoding"), "gzip");
  EXPECT_THAT(Gunzip(answer->body), HasSubstr("\"tables\""));
  auto only_br = client.Get("/api/v1/tables", {{"Accept-Encoding", "br"}});
  EXPECT_EQ(only_br->get_header_value("Content-Encoding"), "");
}

TEST_F(ConsoleE2eTest, ASessionCookieWorksLikeTheTokenAndChangesNeedItsCsrfToken) {
  auto anonymous = Client();
  EXPECT_EQ(anonymous.Get("/api/v1/session")->status, 401);
  EXPECT_EQ(anonymous.Get("/api/v1/tables")->status, 401);

  auto answer = anonymous.Post(
      "/api/v1/session", json{{"user", user_}, {"password", password_}}.dump(), "application/json");
  ASSERT_EQ(answer->status, 200) << answer->body;
  const std::string set_cookie = answer->get_header_value("Set-Cookie");
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, HasSubstr("Path=/"));
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const std::string csrf = json::parse(answer->body)["csrf_token"];
  EXPECT_EQ(json::parse(answer->body)["user"], user_);

  const httplib::Headers with_cookie = {{"Cookie", "theme=dark; " + cookie}};
  auto tables = anonymous.Get("/api/v1/tables", with_cookie);
  EXPECT_EQ(tables->status, 200) << tables->body;
  auto session = anonymous.Get("/api/v1/session", with_cookie);
  ASSERT_EQ(session->status, 200);
  EXPECT_EQ(json::parse(session->body)["csrf_token"], csrf);

  // A change without the CSRF token (what a forged cross-site form would send) is refused, and
  // runs nothing.
  const std::string sql = "SELECT 'forged' AS f";
  const std::string body = json{{"sql", sql}}.dump();
  auto forged = anonymous.Post("/api/v1/queries", with_cookie, body, "application/json");
  EXPECT_EQ(forged->status, 403);
  EXPECT_THAT(forged->body, HasSubstr("X-CSRF-Token"));
  httplib::Headers wrong = with_cookie;
  wrong.emplace("X-CSRF-Token", "not-it");
  EXPECT_EQ(anonymous.Post("/api/v1/queries", wrong, body, "application/json")->status, 403);
  httplib::Headers right = with_cookie;
  right.emplace("X-CSRF-Token", csrf);
  auto query = anonymous.Post("/api/v1/query", right, body, "application/json");
  EXPECT_EQ(query->status, 200) << query->body;
  auto history = anonymous.Get("/api/v1/queries", with_cookie);
  int forged_runs = 0;
  const json listed = json::parse(history->body);
  for (const json& entry : listed["queries"]) forged_runs += entry["sql"] == sql;
  EXPECT_EQ(forged_runs, 1);  // only the one with the token

  // Signing out ends the session for every later request.
  const std::string second_cookie = SignIn().first;
  const httplib::Headers second = {{"Cookie", second_cookie}};
  ASSERT_EQ(anonymous.Get("/api/v1/tables", second)->status, 200);

  EXPECT_EQ(anonymous.Delete("/api/v1/session", with_cookie)->status, 403);  // no token
  auto signed_out = anonymous.Delete("/api/v1/session", right);
  EXPECT_EQ(signed_out->status, 200);
  EXPECT_THAT(signed_out->get_header_value("Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(anonymous.Get("/api/v1/tables", with_cookie)->status, 401);
  EXPECT_EQ(anonymous.Post("/api/v1/queries", right, body, "application/json")->status, 401);

  // Rotating the admin's credentials signs every browser out (the server reads the file again
  // within 2 s).
  ASSERT_EQ(RunCommand(LOCH_BINARY, {"credentials", "rotate", "--lake", lake_}).exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (anonymous.Get("/api/v1/tables", second)->status == 200 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(anonymous.Get("/api/v1/tables", second)->status, 401);
}

TEST_F(ConsoleE2eTest, WrongAndHostileSignInsAreRefusedAndThenThrottled) {
  auto client = Client();
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string(R"({"user": 1, "password": 2})"),
        std::string(R"({"user": "loch"})"), std::string(100000, '['),
        json{{"user", std::string(1000, 'u')}, {"password", "p"}}.dump()}) {
    auto answer = client.Post("/api/v1/session", body, "application/json");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 400) << body.substr(0, 40) << ": " << answer->body;
  }
  // A sign-in body is small: a large one is refused before it is read.
  auto large = client.Post("/api/v1/session", std::string(64 * 1024, ' '), "application/json");
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 400);
  EXPECT_THAT(large->body, HasSubstr("4096"));

  const std::string wrong = json{{"user", user_}, {"password", "guess"}}.dump();
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto answer = client.Post("/api/v1/session", wrong, "application/json");
    EXPECT_EQ(answer->status, 401);
    EXPECT_THAT(answer->body, HasSubstr("wrong user name or password"));
    EXPECT_EQ(answer->get_header_value("Set-Cookie"), "");
  }
  // Now even the right password waits: guessing is capped at 10 tries per 10 minutes.
  auto throttled = client.Post(
      "/api/v1/session", json{{"user", user_}, {"password", password_}}.dump(), "application/json");
  EXPECT_EQ(throttled->status, 429);
  EXPECT_NE(throttled->get_header_value("Retry-After"), "");
  EXPECT_EQ(client.Get("/health")->status, 200);  // and the server serves on
}

json SalesDashboard() {
  return {{"title", "Sales"},
          {"parameters",
           {{{"name", "from"}, {"type", "date"}, {"default", "2026-01-01"}},
            {{"name", "to"}, {"type", "date"}, {"default", "2026-01-10"}},
            {{"name", "customer"}, {"type", "text"}, {"default", ""}}}},
          {"tiles",
           {{{"id", "daily"},
             {"title", "Orders per day"},
             {"query", "orders_per_day"},
             {"chart", "line"}},
            {{"id", "count"}, {"title", "Orders"}, {"query", "order_count"}, {"chart", "number"}},
            {{"id", "of"},
             {"title", "Of a customer"},
             {"query", "customer_orders"},
             {"chart", "number"}}}}};
}

TEST_F(ConsoleE2eTest, DashboardTilesRunSavedQueriesWithBoundParametersAndSayHowFreshTheyAre) {
  LoadOrders();
  const std::string range = "day BETWEEN {{from}} AND {{to}}";
  Put("/api/v1/saved-queries/orders_per_day",
      {{"sql", "SELECT day, count(*) AS orders FROM shop.orders WHERE " + range +
                   " GROUP BY day ORDER BY day"},
       {"base_version", 0}},
      201);
  Put("/api/v1/saved-queries/order_count",
      {{"sql", "SELECT count(*) AS orders FROM shop.orders WHERE " + range}, {"base_version", 0}},
      201);
  Put("/api/v1/saved-queries/customer_orders",
      {{"sql", "SELECT count(*) AS orders FROM shop.orders WHERE customer = {{customer}}"},
       {"base_version", 0}},
      201);
  Put("/api/v1/dashboards/sales", {{"definition", SalesDashboard()}, {"base_version", 0}}, 201);

  auto [status, count] = Get("/api/v1/dashboards/sales/tiles/count");
  ASSERT_EQ(status, 200) << count.dump();
  EXPECT_EQ(count["rows"], json::parse("[[250]]"));
  EXPECT_EQ(count["freshness"]["tables"][0]["table"], "shop.orders");
  EXPECT_EQ(count["freshness"]["stale"], false);
  EXPECT_FALSE(count["freshness"]["as_of"].is_null());
  EXPECT_GT(count["query"]["bytes_scanned"].get<int64_t>(), 0);
  EXPECT_EQ(Get("/api/v1/dashboards/sales/tiles/count?p.to=2026-01-04").second["rows"],
            json::parse("[[100]]"));
  auto [daily_status, daily] = Get("/api/v1/dashboards/sales/tiles/daily?p.from=2026-01-09");
  ASSERT_EQ(daily_status, 200) << daily.dump();
  EXPECT_EQ(daily["rows"].size(), 2u);
  EXPECT_EQ(daily["rows"][0][1], 25);
  // A hostile value is one value, not SQL: it matches no customer.
  EXPECT_EQ(Get("/api/v1/dashboards/sales/tiles/of?p.customer=c1'%20OR%20'1'='1").second["rows"],
            json::parse("[[0]]"));
  EXPECT_EQ(Get("/api/v1/dashboards/sales/tiles/of?p.customer=c1").second["rows"],
            json::parse("[[36]]"));
  auto [bad_status, bad] = Get("/api/v1/dashboards/sales/tiles/count?p.to=soon");
  EXPECT_EQ(bad_status, 400);
  EXPECT_THAT(bad.dump(), HasSubstr("not a date"));
  EXPECT_EQ(Get("/api/v1/dashboards/sales/tiles/count?p.limit=5").first, 400);
  EXPECT_EQ(Get("/api/v1/dashboards/sales/tiles/nope").first, 404);

  // A tile runs queries only: a saved statement that would write is refused, and writes nothing.
  Put("/api/v1/saved-queries/drop_it", {{"sql", "DROP TABLE shop.orders"}, {"base_version", 0}},
      201);
  json writer = SalesDashboard();
  writer["tiles"] = json::array({{{"id", "w"}, {"query", "drop_it"}, {"chart", "table"}}});
  Put("/api/v1/dashboards/writer", {{"definition", writer}, {"base_version", 0}}, 201);
  EXPECT_EQ(Get("/api/v1/dashboards/writer/tiles/w").first, 403);
  EXPECT_EQ(Get("/api/v1/tables/shop.orders").first, 200);

  // Stale: the table is expected to change every second, and does not.
  Put("/api/v1/freshness/shop.orders", {{"expect_every", "1s"}}, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  auto [stale_status, stale] = Get("/api/v1/dashboards/sales/tiles/count");
  ASSERT_EQ(stale_status, 200);
  EXPECT_EQ(stale["freshness"]["stale"], true);
  EXPECT_EQ(stale["freshness"]["tables"][0]["stale"], true);
  EXPECT_EQ(stale["rows"], json::parse("[[250]]"));  // the data, said to be stale

  // Failed: the table is gone. The tile says why, with no numbers.
  ASSERT_EQ(RunCommand(LOCH_BINARY, {"sql", "DROP TABLE shop.orders", "--lake", lake_}).exit_code,
            0);
  auto [failed_status, failed] = Get("/api/v1/dashboards/sales/tiles/count");
  EXPECT_GE(failed_status, 400);
  EXPECT_THAT(failed["error"]["message"].get<std::string>(), HasSubstr("shop.orders"));
  EXPECT_FALSE(failed.contains("rows"));
}

TEST_F(ConsoleE2eTest, SavesNeverOverwriteAnotherEditorsAndEveryVersionIsKept) {
  Put("/api/v1/saved-queries/q", {{"sql", "SELECT 1"}, {"base_version", 0}}, 201);
  auto taken = Put("/api/v1/saved-queries/q", {{"sql", "SELECT 2"}, {"base_version", 0}}, 409);
  EXPECT_THAT(taken["error"]["message"].get<std::string>(), HasSubstr("name is taken"));
  Put("/api/v1/saved-queries/q", {{"sql", "SELECT 2"}, {"base_version", 1}}, 200);
  // A second editor who opened version 1 is refused, and told who saved what when.
  auto stale = Put("/api/v1/saved-queries/q", {{"sql", "SELECT 3"}, {"base_version", 1}}, 409);
  EXPECT_THAT(stale["error"]["message"].get<std::string>(),
              AllOf(HasSubstr("version 2"), HasSubstr("since you opened version 1")));
  EXPECT_EQ(Get("/api/v1/saved-queries/q").second["sql"], "SELECT 2");
  EXPECT_EQ(Get("/api/v1/saved-queries/q?version=1").second["sql"], "SELECT 1");

  json dashboard = SalesDashboard();
  Put("/api/v1/dashboards/sales", {{"definition", dashboard}, {"base_version", 0}}, 201);
  dashboard["title"] = "Sales, by day";
  const json second =
      Put("/api/v1/dashboards/sales", {{"definition", dashboard}, {"base_version", 1}}, 200);
  EXPECT_EQ(second["version"], 2);
  auto [status, versions] = Get("/api/v1/dashboards/sales/versions");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(versions["versions"][0]["title"], "Sales, by day");  // newest first
  EXPECT_EQ(versions["versions"][1]["title"], "Sales");
  EXPECT_EQ(Get("/api/v1/dashboards/sales?version=1").second["definition"]["title"], "Sales");
  auto list = Get("/api/v1/dashboards").second["dashboards"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["tiles"], 3);

  // Bad definitions and names are refused with the field named; nothing is stored.
  json wrong = dashboard;
  wrong["tiles"][0]["chart"] = "radar";
  auto refused = Put("/api/v1/dashboards/sales", {{"definition", wrong}, {"base_version", 2}}, 400);
  EXPECT_THAT(refused["error"]["message"].get<std::string>(), HasSubstr("tiles[0].chart"));
  Put("/api/v1/dashboards/Sales%20Q1", {{"definition", dashboard}, {"base_version", 0}}, 400);
  Put("/api/v1/dashboards/x", {{"definition", dashboard}}, 400);  // no base_version
  EXPECT_EQ(Get("/api/v1/dashboards/sales").second["version"], 2);

  // Deleted and made again: an editor still holding version 2 of the first is refused.
  EXPECT_EQ(Api().Delete("/api/v1/dashboards/sales")->status, 200);
  EXPECT_EQ(Get("/api/v1/dashboards/sales").first, 404);
  auto gone =
      Put("/api/v1/dashboards/sales", {{"definition", dashboard}, {"base_version", 2}}, 409);
  EXPECT_THAT(gone["error"]["message"].get<std::string>(), HasSubstr("deleted"));
  const json again =
      Put("/api/v1/dashboards/sales", {{"definition", SalesDashboard()}, {"base_version", 0}}, 201);
  Put("/api/v1/dashboards/sales", {{"definition", dashboard}, {"base_version", 2}}, 409);
  EXPECT_EQ(Get("/api/v1/dashboards/sales/versions").second["versions"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/dashboards/sales").second["definition"]["title"], "Sales");
  Put("/api/v1/dashboards/sales", {{"definition", dashboard}, {"base_version", again["version"]}},
      200);
}

TEST_F(ConsoleE2eTest, AShareLinkOpensOneDashboardReadOnlyUntilItIsStopped) {
  LoadOrders();
  Put("/api/v1/saved-queries/order_count",
      {{"sql", "SELECT count(*) AS orders FROM shop.orders WHERE day BETWEEN {{from}} AND {{to}}"},
       {"base_version", 0}},
      201);
  Put("/api/v1/dashboards/sales", {{"definition", SalesDashboard()}, {"base_version", 0}}, 201);
  auto shared = Api().Post("/api/v1/dashboards/sales/share", "", "application/json");
  ASSERT_EQ(shared->status, 201) << shared->body;
  const std::string token = json::parse(shared->body)["token"];
  EXPECT_EQ(Get("/api/v1/dashboards/sales").second["shared"], true);

  // No credentials at all: the link alone.
  auto [status, dashboard] = Get("/api/v1/shared/" + token, As::kAnonymous);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(dashboard["definition"]["title"], "Sales");
  auto [tile_status, tile] =
      Get("/api/v1/shared/" + token + "/tiles/count?p.to=2026-01-02", As::kAnonymous);
  ASSERT_EQ(tile_status, 200) << tile.dump();
  EXPECT_EQ(tile["rows"], json::parse("[[50]]"));
  // It opens nothing else: not the API, not another token.
  EXPECT_EQ(Get("/api/v1/dashboards", As::kAnonymous).first, 401);
  std::string other = token;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(Get("/api/v1/shared/" + other, As::kAnonymous).first, 404);
  EXPECT_EQ(Get("/api/v1/shared/../dashboards", As::kAnonymous).first, 404);
  // The history says who ran the shared tile.
  bool seen = false;
  const json history = Get("/api/v1/queries?limit=20").second;
  for (const json& query : history["queries"]) seen = seen || query["principal"] == "share:sales";
  EXPECT_TRUE(seen);

  EXPECT_EQ(Api().Delete("/api/v1/dashboards/sales/share")->status, 200);
  EXPECT_EQ(Get("/api/v1/shared/" + token, As::kAnonymous).first, 404);
  EXPECT_EQ(Get("/api/v1/shared/" + token + "/tiles/count", As::kAnonymous).first, 404);

  // A link made for a dashboard does not open another one made later under its name.
  auto relinked = Api().Post("/api/v1/dashboards/sales/share", "", "application/json");
  ASSERT_EQ(relinked->status, 201);
  const std::string old_link = json::parse(relinked->body)["token"];
  ASSERT_EQ(Get("/api/v1/shared/" + old_link, As::kAnonymous).first, 200);
  EXPECT_EQ(Api().Delete("/api/v1/dashboards/sales")->status, 200);
  Put("/api/v1/dashboards/sales", {{"definition", SalesDashboard()}, {"base_version", 0}}, 201);
  EXPECT_EQ(Get("/api/v1/shared/" + old_link, As::kAnonymous).first, 404);
  EXPECT_EQ(Get("/api/v1/dashboards/sales").second["shared"], false);
}

TEST_F(ConsoleE2eTest, AUserSignsInBrowsesQueriesAndSignsOutInChromium) {
  LoadOrders();
  const std::string artifacts = std::string(LOCH_ARTIFACT_DIR) + "/console";
  std::filesystem::create_directories(artifacts);
  auto outcome =
      RunCommand("node", {std::string(LOCH_SOURCE_DIR) + "/tests/support/console_browser_check.mjs",
                          server_->url(), user_, password_, artifacts});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("console browser check ok"));
}

}  // namespace
}  // namespace loch
