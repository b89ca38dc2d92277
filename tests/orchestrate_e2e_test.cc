// The orchestrator of a real `loch serve`: runs in worker processes that really crash, hang and
// are killed (SIGKILL), retries in new processes, timeouts, cancels, a server killed mid-run, and
// a chain of jobs started by one put of records. Runs are read back through /api/v1/runs and the
// `loch runs` / `loch run` commands.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "common/sanitizers.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing_support::LochServer;
using testing_support::RunCommand;

constexpr auto kPatience = std::chrono::seconds(30);

bool ProcessExists(int64_t pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

class OrchestrateE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCommand(LOCH_BINARY, {"init", "--lake", lake_}).exit_code, 0);
    std::ifstream in(lake_ + "/.loch/admin-credentials.json");
    token_ = json::parse(in)["token"].get<std::string>();
    std::filesystem::create_directories(once_dir_);
  }

  void StartServer(const std::vector<std::string>& environment = {}) {
    std::string error;
    server_ =
        LochServer::Start(LOCH_BINARY, lake_, {"--retry-backoff-ms", "50"}, &error, environment);
    ASSERT_NE(server_, nullptr) << error;
  }

  httplib::Client Client() const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    client.set_default_headers({{"Authorization", "Bearer " + token_}});
    return client;
  }

  // `loch ARGS --lake LAKE`; its output (stdout and stderr).
  std::string Loch(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.end(), {"--lake", lake_});
    auto outcome = RunCommand(LOCH_BINARY, args);
    EXPECT_EQ(outcome.exit_code, expected_exit) << outcome.out << outcome.err;
    return outcome.out + outcome.err;
  }

  // raw.clicks with `rows` rows (ids 1..rows), loaded by the CLI.
  void LoadClicks(int first, int rows) {
    const std::string file = scratch_ / fmt::format("clicks-{}.json", first);
    std::ofstream out(file);
    for (int id = first; id < first + rows; ++id)
      out << fmt::format(R"({{"id": {}, "v": {}}})", id, id * 10) << "\n";
    out.close();
    Loch({"load", file, "--table", "raw.clicks"});
  }

  // A job copying raw.clicks into db.copy, with `extra` options.
  void CreateCopyJob(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{
        "job", "create", name, "--sql", "SELECT id, v FROM raw.clicks", "--target", "db." + name};
    args.insert(args.end(), extra.begin(), extra.end());
    Loch(args);
  }

  json QueueRun(const std::string& job) {
    auto answer = Client().Post("/api/v1/runs", json{{"job", job}}.dump(), "application/json");
    EXPECT_TRUE(answer);
    if (!answer) return json();
    EXPECT_EQ(answer->status, 201) << answer->body;
    return json::parse(answer->body);
  }

  json GetRun(int64_t id) {
    auto answer = Client().Get(fmt::format("/api/v1/runs/{}", id));
    if (!answer || answer->status != 200) return json();
    return json::parse(answer->body);
  }

  // The job's runs, oldest first.
  std::vector<json> RunsOf(const std::string& job) {
    auto answer = Client().Get("/api/v1/runs?name=" + job);
    if (!answer || answer->status != 200) return {};
    const json body = json::parse(answer->body);
    std::vector<json> runs;
    for (const json& run : body["runs"]) runs.insert(runs.begin(), run);
    return runs;
  }

  // Polls until `done` holds (true) or the patience runs out (false).
  bool WaitUntil(const std::function<bool()>& done,
                 std::chrono::milliseconds patience = kPatience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  // Waits until run `id` is RUNNING with its worker paused at a fault point; its pid.
  int64_t WaitUntilPaused(int64_t id) {
    int64_t pid = 0;
    EXPECT_TRUE(WaitUntil([&] {
      const json run = GetRun(id);
      if (run.value("state", "") != "RUNNING") return false;
      auto log = Client().Get(fmt::format("/api/v1/runs/{}/logs", id));
      if (!log || log->body.find("paused at fault point") == std::string::npos) return false;
      pid = run["pid"].get<int64_t>();
      return true;
    })) << GetRun(id).dump();
    return pid;
  }

  // Waits until run `first` has a retry that succeeded; the retry (null if none came).
  json WaitForSucceededRetry(int64_t first) {
    json retry;
    const bool done = WaitUntil([&] {
      const json failed = GetRun(first);
      if (!failed["retry_run_id"].is_number()) return false;
      retry = GetRun(failed["retry_run_id"].get<int64_t>());
      return retry.value("state", "") == "SUCCEEDED";
    });
    return done ? retry : json();
  }

  std::string Count(const std::string& table) {
    return Loch({"sql", "--format", "csv",
                 "SELECT count(*) || ':' || count(DISTINCT id) AS c FROM " + table});
  }

  TestDir scratch_{"loch-orchestrate-e2e"};
  std::string lake_ = scratch_ / "lake";
  std::string once_dir_ = scratch_ / "once";
  std::string token_;
  std::unique_ptr<LochServer> server_;
};

