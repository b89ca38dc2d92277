#pragma once
// A command as a child process for crash tests: started in the background with its stdout and
// stderr in a log file, watched for a line, killed with SIGKILL at a chosen moment.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace loch::testing_support {

class ChildProcess {
 public:
  // Starts `binary ARGS...` with `environment` ("NAME=value") added to its environment, its
  // output appended to `log_path`. nullptr if it cannot be started.
  static std::unique_ptr<ChildProcess> Start(const std::string& binary,
                                             const std::vector<std::string>& args,
                                             const std::string& log_path,
                                             const std::vector<std::string>& environment = {});
  ~ChildProcess();  // Kill() unless it already ended

  // Waits until the log holds `text` (true), the process ends or `timeout` passes (false).
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);
  // SIGKILL and wait: a crash at whatever point it is.
  void Kill();
  // SIGTERM and wait (a clean stop); its exit code (-1 if a signal ended it).
  int Stop();
  // False once it has ended (reaping it).
  bool Running();
  // Waits for it to end; its exit code (-1 if a signal ended it).
  int Wait();
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::string log_path_;
  int exit_code_ = -1;  // once reaped
};

}  // namespace loch::testing_support
