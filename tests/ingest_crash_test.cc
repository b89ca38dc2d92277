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
#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/loch_server.h"
#include "tests/support/record_ledger.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::LochServer;
using testing_support::RecordLedger;
using testing_support::RunCommand;

constexpr int kCrashes = 24;
constexpr int kProducers = 4;
// Small log segments, so that crashes also land while segments rotate and are recycled.
const std::vector<std::string> kServeArgs = {"--wal-segment-mib", "1"};

TEST(IngestCrashTest, AcknowledgedRecordsSurviveSigkillExactlyOnce) {
  const TestDir scratch("loch-crash");
  const std::string lake = scratch / "lake";
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

  RecordLedger ledger;
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
      producers.emplace_back(testing_support::ProduceRecords, server->port(), token, "crash", p,
                             std::ref(next_id), std::ref(stop), std::ref(ledger));
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

  std::multiset<int64_t> in_lake;
  ASSERT_TRUE(testing_support::QueryIntegers(LOCH_BINARY, lake, "SELECT id FROM raw.crash", &in_lake,
                                             &error))
      << error;
  ASSERT_GT(ledger.acknowledged.size(), 1000u) << "the producers barely ran";
  const testing_support::LedgerCheck check = testing_support::CheckLedger(ledger, in_lake);
  EXPECT_EQ(check.missing, 0u) << "acknowledged records lost";
  EXPECT_EQ(check.duplicated, 0u) << "records delivered twice";
  EXPECT_EQ(check.unexpected, 0u) << "records that were never sent";
  std::cout << fmt::format(
      "{} crashes: {} records acknowledged, {} unanswered ({} of them delivered), {} refused "
      "calls; {} rows in the lake\n",
      kCrashes, ledger.acknowledged.size(), ledger.uncertain.size(), check.delivered_unanswered,
      ledger.refused_calls, in_lake.size());

  // Delivered segments are gone (or recycled): one log segment (the one being written) is left.
  size_t segments = 0;
  for (const auto& entry : fs::recursive_directory_iterator(lake + "/.loch/wal")) {
    if (entry.is_regular_file() && entry.path().filename().string().starts_with("wal-")) ++segments;
  }
  EXPECT_EQ(segments, 1u);
}

}  // namespace
}  // namespace loch