// An HTTP receiver of webhooks in the test: what it got, when, and with which signature.
class WebhookReceiver {
 public:
  struct Received {
    json body;
    std::string signature;
    std::chrono::system_clock::time_point at;
  };
  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mu_);
      received_.push_back({json::parse(request.body, nullptr, false),
                           request.get_header_value("X-Loch-Signature"),
                           std::chrono::system_clock::now()});
      raw_.push_back(request.body);
      response.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::string raw(size_t i) {
    std::lock_guard lock(mu_);
    return raw_.at(i);
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
  std::vector<std::string> raw_;
};

// The events of GET /api/v1/events, read on a thread while the test runs.
class EventReader {
 public:
  EventReader(int port, const std::string& token, const std::string& query = "") {
    thread_ = std::thread([this, port, token, query] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(60, 0);
      client.Get("/api/v1/events" + query, {{"Authorization", "Bearer " + token}},
                 [&](const char* data, size_t length) {
                   std::lock_guard lock(mu_);
                   text_.append(data, length);
                   return !stop_;
                 });
    });
  }
  ~EventReader() {
    stop_ = true;
    thread_.join();  // the server's stop ends the stream
  }
  // The events' data, in order.
  std::vector<json> events() {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    size_t at = 0;
    while ((at = text_.find("data: ", at)) != std::string::npos) {
      const size_t end = text_.find('\n', at);
      if (end == std::string::npos) break;
      out.push_back(json::parse(text_.substr(at + 6, end - at - 6), nullptr, false));
      at = end;
    }
    return out;
  }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::string text_;
  std::atomic<bool> stop_{false};
};

std::string HmacHex(const std::string& key, const std::string& text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

TEST_F(OrchestrateE2eTest, AFailureIsPushedWithinASecondSignedAndADeadReceiverBlocksNothing) {
  LoadClicks(1, 3);
  WebhookReceiver receiver;
  // The job's own webhook is down (nothing listens there): it is retried, then recorded, and the
  // server's webhook gets its notification meanwhile.
  CreateCopyJob("fails", {"--max-attempts", "1", "--failure-webhook", "http://127.0.0.1:9/down"});
  std::string error;
  server_ = LochServer::Start(LOCH_BINARY, lake_, {"--failure-webhook", receiver.url()}, &error,
                              {"LOCH_FAULT_CRASH=job-before-commit"});
  ASSERT_NE(server_, nullptr) << error;
  EventReader reader(server_->port(), token_);
  EventReader only_commits(server_->port(), token_, "?types=commit");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the streams are open

  const int64_t id = QueueRun("fails")["run_id"];
  ASSERT_TRUE(WaitUntil([&] { return !receiver.received().empty(); })) << GetRun(id).dump();
  const WebhookReceiver::Received hook = receiver.received()[0];
  EXPECT_EQ(hook.body["event"], "run_failed");
  EXPECT_EQ(hook.body["run"]["run_id"], id);
  EXPECT_EQ(hook.body["run"]["state"], "FAILED");
  EXPECT_EQ(hook.body["run"]["will_retry"], false);
  EXPECT_THAT(hook.body["run"]["error"].get<std::string>(), HasSubstr("killed by signal 6"));
  EXPECT_THAT(hook.body["run"]["log_tail"].get<std::string>(),
              HasSubstr("crashed at fault point job-before-commit"));
  // Within a second of the run's end (the receiver's clock is this machine's).
  const auto finished = std::chrono::system_clock::time_point(
      std::chrono::microseconds(GetRun(id)["finished_micros"].get<int64_t>()));
  EXPECT_LT(hook.at - finished, std::chrono::seconds(1));
  // Signed: t=<unix seconds>,v1=HMAC-SHA256(secret, "<t>.<body>").
  std::ifstream secret_file(lake_ + "/.loch/webhook-secret");
  std::string secret;
  std::getline(secret_file, secret);
  const size_t comma = hook.signature.find(",v1=");
  ASSERT_TRUE(hook.signature.starts_with("t=") && comma != std::string::npos) << hook.signature;
  const std::string t = hook.signature.substr(2, comma - 2);
  EXPECT_EQ(hook.signature.substr(comma + 4), HmacHex(secret, t + "." + receiver.raw(0)));
  EXPECT_NE(hook.signature.substr(comma + 4), HmacHex("another secret", t + "." + receiver.raw(0)));

  // The event stream saw the run queued, running and failed, then the dead webhook recorded.
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& event : reader.events()) {
      if (event["type"] == "webhook_failed") return true;
    }
    return false;
  })) << json(reader.events()).dump(2);
  std::vector<std::string> states;
  for (const json& event : reader.events()) {
    if (event["type"] == "run" && event["data"]["run_id"] == id)
      states.push_back(event["data"]["state"]);
    if (event["type"] == "webhook_failed") {
      EXPECT_EQ(event["data"]["url"], "http://127.0.0.1:9/down");
      EXPECT_EQ(event["data"]["event"], "run_failed");
    }
  }
  EXPECT_EQ(states, (std::vector<std::string>{"QUEUED", "RUNNING", "FAILED"}));
  EXPECT_EQ(receiver.received().size(), 1u);

  // A failed query goes the same way; a commit shows in the stream of commits only.
  auto query = Client().Post("/api/v1/query", json{{"sql", "SELECT nope FROM raw.clicks"}}.dump(),
                             "application/json");
  ASSERT_TRUE(query);
  ASSERT_TRUE(WaitUntil([&] { return receiver.received().size() == 2; }));
  EXPECT_EQ(receiver.received()[1].body["event"], "query_failed");
  EXPECT_EQ(receiver.received()[1].body["sql_position"], (json{{"line", 1}, {"column", 8}}))
      << receiver.received()[1].body.dump();
  LoadClicks(10, 1);
  ASSERT_TRUE(WaitUntil([&] { return !only_commits.events().empty(); }));
  for (const json& event : only_commits.events()) EXPECT_EQ(event["type"], "commit");
  EXPECT_EQ(only_commits.events()[0]["data"]["table"], "raw.clicks");
  server_.reset();  // ends the streams
}

