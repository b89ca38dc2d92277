#include "orchestrate/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "fmt/format.h"

namespace loch::orchestrate {

std::string WorkerExit::Describe() const {
  if (signal != 0) {
    return fmt::format("was killed by signal {} ({})", signal, ::strsignal(signal));
  }
  return fmt::format("exited with status {}", code);
}

absl::StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args, const std::string& log_path) {
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<std::string> owned{binary};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) {
    return absl::InternalError(
        fmt::format("cannot open the worker log {}: {}", log_path, std::strerror(errno)));
  }
  int exit_pipe[2];
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    ::close(log);
    return absl::InternalError(fmt::format("cannot start a worker: {}", std::strerror(error)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(log);
    ::close(exit_pipe[0]);
    ::close(exit_pipe[1]);
    return absl::InternalError(fmt::format("cannot start a worker: {}", std::strerror(error)));
  }
  if (pid == 0) {
    ::fcntl(exit_pipe[1], F_SETFD, 0);  // kept open across exec, closed by its exit
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before the line above
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static constexpr char kFailed[] = "loch: cannot start the worker binary\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, kFailed, sizeof kFailed - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: a kill right after Spawn must reach the group
  ::close(log);
  ::close(exit_pipe[1]);
  return std::unique_ptr<WorkerProcess>(new WorkerProcess(pid, exit_pipe[0]));
}

WorkerProcess::~WorkerProcess() {
  ::close(exit_fd_);
  if (exit_) return;
  Kill();
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::optional<WorkerExit> WorkerProcess::Poll() {
  if (exit_) return exit_;
  // Looked at without reaping first: until it is reaped, its id cannot be taken by another
  // process, so the kill of its group below reaches only what it started.
  siginfo_t info{};
  if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_) {
    return std::nullopt;
  }
  ::kill(-pid_, SIGKILL);  // nothing of a run outlives its worker
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  WorkerExit ended;
  if (WIFEXITED(status)) ended.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) ended.signal = WTERMSIG(status);
  exit_ = ended;
  return exit_;
}

void WorkerProcess::Kill() {
  if (exit_) return;
  ::kill(-pid_, SIGKILL);
}

std::string FileTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                                   ? size - static_cast<std::streamoff>(max_bytes)
                                   : 0;
  in.seekg(start);
  std::string tail(static_cast<size_t>(size - start), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  tail.resize(static_cast<size_t>(in.gcount()));
  if (start > 0) {
    if (const size_t line = tail.find('\n'); line != std::string::npos) tail.erase(0, line + 1);
  }
  return tail;
}

}  // namespace loch::orchestrate
