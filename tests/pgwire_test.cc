// `loch serve --pg` as users reach it: with psql (the PostgreSQL 15 client from Debian), with the
// npm `pg` client (tests/support/pg_client_check.mjs), and with raw sockets sending malformed
// startup packets. The server must answer clearly, close only the offending connection, and keep
// serving everyone else.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing_support::CommandOutcome;
using testing_support::RunCommand;
using testing_support::ShellQuote;

class PgwireTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new fs::path(fs::path(testing::TempDir()) / ("loch-pgwire-" + NewRandomId()));
    const std::string lake = (*work_ / "lake").string();
    ASSERT_EQ(RunCommand(LOCH_BINARY, {"init", "--lake", lake}).exit_code, 0);
    fs::create_directories(*work_ / "in");
    {
      std::ofstream out(*work_ / "in" / "numbers.json");
      for (int i = 1; i <= 5000; ++i)
        out << fmt::format("{{\"n\": {}, \"label\": \"item {}\"}}\n", i, i);
    }
    auto load = RunCommand(LOCH_BINARY, {"load", (*work_ / "in" / "numbers.json").string(),
                                         "--table", "demo.numbers", "--lake", lake});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    std::ifstream credentials(lake + "/.loch/admin-credentials.json");
    const auto json = nlohmann::json::parse(credentials);
    user_ = new std::string(json["pg_user"].get<std::string>());
    password_ = new std::string(json["pg_password"].get<std::string>());
    token_ = new std::string(json["token"].get<std::string>());
    port_ = testing_support::FreeLoopbackPort();
    http_port_ = testing_support::FreeLoopbackPort();
    const int http_port = http_port_;
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string pg = fmt::format("127.0.0.1:{}", port_);
      const std::string http = fmt::format("127.0.0.1:{}", http_port);
      ::execl(LOCH_BINARY, LOCH_BINARY, "serve", "--lake", lake.c_str(), "--http", http.c_str(),
              "--pg", pg.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (Psql({"-c", "select 1"}).exit_code == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "loch serve --pg did not start";
  }

  static void TearDownTestSuite() {
    if (pid_ <= 0) return;  // never kill(-1, ...)
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "loch serve did not stop cleanly on SIGTERM";
    fs::remove_all(*work_);
  }

  static std::string Conninfo(const std::string& extra = "") {
    return fmt::format("host=127.0.0.1 port={} user={} dbname=lake {}", port_, *user_, extra);
  }

  // psql without ~/.psqlrc, in unaligned tuples-only mode unless `aligned`; `env` adds
  // "NAME='value'" assignments.
  static CommandOutcome Psql(std::vector<std::string> args, const std::string& password = "",
                             const std::string& conninfo = "", const std::string& env = "") {
    args.insert(args.begin(), {"-X", "-v", "ON_ERROR_STOP=1"});
    args.push_back(conninfo.empty() ? Conninfo() : conninfo);
    return RunCommand(
        "psql", args,
        "PGPASSWORD=" + ShellQuote(password.empty() ? *password_ : password) + " " + env);
  }
  // The HTTP API of the same server, as the admin.
  static httplib::Client Http() {
    httplib::Client client("127.0.0.1", http_port_);
    client.set_bearer_token_auth(*token_);
    return client;
  }

  // Connects a raw socket to the pgwire port.
  static int RawConnection() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }

  // Sends `bytes` and returns everything the server sends until it closes the connection.
  static std::string SendAndReadUntilClosed(const std::string& bytes) {
    const int fd = RawConnection();
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string received;
    char buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return received;
  }

  static std::string Int32(uint32_t value) {
    const uint32_t network = htonl(value);
    return std::string(reinterpret_cast<const char*>(&network), 4);
  }

  static inline fs::path* work_ = nullptr;
  static inline std::string* user_ = nullptr;
  static inline std::string* password_ = nullptr;
  static inline std::string* token_ = nullptr;
  static inline int port_ = 0;
  static inline int http_port_ = 0;
  static inline pid_t pid_ = -1;
};

TEST_F(PgwireTest, PsqlQueriesTheLake) {
  auto count = Psql({"-At", "-c", "select count(*), sum(n) from demo.numbers where n <= 100"});
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(count.out, "100|5050\n");
  // What drivers ask first.
  auto version = Psql({"-At", "-c", "select version()", "-c", "select current_database()"});
  EXPECT_THAT(version.out, testing::StartsWith("PostgreSQL 15"));
  EXPECT_THAT(version.out, HasSubstr("\nlake\n"));
  // Several statements in one simple query, answered in order.
  auto several = Psql({"-At", "-c", "select 1; select 'two'"});
  EXPECT_EQ(several.out, "1\ntwo\n");
}