TEST_F(OrchestrateE2eTest, AFailedStreamDeliveryIsAFailedRunPushedAtOnce) {
  WebhookReceiver receiver;
  std::string error;
  server_ = LochServer::Start(LOCH_BINARY, lake_, {"--failure-webhook", receiver.url()}, &error);
  ASSERT_NE(server_, nullptr) << error;
  auto created =
      Client().Post("/api/v1/streams", json{{"name", "clicks"}, {"buffer_seconds", 1}}.dump(),
                    "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  // A real fault: a file where the stream's folder must go, so every object write fails.
  std::filesystem::create_directories(lake_ + "/raw");
  { std::ofstream(lake_ + "/raw/clicks") << "in the way"; }
  auto put =
      Client().Post("/api/v1/streams/clicks/records", R"({"id": 1})", "application/x-ndjson");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  ASSERT_TRUE(WaitUntil([&] { return !receiver.received().empty(); }));
  const json failure = receiver.received()[0].body;
  EXPECT_EQ(failure["event"], "run_failed");
  EXPECT_EQ(failure["run"]["kind"], "delivery");
  EXPECT_EQ(failure["run"]["name"], "clicks");
  EXPECT_THAT(failure["run"]["error"].get<std::string>(), HasSubstr("delivery of stream clicks"));
  const std::vector<json> runs = RunsOf("clicks");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs[0]["state"], "FAILED");
  // Once the fault is gone the records arrive (the failure runs stay as the record of it).
  std::filesystem::remove(lake_ + "/raw/clicks");
  ASSERT_TRUE(WaitUntil([&] {
    return RunCommand(LOCH_BINARY, {"sql", "--format", "csv",
                                    "SELECT count(*) AS n FROM raw.clicks", "--lake", lake_})
               .out == "n\n1\n";
  }));
  server_.reset();
}

TEST_F(OrchestrateE2eTest, CrawlsAndCompactionsRunByHandAreInTheRunStoreToo) {
  LoadClicks(1, 2);
  LoadClicks(3, 2);
  Loch({"crawler", "create", "all", "--prefix", "raw/", "--database", "crawled"});
  Loch({"crawler", "run", "all"});
  Loch({"compact", "raw.clicks"});
  const json runs = json::parse(Loch({"runs", "--json"}));
  ASSERT_EQ(runs.size(), 2u) << runs.dump(2);
  EXPECT_EQ(runs[0]["kind"], "compaction");
  EXPECT_EQ(runs[0]["name"], "raw.clicks");
  EXPECT_EQ(runs[0]["state"], "SUCCEEDED");
  EXPECT_EQ(runs[0]["report"]["files_before"], 2);
  EXPECT_EQ(runs[1]["kind"], "crawler");
  EXPECT_EQ(runs[1]["name"], "all");
  EXPECT_EQ(runs[1]["state"], "SUCCEEDED");
  EXPECT_THAT(Loch({"sql", "--format", "csv",
                    "SELECT string_agg(kind, ',' ORDER BY run_id) AS k FROM loch.runs"}),
              HasSubstr("crawler,compaction"));
}

