// `loch serve` as a user runs it: a child process on a free loopback port, spoken to over HTTP with
// cpp-httplib's client. Covers authentication, the asynchronous and synchronous query APIs,
// cancellation, and hostile input (the server answers with a clear error and keeps serving).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

class ServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    scratch_ = new TestDir("loch-server");
    work_ = new fs::path(scratch_->path());
    const std::string lake = (*work_ / "lake").string();
    ASSERT_EQ(testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", lake}).exit_code, 0);
    fs::create_directories(*work_ / "in");
    {
      std::ofstream out(*work_ / "in" / "numbers.json");
      for (int i = 1; i <= 5000; ++i)
        out << fmt::format("{{\"n\": {}, \"label\": \"item {}\"}}\n", i, i);
    }
    auto load =
        testing_support::RunCommand(LOCH_BINARY, {"load", (*work_ / "in" / "numbers.json").string(),
                                                  "--table", "demo.numbers", "--lake", lake});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    std::ifstream credentials(lake + "/.loch/admin-credentials.json");
    token_ = new std::string(json::parse(credentials)["token"].get<std::string>());
    struct stat st;
    ASSERT_EQ(::stat((lake + "/.loch/admin-credentials.json").c_str(), &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600u);

    port_ = testing_support::FreeLoopbackPort();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string address = fmt::format("127.0.0.1:{}", port_);
      ::execl(LOCH_BINARY, LOCH_BINARY, "serve", "--lake", lake.c_str(), "--http", address.c_str(),
              nullptr);
      ::_exit(127);
    }
    httplib::Client client("127.0.0.1", port_);
    for (int i = 0; i < 200; ++i) {
      if (auto health = client.Get("/health"); health && health->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "loch serve did not start";
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {  // never kill(-1, ...): that signals every process we may signal
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "loch serve did not stop cleanly on SIGTERM";
    }
    delete scratch_;
  }

  httplib::Client Client(bool authenticated = true) const {
    httplib::Client client("127.0.0.1", port_);
    client.set_tcp_nodelay(true);
    client.set_read_timeout(30, 0);
    if (authenticated) client.set_default_headers({{"Authorization", "Bearer " + *token_}});
    return client;
  }

  // Submits, then polls until the query leaves QUEUED/RUNNING.
  json RunAsync(const std::string& sql) const {
    auto client = Client();
    auto submitted = client.Post("/api/v1/queries", json{{"sql", sql}}.dump(), "application/json");
    EXPECT_TRUE(submitted);
    EXPECT_EQ(submitted->status, 201) << submitted->body;
    const std::string id = json::parse(submitted->body)["id"];
    for (int i = 0; i < 600; ++i) {
      auto state = client.Get("/api/v1/queries/" + id);
      json info = json::parse(state->body);
      if (info["state"] != "QUEUED" && info["state"] != "RUNNING") return info;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return json();
  }

  static inline TestDir* scratch_ = nullptr;
  static inline fs::path* work_ = nullptr;
  static inline std::string* token_ = nullptr;
  static inline int port_ = 0;
  static inline pid_t pid_ = -1;
};

TEST_F(ServerTest, AsyncQueryAndPagedResults) {
  json info = RunAsync("SELECT n, label FROM demo.numbers WHERE n <= 2500 ORDER BY n");
  ASSERT_EQ(info["state"], "SUCCEEDED") << info.dump();
  EXPECT_EQ(info["rows"], 2500);
  EXPECT_TRUE(info.contains("elapsed_ms"));
  auto client = Client();
  auto page = client.Get(fmt::format("/api/v1/queries/{}/results?limit=1000&offset=2000",
                                     info["id"].get<std::string>()));
  ASSERT_EQ(page->status, 200) << page->body;
  json body = json::parse(page->body);
  EXPECT_EQ(body["columns"][0]["name"], "n");
  EXPECT_EQ(body["columns"][0]["type"], "BIGINT");
  ASSERT_EQ(body["rows"].size(), 500u);
  EXPECT_EQ(body["rows"][0][0], 2001);
  EXPECT_EQ(body["rows"][0][1], "item 2001");
  EXPECT_TRUE(body["next_offset"].is_null());
  auto csv = client.Get(
      fmt::format("/api/v1/queries/{}/results?format=csv&limit=2", info["id"].get<std::string>()));
  EXPECT_EQ(csv->body, "n,label\n1,item 1\n2,item 2\n");
  // The whole result is also in the lake's results zone.
  ASSERT_TRUE(info.contains("result_key")) << info.dump();
  std::ifstream result(*work_ / "lake" / info["result_key"].get<std::string>());
  std::string csv_file((std::istreambuf_iterator<char>(result)), {});
  EXPECT_TRUE(csv_file.starts_with("n,label\n1,item 1\n2,item 2\n"));
  EXPECT_EQ(std::count(csv_file.begin(), csv_file.end(), '\n'), 2501);
  auto history = client.Get("/api/v1/queries?limit=5");
  EXPECT_THAT(history->body, HasSubstr(info["id"].get<std::string>()));
}

TEST_F(ServerTest, OldResultsLeaveMemoryButStayInTheLake) {
  json first = RunAsync("SELECT 1 AS first_query");
  ASSERT_EQ(first["state"], "SUCCEEDED");
  for (int i = 0; i < 25; ++i)
    ASSERT_EQ(RunAsync(fmt::format("SELECT {} AS filler", i))["state"], "SUCCEEDED");
  auto page =
      Client().Get(fmt::format("/api/v1/queries/{}/results", first["id"].get<std::string>()));
  EXPECT_EQ(page->status, 400);
  EXPECT_THAT(page->body, HasSubstr(first["result_key"].get<std::string>()));
  std::ifstream csv(*work_ / "lake" / first["result_key"].get<std::string>());
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(csv)), {}), "first_query\n1\n");
}

