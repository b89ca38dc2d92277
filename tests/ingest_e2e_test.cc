// Ingestion through a real `loch serve`: streams over the native REST API and `loch stream`/`loch
// put`, the AWS SDK's Firehose client (tests/support/firehose_sdk_check.mjs), metrics,
// backpressure, and hostile input (every refusal names what was wrong and changes nothing).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"
#include "tests/support/compress.h"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing_support::GzipText;
using testing_support::LochServer;
using testing_support::RunCommand;
using testing_support::ZstdText;

json Keys(const std::string& lake) {
  std::ifstream in(lake + "/.loch/admin-credentials.json");
  return json::parse(in);
}

class IngestE2eTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunCommand(LOCH_BINARY, {"init", "--lake", lake_}).exit_code, 0);
    keys_ = Keys(lake_);
  }

  void StartServer(const std::vector<std::string>& extra = {}) {
    std::string error;
    server_ = LochServer::Start(LOCH_BINARY, lake_, extra, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  httplib::Client Client(bool authenticated = true) const {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_tcp_nodelay(true);
    client.set_read_timeout(30, 0);
    if (authenticated)
      client.set_default_headers(
          {{"Authorization", "Bearer " + keys_["token"].get<std::string>()}});
    return client;
  }

  void CreateStream(const json& config) {
    auto created = Client().Post("/api/v1/streams", config.dump(), "application/json");
    ASSERT_TRUE(created);
    ASSERT_EQ(created->status, 201) << created->body;
  }

  json Describe(const std::string& stream) {
    auto answer = Client().Get("/api/v1/streams/" + stream);
    EXPECT_TRUE(answer && answer->status == 200);
    return answer ? json::parse(answer->body) : json();
  }

  // The first cell of `sql`'s answer through the HTTP query API ("" if it failed).
  std::string Scalar(const std::string& sql) {
    auto answer = Client().Post("/api/v1/query", json{{"sql", sql}}.dump(), "application/json");
    if (!answer || answer->status != 200) return "";
    json body = json::parse(answer->body);
    const json& cell = body["rows"][0][0];
    return cell.is_string() ? cell.get<std::string>() : cell.dump();
  }

  // Polls `sql` until it answers `expected` or `seconds` pass; returns the last answer.
  std::string WaitFor(const std::string& sql, const std::string& expected, double seconds) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(seconds * 1000));
    std::string seen;
    while (std::chrono::steady_clock::now() < deadline) {
      seen = Scalar(sql);
      if (seen == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return seen;
  }

  std::string Run(const std::vector<std::string>& args, int expected_exit = 0) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--lake", lake_, "--server", server_->url()});
    auto outcome = RunCommand(LOCH_BINARY, full);
    EXPECT_EQ(outcome.exit_code, expected_exit) << outcome.out << outcome.err;
    return outcome.out + outcome.err;
  }

  TestDir scratch_{"loch-ingest-e2e"};
  std::string lake_ = scratch_ / "lake";
  json keys_;
  std::unique_ptr<LochServer> server_;
};

TEST_F(IngestE2eTest, RecordsPutOverRestAreQueryableSoonAfterTheirBufferFlushes) {
  StartServer();
  CreateStream({{"name", "click-events"}, {"buffer_seconds", 1}});
  auto ndjson = Client().Post("/api/v1/streams/click-events/records",
                              "{\"user\": \"ann\", \"n\": 1}\n\n{\"user\": \"bob\", \"n\": 2}\r\n",
                              "application/x-ndjson");
  ASSERT_EQ(ndjson->status, 200) << ndjson->body;
  json answer = json::parse(ndjson->body);
  EXPECT_EQ(answer["accepted"], 2);
  EXPECT_EQ(answer["records"].size(), 2u);
  auto array = Client().Post("/api/v1/streams/click-events/records",
                             R"([{"user": "cy", "n": 3, "country": "fr"}])", "application/json");
  ASSERT_EQ(array->status, 200) << array->body;

  EXPECT_EQ(WaitFor("SELECT count(*) || ':' || sum(n) || ':' || count(country) FROM "
                    "raw.click_events",
                    "3:6:1", 10),
            "3:6:1");
  // A 1 s buffer, then a flush that registers the object: queryable well within the 10 s WaitFor
  // gives it (the default buffer would hold the records for 60 s). No tighter timing: it would
  // flake on a loaded machine.
  json stream = Describe("click-events");
  EXPECT_EQ(stream["delivered_through"], 3);
  EXPECT_EQ(stream["table"], "raw.click_events");
  // Delivered objects are in the raw zone, named by UTC hour, zstd-compressed.
  size_t objects = 0;
  for (const auto& entry : fs::recursive_directory_iterator(lake_ + "/raw/click-events")) {
    if (entry.is_regular_file()) {
      ++objects;
      EXPECT_THAT(entry.path().string(),
                  testing::MatchesRegex(".*/raw/click-events/[0-9]{4}/[0-9]{2}/[0-9]{2}/"
                                        "[0-9]{2}/click-events-[0-9a-f]+-[0-9]{20}\\.json\\.zst"));
    }
  }
  EXPECT_GE(objects, 1u);
}