TEST_F(OrchestrateE2eTest, TablesShowTheirLastChangeAndAStaleTableRaisesAnAlertOnce) {
  LoadClicks(1, 2);
  CreateCopyJob("copy");
  WebhookReceiver receiver;
  std::string error;
  server_ = LochServer::Start(LOCH_BINARY, lake_, {"--failure-webhook", receiver.url()}, &error);
  ASSERT_NE(server_, nullptr) << error;
  const int64_t run = QueueRun("copy")["run_id"];
  ASSERT_TRUE(WaitUntil([&] { return GetRun(run).value("state", "") == "SUCCEEDED"; }));
  // Which run changed each table, and when.
  const json tables = json::parse(Loch({"freshness", "--json"}));
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]["table"], "db.copy");
  EXPECT_EQ(tables[0]["run_id"], run);
  EXPECT_TRUE(tables[1]["run_id"].is_null());  // raw.clicks: a load
  EXPECT_THAT(Loch({"freshness", "raw.clicks", "--expect-every", "bogus"}, 1),
              HasSubstr("invalid --expect-every \"bogus\""));
  EXPECT_THAT(Loch({"freshness", "raw.nope", "--expect-every", "1h"}, 1), HasSubstr("raw.nope"));

  EventReader reader(server_->port(), token_, "?types=freshness");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto put =
      Client().Put("/api/v1/freshness/raw.clicks", R"({"expect_every": "2s"})", "application/json");
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 200) << put->body;
  // Stale within a second or two of the two seconds: one event, one webhook.
  ASSERT_TRUE(WaitUntil([&] { return !receiver.received().empty(); }));
  const json alert = receiver.received()[0].body;
  EXPECT_EQ(alert["event"], "table_stale");
  EXPECT_EQ(alert["table"], "raw.clicks");
  EXPECT_EQ(alert["stale"], true);
  EXPECT_EQ(alert["expect_every_seconds"], 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(receiver.received().size(), 1u);  // once while it stays stale
  EXPECT_THAT(Loch({"freshness", "raw.clicks"}), HasSubstr("STALE"));
  // Fresh again after a commit; stale again later: a second alert.
  LoadClicks(10, 1);
  EXPECT_THAT(Loch({"freshness", "raw.clicks"}), HasSubstr("fresh"));
  ASSERT_TRUE(WaitUntil([&] { return receiver.received().size() == 2; }));
  ASSERT_TRUE(WaitUntil([&] { return reader.events().size() == 2; }));
  EXPECT_EQ(reader.events()[0]["type"], "freshness");
  auto removed = Client().Delete("/api/v1/freshness/raw.clicks");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  EXPECT_FALSE(json::parse(Loch({"freshness", "raw.clicks", "--json"}))[0].contains("stale"));
  server_.reset();
}

TEST_F(OrchestrateE2eTest, AWorkerKilledMidRunIsRetriedInANewProcessAndPublishesOnce) {
  LoadClicks(1, 5);
  CreateCopyJob("copy");
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit", "LOCH_FAULT_ONCE_DIR=" + once_dir_});
  const json queued = QueueRun("copy");
  EXPECT_EQ(queued["state"], "QUEUED");
  EXPECT_EQ(queued["max_attempts"], 3);  // the default
  const int64_t first = queued["run_id"];
  const int64_t pid = WaitUntilPaused(first);
  ASSERT_GT(pid, 0);
  ASSERT_NE(pid, server_->pid());  // a worker process, not the server
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGKILL), 0);

  const json retry = WaitForSucceededRetry(first);
  ASSERT_FALSE(retry.is_null()) << RunsOf("copy").size() << " runs: " << GetRun(first).dump();
  const json failed = GetRun(first);
  EXPECT_EQ(failed["state"], "FAILED");
  EXPECT_THAT(failed["error"].get<std::string>(), HasSubstr("killed by signal 9"));
  EXPECT_THAT(failed["log_tail"].get<std::string>(), HasSubstr("paused at fault point"));
  EXPECT_EQ(retry["attempt"], 2);
  EXPECT_EQ(retry["previous_run_id"], first);
  EXPECT_NE(retry["pid"], pid);  // a new worker, never the one that failed
  EXPECT_THAT(retry["trigger"].get<std::string>(),
              HasSubstr(fmt::format("retry of run {}", first)));
  EXPECT_EQ(Count("db.copy"), "c\n5:5\n");  // the killed attempt published nothing
}

