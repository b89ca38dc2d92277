#pragma once
// WorkerProcess: one run's worker, a child process in a process group of its own (so that a
// timeout or a cancel kills it and everything it started), with its output appended to a log
// file. A worker that calls DieWithParent() at its start dies with the thread that spawned it
// (PR_SET_PDEATHSIG): a server that is killed leaves no worker behind, and its next start
// recovers the runs they had.
//
// Thread-safety: a WorkerProcess is used by one thread (the one that spawned it, which must
// outlive it).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace loch::orchestrate {

// How a worker ended.
struct WorkerExit {
  int code = -1;   // its exit status, or -1 if a signal ended it
  int signal = 0;  // the signal that ended it, or 0
  bool ok() const { return code == 0; }
  // "exited with status 3", "was killed by signal 9 (Killed)".
  std::string Describe() const;
};

class WorkerProcess {
 public:
  // Starts `binary` with `args` (argv[1..]); its stdin is /dev/null, its stdout and stderr go to
  // `log_path` (appended, created 0600); its environment is this process's plus
  // LOCH_WORKER_PARENT (for DieWithParent). Errors: Internal when the process cannot be made or
  // `binary` cannot be executed.
  static absl::StatusOr<std::unique_ptr<WorkerProcess>> Spawn(const std::string& binary,
                                                              const std::vector<std::string>& args,
                                                              const std::string& log_path);
  // Kills the process group and reaps the worker if it is still running.
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Readable (end of file) once the worker has ended: poll it to learn of the end at once. The
  // worker holds the other end of a pipe it never uses, which the kernel closes when it exits.
  int exit_fd() const { return exit_fd_; }
  // How it ended, once it has (reaped then); nullopt while it runs. Never blocks.
  std::optional<WorkerExit> Poll();
  // SIGKILL to its process group (the worker and what it started).
  void Kill();

 private:
  WorkerProcess(pid_t pid, int exit_fd) : pid_(pid), exit_fd_(exit_fd) {}
  pid_t pid_;
  int exit_fd_;
  std::optional<WorkerExit> exit_;
};

// Called by a worker at its start, before it starts threads: it is killed (SIGKILL) when the
// thread that spawned it ends, and LOCH_WORKER_PARENT leaves its environment. A no-op in a
// process that WorkerProcess::Spawn did not start. Errors: FailedPrecondition when
// that process has already ended (the worker should exit at once), Internal if prctl fails.
absl::Status DieWithParent();

// Caps this process's address space at `bytes` (RLIMIT_AS; at most the hard limit it inherited):
// an allocation beyond it fails, in the query engine an out-of-memory error, instead of taking
// memory from the rest of the machine. A no-op under AddressSanitizer and ThreadSanitizer, whose
// shadow memory would not fit. Errors: Internal if setrlimit fails.
absl::Status CapAddressSpace(int64_t bytes);

// The last `max_bytes` of the file at `path` (from the start of a line when it can), "" if it
// cannot be read.
std::string FileTail(const std::string& path, size_t max_bytes);

}  // namespace loch::orchestrate
