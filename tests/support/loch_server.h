#pragma once
// `loch serve` as a child process for end-to-end tests: started on a free loopback port, ready once
// /health answers; stopped with SIGTERM (a clean stop) or killed with SIGKILL (a crash). Its
// stdout and stderr go to <lake>/serve-<port>.log for diagnosis (/tmp/loch-serve-*.log for a lake
// on S3).

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace loch::testing_support {

class LochServer {
 public:
  // Starts `binary serve --lake LAKE --http 127.0.0.1:<free port> EXTRA...`, with `environment`
  // ("NAME=value") added to its environment. nullptr (with the log's tail in `error`) if it does
  // not answer /health within 10 s.
  static std::unique_ptr<LochServer> Start(const std::string& binary, const std::string& lake,
                                           const std::vector<std::string>& extra_args,
                                           std::string* error,
                                           const std::vector<std::string>& environment = {});
  // The same for a server started with TLS (--tls-cert/--tls-key or --tls-self-signed in
  // `extra_args`): /health is asked over https, trusting the CA in `ca_file`.
  static std::unique_ptr<LochServer> StartHttps(const std::string& binary, const std::string& lake,
                                                const std::vector<std::string>& extra_args,
                                                const std::string& ca_file, std::string* error,
                                                const std::vector<std::string>& environment = {});
  ~LochServer();  // Stop() unless it already ended

  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port> (https://localhost:<port> with TLS)
  pid_t pid() const;
  const std::string& log_path() const { return log_path_; }

  // SIGTERM and wait; the exit code (-1 if it died of a signal).
  int Stop();
  // SIGKILL and wait: a crash at whatever point the server is.
  void Kill();

 private:
  LochServer() = default;
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  bool https_ = false;
  std::string log_path_;
};

}  // namespace loch::testing_support