TEST_F(OrchestrateE2eTest, AWorkerThatCrashesEveryTimeFailsAfterItsAttemptsEachInANewProcess) {
  LoadClicks(1, 3);
  CreateCopyJob("crashy", {"--max-attempts", "3"});
  StartServer({"LOCH_FAULT_CRASH=job-before-commit"});
  const int64_t first = QueueRun("crashy")["run_id"];
  ASSERT_TRUE(WaitUntil([&] {
    const std::vector<json> runs = RunsOf("crashy");
    return runs.size() == 3 && runs.back()["state"] == "FAILED";
  })) << json(RunsOf("crashy")).dump(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // no fourth attempt comes
  const std::vector<json> runs = RunsOf("crashy");
  ASSERT_EQ(runs.size(), 3u);
  std::set<int64_t> pids;
  for (size_t i = 0; i < runs.size(); ++i) {
    const json& run = runs[i];
    EXPECT_EQ(run["state"], "FAILED");
    EXPECT_EQ(run["attempt"], static_cast<int>(i) + 1);
    EXPECT_EQ(run["previous_run_id"], i == 0 ? json(nullptr) : runs[i - 1]["run_id"]);
    EXPECT_THAT(run["error"].get<std::string>(), HasSubstr("killed by signal 6"));
    EXPECT_THAT(run["log_tail"].get<std::string>(),
                HasSubstr("crashed at fault point job-before-commit"));
    pids.insert(run["pid"].get<int64_t>());
  }
  EXPECT_EQ(pids.size(), 3u);  // each attempt in its own process
  EXPECT_EQ(runs[0]["run_id"], first);
  EXPECT_TRUE(runs[2]["retry_run_id"].is_null());
  // The CLI shows the same: failures first with --failed, the log of an attempt.
  const std::string listed = Loch({"runs", "--failed", "--name", "crashy"});
  EXPECT_THAT(listed, HasSubstr("3/3"));
  EXPECT_THAT(listed, HasSubstr("killed by signal 6"));
  EXPECT_THAT(Loch({"run", "logs", std::to_string(first)}),
              HasSubstr("crashed at fault point job-before-commit"));
  EXPECT_THAT(Loch({"sql", "SELECT count(*) FROM db.crashy"}, 1), HasSubstr("db.crashy"));
}

TEST_F(OrchestrateE2eTest, AHangingRunIsKilledAtItsTimeoutAndNotRetried) {
  LoadClicks(1, 3);
  CreateCopyJob("hangs", {"--timeout", "2"});
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit"});
  const int64_t id = QueueRun("hangs")["run_id"];
  const int64_t pid = WaitUntilPaused(id);
  ASSERT_TRUE(WaitUntil([&] { return GetRun(id).value("state", "") == "TIMEOUT"; }))
      << GetRun(id).dump();
  const json run = GetRun(id);
  EXPECT_THAT(run["error"].get<std::string>(), HasSubstr("timed out after 2 s"));
  EXPECT_FALSE(ProcessExists(pid));
  const double took =
      (run["finished_micros"].get<double>() - run["started_micros"].get<double>()) / 1e6;
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(GetRun(id)["retry_run_id"].is_null());  // a hang would hang again: no retry
  EXPECT_EQ(RunsOf("hangs").size(), 1u);
}

// The "Max address space" soft limit of process `pid` in bytes, -1 for unlimited or unknown.
int64_t AddressSpaceLimit(int64_t pid) {
  std::ifstream in(fmt::format("/proc/{}/limits", pid));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Max address space")) continue;
    std::istringstream fields(line.substr(std::string("Max address space").size()));
    std::string soft;
    fields >> soft;
    return soft == "unlimited" ? -1 : std::stoll(soft);
  }
  return -1;
}

