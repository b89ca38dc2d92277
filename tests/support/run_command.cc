#include "tests/support/run_command.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"

namespace loch::testing_support {
namespace {

std::string ReadAndRemove(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
  return buffer.str();
}

}  // namespace

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

CommandOutcome RunCommand(const std::string& program, const std::vector<std::string>& args,
                          const std::string& env) {
  const auto base = std::filesystem::temp_directory_path() / ("loch-run-" + NewRandomId());
  const std::string out = base.string() + ".out", err = base.string() + ".err";
  std::string command = env + " " + ShellQuote(program);
  for (const auto& arg : args) command += " " + ShellQuote(arg);
  command += " >" + ShellQuote(out) + " 2>" + ShellQuote(err) + " </dev/null";
  const int status = std::system(command.c_str());
  CommandOutcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadAndRemove(out);
  outcome.err = ReadAndRemove(err);
  return outcome;
}

}  // namespace loch::testing_support
