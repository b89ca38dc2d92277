#include "tests/support/loch_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
  std::unique_ptr<LochServer> server(new LochServer());
  server->port_ = FreeLoopbackPort();
  server->log_path_ = fmt::format("{}/serve-{}.log", lake, server->port_);
  const std::string address = fmt::format("127.0.0.1:{}", server->port_);
  std::vector<std::string> args = {binary, "serve", "--lake", lake, "--http", address};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<std::string> variables = environment;  // putenv keeps pointers into these
  server->pid_ = ::fork();
  if (server->pid_ == 0) {
    const int log = ::open(server->log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    for (std::string& variable : variables) ::putenv(variable.data());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  httplib::Client client("127.0.0.1", server->port_);
  for (int i = 0; i < 200; ++i) {
    if (auto health = client.Get("/health"); health && health->status == 200) return server;
    int status = 0;
    if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::ifstream log(server->log_path_);
  std::stringstream text;
  text << log.rdbuf();
  if (error != nullptr) *error = "loch serve did not start: " + text.str();
  return nullptr;
}

LochServer::~LochServer() {
  if (pid_ > 0) Stop();
}

std::string LochServer::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

int LochServer::Stop() {
  if (pid_ <= 0) return -1;  // never kill(-1, ...): that signals every process we may signal
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void LochServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace loch::testing_support
