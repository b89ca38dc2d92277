#include "common/durable_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/ids.h"
#include "fmt/format.h"

namespace loch {

absl::Status FileError(std::string_view doing, std::string_view path) {
  const int error = errno;
  const std::string message = fmt::format("{} \"{}\": {}", doing, path, std::strerror(error));
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    default:
      return absl::UnavailableError(message);
  }
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError("cannot open the folder", dir);
  const bool synced = ::fsync(fd) == 0;
  const absl::Status status = synced ? absl::OkStatus() : FileError("cannot fsync the folder", dir);
  ::close(fd);
  return status;
}

absl::Status CreateDirectoriesDurably(const std::string& path, mode_t mode) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) return absl::OkStatus();
  fs::path target = fs::path(path).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();  // "a/b/" is "a/b"
  const fs::path parent = target.parent_path();
  if (!parent.empty()) RETURN_IF_ERROR(CreateDirectoriesDurably(parent.string(), mode));
  if (::mkdir(target.c_str(), mode) != 0) {
    if (errno == EEXIST && fs::is_directory(target, error)) return absl::OkStatus();
    return FileError("cannot create the folder", target.string());
  }
  return SyncDirectory(parent.empty() ? "." : parent.string());
}

absl::Status MakeDirectoryDurably(int parent_fd, const std::string& name, std::string_view what,
                                  mode_t mode) {
  // A concurrent creator (EEXIST) may not have fsynced the parent yet: fsync it either way.
  if (::mkdirat(parent_fd, name.c_str(), mode) != 0 && errno != EEXIST) {
    return FileError("cannot create a folder for", what);
  }
  if (::fsync(parent_fd) != 0) return FileError("cannot fsync the folder of", what);
  return absl::OkStatus();
}

absl::Status ReplaceFileDurably(const std::string& path, std::string_view content, mode_t mode) {
  const std::string temp = fmt::format("{}.new-{}", path, NewRandomId());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return FileError("cannot create", temp);
  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    left -= static_cast<size_t>(n);
  }
  absl::Status status = left > 0              ? FileError("cannot write", temp)
                        : ::fsync(fd) != 0    ? FileError("cannot fsync", temp)
                        : absl::OkStatus();
  ::close(fd);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = FileError("cannot replace", path);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  const std::string folder = std::filesystem::path(path).parent_path().string();
  return SyncDirectory(folder.empty() ? "." : folder);
}

}  // namespace loch
