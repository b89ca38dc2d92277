// The durability promise, tested the hard way: `loch serve` is killed with SIGKILL at random points
// while producers put records concurrently, more than twenty times. After the last restart every
// acknowledged record must be in the lake exactly once. Records whose call got no answer (the
// server died first) may be there or not, but at most once; nothing else may be there.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/ids.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::LochServer;
using testing_support::RunCommand;

constexpr int kCrashes = 24;
constexpr int kProducers = 4;
// Small log segments, so that crashes also land while segments rotate and are recycled.
const std::vector<std::string> kServeArgs = {"--wal-segment-mib", "1"};

struct Ledger {
  std::mutex mu;
  std::set<int64_t> acknowledged;
  std::set<int64_t> uncertain;  // sent, but the answer never came
  int64_t refused_calls = 0;
};

// Puts batches of 1-40 records until the server stops answering or `stop` is set.
void Produce(int port, const std::string& token, int producer, std::atomic<int64_t>& next_id,
             std::atomic<bool>& stop, Ledger& ledger) {
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  client.set_read_timeout(5, 0);
  std::mt19937 random(static_cast<unsigned>(producer * 7919 + next_id.load()));
  const httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  while (!stop) {
    const int count = 1 + static_cast<int>(random() % 40);
    std::vector<int64_t> ids;
    std::string body;
    for (int i = 0; i < count; ++i) {
      ids.push_back(next_id++);
      body += fmt::format(R"({{"id": {}, "producer": {}, "pad": "{}"}})", ids.back(), producer,
                          std::string(random() % 200, 'x'));
      body += '\n';
    }
    auto answer = client.Post("/api/v1/streams/crash/records", headers, body, "text/plain");
    std::lock_guard lock(ledger.mu);
    if (!answer) {
      ledger.uncertain.insert(ids.begin(), ids.end());
      return;  // the server is gone
    }
    if (answer->status != 200) {
      ++ledger.refused_calls;
      ledger.uncertain.insert(ids.begin(), ids.end());
      continue;
    }
    const json results = json::parse(answer->body)["records"];
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].contains("record_id")) ledger.acknowledged.insert(ids[i]);
    }
  }
}

TEST(IngestCrashTest, AcknowledgedRecordsSurviveSigkillExactlyOnce) {
  const std::string lake =
      (fs::path(testing::TempDir()) / ("loch-crash-" + NewRandomId()) / "lake").string();
  ASSERT_EQ(RunCommand(LOCH_BINARY, {"init", "--lake", lake}).exit_code, 0);
  std::ifstream credentials(lake + "/.loch/admin-credentials.json");
  const std::string token = json::parse(credentials)["token"].get<std::string>();

  std::string error;
  auto server = LochServer::Start(LOCH_BINARY, lake, kServeArgs, &error);
  ASSERT_NE(server, nullptr) << error;
  {
    httplib::Client client("127.0.0.1", server->port());
    auto created = client.Post("/api/v1/streams", {{"Authorization", "Bearer " + token}},
                               R"({"name": "crash", "buffer_seconds": 0})", "application/json");
    ASSERT_EQ(created->status, 201) << created->body;
  }

  Ledger ledger;
  std::atomic<int64_t> next_id{1};
  std::mt19937 random(20261127);
  for (int crash = 0; crash < kCrashes; ++crash) {
    if (server == nullptr) {
      server = LochServer::Start(LOCH_BINARY, lake, kServeArgs, &error);
      ASSERT_NE(server, nullptr) << "restart " << crash << ": " << error;
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back(Produce, server->port(), token, p, std::ref(next_id), std::ref(stop),
                             std::ref(ledger));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 600));
    server->Kill();
    server.reset();
    stop = true;
    for (auto& producer : producers) producer.join();
  }

  // The last restart replays what was acknowledged and not yet delivered.
  server = LochServer::Start(LOCH_BINARY, lake, kServeArgs, &error);
  ASSERT_NE(server, nullptr) << error;
  {
    httplib::Client client("127.0.0.1", server->port());
    client.set_read_timeout(60, 0);
    auto flushed = client.Post("/api/v1/streams/crash/flush",
                               {{"Authorization", "Bearer " + token}}, "", "text/plain");
    ASSERT_EQ(flushed->status, 200) << flushed->body;
  }
  ASSERT_EQ(server->Stop(), 0);

  auto ids = RunCommand(LOCH_BINARY, {"sql", "--lake", lake, "--format", "csv",
                                      "SELECT id FROM raw.crash ORDER BY id"});
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  std::multiset<int64_t> in_lake;
  std::istringstream lines(ids.out);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    if (!line.empty()) in_lake.insert(std::stoll(line));
  }

  ASSERT_GT(ledger.acknowledged.size(), 1000u) << "the producers barely ran";
  size_t missing = 0, duplicated = 0, unexpected = 0;
  for (int64_t id : ledger.acknowledged) {
    if (!in_lake.contains(id)) ++missing;
  }
  for (auto it = in_lake.begin(); it != in_lake.end(); it = in_lake.upper_bound(*it)) {
    if (in_lake.count(*it) > 1) ++duplicated;
    if (!ledger.acknowledged.contains(*it) && !ledger.uncertain.contains(*it)) ++unexpected;
  }
  EXPECT_EQ(missing, 0u) << "acknowledged records lost";
  EXPECT_EQ(duplicated, 0u) << "records delivered twice";
  EXPECT_EQ(unexpected, 0u) << "records that were never sent";
  std::cout << fmt::format(
      "{} crashes: {} records acknowledged, {} unanswered ({} of them delivered), {} refused "
      "calls; {} rows in the lake\n",
      kCrashes, ledger.acknowledged.size(), ledger.uncertain.size(),
      in_lake.size() - (ledger.acknowledged.size() - missing), ledger.refused_calls,
      in_lake.size());

  // Delivered segments are gone (or recycled): one log segment (the one being written) is left.
  size_t segments = 0;
  for (const auto& entry : fs::recursive_directory_iterator(lake + "/.loch/wal")) {
    if (entry.is_regular_file() && entry.path().filename().string().starts_with("wal-")) ++segments;
  }
  EXPECT_EQ(segments, 1u);
}

}  // namespace
}  // namespace loch