TEST_F(ServerTest, SyncQuery) {
  auto client = Client();
  auto result =
      client.Post("/api/v1/query", json{{"sql", "SELECT sum(n) AS total FROM demo.numbers"}}.dump(),
                  "application/json");
  ASSERT_EQ(result->status, 200) << result->body;
  json body = json::parse(result->body);
  EXPECT_EQ(body["rows"][0][0], 5000 * 5001 / 2);
  EXPECT_EQ(body["query"]["state"], "SUCCEEDED");
}

TEST_F(ServerTest, BadSqlIsFailedWhenSubmitted) {
  auto client = Client();
  auto submitted =
      client.Post("/api/v1/queries", json{{"sql", "SELEC 1"}}.dump(), "application/json");
  ASSERT_EQ(submitted->status, 201);
  json info = json::parse(submitted->body);
  // FAILED in the submission's own answer (how fast is the benchmark's job, not a test's).
  EXPECT_EQ(info["state"], "FAILED");
  EXPECT_THAT(info["error"]["message"].get<std::string>(), HasSubstr("syntax error"));
}

TEST_F(ServerTest, FailuresCarryTheEngineMessageWithPosition) {
  json info = RunAsync("SELECT n\nFROM demo.numbers\nWHERE nope = 1");
  ASSERT_EQ(info["state"], "FAILED");
  EXPECT_THAT(info["error"]["message"].get<std::string>(), HasSubstr("(line 3, column 7)"));
  auto client = Client();
  auto sync = client.Post("/api/v1/query", json{{"sql", "SELECT * FROM demo.missing"}}.dump(),
                          "application/json");
  EXPECT_EQ(sync->status, 404);
  EXPECT_THAT(sync->body, HasSubstr("tables: demo.numbers"));
  auto results =
      client.Get(fmt::format("/api/v1/queries/{}/results", info["id"].get<std::string>()));
  EXPECT_EQ(results->status, 400);
  EXPECT_THAT(results->body, HasSubstr("FAILED"));
}

