#include "common/private_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace loch {

absl::Status CheckPrivateFile(const std::string& path, bool allow_root_group_read) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    return absl::NotFoundError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  const bool owned_by_root = status.st_uid == 0;
  const mode_t forbidden =
      allow_root_group_read && owned_by_root ? (S_IWGRP | S_IXGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);
  if ((status.st_mode & forbidden) != 0) {
    return absl::PermissionDeniedError(
        fmt::format("{} holds a secret but others may read it (mode {:04o}); run `chmod 600 {}`",
                    path, status.st_mode & 07777, path));
  }
  if (status.st_uid != ::geteuid() && !owned_by_root) {
    return absl::PermissionDeniedError(fmt::format(
        "{} holds a secret but belongs to another user (uid {}); it must belong to this user "
        "(uid {}) or root",
        path, status.st_uid, ::geteuid()));
  }
  return absl::OkStatus();
}

}  // namespace loch