// What psql, DBeaver, Metabase and Superset call on connect answers truly in any select list:
// alone (the catalog emulation answers), next to lake tables (the engine answers), in a view.
TEST_F(PgwireTest, SessionFunctionsAnswerTheSameOnEveryPath) {
  const std::string functions =
      "now() IS NOT NULL AND CAST(now() AS VARCHAR) <> '', current_database(), current_user, "
      "session_user, version()";
  const std::string expected = fmt::format("t|lake|{0}|{0}|PostgreSQL 15", *user_);
  auto alone = Psql({"-At", "-c", "SELECT " + functions});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_THAT(alone.out, testing::StartsWith(expected));
  auto with_table =
      Psql({"-At", "-c", "SELECT " + functions + ", count(*) FROM demo.numbers WHERE n <= 3"});
  ASSERT_EQ(with_table.exit_code, 0) << with_table.err;
  EXPECT_THAT(with_table.out, testing::StartsWith(expected));
  EXPECT_THAT(with_table.out, testing::EndsWith("|3\n"));
  auto shown = Psql({"-At", "-c", "SELECT now()"});
  EXPECT_THAT(shown.out, testing::MatchesRegex("20[0-9][0-9]-[0-9-]+ [0-9:.]+\\+00\n"));
  // From pg_catalog too (the emulation), with a datetime among its columns.
  auto catalog =
      Psql({"-At", "-c", "SELECT current_user, now() > '2000-01-01' FROM pg_namespace LIMIT 1"});
  ASSERT_EQ(catalog.exit_code, 0) << catalog.err;
  EXPECT_EQ(catalog.out, *user_ + "|t\n");
}

