// `loch serve` with TLS, against clients loch did not write: the AWS SDK v3 Firehose and Athena
// clients, Node's https, the npm `pg` client and psql with verify-full, curl-like plain-text
// clients, `openssl s_client`. The certificates come from the `openssl` command (a test CA, two
// server certificates, one expired), not from loch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/test_dir.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/child_process.h"
#include "tests/support/loch_server.h"
#include "tests/support/run_command.h"

namespace loch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HasSubstr;
using testing_support::CommandOutcome;
using testing_support::LochServer;
using testing_support::RunCommand;
using testing_support::ShellQuote;

// A test CA and server certificates for localhost and 127.0.0.1: leaf1 and leaf2 (valid), expired
// (January 2020). Keys are 0600.
constexpr const char* kMakeCertificates = R"(set -e
cat > ca.cnf <<'EOF'
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
EOF
touch index.txt
echo 1000 > serial
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 30 -subj "/CN=loch test CA" 2>/dev/null
for leaf in leaf1 leaf2 expired; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $leaf.key -out $leaf.csr \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
done
for leaf in leaf1 leaf2; do
  openssl x509 -req -in $leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -copy_extensions copy -out $leaf.pem 2>/dev/null
done
openssl ca -config ca.cnf -batch -keyfile ca.key -cert ca.pem -in expired.csr -out expired.pem \
  -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null
chmod 600 *.key
)";

