#include "tests/support/loch_server.h"

#include <unistd.h>

#include <httplib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "fmt/format.h"
#include "tests/support/run_command.h"

namespace loch::testing_support {

std::unique_ptr<LochServer> LochServer::Start(const std::string& binary, const std::string& lake,
                                              const std::vector<std::string>& extra_args,
                                              std::string* error,
                                              const std::vector<std::string>& environment) {
  return StartHttps(binary, lake, extra_args, "", error, environment);
}

std::unique_ptr<LochServer> LochServer::StartHttps(const std::string& binary,
                                                   const std::string& lake,
                                                   const std::vector<std::string>& extra_args,
                                                   const std::string& ca_file, std::string* error,
                                                   const std::vector<std::string>& environment) {
  std::unique_ptr<LochServer> server(new LochServer());
  server->https_ = !ca_file.empty();
  server->port_ = FreeLoopbackPort();
  // A lake on S3 has no folder here: its server's log goes to the temporary folder.
  server->log_path_ = lake.starts_with("s3://")
                          ? fmt::format("/tmp/loch-serve-{}-{}.log", ::getpid(), server->port_)
                          : fmt::format("{}/serve-{}.log", lake, server->port_);
  const std::string address = fmt::format("127.0.0.1:{}", server->port_);
  std::vector<std::string> args = {"serve", "--lake", lake, "--http", address};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server->process_ = ChildProcess::Start(binary, args, server->log_path_, environment);
  httplib::Client client(server->url());
  if (server->https_) client.set_ca_cert_path(ca_file.c_str());
  for (int i = 0; i < 200 && server->process_ != nullptr && server->process_->Running(); ++i) {
    if (auto health = client.Get("/health"); health && health->status == 200) return server;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream log(server->log_path_);
  std::stringstream text;
  text << log.rdbuf();
  if (error != nullptr) *error = "loch serve did not start: " + text.str();
  return nullptr;
}

LochServer::~LochServer() { Stop(); }

std::string LochServer::url() const {
  return https_ ? fmt::format("https://localhost:{}", port_)
                : fmt::format("http://127.0.0.1:{}", port_);
}

pid_t LochServer::pid() const { return process_ == nullptr ? -1 : process_->pid(); }

int LochServer::Stop() { return process_ == nullptr ? -1 : process_->Stop(); }

void LochServer::Kill() {
  if (process_ != nullptr) process_->Kill();
}

}  // namespace loch::testing_support
