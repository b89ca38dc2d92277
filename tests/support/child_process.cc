#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace loch::testing_support {

std::unique_ptr<ChildProcess> ChildProcess::Start(const std::string& binary,
                                                  const std::vector<std::string>& args,
                                                  const std::string& log_path,
                                                  const std::vector<std::string>& environment) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->log_path_ = log_path;
  std::vector<std::string> argv_text = {binary};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<std::string> variables = environment;  // putenv keeps pointers into these
  child->pid_ = ::fork();
  if (child->pid_ < 0) return nullptr;
  if (child->pid_ == 0) {
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    for (std::string& variable : variables) ::putenv(variable.data());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  return child;
}

ChildProcess::~ChildProcess() { Kill(); }

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool ChildProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Log().find(text) != std::string::npos) return true;
    if (!Running()) return Log().find(text) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;  // never kill(-1, ...)
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ChildProcess::Stop() {
  if (pid_ > 0) ::kill(pid_, SIGTERM);  // never kill(-1, ...)
  return Wait();
}

bool ChildProcess::Running() {
  int status = 0;
  if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return pid_ > 0;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return exit_code_;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return exit_code_;
}

}  // namespace loch::testing_support