TEST_F(OrchestrateE2eTest, AJobsMemoryLimitIsAHardCapOnItsWorkerAndAHogFailsAlone) {
  if (kUnderSanitizer) GTEST_SKIP() << "no address-space cap under sanitizers";
  LoadClicks(1, 3);
  CreateCopyJob("capped", {"--memory-limit", "256MB"});
  // A 1.5 GB string: memory the engine's own accounting does not see, so only the cap stops it.
  Loch({"job", "create", "hog", "--sql",
        "SELECT id, length(repeat('x', 1500000000)) AS n FROM raw.clicks", "--target", "db.hog",
        "--memory-limit", "256MB", "--max-attempts", "1"});
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit"});

  const int64_t capped = QueueRun("capped")["run_id"];
  const int64_t pid = WaitUntilPaused(capped);
  const int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(AddressSpaceLimit(pid), 256'000'000 + (int64_t{1} << 30) + threads * (80 << 20));
  EXPECT_EQ(AddressSpaceLimit(server_->pid()), -1);  // the server itself is not capped

  const int64_t hog = QueueRun("hog")["run_id"];
  ASSERT_TRUE(WaitUntil([&] { return GetRun(hog).value("state", "") == "FAILED"; }))
      << GetRun(hog).dump();
  // Refused by the process's cap (a failed allocation), not by the engine's accounting.
  EXPECT_THAT(GetRun(hog)["error"].get<std::string>(),
              AllOf(HasSubstr("Out of Memory"), HasSubstr("bad allocation")));
  EXPECT_TRUE(GetRun(hog)["retry_run_id"].is_null());
  EXPECT_TRUE(ProcessExists(pid));  // the other run's worker is untouched
  EXPECT_EQ(GetRun(capped)["state"], "RUNNING");
  EXPECT_THAT(Loch({"sql", "SELECT count(*) AS n FROM raw.clicks"}), HasSubstr("3"));
}

TEST_F(OrchestrateE2eTest, ARunningRunIsCancelledAndAQueuedOneNeverStarts) {
  LoadClicks(1, 3);
  CreateCopyJob("slow");
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit"});
  const int64_t running = QueueRun("slow")["run_id"];
  const int64_t pid = WaitUntilPaused(running);
  // A second run of the job waits for the first: runs of a job never overlap.
  const int64_t waiting = QueueRun("slow")["run_id"];
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(GetRun(waiting)["state"], "QUEUED");
  EXPECT_THAT(Loch({"run", "cancel", std::to_string(waiting)}), HasSubstr("Cancelled run"));
  EXPECT_EQ(GetRun(waiting)["state"], "CANCELLED");

  auto cancel = Client().Post(fmt::format("/api/v1/runs/{}/cancel", running), "", "text/plain");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 200) << cancel->body;
  ASSERT_TRUE(WaitUntil([&] { return GetRun(running).value("state", "") == "CANCELLED"; }))
      << GetRun(running).dump();
  EXPECT_FALSE(ProcessExists(pid));
  EXPECT_THAT(Loch({"run", "cancel", std::to_string(running)}, 1), HasSubstr("already ended"));

  // A cancelled run can be retried by hand: a new attempt, queued.
  auto retried = Client().Post(fmt::format("/api/v1/runs/{}/retry", waiting), "", "text/plain");
  ASSERT_TRUE(retried);
  ASSERT_EQ(retried->status, 201) << retried->body;
  const json retry = json::parse(retried->body);
  EXPECT_EQ(retry["attempt"], 2);
  EXPECT_EQ(retry["previous_run_id"], waiting);
  auto again = Client().Post(fmt::format("/api/v1/runs/{}/retry", waiting), "", "text/plain");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << again->body;  // once
  // (Cancelled too, or the server's stop would wait for its paused worker.)
  Loch({"run", "cancel", std::to_string(retry["run_id"].get<int64_t>())});
  EXPECT_TRUE(WaitUntil(
      [&] { return GetRun(retry["run_id"].get<int64_t>()).value("state", "") == "CANCELLED"; }));
}

TEST_F(OrchestrateE2eTest, AServerKilledMidRunFindsTheRunOnRestartAndCompletesItOnce) {
  LoadClicks(1, 7);
  CreateCopyJob("steady");
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit", "LOCH_FAULT_ONCE_DIR=" + once_dir_});
  const int64_t first = QueueRun("steady")["run_id"];
  const int64_t worker = WaitUntilPaused(first);
  server_->Kill();
  // Its worker dies with it (nothing keeps running unwatched).
  EXPECT_TRUE(WaitUntil([&] { return !ProcessExists(worker); }, std::chrono::seconds(5)));

  StartServer();
  const json retry = WaitForSucceededRetry(first);
  ASSERT_FALSE(retry.is_null()) << json(RunsOf("steady")).dump(2);
  const json failed = GetRun(first);
  EXPECT_EQ(failed["state"], "FAILED");
  EXPECT_THAT(failed["error"].get<std::string>(), HasSubstr(std::to_string(worker)));
  EXPECT_EQ(RunsOf("steady").size(), 2u);
  EXPECT_EQ(Count("db.steady"), "c\n7:7\n");  // exactly once
}

