#pragma once
// Runs a command (the `loch` binary, node scripts) the way a user's shell would, for end-to-end
// tests.

#include <string>
#include <vector>

namespace loch::testing_support {

struct CommandOutcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program` with `args` through /bin/sh, with `env` ("NAME=value" words, already quoted) set
// for it, and returns its exit code, stdout and stderr.
CommandOutcome RunCommand(const std::string& program, const std::vector<std::string>& args,
                          const std::string& env = "");

// A TCP port on 127.0.0.1 that was free a moment ago (for servers started by tests).
int FreeLoopbackPort();

// Single-quotes `arg` for /bin/sh.
std::string ShellQuote(const std::string& arg);

}  // namespace loch::testing_support
