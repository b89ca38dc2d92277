#include "common/fault_point.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace loch {
namespace {

bool Names(const char* variable, std::string_view point) {
  const char* value = std::getenv(variable);
  return value != nullptr && point == value;
}

// Whether this process is the first to reach `point` (always, without LOCH_FAULT_ONCE_DIR).
bool FirstToReach(std::string_view point) {
  const char* dir = std::getenv("LOCH_FAULT_ONCE_DIR");
  if (dir == nullptr) return true;
  const std::string marker = std::string(dir) + "/" + std::string(point);
  const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void Say(std::string_view what, std::string_view point) {
  const std::string line =
      "loch: " + std::string(what) + " at fault point " + std::string(point) + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

void FaultPoint(std::string_view point) {
  const bool paused = Names("LOCH_FAULT_PAUSE", point);
  const bool crash = Names("LOCH_FAULT_CRASH", point);
  if ((!paused && !crash) || !FirstToReach(point)) return;
  if (crash) {
    Say("crashed", point);
    std::abort();
  }
  Say("paused", point);
  for (;;) ::pause();
}

}  // namespace loch
