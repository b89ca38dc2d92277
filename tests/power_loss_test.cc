// Power loss, not only SIGKILL: after SIGKILL the kernel still writes the page cache back, so a
// missing fsync (of a file, or of the folder that holds a new file) goes unnoticed. Here
// `loch serve` runs under the power-loss shim (tests/support/power_loss.h) while producers put
// records into a stream and a writer inserts rows with SQL; it is killed at a random point and the
// lake folder (its state folder with the catalog and the write-ahead logs included) is cut back to
// what a disk would hold: file contents as of their last fsync, folder entries as of their
// folder's last fsync. After several such power losses every acknowledged record and row must be
// in the lake exactly once, and every file the catalog names must be readable.

#include "tests/support/power_loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
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

constexpr int kPowerLosses = 8;
constexpr int kProducers = 3;
const std::vector<std::string> kServeArgs = {"--wal-segment-mib", "1"};

size_t CountFiles(const std::string& root) {
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) files += entry.is_regular_file();
  return files;
}

// Inserts rows (k) into pl.rows one statement at a time until the server stops answering or
// `stop` is set; each k is recorded as acknowledged (200) or uncertain.
void InsertRows(int port, const std::string& token, std::atomic<int64_t>& next_k,
                std::atomic<bool>& stop, RecordLedger& ledger) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(10, 0);
  const httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  while (!stop) {
    const int64_t k = next_k++;
    const std::string sql = fmt::format("INSERT INTO pl.rows SELECT {} AS k", k);
    auto answer =
        client.Post("/api/v1/query", headers, json{{"sql", sql}}.dump(), "application/json");
    std::lock_guard lock(ledger.mu);
    if (answer && answer->status == 200) {
      ledger.acknowledged.insert(k);
      continue;
    }
    ledger.uncertain.insert(k);
    if (!answer) return;
    ++ledger.refused_calls;
  }
}

size_t AcknowledgedCount(RecordLedger& ledger) {
  std::lock_guard lock(ledger.mu);
  return ledger.acknowledged.size();
}

// "NAME='value' ..." for RunCommand, from "NAME=value" words.
std::string ShellAssignments(const std::vector<std::string>& variables) {
  std::string assignments;
  for (const std::string& variable : variables) {
    const size_t equals = variable.find('=');
    assignments += variable.substr(0, equals + 1) +
                   testing_support::ShellQuote(variable.substr(equals + 1)) + " ";
  }
  return assignments;
}

