// The TLS module against OpenSSL's own client (in memory: no sockets), with certificates made by
// EnsureSelfSigned and verified the way clients verify them (chain to the CA, host name).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/test_dir.h"
#include "tls/self_signed.h"
#include "tls/tls_channel.h"
#include "tls/tls_context.h"

namespace loch::tls {
namespace {

namespace fs = std::filesystem;

// An OpenSSL client over memory BIOs that trusts `ca_path` and checks `host`.
class Client {
 public:
  Client(const std::string& ca_path, const std::string& host, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!ca_path.empty()) SSL_CTX_load_verify_locations(ctx_, ca_path.c_str(), nullptr);
    if (max_version != 0) {
      SSL_CTX_set_min_proto_version(ctx_, TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_, max_version);
      SSL_CTX_set_security_level(ctx_, 0);
    }
    ssl_ = SSL_new(ctx_);
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);
    SSL_set_connect_state(ssl_);
    if (host.find(':') != std::string::npos || std::isdigit(host[0])) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
    } else {
      SSL_set1_host(ssl_, host.c_str());
      SSL_set_tlsext_host_name(ssl_, host.c_str());
    }
  }
  ~Client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  // Runs the handshake (or sends what was written) against `server`; the server's plain text
  // lands in `server_plain`. The server's status, if it failed.
  absl::Status Exchange(TlsChannel& server, std::string& server_plain) {
    for (int round = 0; round < 20; ++round) {
      SSL_do_handshake(ssl_);
      std::string to_server = Drain();
      if (to_server.empty() && round > 0 && SSL_is_init_finished(ssl_)) break;
      RETURN_IF_ERROR(server.Receive(to_server, server_plain));
      std::string to_client;
      server.TakeOutgoing(to_client);
      if (!to_client.empty()) BIO_write(in_, to_client.data(), static_cast<int>(to_client.size()));
    }
    return absl::OkStatus();
  }

  std::string Drain() {
    std::string bytes(BIO_ctrl_pending(out_), '\0');
    if (!bytes.empty()) BIO_read(out_, bytes.data(), static_cast<int>(bytes.size()));
    return bytes;
  }
  void Write(std::string_view plain) {
    ASSERT_EQ(SSL_write(ssl_, plain.data(), static_cast<int>(plain.size())),
              static_cast<int>(plain.size()));
  }
  void Feed(std::string_view cipher) { BIO_write(in_, cipher.data(), static_cast<int>(cipher.size())); }
  std::string Read() {
    std::string plain;
    char buffer[16384];
    int n;
    while ((n = SSL_read(ssl_, buffer, sizeof buffer)) > 0) plain.append(buffer, n);
    return plain;
  }
  bool verified() const {
    return SSL_is_init_finished(ssl_) && SSL_get_verify_result(ssl_) == X509_V_OK;
  }
  std::string version() const { return SSL_get_version(ssl_); }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_;
  BIO* in_;
  BIO* out_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = EnsureSelfSigned({.dir = dir_.path() + "/tls", .names = {"lake.example"}});
    ASSERT_TRUE(made.ok()) << made.status();
    certs_ = *made;
    auto context = TlsServerContext::Load(certs_.server);
    ASSERT_TRUE(context.ok()) << context.status();
    context_ = *std::move(context);
  }
  std::unique_ptr<TlsChannel> Accept() {
    auto channel = TlsChannel::Accept(context_->Current());
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *std::move(channel);
  }

  TestDir dir_{"tls-test"};
  SelfSigned certs_;
  std::unique_ptr<TlsServerContext> context_;
};

TEST_F(TlsTest, AClientThatTrustsTheCaVerifiesEveryNameAndTalksBothWays) {
  for (const std::string host : {"localhost", "127.0.0.1", "::1", "lake.example"}) {
    SCOPED_TRACE(host);
    Client client(certs_.ca_path, host);
    std::unique_ptr<TlsChannel> server = Accept();
    std::string plain;
    ASSERT_TRUE(client.Exchange(*server, plain).ok());
    EXPECT_TRUE(server->handshake_done());
    EXPECT_TRUE(client.verified());
    EXPECT_EQ(client.version(), "TLSv1.3");

    // A large request, fed to the server in uneven pieces as a socket would.
    std::string request(1 << 20, 'x');
    for (size_t i = 0; i < request.size(); i += 997) request[i] = static_cast<char>('a' + i % 26);
    client.Write(request);
    const std::string cipher = client.Drain();
    for (size_t at = 0; at < cipher.size(); at += 1500)
      ASSERT_TRUE(server->Receive(std::string_view(cipher).substr(at, 1500), plain).ok());
    EXPECT_EQ(plain, request);

    ASSERT_TRUE(server->Send("HTTP/1.1 200 OK\r\n\r\n").ok());
    std::string answer;
    server->TakeOutgoing(answer);
    client.Feed(answer);
    EXPECT_EQ(client.Read(), "HTTP/1.1 200 OK\r\n\r\n");
  }
}