// PostgreSQL clients take the same query path as HTTP and Athena: their workgroup's limits (chosen
// with PGOPTIONS), the query history, the results zone and the failure webhook.
TEST_F(PgwireTest, PsqlQueriesRunInTheirWorkgroupWithHistoryAndWebhook) {
  httplib::Server receiver;
  std::mutex mu;
  std::vector<nlohmann::json> received;
  receiver.Post("/hook", [&](const httplib::Request& request, httplib::Response& response) {
    std::lock_guard lock(mu);
    received.push_back(nlohmann::json::parse(request.body));
    response.status = 204;
  });
  const int hook_port = receiver.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { receiver.listen_after_bind(); });
  struct StopReceiver {  // an ASSERT returning early must not leave the thread joinable
    httplib::Server& server;
    std::thread& thread;
    ~StopReceiver() {
      server.stop();
      if (thread.joinable()) thread.join();
    }
  } stop_receiver{receiver, serving};
  auto http = Http();
  const nlohmann::json workgroup = {
      {"failure_webhook", fmt::format("http://127.0.0.1:{}/hook", hook_port)},
      {"max_bytes_scanned", 1}};
  auto put = http.Put("/api/v1/workgroups/pgteam", workgroup.dump(), "application/json");
  ASSERT_TRUE(put) << httplib::to_string(put.error());
  ASSERT_EQ(put->status, 200) << put->body;

  auto refused =
      Psql({"-c", "SELECT sum(n) FROM demo.numbers"}, "", "", "PGOPTIONS='-c workgroup=pgteam'");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("over the limit of 1 bytes"));
  auto unknown = Psql({"-c", "SELECT 1"}, "", "", "PGOPTIONS='-c workgroup=nope'");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("unknown workgroup \"nope\""));
  auto counted = Psql({"-At", "-c", "SELECT count(*) AS pg_counted FROM demo.numbers"});
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  EXPECT_EQ(counted.out, "5000\n");

  nlohmann::json event;
  for (int i = 0; i < 300 && event.is_null(); ++i) {
    {
      std::lock_guard lock(mu);
      if (!received.empty()) event = received.front();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(event.is_null()) << "the webhook received nothing";
  EXPECT_EQ(event["workgroup"], "pgteam");
  EXPECT_EQ(event["front_end"], "postgresql");
  EXPECT_THAT(event["sql"].get<std::string>(), HasSubstr("sum(n)"));

  auto listed = http.Get("/api/v1/queries?limit=1000");
  ASSERT_TRUE(listed && listed->status == 200);
  const auto history = nlohmann::json::parse(listed->body);
  nlohmann::json found;
  for (const auto& query : history["queries"]) {
    if (query["sql"].get<std::string>().find("pg_counted") != std::string::npos) found = query;
  }
  ASSERT_FALSE(found.is_null()) << history.dump();
  EXPECT_EQ(found["front_end"], "postgresql");
  EXPECT_EQ(found["workgroup"], "primary");
  EXPECT_EQ(found["state"], "SUCCEEDED");
  EXPECT_EQ(found["rows"], 1);
  EXPECT_EQ(found["result_key"],
            fmt::format("results/primary/{}.csv", found["id"].get<std::string>()));
  // The kept history is a system table, psql's queries in it like the others.
  auto kept = Psql({"-At", "-c",
                    "select front_end, state, row_count from loch.query_history where sql like "
                    "'%pg_counted%' order by submitted limit 1"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_EQ(kept.out, "postgresql|SUCCEEDED|1\n");
}

TEST_F(PgwireTest, PsqlListsAndDescribesTables) {
  auto list = Psql({"-At", "-c", "\\dt"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(fmt::format("demo|numbers|table|{}", *user_)));
  auto describe = Psql({"-c", "\\d demo.numbers"});
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("Table \"demo.numbers\""));
  EXPECT_THAT(describe.out, testing::ContainsRegex("n +\\| bigint"));
  EXPECT_THAT(describe.out, testing::ContainsRegex("label +\\| text"));
  auto schemas = Psql({"-At", "-c", "\\dn"});
  EXPECT_THAT(schemas.out, HasSubstr("demo|"));
}

TEST_F(PgwireTest, PsqlCreatesListsAndDropsViews) {
  auto created =
      Psql({"-At", "-c", "create view demo.small as select n, label from demo.numbers where n <= 3",
            "-c", "select count(*), max(label) from demo.small", "-c", "\\dv"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("3|item 3\n"));
  EXPECT_THAT(created.out, HasSubstr(fmt::format("demo|small|view|{}", *user_)));
  auto described = Psql({"-c", "\\d+ demo.small"});
  EXPECT_THAT(described.out, HasSubstr("View \"demo.small\""));
  EXPECT_THAT(described.out, HasSubstr("where n <= 3"));
  auto dropped = Psql({"-c", "drop view demo.small"});
  EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
  EXPECT_THAT(dropped.out, HasSubstr("DROP VIEW"));
  EXPECT_NE(Psql({"-c", "select * from demo.small"}).exit_code, 0);
}

TEST_F(PgwireTest, PsqlCommentsRenamesAndShowsDescriptions) {
  auto altered =
      Psql({"-At", "-c", "create table demo.notes as select 1 as n, 'a' as txt", "-c",
            "comment on table demo.notes is 'Notes for the team'", "-c",
            "comment on column demo.notes.txt is 'the text'", "-c",
            "alter table demo.notes rename column txt to body", "-c",
            "alter table demo.notes rename to memos", "-c", "select n, body from demo.memos"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_THAT(altered.out, HasSubstr("1|a"));
  auto listed = Psql({"-c", "\\dt+ demo.memos"});
  EXPECT_THAT(listed.out, HasSubstr("Notes for the team"));
  auto described = Psql({"-c", "\\d+ demo.memos"});
  EXPECT_THAT(described.out, testing::ContainsRegex("body +\\| text .*\\| the text"));
  auto tags = Psql({"-c", "comment on table demo.memos is null", "-c",
                    "alter table demo.memos rename to notes", "-c", "drop table demo.notes"});
  EXPECT_EQ(tags.exit_code, 0) << tags.err;
  EXPECT_THAT(tags.out, HasSubstr("COMMENT\nALTER TABLE\nDROP TABLE"));
}

TEST_F(PgwireTest, PsqlShowsErrorsWithTheirPosition) {
  auto unknown = Psql({"-c", "select nope from demo.numbers"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("nope"));
  EXPECT_THAT(unknown.err, HasSubstr("LINE 1: select nope from demo.numbers\n               ^"));
  auto syntax = Psql({"-c", "selec 1"});
  EXPECT_THAT(syntax.err, HasSubstr("syntax error"));
  auto missing = Psql({"-c", "select * from demo.missing"});
  EXPECT_THAT(missing.err, HasSubstr("missing"));
}

TEST_F(PgwireTest, HostileSqlGetsAnErrorAndTheServerKeepsServing) {
  // Each of these once ended (or could end) the whole server: a position mark in a name made
  // std::stoi throw; a statement far longer than a regex's recursion depth overflowed the stack.
  const std::string long_literal(2'000'000, 'x');
  const std::vector<std::string> hostile = {
      R"sql(SELECT * FROM "(line 99999999999, column 1)".s.t)sql",
      R"sql(SELECT * FROM "(line 2147483648, column 99999999999999999999)".t)sql",
      R"sql(SELECT "(line 0, column -1)" FROM demo.numbers)sql",
      "SELECT nope FROM demo.numbers -- (line 99999999999, column 1)\n",
      "INSERT INTO demo.copy SELECT '" + long_literal + "' AS v WHERE false AND nope",
      "CREATE TABLE demo.copy2 AS SELECT '" + long_literal + "' AS v, nope",
      "SELECT '" + long_literal + "' = nope",
      // A catalog query is rewritten with regular expressions: a long literal once overflowed
      // the stack there.
      "SELECT '" + long_literal + "' = ANY(c.relacl) FROM pg_catalog.pg_class c",
      "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname ~ '" + long_literal + "'",
  };
  for (const std::string& sql : hostile) {
    const fs::path file = *work_ / "hostile.sql";
    std::ofstream(file) << sql << ";\n";
    auto outcome = Psql({"-f", file.string()});
    EXPECT_NE(outcome.exit_code, 0) << sql.substr(0, 200);
    EXPECT_THAT(outcome.err, HasSubstr("ERROR")) << sql.substr(0, 200);
    auto alive = Psql({"-At", "-c", "select count(*) from demo.numbers"});
    ASSERT_EQ(alive.exit_code, 0) << "the server stopped serving after: " << sql.substr(0, 200)
                                  << "\n"
                                  << alive.err;
    EXPECT_EQ(alive.out, "5000\n");
  }
}

TEST_F(PgwireTest, PsqlCancelsARunningQueryWithCtrlC) {
  // psql sends a CancelRequest on SIGINT; the server interrupts the engine.
  const auto start = std::chrono::steady_clock::now();
  auto cancelled = RunCommand(
      "sh",
      {"-c", fmt::format("psql -X -c 'select count(*) from demo.numbers a, demo.numbers b, "
                         "demo.numbers c' {} & p=$!; sleep 1.5; kill -INT $p; wait $p",
                         ShellQuote(Conninfo()))},
      "PGPASSWORD=" + ShellQuote(*password_));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(cancelled.exit_code, 0);
  EXPECT_THAT(cancelled.err, HasSubstr("Cancel request sent"));
  EXPECT_THAT(cancelled.err, HasSubstr("cancel"));
  EXPECT_LT(elapsed, std::chrono::seconds(20));
  EXPECT_EQ(Psql({"-At", "-c", "select 42"}).out, "42\n");
}

TEST_F(PgwireTest, WrongPasswordsAndTlsAreRefusedClearly) {
  auto wrong = Psql({"-c", "select 1"}, "not-the-password");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err,
              HasSubstr(fmt::format("password authentication failed for user \"{}\"", *user_)));
  auto stranger = Psql({"-c", "select 1"}, *password_,
                       fmt::format("host=127.0.0.1 port={} user=mallory dbname=lake", port_));
  EXPECT_THAT(stranger.err, HasSubstr("password authentication failed for user \"mallory\""));
  auto tls = Psql({"-c", "select 1"}, "", Conninfo("sslmode=require"));
  EXPECT_THAT(tls.err, HasSubstr("server does not support SSL"));
}

TEST_F(PgwireTest, NodePgClientWorksUnmodified) {
  auto check = RunCommand("node", {fs::path(LOCH_SOURCE_DIR) / "tests/support/pg_client_check.mjs",
                                   "127.0.0.1", std::to_string(port_), *user_, *password_});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("pg client check passed"));
}

TEST_F(PgwireTest, MalformedStartupPacketsCloseOnlyTheirConnection) {
  // A length shorter than the header itself.
  EXPECT_THAT(SendAndReadUntilClosed(Int32(3) + Int32(196608)), HasSubstr("startup packet length"));
  // A length far beyond the startup limit: refused before anything is allocated.
  EXPECT_THAT(SendAndReadUntilClosed(Int32(0x7fffffff) + Int32(196608)),
              HasSubstr("startup packet length"));
  // Protocol 2.0.
  EXPECT_THAT(SendAndReadUntilClosed(Int32(8) + Int32(131072)),
              HasSubstr("unsupported frontend protocol 2.0"));
  // Parameters without their terminating NUL.
  EXPECT_THAT(SendAndReadUntilClosed(Int32(12) + Int32(196608) + "user"),
              HasSubstr("unterminated string"));
  // Before logging in, a client cannot make the server allocate a big message.
  const std::string startup_body = std::string("user\0loch\0database\0lake\0\0", 26);
  EXPECT_THAT(SendAndReadUntilClosed(Int32(8 + startup_body.size()) + Int32(196608) + startup_body +
                                     "p" + Int32(64 << 20)),
              HasSubstr("invalid length"));
  // Garbage, and a client that leaves mid-packet.
  SendAndReadUntilClosed(std::string(64, '\xff'));
  ::close(RawConnection());
  // Everyone else is still served.
  EXPECT_EQ(Psql({"-At", "-c", "select count(*) from demo.numbers"}).out, "5000\n");
}

}  // namespace
}  // namespace loch
