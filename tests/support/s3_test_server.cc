#include "tests/support/s3_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "fmt/format.h"
#include "httplib.h"
#include "storage/s3_store.h"
#include "tests/support/run_command.h"

namespace loch::testing_support {
namespace {

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

int Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
    FILE* out = std::fopen(log.c_str(), "w");
    if (out != nullptr) {
      ::dup2(fileno(out), STDOUT_FILENO);
      ::dup2(fileno(out), STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

void Stop(int pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

absl::Status WaitForPort(int port, int pid, const std::string& what, const std::string& log) {
  for (int i = 0; i < 300; ++i) {
    if (Accepts(port)) return absl::OkStatus();
    if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::UnavailableError(fmt::format("{} did not start (see {})", what, log));
}

}  // namespace

absl::StatusOr<std::unique_ptr<S3TestServer>> S3TestServer::Start() {
  const std::string root = LOCH_SOURCE_DIR;
  const std::string s3rver = root + "/node_modules/s3rver/bin/s3rver.js";
  if (!std::filesystem::exists(s3rver)) {
    return absl::FailedPreconditionError(fmt::format(
        "{} is missing: run scripts/setup.sh (it installs the npm test peers)", s3rver));
  }
  std::unique_ptr<S3TestServer> server(new S3TestServer());
  server->data_dir_ = server->scratch_ / "data";
  std::filesystem::create_directories(server->data_dir_);
  const int s3_port = FreeLoopbackPort();
  const std::string s3_log = server->scratch_ / "s3rver.log";
  server->s3rver_pid_ = Spawn({"node", s3rver, "-d", server->data_dir_, "-a", "127.0.0.1", "-p",
                               std::to_string(s3_port), "--silent"},
                              s3_log);
  RETURN_IF_ERROR(WaitForPort(s3_port, server->s3rver_pid_, "s3rver", s3_log));
  const int proxy_port = FreeLoopbackPort();
  const std::string proxy_log = server->scratch_ / "proxy.log";
  server->proxy_pid_ =
      Spawn({"node", root + "/tests/support/s3_proxy.mjs", "--port", std::to_string(proxy_port),
             "--target", fmt::format("http://127.0.0.1:{}", s3_port), "--region", kRegion, "--key",
             kAccessKey, "--secret", kSecretKey},
            proxy_log);
  RETURN_IF_ERROR(WaitForPort(proxy_port, server->proxy_pid_, "the S3 proxy", proxy_log));
  server->endpoint_ = fmt::format("http://127.0.0.1:{}", proxy_port);
  server->direct_endpoint_ = fmt::format("http://127.0.0.1:{}", s3_port);
  return server;
}

S3TestServer::~S3TestServer() {
  Stop(proxy_pid_);
  Stop(s3rver_pid_);  // then scratch_ goes, with the data and the logs
}

S3Config S3TestServer::ConfigFor(const std::string& bucket, const std::string& prefix) const {
  S3Config config;
  config.bucket = bucket;
  config.prefix = prefix;
  config.endpoint = endpoint_;
  config.region = kRegion;
  config.access_key_id = kAccessKey;
  config.secret_access_key = kSecretKey;
  config.retry.base_delay = std::chrono::milliseconds(5);
  config.retry.max_delay = std::chrono::milliseconds(50);
  config.request_timeout = std::chrono::milliseconds(15000);
  return config;
}

absl::Status S3TestServer::CreateBucket(const std::string& bucket) const {
  ASSIGN_OR_RETURN(auto store, S3ObjectStore::Open(ConfigFor(bucket)));
  return store->CreateBucket();
}

namespace {
absl::StatusOr<std::string> Control(const std::string& endpoint, const std::string& path,
                                    const std::string& body) {
  httplib::Client client(endpoint);
  auto result = client.Post(path, body, "application/json");
  if (!result || result->status != 200)
    return absl::UnavailableError(fmt::format("proxy control {} failed", path));
  return result->body;
}
}  // namespace

absl::StatusOr<nlohmann::json> S3TestServer::Stats() const {
  httplib::Client client(endpoint_);
  auto result = client.Get("/__proxy/stats");
  if (!result || result->status != 200) return absl::UnavailableError("cannot read proxy stats");
  return nlohmann::json::parse(result->body);
}

absl::Status S3TestServer::ResetStats() const {
  return Control(endpoint_, "/__proxy/reset", "").status();
}

absl::Status S3TestServer::SetFaults(const nlohmann::json& faults) const {
  return Control(endpoint_, "/__proxy/faults", faults.dump()).status();
}

}  // namespace loch::testing_support