class TlsE2eTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TestDir("tls-e2e-certs");
    const std::string script = certs_->path() + "/make-certificates.sh";
    std::ofstream(script) << kMakeCertificates;
    CommandOutcome made =
        RunCommand("sh", {"-c", fmt::format("cd {} && sh {}", ShellQuote(certs_->path()),
                                            ShellQuote(script))});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static std::string Cert(const std::string& name) { return certs_->path() + "/" + name; }

  void SetUp() override {
    lake_ = work_.path() + "/lake";
    auto init = RunCommand(LOCH_BINARY, {"init", "--lake", lake_});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    std::ifstream credentials(lake_ + "/.loch/admin-credentials.json");
    keys_ = json::parse(credentials);
  }

  // Serves with `leaf` (copied to the files the server reads, so a test can swap them), HTTPS
  // and PostgreSQL over TLS.
  void Start(const std::string& leaf, std::vector<std::string> extra = {}) {
    Install(leaf);
    pg_port_ = testing_support::FreeLoopbackPort();
    std::vector<std::string> args = {"--tls-cert", ServerCert(), "--tls-key", ServerKey(),
                                     "--pg", fmt::format("127.0.0.1:{}", pg_port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string error;
    server_ = LochServer::StartHttps(LOCH_BINARY, lake_, args, Cert("ca.pem"), &error);
    ASSERT_NE(server_, nullptr) << error;
  }
  std::string ServerCert() const { return work_.path() + "/server.pem"; }
  std::string ServerKey() const { return work_.path() + "/server.key"; }
  // Replaces the server's files by `leaf`'s, each by a rename (a reader never sees half a file).
  void Install(const std::string& leaf) {
    fs::copy_file(Cert(leaf + ".pem"), ServerCert() + ".new", fs::copy_options::overwrite_existing);
    fs::copy_file(Cert(leaf + ".key"), ServerKey() + ".new", fs::copy_options::overwrite_existing);
    fs::permissions(ServerKey() + ".new", fs::perms::owner_read | fs::perms::owner_write);
    fs::rename(ServerKey() + ".new", ServerKey());
    fs::rename(ServerCert() + ".new", ServerCert());
  }

  httplib::Client Client() {
    httplib::Client client(server_->url());
    client.set_ca_cert_path(Cert("ca.pem").c_str());
    client.set_bearer_token_auth(keys_["token"].get<std::string>().c_str());
    client.set_read_timeout(std::chrono::seconds(30));
    return client;
  }
  CommandOutcome Psql(const std::string& conninfo_extra, const std::string& sql) {
    return RunCommand("psql",
                      {"-X", "-At", "-c", sql,
                       fmt::format("host=localhost port={} user={} dbname=lake {}",
                                              pg_port_, keys_["pg_user"].get<std::string>(),
                                              conninfo_extra)},
                      "PGPASSWORD=" + ShellQuote(keys_["pg_password"].get<std::string>()));
  }
  // The SHA-256 fingerprint of the certificate a new TLS connection is shown.
  std::string ServedFingerprint() {
    return RunCommand("sh", {"-c", fmt::format("openssl s_client -connect 127.0.0.1:{} "
                                               "-servername localhost </dev/null 2>/dev/null | "
                                               "openssl x509 -noout -fingerprint -sha256",
                                               server_->port())})
        .out;
  }
  static std::string FingerprintOf(const std::string& pem) {
    return RunCommand("openssl", {"x509", "-noout", "-fingerprint", "-sha256", "-in", pem}).out;
  }
  std::string Metrics() { return Client().Get("/metrics")->body; }
  // Sends `bytes` to the PostgreSQL port in one write; what comes back until the server closes.
  std::string SendToPg(const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(pg_port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
      timeval timeout{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      char buffer[4096];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) answer.append(buffer, n);
    }
    ::close(fd);
    return answer;
  }

  static TestDir* certs_;
  TestDir work_{"tls-e2e"};
  std::string lake_;
  json keys_;
  int pg_port_ = 0;
  std::unique_ptr<LochServer> server_;
};

TestDir* TlsE2eTest::certs_ = nullptr;

TEST_F(TlsE2eTest, ClientsVerifyTheServerAndPlainTextClientsAreToldWhy) {
  Start("leaf1");
  auto node = RunCommand(
      "node", {std::string(LOCH_SOURCE_DIR) + "/tests/support/tls_client_check.mjs",
               server_->url(), "localhost", std::to_string(pg_port_),
               keys_["pg_user"].get<std::string>(), keys_["pg_password"].get<std::string>(),
               Cert("ca.pem"), "valid"},
      "NODE_NO_WARNINGS=1");
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err;
  EXPECT_THAT(node.out, HasSubstr("tls client check ok"));

  auto verified =
      Psql(fmt::format("sslmode=verify-full sslrootcert={}", Cert("ca.pem")), "SELECT 6 * 7");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "42\n");
  auto plain = Psql("sslmode=disable", "SELECT 1");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_THAT(plain.err, HasSubstr("accepts only encrypted connections"));
  // psql checks the chain against the CA it is given: another CA's server is refused.
  auto untrusted = Psql(fmt::format("sslmode=verify-full sslrootcert={}", Cert("leaf2.pem")),
                        "SELECT 1");
  EXPECT_NE(untrusted.exit_code, 0);
  EXPECT_THAT(untrusted.err, HasSubstr("certificate verify failed"));

  // verify-full also checks the name: a server reached as another name is refused.
  auto wrong_name = Psql(fmt::format("host=wrong.example hostaddr=127.0.0.1 sslmode=verify-full "
                                     "sslrootcert={}",
                                     Cert("ca.pem")),
                         "SELECT 1");
  EXPECT_NE(wrong_name.exit_code, 0);
  EXPECT_THAT(wrong_name.err, HasSubstr("does not match host name"));

  // Bytes sent after the SSLRequest, before the handshake, could come from a man in the middle
  // (CVE-2021-23214): refused, never read as the startup.
  const std::string injected = SendToPg(std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8) +
                                        std::string("\0\0\0\x08\0\x03\0\0", 8));
  EXPECT_THAT(injected, HasSubstr("unencrypted data after the SSL request"));
  EXPECT_EQ(injected.substr(0, 1), "E");  // an ErrorResponse, not 'S' (TLS would start)

  // Plain HTTP to the HTTPS port: a readable refusal, in plain text.
  httplib::Client plain_http("127.0.0.1", server_->port());
  auto refused = plain_http.Get("/health");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("use https://"));

  // loch's own client verifies the server too.
  const std::vector<std::string> list = {"stream", "list", "--lake", lake_, "--server",
                                         server_->url()};
  auto without_ca = RunCommand(LOCH_BINARY, list);
  EXPECT_NE(without_ca.exit_code, 0);
  EXPECT_THAT(without_ca.err, HasSubstr("--ca-file"));
  std::vector<std::string> with_ca = list;
  with_ca.insert(with_ca.end(), {"--ca-file", Cert("ca.pem")});
  auto listed = RunCommand(LOCH_BINARY, with_ca);
  EXPECT_EQ(listed.exit_code, 0) << listed.err;

  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("loch_tls_handshake_failures_total{endpoint=\"http\",reason=\"plaintext\"} 1"));
  // psql's and pg's plain-text logins.
  EXPECT_THAT(metrics, HasSubstr("loch_tls_handshake_failures_total{endpoint=\"pg\",reason=\"plaintext\"} 2"));
  EXPECT_THAT(metrics, testing::ContainsRegex("loch_tls_handshakes_total\\{endpoint=\"pg\"\\} [1-9]"));
}

