#include "orchestrate/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

#include "common/sanitizers.h"
#include "fmt/format.h"

namespace loch::orchestrate {

std::string WorkerExit::Describe() const {
  if (signal != 0) {
    return fmt::format("was killed by signal {} ({})", signal, ::strsignal(signal));
  }
  return fmt::format("exited with status {}", code);
}

namespace {

constexpr char kParentVariable[] = "LOCH_WORKER_PARENT";

// Frees posix_spawn's attribute and file-action objects however Spawn returns.
struct SpawnSetup {
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    ::posix_spawnattr_init(&attributes);
    ::posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// This process's environment with LOCH_WORKER_PARENT set to its pid.
std::vector<std::string> WorkerEnvironment() {
  std::vector<std::string> environment;
  const std::string prefix = std::string(kParentVariable) + "=";
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!std::string_view(*entry).starts_with(prefix)) environment.emplace_back(*entry);
  }
  environment.push_back(prefix + std::to_string(::getpid()));
  return environment;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Spawn(
    const std::string& binary, const std::vector<std::string>& args, const std::string& log_path) {
  std::vector<std::string> arguments{binary};
  arguments.insert(arguments.end(), args.begin(), args.end());
  std::vector<std::string> environment = WorkerEnvironment();
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
  // posix_spawn, not fork: nothing of this (large, many-threaded) process is copied and no
  // at-fork handler runs, and the exec's failure comes back as an error here.
  SpawnSetup setup;
  ::posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&setup.actions, log, STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&setup.actions, log, STDERR_FILENO);
  // A dup2 onto itself clears close-on-exec: the worker keeps the pipe's end, which closes as it
  // exits.
  ::posix_spawn_file_actions_adddup2(&setup.actions, exit_pipe[1], exit_pipe[1]);
  sigset_t signals;
  sigemptyset(&signals);
  ::posix_spawnattr_setsigmask(&setup.attributes, &signals);
  sigfillset(&signals);  // every signal as a new process has it (the server ignores some)
  ::posix_spawnattr_setsigdefault(&setup.attributes, &signals);
  ::posix_spawnattr_setpgroup(&setup.attributes, 0);  // a group of its own, for Kill
  ::posix_spawnattr_setflags(
      &setup.attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv = Pointers(arguments);
  std::vector<char*> envp = Pointers(environment);
  pid_t pid = 0;
  const int error =
      ::posix_spawn(&pid, argv[0], &setup.actions, &setup.attributes, argv.data(), envp.data());
  ::close(log);
  ::close(exit_pipe[1]);
  if (error != 0) {
    ::close(exit_pipe[0]);
    return absl::InternalError(
        fmt::format("cannot start the worker {}: {}", binary, std::strerror(error)));
  }
  return std::unique_ptr<WorkerProcess>(new WorkerProcess(pid, exit_pipe[0]));
}

absl::Status DieWithParent() {
  const char* parent = std::getenv(kParentVariable);
  if (parent == nullptr) return absl::OkStatus();
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    return absl::InternalError(
        fmt::format("cannot tie the worker to its parent: {}", std::strerror(errno)));
  }
  // The parent may have died before the line above, leaving this process to init.
  const std::string expected = parent;
  ::unsetenv(kParentVariable);  // not for what this worker starts (called before any thread)
  if (std::to_string(::getppid()) != expected) {
    return absl::FailedPreconditionError(
        fmt::format("the process that started this worker (pid {}) has ended", expected));
  }
  return absl::OkStatus();
}

absl::Status CapAddressSpace(int64_t bytes) {
  if (kUnderSanitizer) return absl::OkStatus();  // their shadow memory is terabytes of it
  rlimit inherited{};
  ::getrlimit(RLIMIT_AS, &inherited);
  rlim_t cap = static_cast<rlim_t>(bytes);
  if (inherited.rlim_max != RLIM_INFINITY) cap = std::min(cap, inherited.rlim_max);
  const rlimit limit{cap, cap};
  if (::setrlimit(RLIMIT_AS, &limit) != 0) {
    return absl::InternalError(
        fmt::format("cannot cap the worker's memory at {} bytes: {}", bytes, std::strerror(errno)));
  }
  return absl::OkStatus();
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
