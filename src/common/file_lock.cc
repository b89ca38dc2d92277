#include "common/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace loch {

absl::StatusOr<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& path,
                                                               bool& held_elsewhere) {
  held_elsewhere = false;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      held_elsewhere = true;
      return nullptr;
    }
    return absl::InternalError(fmt::format("cannot lock {}: {}", path, std::strerror(error)));
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace loch