TEST_F(TlsE2eTest, TheAwsSdkClientsWorkUnmodifiedOverHttpsWithACustomCa) {
  {  // the table the Athena check reads
    std::ofstream out(work_.path() + "/numbers.json");
    for (int i = 1; i <= 5000; ++i) out << fmt::format("{{\"n\": {}, \"label\": \"item {}\"}}\n", i, i);
  }
  auto load = RunCommand(LOCH_BINARY, {"load", work_.path() + "/numbers.json", "--table",
                                       "demo.numbers", "--lake", lake_});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  Start("leaf1");
  const std::string env = "NODE_NO_WARNINGS=1 NODE_EXTRA_CA_CERTS=" + ShellQuote(Cert("ca.pem"));
  for (const char* check : {"firehose_sdk_check.mjs", "athena_sdk_check.mjs"}) {
    auto outcome = RunCommand(
        "node",
        {std::string(LOCH_SOURCE_DIR) + "/tests/support/" + check, server_->url(),
         keys_["access_key_id"].get<std::string>(), keys_["secret_access_key"].get<std::string>()},
        env);
    EXPECT_EQ(outcome.exit_code, 0) << check << ": " << outcome.out << outcome.err;
    EXPECT_THAT(outcome.out, HasSubstr("interop ok"));
  }
}

TEST_F(TlsE2eTest, AnExpiredCertificateIsRefusedByClients) {
  // The server starts (and says so): refusing would turn an expiry into an outage of the plain
  // parts too. Clients refuse it.
  Install("expired");
  pg_port_ = testing_support::FreeLoopbackPort();
  const int http_port = testing_support::FreeLoopbackPort();
  auto process = testing_support::ChildProcess::Start(
      LOCH_BINARY,
      {"serve", "--lake", lake_, "--http", fmt::format("127.0.0.1:{}", http_port), "--pg",
       fmt::format("127.0.0.1:{}", pg_port_), "--tls-cert", ServerCert(), "--tls-key",
       ServerKey()},
      work_.path() + "/serve.log");
  ASSERT_TRUE(process->WaitForLog("PostgreSQL protocol on", std::chrono::seconds(10)))
      << process->Log();
  EXPECT_THAT(process->Log(), HasSubstr("warning: the certificate expired"));
  auto node = RunCommand(
      "node", {std::string(LOCH_SOURCE_DIR) + "/tests/support/tls_client_check.mjs",
               fmt::format("https://localhost:{}", http_port), "localhost", std::to_string(pg_port_), keys_["pg_user"].get<std::string>(),
               keys_["pg_password"].get<std::string>(), Cert("ca.pem"), "expired"},
      "NODE_NO_WARNINGS=1");
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err;
  auto psql = Psql(fmt::format("sslmode=verify-full sslrootcert={}", Cert("ca.pem")), "SELECT 1");
  EXPECT_NE(psql.exit_code, 0);
  EXPECT_THAT(psql.err, HasSubstr("certificate verify failed"));  // node named the reason
}