TEST_F(OrchestrateE2eTest, JobsAndCrawlersRunOnTheirSchedulesAndAMissedTimeIsMadeUpOnce) {
  LoadClicks(1, 2);
  Loch({"job", "create", "tick", "--sql", "SELECT count(*) AS n FROM raw.clicks", "--target",
        "db.tick", "--mode", "replace-partitions", "--schedule", "* * * * * *", "--timezone",
        "Europe/Paris"});
  Loch({"crawler", "create", "nightly", "--prefix", "raw/", "--database", "crawled", "--schedule",
        "*/2 * * * * *"});
  EXPECT_THAT(Loch({"job", "create", "bad", "--sql", "SELECT 1 AS x", "--target", "db.bad",
                    "--schedule", "61 * * * *"},
                   1),
              HasSubstr("cron field MIN"));
  EXPECT_THAT(Loch({"job", "create", "bad", "--sql", "SELECT 1 AS x", "--target", "db.bad",
                    "--schedule", "@daily", "--timezone", "Mars/Olympus"},
                   1),
              HasSubstr("unknown time zone"));
  StartServer();
  auto scheduled = [&](const std::string& name) {
    std::vector<json> runs;
    for (const json& run : RunsOf(name)) {
      if (run["state"] == "SUCCEEDED" && run["trigger_detail"]["type"] == "schedule") {
        runs.push_back(run);
      }
    }
    return runs;
  };
  ASSERT_TRUE(WaitUntil([&] {
    return scheduled("tick").size() >= 2 && !scheduled("nightly").empty();
  })) << json(RunsOf("tick")).dump(2)
      << json(RunsOf("nightly")).dump(2);
  const std::vector<json> ticks = scheduled("tick");
  EXPECT_LT(ticks[0]["trigger_detail"]["scheduled_micros"],
            ticks[1]["trigger_detail"]["scheduled_micros"]);
  EXPECT_EQ(ticks[0]["trigger_detail"]["timezone"], "Europe/Paris");
  EXPECT_THAT(ticks[0]["trigger"].get<std::string>(), HasSubstr("schedule \"* * * * * *\""));
  const json crawl = scheduled("nightly")[0];
  EXPECT_EQ(crawl["kind"], "crawler");
  EXPECT_NE(crawl["pid"], server_->pid());  // in a worker process too

  // Stopped for a while: the times missed are made up by one run at the next start.
  server_->Stop();
  int64_t last_before = 0;  // read from the run store with the server stopped
  for (const json& run : json::parse(Loch({"runs", "--name", "tick", "--json"}))) {
    last_before =
        std::max(last_before, run["trigger_detail"].value("scheduled_micros", int64_t{0}));
  }
  ASSERT_GT(last_before, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t restarted = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  StartServer();
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& run : scheduled("tick")) {
      if (run["trigger_detail"]["scheduled_micros"].get<int64_t>() > last_before) return true;
    }
    return false;
  }));
  int made_up = 0;
  for (const json& run : scheduled("tick")) {
    const int64_t due = run["trigger_detail"]["scheduled_micros"];
    if (due > last_before && due < restarted) ++made_up;
  }
  EXPECT_EQ(made_up, 1);  // one run for the three missed seconds, not three
}

TEST_F(OrchestrateE2eTest, ACancelAskedWhileTheServerWasDownEndsTheRunCancelledNotRetried) {
  LoadClicks(1, 3);
  CreateCopyJob("doomed");
  StartServer({"LOCH_FAULT_PAUSE=job-before-commit", "LOCH_FAULT_ONCE_DIR=" + once_dir_});
  const int64_t id = QueueRun("doomed")["run_id"];
  WaitUntilPaused(id);
  server_->Kill();
  EXPECT_THAT(Loch({"run", "cancel", std::to_string(id)}), HasSubstr("Asked `loch serve`"));
  StartServer();
  ASSERT_TRUE(WaitUntil([&] { return GetRun(id).value("state", "") == "CANCELLED"; }))
      << GetRun(id).dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(GetRun(id)["retry_run_id"].is_null());
  EXPECT_EQ(RunsOf("doomed").size(), 1u);
}