TEST_F(ServerTest, CancelStopsARunningQuery) {
  auto client = Client();
  auto submitted = client.Post("/api/v1/queries",
                               json{{"sql", "SELECT count(*) FROM range(100000000000) a"}}.dump(),
                               "application/json");
  const std::string id = json::parse(submitted->body)["id"];
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto cancelled = client.Delete("/api/v1/queries/" + id);
  ASSERT_EQ(cancelled->status, 200);
  json info;
  for (int i = 0; i < 300; ++i) {
    info = json::parse(client.Get("/api/v1/queries/" + id)->body);
    if (info["state"] == "CANCELLED") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(info["state"], "CANCELLED") << info.dump();
}

// A slow query: a three-way self join of 5,000 rows (1.25e11 combinations).
constexpr const char* kSlowQuery =
    "SELECT count(*) FROM demo.numbers a, demo.numbers b, demo.numbers c";

TEST_F(ServerTest, WorkgroupsQueueBeyondTheirConcurrencyInOrder) {
  auto client = Client();
  auto put =
      client.Put("/api/v1/workgroups/single", R"({"max_concurrent": 1})", "application/json");
  ASSERT_EQ(put->status, 200) << put->body;
  auto submit = [&](const std::string& sql, const std::string& workgroup) {
    auto answer = client.Post(
        "/api/v1/queries", json{{"sql", sql}, {"workgroup", workgroup}}.dump(), "application/json");
    EXPECT_EQ(answer->status, 201) << answer->body;
    return json::parse(answer->body)["id"].get<std::string>();
  };
  auto state = [&](const std::string& id) {
    return json::parse(client.Get("/api/v1/queries/" + id)->body)["state"].get<std::string>();
  };
  const std::string first = submit(kSlowQuery, "single");
  for (int i = 0; i < 200 && state(first) != "RUNNING"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(state(first), "RUNNING");
  const std::string second = submit("SELECT 2", "single");
  const std::string third = submit("SELECT 3", "single");
  // Another workgroup is not held up by this one's limit.
  json other = RunAsync("SELECT count(*) FROM demo.numbers");
  EXPECT_EQ(other["state"], "SUCCEEDED");
  EXPECT_EQ(other["workgroup"], "primary");
  EXPECT_EQ(state(second), "QUEUED");
  EXPECT_EQ(state(third), "QUEUED");
  client.Delete("/api/v1/queries/" + first);
  // Then the queued ones run, in the order they came.
  json second_info, third_info;
  for (int i = 0; i < 500; ++i) {
    second_info = json::parse(client.Get("/api/v1/queries/" + second)->body);
    third_info = json::parse(client.Get("/api/v1/queries/" + third)->body);
    if (second_info["state"] == "SUCCEEDED" && third_info["state"] == "SUCCEEDED") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(second_info["state"], "SUCCEEDED");
  ASSERT_EQ(third_info["state"], "SUCCEEDED");
  EXPECT_LE(second_info["started_at"].get<std::string>(),
            third_info["started_at"].get<std::string>());
  EXPECT_THAT(second_info["result_key"].get<std::string>(), testing::StartsWith("results/single/"));
  auto unknown = client.Post("/api/v1/queries", R"({"sql": "SELECT 1", "workgroup": "nope"})",
                             "application/json");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_THAT(unknown->body, HasSubstr("unknown workgroup"));
}

TEST_F(ServerTest, WorkgroupLimitsBytesScannedAndTime) {
  auto client = Client();
  json scanned = RunAsync("SELECT sum(n) FROM demo.numbers");
  ASSERT_EQ(scanned["state"], "SUCCEEDED");
  const int64_t bytes = scanned["bytes_scanned"];
  EXPECT_GT(bytes, 0);
  ASSERT_EQ(client
                .Put("/api/v1/workgroups/thrifty",
                     json{{"max_bytes_scanned", bytes - 1}, {"timeout_seconds", 0.3}}.dump(),
                     "application/json")
                ->status,
            200);
  auto refused =
      client.Post("/api/v1/queries",
                  json{{"sql", "SELECT sum(n) FROM demo.numbers"}, {"workgroup", "thrifty"}}.dump(),
                  "application/json");
  json refused_info = json::parse(refused->body);
  EXPECT_EQ(refused_info["state"], "FAILED");
  EXPECT_THAT(refused_info["error"]["message"].get<std::string>(), HasSubstr("would scan"));
  auto slow = client.Post(
      "/api/v1/queries",
      json{{"sql", "SELECT count(*) FROM range(10000000000)"}, {"workgroup", "thrifty"}}.dump(),
      "application/json");
  const std::string id = json::parse(slow->body)["id"];
  auto info = client.Get("/api/v1/queries/" + id);
  for (int i = 0; i < 3000; ++i) {  // the query alone would run for minutes
    info = client.Get("/api/v1/queries/" + id);
    const std::string now = json::parse(info->body)["state"];
    if (now != "QUEUED" && now != "RUNNING") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json timed_out = json::parse(info->body);
  EXPECT_EQ(timed_out["state"], "FAILED");
  EXPECT_EQ(timed_out["error"]["code"], "DEADLINE_EXCEEDED");

  auto listed = json::parse(client.Get("/api/v1/workgroups")->body);
  bool found = false;
  for (const auto& workgroup : listed["workgroups"]) {
    found =
        found || (workgroup["name"] == "thrifty" && workgroup["max_bytes_scanned"] == bytes - 1);
  }
  EXPECT_TRUE(found) << listed.dump();
  EXPECT_EQ(
      client.Put("/api/v1/workgroups/bad", R"({"max_concurrent": "two"})", "application/json")
          ->status,
      400);
  EXPECT_EQ(client.Delete("/api/v1/workgroups/primary")->status, 400);
  EXPECT_EQ(client.Delete("/api/v1/workgroups/thrifty")->status, 204);
  EXPECT_EQ(client.Get("/api/v1/workgroups/thrifty")->status, 404);
}

TEST_F(ServerTest, FailureWebhookHearsOfFailedQueries) {
  // A receiver standing in for the team's alerting endpoint.
  httplib::Server receiver;
  std::mutex mu;
  std::vector<json> received;
  receiver.Post("/hook", [&](const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mu);
    received.push_back(json::parse(request.body));
    response.status = 204;
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  auto client = Client();
  ASSERT_EQ(
      client
          .Put("/api/v1/workgroups/alerted",
               json{{"failure_webhook", fmt::format("http://127.0.0.1:{}/hook", port)}}.dump(),
               "application/json")
          ->status,
      200);
  auto failed = client.Post("/api/v1/queries",
                            R"({"sql": "SELECT nope FROM demo.numbers", "workgroup": "alerted"})",
                            "application/json");
  const std::string id = json::parse(failed->body)["id"];
  ASSERT_EQ(
      json::parse(client
                      .Post("/api/v1/queries", R"({"sql": "SELECT 1", "workgroup": "alerted"})",
                            "application/json")
                      ->body)["state"] != "FAILED",
      true);
  json event;
  for (int i = 0; i < 300 && event.is_null(); ++i) {
    {
      std::lock_guard lock(mu);
      if (!received.empty()) event = received.front();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  receiver.stop();
  serving.join();
  ASSERT_FALSE(event.is_null()) << "the webhook received nothing";
  EXPECT_EQ(event["event"], "query_failed");
  EXPECT_EQ(event["query_id"], id);
  EXPECT_EQ(event["workgroup"], "alerted");
  EXPECT_THAT(event["error"]["message"].get<std::string>(), HasSubstr("nope"));
  std::lock_guard lock(mu);
  EXPECT_EQ(received.size(), 1u);  // the successful query sent nothing
}

TEST_F(ServerTest, SavedCrawlersOverTheApi) {
  const fs::path folder = *work_ / "lake" / "raw" / "visits" / "2026" / "11" / "26";
  fs::create_directories(folder);
  std::ofstream(folder / "a.json") << "{\"page\": \"/\", \"visited\": \"Jun 12 1998\"}\n";
  auto client = Client();
  auto created = client.Post(
      "/api/v1/crawlers",
      R"({"name": "visits", "prefixes": ["raw/visits/"], "database": "web", "deletes": "delete"})",
      "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["deletes"], "delete");
  EXPECT_EQ(
      client
          .Post("/api/v1/crawlers", R"({"name": "visits", "prefixes": ["x/"], "database": "web"})",
                "application/json")
          ->status,
      409);
  EXPECT_EQ(client
                .Post("/api/v1/crawlers", R"({"name": "bad", "prefixes": [], "database": "web"})",
                      "application/json")
                ->status,
            400);
  auto run = client.Post("/api/v1/crawlers/visits/run", "", "application/json");
  ASSERT_EQ(run->status, 200) << run->body;
  json report = json::parse(run->body)["report"];
  EXPECT_EQ(report["tables"][0]["table"], "web.visits");
  EXPECT_EQ(report["tables"][0]["outcome"], "created");
  auto queried = client.Post("/api/v1/query",
                             R"({"sql": "SELECT CAST(visited AS VARCHAR), day FROM web.visits"})",
                             "application/json");
  ASSERT_EQ(queried->status, 200) << queried->body;
  json rows = json::parse(queried->body)["rows"];
  EXPECT_EQ(rows[0][0], "1998-06-12");
  EXPECT_EQ(rows[0][1], 26);
  auto described = json::parse(client.Get("/api/v1/crawlers/visits")->body);
  ASSERT_EQ(described["runs"].size(), 1u);
  EXPECT_EQ(described["runs"][0]["status"], "SUCCEEDED");
  EXPECT_EQ(client.Get("/api/v1/crawlers/nope")->status, 404);
  // PATCH changes only the settings it names, checked as on creation.
  auto patched = client.Patch("/api/v1/crawlers/visits",
                              R"({"deletes": "log", "recrawl": "everything"})", "application/json");
  ASSERT_EQ(patched->status, 200) << patched->body;
  EXPECT_EQ(json::parse(patched->body)["deletes"], "log");
  EXPECT_EQ(json::parse(patched->body)["recrawl"], "everything");
  EXPECT_EQ(json::parse(patched->body)["database"], "web");
  auto unknown_setting =
      client.Patch("/api/v1/crawlers/visits", R"({"delete": "log"})", "application/json");
  EXPECT_EQ(unknown_setting->status, 400);
  EXPECT_THAT(json::parse(unknown_setting->body)["error"]["message"].get<std::string>(),
              HasSubstr("unknown crawler setting \"delete\""));
  EXPECT_EQ(
      client.Patch("/api/v1/crawlers/visits", R"({"deletes": "sometimes"})", "application/json")
          ->status,
      400);
  EXPECT_EQ(client.Patch("/api/v1/crawlers/visits", "[1]", "application/json")->status, 400);
  EXPECT_EQ(
      client.Patch("/api/v1/crawlers/nope", R"({"deletes": "log"})", "application/json")->status,
      404);
  EXPECT_EQ(json::parse(client.Get("/api/v1/crawlers/visits")->body)["deletes"], "log");
  EXPECT_EQ(client.Delete("/api/v1/crawlers/visits")->status, 204);
  EXPECT_EQ(client.Get("/api/v1/crawlers/visits")->status, 404);
}

TEST_F(ServerTest, JobsOverTheApi) {
  auto client = Client();
  const json job = {{"name", "evens"},
                    {"sql", "SELECT n, n % 10 AS digit FROM demo.numbers WHERE n % 2 = 0"},
                    {"target", "mart.evens"},
                    {"mode", "replace-partitions"},
                    {"partition_by", {"digit"}}};
  auto created = client.Post("/api/v1/jobs", job.dump(), "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(json::parse(created->body)["version"], 1);
  EXPECT_EQ(client.Post("/api/v1/jobs", job.dump(), "application/json")->status, 409);
  // PUT stores a new version only when the definition changed.
  auto same = client.Put("/api/v1/jobs/evens", job.dump(), "application/json");
  ASSERT_EQ(same->status, 200) << same->body;
  EXPECT_EQ(json::parse(same->body)["changed"], false);
  json changed = job;
  changed["description"] = "even numbers by last digit";
  auto updated = client.Put("/api/v1/jobs/evens", changed.dump(), "application/json");
  EXPECT_EQ(json::parse(updated->body)["version"], 2);

  auto run = client.Post("/api/v1/jobs/evens/run", "", "application/json");
  ASSERT_EQ(run->status, 200) << run->body;
  const json finished = json::parse(run->body);
  EXPECT_EQ(finished["state"], "SUCCEEDED") << finished.dump();
  EXPECT_EQ(finished["trigger"], "api");
  EXPECT_EQ(finished["report"]["rows_written"], 2500);
  EXPECT_EQ(finished["report"]["partitions_written"], 5);
  auto counted = client.Post("/api/v1/query", R"({"sql": "SELECT count(*) FROM mart.evens"})",
                             "application/json");
  EXPECT_EQ(json::parse(counted->body)["rows"][0][0], 2500);

  const json described = json::parse(client.Get("/api/v1/jobs/evens")->body);
  EXPECT_EQ(described["description"], "even numbers by last digit");
  EXPECT_EQ(described["versions"].size(), 2u);
  EXPECT_EQ(described["runs"][0]["run_id"], finished["run_id"]);
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs/evens?version=1")->body)["description"], "");
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs/evens/runs?limit=5")->body)["runs"].size(), 1u);
  EXPECT_EQ(json::parse(client.Get("/api/v1/jobs")->body)["jobs"][0]["last_run"]["state"],
            "SUCCEEDED");
  // A range re-run: digits 2 to 4 only, replaced whole.
  auto ranged = client.Post("/api/v1/jobs/evens/run?from=2&to=4", "", "application/json");
  ASSERT_EQ(ranged->status, 200) << ranged->body;
  const json range_report = json::parse(ranged->body)["report"];
  EXPECT_EQ(range_report["range"]["column"], "digit") << ranged->body;
  EXPECT_EQ(range_report["rows_written"], 1000);
  EXPECT_EQ(range_report["files_replaced"], 2);
  EXPECT_EQ(client.Post("/api/v1/jobs/evens/run?from=2", "", "application/json")->status, 400);

  // Bad definitions are refused with what is wrong; unknown jobs are 404.
  json typo = job;
  typo["name"] = "typo";
  typo["sort"] = {"n"};
  auto refused = client.Post("/api/v1/jobs", typo.dump(), "application/json");
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("unknown job field"));
  json missing = job;
  missing["name"] = "missing";
  missing["sql"] = "SELECT * FROM demo.nope";
  EXPECT_EQ(client.Post("/api/v1/jobs", missing.dump(), "application/json")->status, 404);
  EXPECT_EQ(client.Put("/api/v1/jobs/other", job.dump(), "application/json")->status, 400);
  EXPECT_EQ(client.Post("/api/v1/jobs", "[[[", "application/json")->status, 400);
  EXPECT_EQ(client.Post("/api/v1/jobs/nope/run", "", "application/json")->status, 404);
  EXPECT_EQ(Client(false).Get("/api/v1/jobs")->status, 401);
  EXPECT_EQ(client.Delete("/api/v1/jobs/evens")->status, 204);
  EXPECT_EQ(client.Get("/api/v1/jobs/evens")->status, 404);
}

TEST_F(ServerTest, TheCatalogOverTheApi) {
  auto client = Client();
  for (const char* sql :
       {"CREATE TABLE api.nums AS SELECT n, label FROM demo.numbers WHERE n <= 10",
        "COMMENT ON TABLE api.nums IS 'ten numbers'",
        "CREATE OR REPLACE VIEW api.small AS SELECT n FROM api.nums WHERE n < 3"}) {
    auto done = client.Post("/api/v1/query", json{{"sql", sql}}.dump(), "application/json");
    ASSERT_EQ(done->status, 200) << sql << ": " << done->body;
  }
  auto databases = client.Get("/api/v1/databases");
  ASSERT_EQ(databases->status, 200) << databases->body;
  json api_database;
  const json all_databases = json::parse(databases->body);
  for (const json& database : all_databases["databases"]) {
    if (database["name"] == "api") api_database = database;
  }
  EXPECT_EQ(api_database["tables"], 1);
  EXPECT_EQ(api_database["views"], 1);

  auto tables = client.Get("/api/v1/tables?database=API");
  ASSERT_EQ(tables->status, 200) << tables->body;
  const json listed = json::parse(tables->body)["tables"];
  ASSERT_EQ(listed.size(), 2u) << listed.dump();
  EXPECT_EQ(listed[0]["name"], "api.nums");
  EXPECT_EQ(listed[0]["rows"], 10);
  EXPECT_EQ(listed[0]["comment"], "ten numbers");
  EXPECT_EQ(listed[1]["name"], "api.small");
  EXPECT_EQ(listed[1]["kind"], "view");
  EXPECT_EQ(client.Get("/api/v1/tables?database=nowhere")->status, 404);

  auto table = client.Get("/api/v1/tables/Api.Nums?files=0");
  ASSERT_EQ(table->status, 200) << table->body;
  const json described = json::parse(table->body);
  EXPECT_EQ(described["columns"][0]["name"], "n");
  EXPECT_EQ(described["columns"][1]["type"], "VARCHAR");
  EXPECT_EQ(described["schema_versions"].size(), 2u);  // created, commented
  EXPECT_EQ(described["snapshots"].back()["operation"], "comment");
  EXPECT_EQ(described["files"].size(), 0u);
  EXPECT_GE(described["files_total"].get<int>(), 1);
  EXPECT_EQ(json::parse(client.Get("/api/v1/tables/api.nums")->body)["files"].size(),
            described["files_total"].get<size_t>());
  auto view = client.Get("/api/v1/tables/api.small");
  ASSERT_EQ(view->status, 200) << view->body;
  EXPECT_EQ(json::parse(view->body)["reads"], json::array({"api.nums"}));
  EXPECT_THAT(json::parse(view->body)["sql"].get<std::string>(), HasSubstr("n < 3"));
  auto missing = client.Get("/api/v1/tables/api.numz");
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(json::parse(missing->body)["error"]["message"].get<std::string>(),
              HasSubstr("did you mean api.nums"));
  EXPECT_EQ(client.Get("/api/v1/tables/not-a-name")->status, 400);
  EXPECT_EQ(client.Get("/api/v1/tables/api.nums?files=-1")->status, 400);
  EXPECT_EQ(client.Get("/api/v1/tables/api.nums?files=abc")->status, 400);
  const json newest = json::parse(client.Get("/api/v1/tables/api.nums?snapshots=1")->body);
  EXPECT_EQ(newest["snapshots"].size(), 1u);
  EXPECT_EQ(newest["snapshots"][0]["operation"], "comment");
  EXPECT_EQ(newest["snapshots_total"], 2);
  EXPECT_EQ(Client(false).Get("/api/v1/tables")->status, 401);
}

TEST_F(ServerTest, TheAwsSdkAthenaClientWorksUnmodified) {
  std::ifstream credentials(*work_ / "lake" / ".loch" / "admin-credentials.json");
  json keys = json::parse(credentials);
  auto outcome = testing_support::RunCommand(
      "node", {std::string(LOCH_SOURCE_DIR) + "/tests/support/athena_sdk_check.mjs",
               fmt::format("http://127.0.0.1:{}", port_), keys["access_key_id"].get<std::string>(),
               keys["secret_access_key"].get<std::string>()});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("athena interop ok"));
}

TEST_F(ServerTest, ResultsKeepEveryDigitOfDecimalsAndHugeIntegers) {
  // Not rounded through a double: 12345678901234567.89 would come back as 1.2345678901234568e+16.
  const std::string sql =
      "SELECT 12345678901234567.89::DECIMAL(38,2) AS d, "
      "170141183460469231731687303715884105727::HUGEINT AS h, 0.1::DECIMAL(3,1) AS t";
  const std::string exact = "[[12345678901234567.89,170141183460469231731687303715884105727,0.1]]";
  auto answer = Client().Post("/api/v1/query", json{{"sql", sql}}.dump(), "application/json");
  ASSERT_EQ(answer->status, 200) << answer->body;
  EXPECT_THAT(answer->body, HasSubstr("\"rows\":" + exact));
  const json parsed = json::parse(answer->body);  // still one valid JSON document
  const std::string id = parsed["query"]["id"];
  auto page = Client().Get("/api/v1/queries/" + id + "/results?format=json");
  ASSERT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("\"rows\":" + exact));
  EXPECT_TRUE(json::parse(page->body)["next_offset"].is_null());
}

TEST_F(ServerTest, AuthenticationIsRequired) {
  // A statement no other test sends, so the history check below is about these requests only.
  const std::string body = R"({"sql": "SELECT 'refused at the door'"})";
  auto anonymous = Client(false);
  auto missing = anonymous.Post("/api/v1/queries", body, "application/json");
  EXPECT_EQ(missing->status, 401);
  EXPECT_THAT(missing->body, HasSubstr("Authorization: Bearer"));
  httplib::Headers wrong = {{"Authorization", "Bearer not-the-token"}};
  EXPECT_EQ(anonymous.Post("/api/v1/queries", wrong, body, "application/json")->status, 403);
  httplib::Headers basic = {{"Authorization", "Basic YWRtaW46YWRtaW4="}};
  EXPECT_EQ(anonymous.Get("/api/v1/queries", basic)->status, 401);
  auto list = Client().Get("/api/v1/queries");
  const json listed = json::parse(list->body);  // (a temporary would die before the loop body)
  ASSERT_FALSE(listed["queries"].empty());
  for (const auto& query : listed["queries"]) {
    EXPECT_NE(query["sql"], "SELECT 'refused at the door'");
  }
}

TEST_F(ServerTest, HostileInputGetsClearErrorsAndTheServerKeepsServing) {
  auto client = Client();
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"{not json", 400, "JSON object"},
           {"[1, 2]", 400, "JSON object"},
           {R"({"query": "SELECT 1"})", 400, "non-empty string field"},
           {R"({"sql": 42})", 400, "non-empty string field"},
           {R"({"sql": ""})", 400, "non-empty string field"},
           {json{{"sql", "COPY (SELECT 1) TO '/tmp/x.csv'"}}.dump(), 403, "COPY is not allowed"},
           {json{{"sql", "SELECT * FROM read_csv('/etc/passwd')"}}.dump(), 403, "not allowed"},
           {json{{"sql", std::string(2 << 20, ' ')}}.dump(), 413, "limit"},
           {std::string("{\"sql\": \"\xff\xfe\"}"), 400, ""},
           {"{\"sql\": \"SELECT 1\", \"x\": " + std::string(200000, '['), 400, "levels deep"},
       }) {
    auto response = client.Post("/api/v1/query", c.body, "application/json");
    ASSERT_TRUE(response) << c.body.substr(0, 40);
    EXPECT_EQ(response->status, c.status) << c.body.substr(0, 60) << " -> " << response->body;
    EXPECT_THAT(response->body, HasSubstr(c.message));
  }
  EXPECT_EQ(client.Get("/api/v1/queries/no-such-id")->status, 404);
  EXPECT_EQ(client.Get("/api/v1/queries?limit=banana")->status, 400);
  // Truncated body and garbage on the wire: declare more than is sent, then hang up.
  for (const std::string& raw :
       {std::string("POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                    "Authorization: Bearer ") +
            *token_ + "\r\n\r\n{\"sql\":",
        std::string("\x16\x03\x01 not http at all\r\n\r\n")}) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::write(fd, raw.data(), raw.size()), static_cast<ssize_t>(raw.size()));
    ::close(fd);
  }
  EXPECT_EQ(client.Get("/health")->status, 200);
  auto ok = client.Post("/api/v1/query", R"({"sql": "SELECT 42 AS answer"})", "application/json");
  EXPECT_EQ(json::parse(ok->body)["rows"][0][0], 42);
}

}  // namespace
}  // namespace loch