// The file's content, or "(none)" when it does not exist.
std::string ContentOf(const fs::path& path) {
  if (!fs::exists(path)) return "(none)";
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A few acknowledged values the lake lacks, for the failure message.
std::string FirstMissing(const RecordLedger& ledger, const std::multiset<int64_t>& found) {
  std::string missing;
  int shown = 0;
  for (int64_t value : ledger.acknowledged) {
    if (found.contains(value)) continue;
    if (++shown > 20) return missing + "...";
    missing += std::to_string(value) + " ";
  }
  return missing;
}

// The warnings and errors each run of the server logged (serve-N.log under `base`).
std::string ProblemsLogged(const std::string& base, int runs) {
  std::string problems;
  for (int run = 0; run < runs; ++run) {
    std::ifstream log(fmt::format("{}/serve-{}.log", base, run));
    for (std::string line; std::getline(log, line);) {
      if (line.find("[warning]") != std::string::npos || line.find("[error]") != std::string::npos)
        problems += fmt::format("serve-{}: {}\n", run, line.substr(0, 400));
    }
  }
  return problems;
}

// The shim itself: only what was fsynced survives, file contents and folder entries alike.
TEST(PowerLossTest, ShimKeepsOnlyWhatWasSynced) {
  const TestDir scratch("loch-shim");
  const fs::path root = scratch / "root";
  const std::string shadow = root.parent_path() / "shadow";
  fs::create_directories(root);
  std::ofstream(root / "old") << "from before";  // the starting tree counts as synced
  const std::string environment =
      ShellAssignments(testing_support::PowerLossEnvironment(root, shadow));
  auto in = [&](const char* name) { return (root / name).string(); };
  const auto probe = testing_support::RunCommand(
      POWER_LOSS_PROBE,
      {"mkdir",     in("d"),   "fsync",    in(""),  // d is durable
       "write",     in("d/a"), "hello",    "fsync",   in("d/a"),   "fsync", in("d"),  // so is a
       "append",    in("d/a"), " world",                                              // not this
       "write",     in("d/b"), "lost",     "fsync",   in("d"),    // b's name only
       "write",     in("d/c"), "c",        "fsync",   in("d/c"),  // c's content only
       "overwrite", in("d/a"), "J",        "fsync",   in("d/a"),  // Jello world
       "rename",    in("d/a"), in("d/a2"),                        // not synced
       "mkdir",     in("e"),   "write",    in("e/f"), "f",         "fsync", in("e/f"),
       "fsync",     in("e"),   "append",   in("old"), " and after"},
      environment);
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(ContentOf(root / "d/a2"), "Jello world");  // before the power loss
  std::string error;
  ASSERT_TRUE(testing_support::RestoreAfterPowerLoss(shadow, root, &error)) << error;
  EXPECT_EQ(ContentOf(root / "d/a"), "Jello world");
  EXPECT_EQ(ContentOf(root / "d/a2"), "(none)");
  EXPECT_EQ(ContentOf(root / "d/b"), "");
  EXPECT_EQ(ContentOf(root / "d/c"), "(none)");
  EXPECT_EQ(ContentOf(root / "e"), "(none)");
  EXPECT_EQ(ContentOf(root / "old"), "from before");
}

// The other extreme: every name reached the disk, no unsynced data did.
TEST(PowerLossTest, ShimCanKeepNamesButNotUnsyncedData) {
  const TestDir scratch("loch-shim");
  const fs::path root = scratch / "root";
  const std::string shadow = root.parent_path() / "shadow";
  fs::create_directories(root);
  const std::string environment =
      ShellAssignments(testing_support::PowerLossEnvironment(root, shadow));
  auto in = [&](const char* name) { return (root / name).string(); };
  const auto probe = testing_support::RunCommand(
      POWER_LOSS_PROBE,
      {"write", in("synced"), "kept", "fsync", in("synced"),  // content synced, name not
       "write", in("temp"), "lost", "rename", in("temp"), in("published")},  // neither
      environment);
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  std::string error;
  ASSERT_TRUE(testing_support::RestoreAfterPowerLoss(
      shadow, root, &error, testing_support::PowerLoss::kCurrentNamesSyncedContents))
      << error;
  EXPECT_EQ(ContentOf(root / "synced"), "kept");
  EXPECT_EQ(ContentOf(root / "published"), "");  // renamed into place before its data was synced
  EXPECT_EQ(ContentOf(root / "temp"), "(none)");
}

TEST(PowerLossTest, AcknowledgedRecordsAndRowsSurvivePowerLossExactlyOnce) {
  const TestDir scratch("loch-power");
  const std::string& base = scratch.path();
  const std::string lake = base + "/lake";
  // The power goes out right after `loch init` said it is done.
  fs::create_directories(lake);
  const std::string environment =
      ShellAssignments(testing_support::PowerLossEnvironment(lake, base + "/shadow-init"));
  ASSERT_EQ(
      testing_support::RunCommand(LOCH_BINARY, {"init", "--lake", lake}, environment).exit_code, 0);
  std::string error;
  ASSERT_TRUE(testing_support::RestoreAfterPowerLoss(base + "/shadow-init", lake, &error)) << error;
  std::ifstream credentials(lake + "/.loch/admin-credentials.json");
  const std::string token = json::parse(credentials)["token"].get<std::string>();
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};

  RecordLedger records, rows;
  std::atomic<int64_t> next_id{1}, next_k{1};
  std::mt19937 random(20261130);
  for (int loss = 0; loss < kPowerLosses; ++loss) {
    const std::string shadow = fmt::format("{}/shadow-{}", base, loss);
    auto server = LochServer::Start(LOCH_BINARY, lake, kServeArgs, &error,
                                    testing_support::PowerLossEnvironment(lake, shadow));
    ASSERT_NE(server, nullptr) << "start " << loss << ": " << error;
    if (loss == 0) {
      httplib::Client client("127.0.0.1", server->port());
      auto stream = client.Post("/api/v1/streams", auth,
                                R"({"name": "events", "buffer_seconds": 0})", "application/json");
      ASSERT_EQ(stream->status, 201) << stream->body;
      auto table =
          client.Post("/api/v1/query", auth, R"({"sql": "CREATE TABLE pl.rows AS SELECT 0 AS k"})",
                      "application/json");
      ASSERT_EQ(table->status, 200) << table->body;
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int p = 0; p < kProducers; ++p) {
      writers.emplace_back(testing_support::ProduceRecords, server->port(), token, "events", p,
                           std::ref(next_id), std::ref(stop), std::ref(records));
    }
    writers.emplace_back(InsertRows, server->port(), token, std::ref(next_k), std::ref(stop),
                         std::ref(rows));
    // The power goes out at a random point, but not before this round's writers got some
    // answers: under a sanitizer's slowdown a fixed delay can end before the first insert does.
    const size_t rows_before = AcknowledgedCount(rows);
    const size_t records_before = AcknowledgedCount(records);
    std::this_thread::sleep_for(std::chrono::milliseconds(400 + random() % 1200));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((AcknowledgedCount(rows) < rows_before + 2 ||
            AcknowledgedCount(records) < records_before + 100) &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    server->Kill();
    stop = true;
    for (auto& writer : writers) writer.join();
    fs::copy_file(server->log_path(), fmt::format("{}/serve-{}.log", base, loss));
    const size_t files_before = CountFiles(lake);
    // The two extremes a disk can leave, in turn: names and contents as of their last fsyncs, or
    // every name as it is now with contents as of their last fsyncs (a rename published before its
    // file's data was synced shows as an empty file).
    const testing_support::PowerLoss kind =
        loss % 2 == 0 ? testing_support::PowerLoss::kSyncedNamesAndContents
                      : testing_support::PowerLoss::kCurrentNamesSyncedContents;
    ASSERT_TRUE(testing_support::RestoreAfterPowerLoss(shadow, lake, &error, kind)) << error;
    std::cout << fmt::format("power loss {} ({}): {} files in the lake folder before, {} after\n",
                             loss, loss % 2 == 0 ? "synced names" : "current names", files_before,
                             CountFiles(lake));
  }

  // The last start (unobserved) recovers, replays the logs and delivers what is buffered.
  auto server = LochServer::Start(LOCH_BINARY, lake, kServeArgs, &error);
  ASSERT_NE(server, nullptr) << error;
  {
    httplib::Client client("127.0.0.1", server->port());
    client.set_read_timeout(60, 0);
    auto flushed = client.Post("/api/v1/streams/events/flush", auth, "", "text/plain");
    ASSERT_EQ(flushed->status, 200) << flushed->body;
  }
  ASSERT_EQ(server->Stop(), 0);

  std::multiset<int64_t> ids, ks;
  ASSERT_TRUE(
      testing_support::QueryIntegers(LOCH_BINARY, lake, "SELECT id FROM raw.events", &ids, &error))
      << error;
  ASSERT_TRUE(testing_support::QueryIntegers(LOCH_BINARY, lake, "SELECT k FROM pl.rows WHERE k > 0",
                                             &ks, &error))
      << error;
  ASSERT_GT(records.acknowledged.size(), 500u) << "the producers barely ran";
  ASSERT_GT(rows.acknowledged.size(), 10u) << "the writer barely ran";
  for (const auto& [what, ledger, found] :
       {std::tuple{"stream records", &records, &ids}, std::tuple{"inserted rows", &rows, &ks}}) {
    const testing_support::LedgerCheck check = testing_support::CheckLedger(*ledger, *found);
    EXPECT_EQ(check.missing, 0u) << what << ": acknowledged, then lost (e.g. "
                                 << FirstMissing(*ledger, *found) << ")\n"
                                 << ProblemsLogged(base, kPowerLosses);
    EXPECT_EQ(check.duplicated, 0u) << what << ": in the lake twice";
    EXPECT_EQ(check.unexpected, 0u) << what << ": never sent";
    std::cout << fmt::format(
        "{}: {} acknowledged, {} unanswered ({} of them kept), {} in the lake\n", what,
        ledger->acknowledged.size(), ledger->uncertain.size(), check.delivered_unanswered,
        found->size());
  }
}

}  // namespace
}  // namespace loch