TEST_F(TlsE2eTest, SighupSwapsTheCertificateUnderLoadWithNoFailedRequest) {
  Start("leaf1");
  ASSERT_EQ(Client().Post("/api/v1/streams", R"({"name": "swap", "buffer_seconds": 900})",
                          "application/json")
                ->status,
            201);
  EXPECT_EQ(ServedFingerprint(), FingerprintOf(Cert("leaf1.pem")));

  // Four producers: keep-alive connections, and a new connection (a new handshake) every 10th
  // request, so handshakes run while the certificate changes.
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, failed{0};
  std::vector<std::thread> producers;
  std::mutex errors_mu;
  std::vector<std::string> errors;
  for (int id = 0; id < 4; ++id) {
    producers.emplace_back([&, id] {
      std::optional<httplib::Client> client;
      for (int n = 0; !stop; ++n) {
        if (n % 10 == 0) client.emplace(Client());
        auto put = client->Post("/api/v1/streams/swap/records",
                                fmt::format("{{\"producer\": {}, \"n\": {}}}", id, n),
                                "application/x-ndjson");
        if (put && put->status == 200) {
          ++acknowledged;
        } else {
          ++failed;
          std::lock_guard lock(errors_mu);
          errors.push_back(put ? fmt::format("HTTP {}: {}", put->status, put->body)
                               : httplib::to_string(put.error()));
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Install("leaf2");
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string after_swap = ServedFingerprint();
  // A broken pair is refused and the certificate in use stays.
  { std::ofstream(ServerCert(), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nbroken\n"; }
  ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (std::thread& producer : producers) producer.join();

  EXPECT_EQ(failed.load(), 0) << (errors.empty() ? "" : errors.front());
  EXPECT_GT(acknowledged.load(), 100);
  EXPECT_EQ(after_swap, FingerprintOf(Cert("leaf2.pem")));
  EXPECT_EQ(ServedFingerprint(), FingerprintOf(Cert("leaf2.pem")));
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("loch_tls_reloads_total{result=\"ok\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("loch_tls_reloads_total{result=\"failed\"} 1"));
  EXPECT_EQ(Client().Post("/api/v1/streams/swap/flush", "", "text/plain")->status, 200);
  auto counted = Psql(fmt::format("sslmode=verify-full sslrootcert={}", Cert("ca.pem")),
                      "SELECT count(*) FROM raw.swap");
  EXPECT_EQ(counted.out, fmt::format("{}\n", acknowledged.load())) << counted.err;
}

TEST_F(TlsE2eTest, PlainTextOnANonLoopbackAddressNeedsInsecureAndKeysMustBePrivate) {
  const std::string any = fmt::format("0.0.0.0:{}", testing_support::FreeLoopbackPort());
  // (`timeout`: a regression would serve instead of failing.)
  auto refused = RunCommand("timeout", {"20", LOCH_BINARY, "serve", "--lake", lake_, "--http", any});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("not a loopback address"));
  EXPECT_THAT(refused.err, HasSubstr("--insecure"));
  const std::string loopback = fmt::format("127.0.0.1:{}", testing_support::FreeLoopbackPort());
  auto pg_refused = RunCommand("timeout", {"20", LOCH_BINARY, "serve", "--lake", lake_, "--http",
                                           loopback, "--pg", any});
  EXPECT_NE(pg_refused.exit_code, 0);
  EXPECT_THAT(pg_refused.err, HasSubstr("--pg 0.0.0.0 is not a loopback address"));

  Install("leaf1");
  fs::permissions(ServerKey(), fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::add);
  auto readable = RunCommand("timeout", {"20", LOCH_BINARY, "serve", "--lake", lake_, "--http", any,
                                         "--tls-cert", ServerCert(), "--tls-key", ServerKey()});
  EXPECT_NE(readable.exit_code, 0);
  EXPECT_THAT(readable.err, HasSubstr("chmod 600"));

  // So are credentials others may read.
  const std::string credentials = lake_ + "/.loch/admin-credentials.json";
  fs::permissions(credentials, fs::perms::others_read, fs::perm_options::add);
  auto exposed = RunCommand("timeout", {"20", LOCH_BINARY, "serve", "--lake", lake_, "--http",
                                        loopback});
  EXPECT_NE(exposed.exit_code, 0);
  EXPECT_THAT(exposed.err, HasSubstr("admin-credentials.json holds a secret but others may read it"));
  fs::permissions(credentials, fs::perms::others_read, fs::perm_options::remove);

  auto insecure = testing_support::ChildProcess::Start(
      LOCH_BINARY, {"serve", "--lake", lake_, "--http", any, "--insecure"},
      work_.path() + "/insecure.log");
  EXPECT_TRUE(insecure->WaitForLog("loch is serving", std::chrono::seconds(10))) << insecure->Log();
  EXPECT_EQ(insecure->Stop(), 0);
}

}  // namespace
}  // namespace loch
