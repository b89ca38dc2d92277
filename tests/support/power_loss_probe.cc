// A scripted file writer for the power-loss shim's own test (tests/power_loss_test.cc): performs
// the operations its arguments name, in order, each as one system call, and exits 0 (1 at the
// first failure, naming it).
//   write PATH TEXT     create or truncate PATH and write TEXT
//   append PATH TEXT    append TEXT to PATH
//   overwrite PATH TEXT write TEXT at offset 0 of PATH (pwrite, no truncation)
//   fsync PATH          fsync the file or folder PATH
//   mkdir PATH          create the folder PATH
//   rename FROM TO      rename FROM to TO

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

bool Write(const char* path, const std::string& text, int flags) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | flags, 0644);
  if (fd < 0) return false;
  const bool ok =
      (flags & O_APPEND) != 0 || (flags & O_TRUNC) != 0
          ? ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
          : ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

bool Fsync(const char* path) {
  const int fd = ::open(path, O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

bool Perform(const std::string& op, const char* path, const char* argument) {
  if (op == "write") return Write(path, argument, O_TRUNC);
  if (op == "append") return Write(path, argument, O_APPEND);
  if (op == "overwrite") return Write(path, argument, 0);
  if (op == "fsync") return Fsync(path);
  if (op == "mkdir") return ::mkdir(path, 0755) == 0;
  if (op == "rename") return ::rename(path, argument) == 0;
  return false;
}

bool TakesArgument(const std::string& op) { return op != "fsync" && op != "mkdir"; }

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc;) {
    const std::string op = argv[i];
    const int needed = TakesArgument(op) ? 3 : 2;
    if (i + needed > argc) {
      std::fprintf(stderr, "power_loss_probe: %s needs %d arguments\n", op.c_str(), needed - 1);
      return 1;
    }
    if (!Perform(op, argv[i + 1], needed == 3 ? argv[i + 2] : "")) {
      std::fprintf(stderr, "power_loss_probe: %s %s failed: %s\n", op.c_str(), argv[i + 1],
                   std::strerror(errno));
      return 1;
    }
    i += needed;
  }
  return 0;
}