TEST_F(IngestE2eTest, TheStreamCommandsAndLochPutDriveARunningServer) {
  StartServer();
  EXPECT_THAT(Run({"stream", "create", "orders", "--buffer-seconds", "900", "--partition-by",
                   "region", "--validate-json", "--compression", "gzip"}),
              HasSubstr("raw.orders"));
  const std::string file = lake_ + "/../orders.ndjson";
  {
    std::ofstream out(file);
    for (int i = 0; i < 1234; ++i)
      out << fmt::format(R"({{"id": {}, "region": "{}", "amount": {}}})", i,
                         i % 3 == 0 ? "eu" : "us", i % 7)
          << "\n";
  }
  EXPECT_THAT(Run({"put", "orders", file}), HasSubstr("1234 record(s) acknowledged"));
  EXPECT_THAT(Run({"stream", "flush", "orders"}), HasSubstr("delivered through record 1234"));
  EXPECT_EQ(Scalar("SELECT count(*) || ':' || count(DISTINCT id) || ':' || count(*) FILTER "
                   "(WHERE region = 'eu') FROM raw.orders"),
            "1234:1234:412");
  EXPECT_THAT(Run({"stream", "list"}), HasSubstr("raw.orders"));
  const std::string described = Run({"stream", "describe", "orders"});
  EXPECT_THAT(described, HasSubstr("partition by       region"));
  EXPECT_THAT(described, HasSubstr("delivered through  1234"));
  EXPECT_THAT(Run({"stream", "describe", "nope"}, 1), HasSubstr("unknown stream \"nope\""));
  EXPECT_THAT(Run({"put", "orders", lake_ + "/missing.ndjson"}, 1), HasSubstr("cannot read"));
  EXPECT_THAT(Run({"put", "orders", lake_}, 1), HasSubstr("a directory"));
  EXPECT_THAT(Run({"stream", "create", "bad/name"}, 1), HasSubstr("stream name"));
  EXPECT_THAT(Run({"stream", "delete", "orders"}), HasSubstr("deleted stream orders"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.orders"), "1234");
  EXPECT_THAT(Run({"stream", "list", "--help"}), HasSubstr("--server"));

  // A stream that cannot deliver (a file where its folder must go) says why, and goes only when
  // forced.
  Run({"stream", "create", "broken", "--buffer-seconds", "900"});
  { std::ofstream(lake_ + "/raw/broken") << "in the way"; }
  const std::string one = lake_ + "/../one.ndjson";
  {
    std::ofstream(one) << R"({"id": 1})"
                       << "\n";
  }
  EXPECT_THAT(Run({"put", "broken", one}), HasSubstr("1 record(s) acknowledged"));
  EXPECT_THAT(Run({"stream", "flush", "broken"}, 1), HasSubstr("could not deliver"));
  EXPECT_THAT(Run({"stream", "delete", "broken"}, 1), HasSubstr("was not deleted"));
  EXPECT_THAT(Run({"stream", "list"}), HasSubstr("broken"));
  EXPECT_THAT(Run({"stream", "delete", "broken", "--force"}),
              HasSubstr("what it could not deliver was discarded"));
  EXPECT_THAT(Run({"stream", "describe", "broken"}, 1), HasSubstr("unknown stream"));
}

// From the issue: compressed request bodies were refused and `loch put` could not read .gz/.zst.
TEST_F(IngestE2eTest, CompressedBodiesAndFilesAreAcceptedAndBombsAreNot) {
  StartServer();
  CreateStream({{"name", "zipped"}, {"buffer_seconds", 900}});
  httplib::Client client = Client();
  auto post = [&](const std::string& body, const std::string& encoding) {
    return client.Post("/api/v1/streams/zipped/records", {{"Content-Encoding", encoding}}, body,
                       "application/x-ndjson");
  };
  auto gzipped = post(GzipText("{\"n\": 1}\n{\"n\": 2}\n"), "gzip");
  ASSERT_TRUE(gzipped);
  EXPECT_EQ(gzipped->status, 200) << gzipped->body;
  auto zstd = post(ZstdText("[{\"n\": 3}]"), "zstd");
  ASSERT_TRUE(zstd);
  EXPECT_EQ(zstd->status, 200) << zstd->body;
  // A few KiB that stand for 64 MiB: refused before it is all inflated.
  auto bomb = post(GzipText(std::string(64 << 20, '\n')), "gzip");
  ASSERT_TRUE(bomb);
  EXPECT_EQ(bomb->status, 400);
  EXPECT_THAT(bomb->body, HasSubstr("decompresses to more than"));
  auto corrupt = post("not gzip at all", "gzip");
  ASSERT_TRUE(corrupt);
  EXPECT_EQ(corrupt->status, 400);
  EXPECT_THAT(corrupt->body, HasSubstr("not valid gzip"));
  auto unknown = post("{\"n\": 9}", "br");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_THAT(unknown->body, HasSubstr("Content-Encoding \\\"br\\\" is not supported"));

  const std::string gz = lake_ + "/../records.ndjson.gz", zst = lake_ + "/../records.json.zst";
  std::ofstream(gz, std::ios::binary) << GzipText("{\"n\": 4}\n{\"n\": 5}\n");
  std::ofstream(zst, std::ios::binary) << ZstdText("[{\"n\": 6}]");
  EXPECT_THAT(Run({"put", "zipped", gz}), HasSubstr("2 record(s) acknowledged"));
  EXPECT_THAT(Run({"put", "zipped", zst}), HasSubstr("1 record(s) acknowledged"));
  std::ofstream(gz, std::ios::binary) << "\x1f\x8b"
                                      << "truncated";
  EXPECT_THAT(Run({"put", "zipped", gz}, 1), HasSubstr("cannot read"));
  Run({"stream", "flush", "zipped"});
  EXPECT_EQ(Scalar("SELECT sum(n) FROM raw.zipped"), "21");
}

TEST_F(IngestE2eTest, MalformedInputIsRefusedWithItsReasonAndChangesNothing) {
  StartServer();
  CreateStream({{"name", "events"}, {"buffer_seconds", 900}});
  auto client = Client();
  ASSERT_EQ(
      client.Post("/api/v1/streams/events/records", "{\"ok\": 1}", "application/json")->status,
      200);

  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  std::string many;
  for (int i = 0; i < 501; ++i) many += "{\"i\": 1}\n";
  const std::vector<Case> cases = {
      {"{\"ok\": 2}\n{\"cut\": ", 400, "line 2 is not JSON"},
      {"[{\"a\": 1}, ", 400, "not a JSON array"},
      {"", 400, "no records"},
      {"\n \n", 400, "no records"},
      {many, 400, "the limit is 500"},
      {"{\"pad\": \"" + std::string(4 << 20, 'x') + "\"}", 400, "4194304"},
      {std::string(9 << 20, ' '), 413, "limit"},
  };
  for (const Case& c : cases) {
    auto answer = client.Post("/api/v1/streams/events/records", c.body, "application/x-ndjson");
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, c.status) << c.body.substr(0, 40);
    EXPECT_THAT(answer->body, HasSubstr(c.says)) << c.body.substr(0, 40);
  }
  auto unknown = client.Post("/api/v1/streams/nope/records", "{}", "application/json");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_THAT(unknown->body, HasSubstr("streams: events"));
  EXPECT_EQ(Client(false).Post("/api/v1/streams/events/records", "{}", "application/json")->status,
            401);
  httplib::Headers wrong = {{"Authorization", "Bearer not-the-token"}};
  EXPECT_EQ(
      Client(false).Post("/api/v1/streams/events/records", wrong, "{}", "application/json")->status,
      403);
  EXPECT_EQ(Client(false).Get("/metrics")->status, 401);
  auto bad_config = client.Post("/api/v1/streams", R"({"name": "x", "buffer_seconds": 9000})",
                                "application/json");
  EXPECT_EQ(bad_config->status, 400);
  EXPECT_THAT(bad_config->body, HasSubstr("0-900"));
  EXPECT_EQ(client.Post("/api/v1/streams", "not json", "application/json")->status, 400);

  // A body cut short (the producer died mid-request) and a lying Content-Length.
  for (const std::string& request :
       {std::string("POST /api/v1/streams/events/records HTTP/1.1\r\nHost: x\r\nAuthorization: "
                    "Bearer ") +
            keys_["token"].get<std::string>() +
            "\r\nContent-Length: 100000\r\n\r\n{\"cut\": 1}\n{\"cut\": 2}\n",
        std::string("POST /api/v1/streams/events/records HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    "99999999999999\r\n\r\n{}")}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(server_->port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_GT(::send(fd, request.data(), request.size(), 0), 0);
    ::shutdown(fd, SHUT_WR);
    char buffer[512];
    while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
    ::close(fd);
  }

  json stream = Describe("events");
  EXPECT_EQ(stream["last_sequence"], 1) << "a refused call acknowledged records";
  ASSERT_EQ(client.Post("/api/v1/streams/events/flush", "", "application/json")->status, 200);
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.events"), "1");
}

// A connected raw socket to the server (closed with the object).
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    timeval timeout{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~RawSocket() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // What arrived within the receive timeout.
  std::string Receive() {
    char buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) received_.append(buffer, static_cast<size_t>(n));
    return received_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

TEST_F(IngestE2eTest, ProducersKeepPuttingWhileAnonymousUploadsTrickle) {
  StartServer();
  CreateStream({{"name", "events"}, {"buffer_seconds", 900}});
  const std::string batch = [] {
    std::string body;
    for (int i = 0; i < 100; ++i)
      body += fmt::format("{{\"i\": {}, \"pad\": \"{}\"}}\n", i, std::string(200, 'x'));
    return body;
  }();
  auto put_for = [&](std::chrono::seconds duration) {
    auto client = Client();
    int ok = 0, refused = 0;
    const auto end = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < end) {
      auto answer = client.Post("/api/v1/streams/events/records", batch, "application/x-ndjson");
      (answer && answer->status == 200 ? ok : refused)++;
    }
    return std::make_pair(ok, refused);
  };
  const auto [alone, alone_refused] = put_for(std::chrono::seconds(3));
  EXPECT_EQ(alone_refused, 0);

  // 64 anonymous uploads that each announce a 64 MiB body and trickle it, and 64 requests whose
  // headers never end: together they once reserved the whole body budget and made every
  // authenticated put answer 503.
  std::vector<std::unique_ptr<RawSocket>> uploads, headers;
  for (int i = 0; i < 64; ++i) {
    uploads.push_back(std::make_unique<RawSocket>(server_->port()));
    uploads.back()->Send(
        "POST /api/v1/streams/events/records HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 67108864\r\n\r\n{");
    headers.push_back(std::make_unique<RawSocket>(server_->port()));
    headers.back()->Send("POST /api/v1/streams/events/records HTTP/1.1\r\nHost: x\r\n");
  }
  std::atomic<bool> trickling{true};
  std::thread trickler([&] {
    while (trickling) {
      for (auto& upload : uploads) upload->Send("\"");
      for (auto& header : headers) header->Send("X-Slow: 1\r\n");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  const auto [besieged, besieged_refused] = put_for(std::chrono::seconds(3));
  trickling = false;
  trickler.join();
  EXPECT_EQ(besieged_refused, 0)
      << "authenticated puts were refused while anonymous uploads waited";
  EXPECT_GT(besieged, 0);
  std::cout << fmt::format("puts in 3 s: {} alone, {} with 128 anonymous slow clients ({:.2f})\n",
                           alone, besieged, besieged / std::max(1.0, double(alone)));
  int unauthorized = 0;
  for (auto& upload : uploads) {
    if (upload->Receive().starts_with("HTTP/1.1 401")) ++unauthorized;
  }
  EXPECT_EQ(unauthorized, 64) << "uploads without credentials are refused before their body";
}

TEST_F(IngestE2eTest, MetricsCountWhatHappened) {
  StartServer();
  CreateStream({{"name", "m"}, {"buffer_seconds", 900}});
  auto client = Client();
  ASSERT_EQ(
      client.Post("/api/v1/streams/m/records", "{\"a\": 1}\n{\"a\": 2}", "text/plain")->status,
      200);
  ASSERT_EQ(client.Post("/api/v1/streams/m/flush", "", "text/plain")->status, 200);
  auto metrics = client.Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->get_header_value("Content-Type"), HasSubstr("text/plain"));
  for (const char* line :
       {"loch_ingest_records_accepted_total{stream=\"m\"} 2",
        "loch_ingest_records_delivered_total{stream=\"m\"} 2",
        "loch_ingest_flushes_total{stream=\"m\"} 1", "loch_ingest_buffered_bytes{stream=\"m\"} 0",
        "# TYPE loch_wal_fsyncs_total counter", "loch_ingest_oldest_unflushed_record_age_seconds",
        "loch_ingest_pending_bytes 0"}) {
    EXPECT_THAT(metrics->body, HasSubstr(line));
  }
}

TEST_F(IngestE2eTest, BackpressureAnswers503UntilDeliveryCatchesUp) {
  StartServer({"--ingest-memory-mib", "1"});
  CreateStream({{"name", "slow"}, {"buffer_seconds", 900}, {"buffer_bytes", 128 << 20}});
  auto client = Client();
  const std::string record = "{\"pad\": \"" + std::string(300 << 10, 'x') + "\"}\n";
  ASSERT_EQ(client.Post("/api/v1/streams/slow/records", record + record, "text/plain")->status,
            200);
  auto refused = client.Post("/api/v1/streams/slow/records", record + record, "text/plain");
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  EXPECT_THAT(refused->body, HasSubstr("delivery is behind"));
  EXPECT_EQ(Describe("slow")["last_sequence"], 2);
  ASSERT_EQ(client.Post("/api/v1/streams/slow/flush", "", "text/plain")->status, 200);
  EXPECT_EQ(client.Post("/api/v1/streams/slow/records", record + record, "text/plain")->status,
            200);
}

TEST_F(IngestE2eTest, TheAwsSdkFirehoseClientWorksUnmodified) {
  StartServer();
  auto outcome = RunCommand(
      "node",
      {std::string(LOCH_SOURCE_DIR) + "/tests/support/firehose_sdk_check.mjs", server_->url(),
       keys_["access_key_id"].get<std::string>(), keys_["secret_access_key"].get<std::string>()},
      "NODE_NO_WARNINGS=1");
  EXPECT_EQ(outcome.exit_code, 0) << outcome.out << outcome.err;
  EXPECT_THAT(outcome.out, HasSubstr("firehose interop ok"));
}

TEST_F(IngestE2eTest, AStoppedServerDeliversItsBuffersAndARestartKeepsTheStreams) {
  StartServer();
  CreateStream({{"name", "keep"}, {"buffer_seconds", 900}});
  ASSERT_EQ(Client().Post("/api/v1/streams/keep/records", "{\"a\": 1}", "text/plain")->status, 200);
  EXPECT_EQ(server_->Stop(), 0);
  StartServer();
  EXPECT_EQ(Scalar("SELECT count(*) FROM raw.keep"), "1");
  EXPECT_EQ(Describe("keep")["delivered_through"], 1);
}

TEST_F(IngestE2eTest, ACatalogBackupTakenWhileServingRestoresWhenTheServerIsStopped) {
  StartServer();
  CreateStream({{"name", "kept"}, {"buffer_seconds", 900}});
  ASSERT_EQ(Client().Post("/api/v1/streams/kept/records", "{\"a\": 1}\n{\"a\": 2}", "text/plain")
                ->status,
            200);
  ASSERT_EQ(Client().Post("/api/v1/streams/kept/flush", "", "text/plain")->status, 200);
  const std::string backup = lake_ + "/../catalog.lochbak";
  auto taken = RunCommand(LOCH_BINARY, {"catalog", "backup", "--to", backup, "--lake", lake_});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;
  EXPECT_THAT(taken.out, HasSubstr("verified"));
  // A later delivery, then: one server per state folder, no restore under a server.
  ASSERT_EQ(Client().Post("/api/v1/streams/kept/records", "{\"a\": 3}", "text/plain")->status, 200);
  ASSERT_EQ(Client().Post("/api/v1/streams/kept/flush", "", "text/plain")->status, 200);
  EXPECT_EQ(Scalar("SELECT sum(a) FROM raw.kept"), "6");
  auto second = RunCommand(LOCH_BINARY, {"serve", "--lake", lake_, "--http", "127.0.0.1:0"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("another `loch serve` is using the state folder"));
  auto refused = RunCommand(LOCH_BINARY, {"catalog", "restore", "--from", backup, "--lake", lake_});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("stop it, then restore"));

  EXPECT_EQ(server_->Stop(), 0);
  auto restored = RunCommand(LOCH_BINARY, {"catalog", "restore", "--from", backup, "--lake", lake_});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  auto sum = RunCommand(LOCH_BINARY, {"sql", "--lake", lake_, "--format", "csv",
                                      "SELECT sum(a) FROM raw.kept"});
  EXPECT_THAT(sum.out, HasSubstr("\n3\n")) << sum.err;  // as of the backup
}

TEST_F(IngestE2eTest, RotatedCredentialsApplyWithoutARestartAndNoSecretIsEverLogged) {
  const int pg_port = testing_support::FreeLoopbackPort();
  StartServer({"--pg", fmt::format("127.0.0.1:{}", pg_port)});
  const json first = keys_;
  const auto status_with = [&](const json& keys) {
    httplib::Client client("127.0.0.1", server_->port());
    auto answer = client.Get("/api/v1/streams",
                             {{"Authorization", "Bearer " + keys["token"].get<std::string>()}});
    return answer ? answer->status : -1;
  };
  const auto psql_with = [&](const json& keys) {
    return RunCommand("psql",
                      {"-X", "-At", "-c", "SELECT 1",
                       fmt::format("host=127.0.0.1 port={} user=loch dbname=lake", pg_port)},
                      "PGPASSWORD=" + testing_support::ShellQuote(keys["pg_password"]));
  };
  // Waits for the server to pick up a rotation (it reads the file within 2 s).
  const auto until_accepted = [&](const json& keys) {
    for (int i = 0; i < 100 && status_with(keys) != 200; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return status_with(keys);
  };
  ASSERT_EQ(status_with(first), 200);
  // Refusals along the way, so the log has error paths to leak through.
  EXPECT_EQ(status_with(json{{"token", "loch_guessed"}}), 403);

  auto rotated = RunCommand(LOCH_BINARY, {"credentials", "rotate", "--keep-old-for", "1h",
                                          "--lake", lake_});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const json second = Keys(lake_);
  ASSERT_NE(second["token"], first["token"]);
  EXPECT_EQ(until_accepted(second), 200);
  EXPECT_EQ(status_with(first), 200);  // still valid for an hour
  EXPECT_EQ(psql_with(second).out, "1\n");
  EXPECT_NE(psql_with(first).exit_code, 0);  // a replaced pg password stops at once
  // The CLI reads the file each time: it keeps working.
  EXPECT_EQ(RunCommand(LOCH_BINARY, {"stream", "list", "--lake", lake_, "--server",
                                     server_->url()}).exit_code,
            0);

  ASSERT_EQ(RunCommand(LOCH_BINARY, {"credentials", "rotate", "--keep-old-for", "0s", "--lake",
                                     lake_}).exit_code,
            0);
  const json third = Keys(lake_);
  EXPECT_EQ(until_accepted(third), 200);
  EXPECT_EQ(status_with(second), 403);  // replaced with no grace
  EXPECT_EQ(status_with(first), 200);   // its hour is not over

  // The credentials file is the only place a secret is written.
  std::ifstream log(server_->log_path());
  const std::string logged((std::istreambuf_iterator<char>(log)), {});
  for (const json& keys : {first, second, third}) {
    for (const char* secret : {"token", "secret_access_key", "pg_password"})
      EXPECT_EQ(logged.find(keys[secret].get<std::string>()), std::string::npos) << secret;
  }
  EXPECT_EQ(logged.find("loch_guessed"), std::string::npos);
}

TEST_F(IngestE2eTest, TheWriteAheadLogCanLiveOnAnotherVolumeAndIsNotLeftBehind) {
  const std::string wal = scratch_ / "replicated-volume/wal";
  StartServer({"--wal-dir", wal});
  CreateStream({{"name", "durable"}, {"buffer_seconds", 900}});
  ASSERT_EQ(Client().Post("/api/v1/streams/durable/records", "{\"a\": 1}\n{\"a\": 2}", "text/plain")
                ->status,
            200);
  server_->Kill();  // acknowledged, not delivered: only the log in `wal` has them
  EXPECT_FALSE(fs::is_empty(wal));
  // Moving to another folder now would leave them behind: refused.
  auto moved = RunCommand(LOCH_BINARY, {"serve", "--lake", lake_, "--http", "127.0.0.1:0",
                                        "--wal-dir", scratch_ / "elsewhere"});
  EXPECT_NE(moved.exit_code, 0);
  EXPECT_THAT(moved.err, HasSubstr("still holds files"));
  StartServer();  // remembers the folder
  ASSERT_EQ(Client().Post("/api/v1/streams/durable/flush", "", "text/plain")->status, 200);
  EXPECT_EQ(Scalar("SELECT sum(a) FROM raw.durable"), "3");
}

// A local lake whose state folder is elsewhere keeps its catalog journal in the lake: losing the
// state folder loses the undelivered records of the write-ahead log (the documented bound) and
// nothing else. The recovered lake's streams go on from where their deliveries stopped: no record
// delivered before is lost or delivered twice.
TEST_F(IngestE2eTest, StreamsGoOnAfterTheCatalogIsRecoveredFromTheLake) {
  const std::string state = scratch_ / "state-elsewhere";
  const auto with_state = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--lake", lake_, "--state", state});
    return RunCommand(LOCH_BINARY, args);
  };
  ASSERT_EQ(with_state({"init"}).exit_code, 0);
  const auto start = [&] {
    keys_ = json::parse(std::ifstream(state + "/admin-credentials.json"));
    StartServer({"--state", state});
  };
  start();
  CreateStream({{"name", "kept"}, {"buffer_seconds", 900}});
  const auto put = [&](const std::string& body) {
    auto answer = Client().Post("/api/v1/streams/kept/records", body, "text/plain");
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->status, 200) << answer->body;
    ASSERT_EQ(Client().Post("/api/v1/streams/kept/flush", "", "text/plain")->status, 200);
  };
  put("{\"a\": 1}\n{\"a\": 2}");
  put("{\"a\": 3}");
  EXPECT_EQ(Scalar("SELECT sum(a) FROM raw.kept"), "6");
  EXPECT_EQ(server_->Stop(), 0);

  fs::remove_all(state);  // the machine is lost; the lake is not
  auto recovered = with_state({"init", "--recover"});
  ASSERT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_THAT(recovered.out, HasSubstr("write-ahead log"));
  start();
  EXPECT_EQ(Scalar("SELECT sum(a) FROM raw.kept"), "6");
  put("{\"a\": 4}");
  EXPECT_EQ(Scalar("SELECT count(*) || '/' || sum(a) FROM raw.kept"), "4/10");
  EXPECT_EQ(server_->Stop(), 0);
  start();  // and once more, as after any restart
  put("{\"a\": 5}");
  EXPECT_EQ(Scalar("SELECT count(*) || '/' || sum(a) FROM raw.kept"), "5/15");
}

// A process killed after its change reached the lake's journal but before the catalog committed
// it: the change was never acknowledged and is not in the catalog; the next commit replaces it
// in the journal, and a recovery answers as the catalog did.
TEST_F(IngestE2eTest, AWriterKilledBetweenTheJournalAndItsCommitLeavesNoTraceAfterRecovery) {
  const std::string state = scratch_ / "state-elsewhere";
  const auto loch = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--lake", lake_, "--state", state});
    auto outcome = RunCommand(LOCH_BINARY, args);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    return outcome.out;
  };
  loch({"init"});
  loch({"sql", "CREATE TABLE t.n AS SELECT 1 AS v"});
  auto paused = testing_support::ChildProcess::Start(
      LOCH_BINARY, {"sql", "INSERT INTO t.n SELECT 2", "--lake", lake_, "--state", state},
      scratch_ / "paused.log", {"LOCH_FAULT_PAUSE=journal-appended"});
  ASSERT_NE(paused, nullptr);
  ASSERT_TRUE(paused->WaitForLog("paused at fault point journal-appended", std::chrono::seconds(60)))
      << paused->Log();
  paused->Kill();
  const std::string query = "SELECT count(*) || '/' || sum(v) FROM t.n";
  EXPECT_THAT(loch({"sql", query, "--format", "csv"}), HasSubstr("1/1"));
  loch({"sql", "INSERT INTO t.n SELECT 3"});
  const std::string before = loch({"sql", query, "--format", "csv"});
  EXPECT_THAT(before, HasSubstr("2/4"));

  fs::remove_all(state);
  loch({"init", "--recover"});
  EXPECT_EQ(loch({"sql", query, "--format", "csv"}), before);
}

}  // namespace
}  // namespace loch