TEST_F(OrchestrateE2eTest, TwoCrawlsOfACrawlerNeverOverlap) {
  LoadClicks(1, 2);
  Loch({"crawler", "create", "all", "--prefix", "raw/", "--database", "crawled"});
  // Another process holds the crawler's lock (as a crawl in progress does).
  const std::string lock = lake_ + "/.loch/locks/crawler-all.lock";
  std::filesystem::create_directories(lake_ + "/.loch/locks");
  auto holder = testing_support::ChildProcess::Start("/usr/bin/flock", {"-o", lock, "sleep", "30"},
                                                     scratch_ / "flock.log");
  ASSERT_NE(holder, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_THAT(Loch({"crawler", "run", "all"}, 1), HasSubstr("already running"));
  holder->Kill();
  Loch({"crawler", "run", "all"});
}

TEST_F(OrchestrateE2eTest, OnePutStartsTheChainOfJobsEachSayingWhatTriggeredIt) {
  StartServer();
  auto created =
      Client().Post("/api/v1/streams", json{{"name", "clicks"}, {"buffer_seconds", 1}}.dump(),
                    "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  auto put = [&](const std::string& records) {
    auto answer = Client().Post("/api/v1/streams/clicks/records", records, "application/x-ndjson");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200) << answer->body;
  };
  put(R"({"id": 0, "v": 0})");  // makes raw.clicks, which the jobs read
  ASSERT_TRUE(WaitUntil([&] {
    return RunCommand(LOCH_BINARY, {"describe", "raw.clicks", "--lake", lake_}).exit_code == 0;
  }));
  Loch({"job", "create", "clean", "--sql", "SELECT id, v * 2 AS v2 FROM raw.clicks WHERE id > 0",
        "--target", "db.clean", "--mode", "replace-partitions", "--on-update", "--debounce", "0",
        "--tags", "shop"});
  Loch({"job", "create", "daily", "--sql", "SELECT count(*) AS n, sum(v2) AS total FROM db.clean",
        "--target", "db.daily", "--mode", "replace-partitions", "--on-update", "--debounce", "0"});
  // A dependency tag: audit runs after every job tagged shop (clean), reading no table of it.
  Loch({"job", "create", "audit", "--sql", "SELECT 1 AS checked", "--target", "db.audit", "--mode",
        "replace-partitions", "--after", "tag:shop"});
  // A cycle is refused when the job that would close it is defined.
  EXPECT_THAT(Loch({"job", "create", "loop", "--sql", "SELECT n AS id, total AS v FROM db.daily",
                    "--target", "raw.clicks"},
                   1),
              HasSubstr("cycle of jobs (loop -> clean -> daily -> loop)"));

  put("{\"id\": 1, \"v\": 10}\n{\"id\": 2, \"v\": 20}\n{\"id\": 3, \"v\": 30}\n");
  ASSERT_TRUE(WaitUntil([&] {
    const std::vector<json> daily = RunsOf("daily");
    return !daily.empty() && daily.back()["state"] == "SUCCEEDED";
  })) << json(RunsOf("clean")).dump(2)
      << json(RunsOf("daily")).dump(2);
  EXPECT_EQ(Loch({"sql", "--format", "csv", "SELECT n || ':' || total AS c FROM db.daily"}),
            "c\n3:120\n");
  const std::vector<json> clean = RunsOf("clean");
  const std::vector<json> daily = RunsOf("daily");
  ASSERT_EQ(clean.size(), 1u);  // one run for the put
  ASSERT_EQ(daily.size(), 1u);
  EXPECT_THAT(clean[0]["trigger"].get<std::string>(), HasSubstr("table update of raw.clicks"));
  EXPECT_EQ(clean[0]["trigger_detail"]["type"], "table_update");
  EXPECT_EQ(clean[0]["tags"], json::array({"shop"}));
  EXPECT_THAT(daily[0]["trigger"].get<std::string>(),
              HasSubstr(fmt::format("table update of db.clean at snapshot {} by run {}",
                                    clean[0]["report"]["snapshot_written"].get<int64_t>(),
                                    clean[0]["run_id"].get<int64_t>())));
  EXPECT_EQ(daily[0]["trigger_detail"]["upstream_run"], clean[0]["run_id"]);
  EXPECT_THAT(Loch({"runs", "--tag", "shop"}), HasSubstr("clean"));
  ASSERT_TRUE(WaitUntil([&] {
    const std::vector<json> audit = RunsOf("audit");
    return !audit.empty() && audit.back()["state"] == "SUCCEEDED";
  }));
  const json audit = RunsOf("audit")[0];
  EXPECT_EQ(audit["trigger_detail"]["type"], "upstream");
  EXPECT_EQ(audit["trigger_detail"]["upstream_run"], clean[0]["run_id"]);
}

}  // namespace
}  // namespace loch