TEST_F(TlsTest, AWrongHostNameOrAnUntrustedCaFailsVerification) {
  {
    Client client(certs_.ca_path, "other.example");
    std::unique_ptr<TlsChannel> server = Accept();
    std::string plain;
    (void)client.Exchange(*server, plain);
    EXPECT_FALSE(client.verified());
  }
  {
    Client client("", "localhost");  // trusts nothing
    std::unique_ptr<TlsChannel> server = Accept();
    std::string plain;
    (void)client.Exchange(*server, plain);
    EXPECT_FALSE(client.verified());
  }
}

TEST_F(TlsTest, OldProtocolsAndNonTlsBytesAreRefusedWithAReason) {
  {
    Client client(certs_.ca_path, "localhost", TLS1_1_VERSION);
    std::unique_ptr<TlsChannel> server = Accept();
    std::string plain;
    absl::Status status = client.Exchange(*server, plain);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.message().find("TLS handshake failed"), std::string::npos) << status;
    EXPECT_FALSE(server->handshake_done());
  }
  {
    std::unique_ptr<TlsChannel> server = Accept();
    std::string plain;
    absl::Status status = server->Receive("GET / HTTP/1.1\r\nHost: x\r\n\r\n", plain);
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(plain.empty());
    EXPECT_FALSE(server->Send("no").ok());  // never in clear text
  }
  EXPECT_TRUE(LooksLikePlainHttp("GET / HTTP/1.1"));
  EXPECT_TRUE(LooksLikePlainHttp("POS"));
  EXPECT_FALSE(LooksLikePlainHttp("\x16\x03\x01"));
  EXPECT_FALSE(LooksLikePlainHttp(""));
}

TEST_F(TlsTest, SelfSignedFilesAreReusedAndKeysArePrivate) {
  struct stat status {};
  ASSERT_EQ(::stat(certs_.server.key_path.c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600);
  ASSERT_EQ(::stat((dir_.path() + "/tls").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0700);
  const std::string fingerprint = context_->info().sha256_fingerprint;
  EXPECT_EQ(fingerprint.size(), 32 * 3 - 1);

  const auto ca_pem = [&] {
    std::ifstream in(certs_.ca_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string ca_before = ca_pem();
  auto again = EnsureSelfSigned({.dir = dir_.path() + "/tls", .names = {"lake.example"}});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  // A new name: a new leaf from the same CA, so clients keep trusting it.
  auto renamed = EnsureSelfSigned({.dir = dir_.path() + "/tls", .names = {"10.1.2.3"}});
  ASSERT_TRUE(renamed.ok());
  EXPECT_TRUE(renamed->created);
  EXPECT_EQ(ca_pem(), ca_before);
  ASSERT_TRUE(context_->Reload().ok());
  EXPECT_NE(context_->info().sha256_fingerprint, fingerprint);
  Client client(certs_.ca_path, "10.1.2.3");
  std::unique_ptr<TlsChannel> server = Accept();
  std::string plain;
  ASSERT_TRUE(client.Exchange(*server, plain).ok());
  EXPECT_TRUE(client.verified());

  // A key others may read is refused, by name.
  ::chmod(certs_.server.key_path.c_str(), 0644);
  auto refused = TlsServerContext::Load(certs_.server);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("chmod 600"), std::string::npos) << refused.status();
}

TEST_F(TlsTest, AFailedReloadKeepsTheCertificateInUse) {
  const CertificateInfo before = context_->info();
  { std::ofstream(certs_.server.cert_path, std::ios::trunc) << "not a certificate\n"; }
  absl::Status reloaded = context_->Reload();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.message().find("--tls-cert"), std::string::npos) << reloaded;
  EXPECT_EQ(context_->reloads_failed(), 1u);
  EXPECT_EQ(context_->info().sha256_fingerprint, before.sha256_fingerprint);
  Client client(certs_.ca_path, "localhost");
  std::unique_ptr<TlsChannel> server = Accept();
  std::string plain;
  ASSERT_TRUE(client.Exchange(*server, plain).ok());
  EXPECT_TRUE(client.verified());
}

}  // namespace
}  // namespace loch::tls
