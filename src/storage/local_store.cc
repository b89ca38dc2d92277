#include "storage/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "common/durable_files.h"
#include "common/ids.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr std::string_view kTempPrefix = ".loch-tmp-";
constexpr std::string_view kStateFolder = ".loch";

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

absl::Status ErrnoStatus(int error, std::string_view what, std::string_view key) {
  std::string message = fmt::format("{} \"{}\": {}", what, key, std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(fmt::format("no object at key \"{}\"", key));
    case EEXIST:
      return absl::AlreadyExistsError(fmt::format("object \"{}\" already exists", key));
    case ELOOP:
    case ENOTDIR:
      return absl::PermissionDeniedError(fmt::format(
          "{} \"{}\": the path crosses a symlink or a file, which is refused", what, key));
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status ValidateLocalKey(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::string_view first = key.substr(0, key.find('/'));
  if (first == kStateFolder) {
    return absl::InvalidArgumentError(
        fmt::format("invalid object key \"{}\": \".loch/\" holds the lake's local state", key));
  }
  for (std::string_view segment : Split(key, '/')) {
    if (segment.starts_with(kTempPrefix)) {
      return absl::InvalidArgumentError(
          fmt::format("invalid object key \"{}\": segments starting with \"{}\" are reserved", key,
                      kTempPrefix));
    }
  }
  return absl::OkStatus();
}

// Opens the folder holding `key`'s file, walking each segment with O_NOFOLLOW from `root_fd`.
// With `create`, missing folders are made. With `durable` (a set of folders, relative to the
// root, known to be durable in their parents, guarded by `durable_mu`), every folder on the way
// is made durable in its parent before it is used. Returns the folder's descriptor and the file's
// name.
absl::StatusOr<std::pair<Fd, std::string>> OpenParent(int root_fd, std::string_view key,
                                                      bool create,
                                                      std::set<std::string>* durable = nullptr,
                                                      std::mutex* durable_mu = nullptr) {
  std::vector<std::string_view> segments = Split(key, '/');
  Fd current(::dup(root_fd));
  if (!current.valid()) return ErrnoStatus(errno, "opening lake root for", key);
  std::string folder;  // relative to the root
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    std::string name(segments[i]);
    folder += (folder.empty() ? "" : "/") + name;
    int fd = ::openat(current.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      RETURN_IF_ERROR(MakeDirectoryDurably(current.get(), name, key));
      fd = ::openat(current.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else if (fd >= 0 && durable != nullptr) {
      bool known;
      {
        std::lock_guard lock(*durable_mu);
        known = durable->contains(folder);
      }
      if (!known && ::fsync(current.get()) != 0) {
        const int error = errno;
        ::close(fd);
        return ErrnoStatus(error, "syncing the folder of", key);
      }
    }
    if (fd < 0) return ErrnoStatus(errno, "opening folder of", key);
    if (durable != nullptr) {
      std::lock_guard lock(*durable_mu);
      durable->insert(folder);
    }
    current = Fd(fd);
  }
  return std::make_pair(std::move(current), std::string(segments.back()));
}

absl::StatusOr<Fd> OpenForRead(int root_fd, std::string_view key) {
  ASSIGN_OR_RETURN(auto parent, OpenParent(root_fd, key, /*create=*/false));
  int fd = ::openat(parent.first.get(), parent.second.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "opening", key);
  Fd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "inspecting", key);
  if (!S_ISREG(st.st_mode)) return absl::NotFoundError(fmt::format("no object at key \"{}\"", key));
  return file;
}

absl::Status WriteAll(int fd, const char* data, size_t size, std::string_view key) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "writing", key);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CopyFileInto(int out_fd, const std::string& path, std::string_view key) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) {
    return absl::NotFoundError(
        fmt::format("cannot open local file \"{}\": {}", path, std::strerror(errno)));
  }
  std::vector<char> buffer(1 << 20);
  while (true) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(fmt::format("reading \"{}\": {}", path, std::strerror(errno)));
    }
    if (n == 0) return absl::OkStatus();
    RETURN_IF_ERROR(WriteAll(out_fd, buffer.data(), static_cast<size_t>(n), key));
  }
}

ObjectInfo InfoFromStat(std::string key, const struct stat& st) {
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return ObjectInfo{std::move(key), static_cast<uint64_t>(st.st_size), mtime_ns / 1000,
                    fmt::format("{:x}-{:x}-{:x}", st.st_ino, st.st_size, mtime_ns)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalObjectStore>> LocalObjectStore::Open(const std::string& root) {
  RETURN_IF_ERROR(Annotate(CreateDirectoriesDurably(root), "cannot create the lake folder"));
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        fmt::format("cannot open lake folder \"{}\": {}", root, std::strerror(errno)));
  }
  return std::unique_ptr<LocalObjectStore>(new LocalObjectStore(root, fd));
}

LocalObjectStore::~LocalObjectStore() { ::close(root_fd_); }

absl::Status LocalObjectStore::Write(std::string_view key, const Source& source, Publish mode) {
  RETURN_IF_ERROR(ValidateLocalKey(key));
  ASSIGN_OR_RETURN(auto parent, OpenParent(root_fd_, key, /*create=*/true, &durable_folders_,
                                           &durable_folders_mu_));
  const int dir = parent.first.get();
  const std::string& name = parent.second;
  const std::string temp_name = fmt::format("{}{}", kTempPrefix, NewRandomId());
  Fd out(
      ::openat(dir, temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out.valid()) return ErrnoStatus(errno, "creating temporary file for", key);

  auto cleanup_on_error = [&](absl::Status status) {
    ::unlinkat(dir, temp_name.c_str(), 0);
    return status;
  };
  absl::Status written = source.file_path != nullptr
                             ? CopyFileInto(out.get(), *source.file_path, key)
                             : WriteAll(out.get(), source.bytes.data(), source.bytes.size(), key);
  if (!written.ok()) return cleanup_on_error(written);
  if (::fsync(out.get()) != 0) return cleanup_on_error(ErrnoStatus(errno, "syncing", key));
  out.Reset();

  if (mode == Publish::kReplace) {
    if (::renameat(dir, temp_name.c_str(), dir, name.c_str()) != 0) {
      return cleanup_on_error(ErrnoStatus(errno, "publishing", key));
    }
  } else {
    // link() fails with EEXIST if the name exists: an atomic "create if absent".
    int link_result = ::linkat(dir, temp_name.c_str(), dir, name.c_str(), 0);
    int link_errno = errno;
    ::unlinkat(dir, temp_name.c_str(), 0);
    if (link_result != 0) return ErrnoStatus(link_errno, "publishing", key);
  }
  if (::fsync(dir) != 0) return ErrnoStatus(errno, "syncing folder of", key);
  return absl::OkStatus();
}

absl::Status LocalObjectStore::Put(std::string_view key, std::string_view data) {
  return Write(key, Source{data}, Publish::kReplace);
}

absl::Status LocalObjectStore::PutIfAbsent(std::string_view key, std::string_view data) {
  return Write(key, Source{data}, Publish::kIfAbsent);
}

absl::Status LocalObjectStore::PutFile(std::string_view key, const std::string& local_path) {
  return Write(key, Source{{}, &local_path}, Publish::kReplace);
}

absl::StatusOr<std::string> LocalObjectStore::Get(std::string_view key) {
  return GetRange(key, 0, UINT64_MAX);
}

absl::StatusOr<std::string> LocalObjectStore::GetRange(std::string_view key, uint64_t offset,
                                                       uint64_t length) {
  RETURN_IF_ERROR(ValidateLocalKey(key));
  ASSIGN_OR_RETURN(Fd file, OpenForRead(root_fd_, key));
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoStatus(errno, "inspecting", key);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size) {
    if (size == 0) return std::string();
    return absl::OutOfRangeError(
        fmt::format("range starts at {} but \"{}\" has {} bytes", offset, key, size));
  }
  uint64_t count = std::min(length, size - offset);
  std::string data(count, '\0');
  uint64_t done = 0;
  while (done < count) {
    ssize_t n =
        ::pread(file.get(), data.data() + done, count - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "reading", key);
    if (n == 0) break;  // the file shrank; cannot happen with atomic replacement
    done += static_cast<uint64_t>(n);
  }
  data.resize(done);
  return data;
}

absl::StatusOr<ObjectInfo> LocalObjectStore::Head(std::string_view key) {
  RETURN_IF_ERROR(ValidateLocalKey(key));
  ASSIGN_OR_RETURN(Fd file, OpenForRead(root_fd_, key));
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoStatus(errno, "inspecting", key);
  return InfoFromStat(std::string(key), st);
}

absl::StatusOr<ListPage> LocalObjectStore::List(const ListOptions& options) {
  // A local listing walks the folders whatever the page size, so pages may be large.
  const size_t max_keys = std::clamp<size_t>(options.max_keys, 1, kMaxLocalListKeys);
  const std::string& after = options.continuation;
  // Walk only the deepest folder that the prefix fully names.
  const std::string& prefix = options.prefix;
  std::string base_folder =
      prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
  if (!base_folder.empty()) RETURN_IF_ERROR(ValidateKey(base_folder));

  std::vector<ObjectInfo> found;
  // Recursively collects regular files below `dir_fd` (whose key prefix is `folder_key`).
  std::function<absl::Status(int, const std::string&)> walk = [&](int dir_fd,
                                                                  const std::string& folder_key) {
    Fd owned(::dup(dir_fd));
    DIR* dir = ::fdopendir(owned.get());
    if (dir == nullptr) return ErrnoStatus(errno, "listing", folder_key);
    owned.Release();  // closedir closes it now
    std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
    ::rewinddir(dir);
    while (struct dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == ".." || name.starts_with(kTempPrefix)) continue;
      if (folder_key.empty() && name == kStateFolder) continue;
      std::string key =
          folder_key.empty() ? std::string(name) : fmt::format("{}/{}", folder_key, name);
      // Prune subtrees that cannot contain the prefix.
      if (!key.starts_with(prefix) && !prefix.starts_with(key + "/")) continue;
      // The entry's type without a stat when the file system says it (most do).
      const bool known_type = entry->d_type == DT_DIR || entry->d_type == DT_REG;
      if (known_type && entry->d_type == DT_REG && !after.empty() && key <= after) continue;
      if (known_type && entry->d_type == DT_DIR && !after.empty() && key + "/" < after &&
          !after.starts_with(key + "/")) {
        continue;  // every key in this folder sorts before the continuation
      }
      struct stat st;
      if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        Fd child(
            ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child.valid()) continue;
        RETURN_IF_ERROR(walk(child.get(), key));
      } else if (S_ISREG(st.st_mode) && key.starts_with(prefix)) {
        if (options.continuation.empty() || key > options.continuation) {
          found.push_back(InfoFromStat(std::move(key), st));
        }
      }
    }
    return absl::OkStatus();
  };

  Fd start;
  if (base_folder.empty()) {
    start = Fd(::dup(root_fd_));
  } else {
    auto parent = OpenParent(root_fd_, base_folder + "/x", /*create=*/false);
    if (!parent.ok()) {
      if (absl::IsNotFound(parent.status()) || absl::IsPermissionDenied(parent.status()))
        return ListPage{};
      return parent.status();
    }
    start = std::move(parent->first);
  }
  RETURN_IF_ERROR(walk(start.get(), base_folder));
  std::sort(found.begin(), found.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  ListPage page;
  if (found.size() > max_keys) {
    found.resize(max_keys);
    page.next_token = found.back().key;
  }
  page.objects = std::move(found);
  return page;
}

absl::Status LocalObjectStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateLocalKey(key));
  auto parent = OpenParent(root_fd_, key, /*create=*/false);
  if (!parent.ok()) return absl::IsNotFound(parent.status()) ? absl::OkStatus() : parent.status();
  if (::unlinkat(parent->first.get(), parent->second.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "deleting", key);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> LocalObjectStore::RemoveAbandonedTemporaries(int64_t before_micros) {
  namespace fs = std::filesystem;
  // Best effort: a folder that cannot be read is passed over, and any other error (a folder that
  // goes while it is walked) ends the walk with what it removed so far. Symlinks are not followed,
  // so the walk stays inside.
  std::error_code error;
  int64_t removed = 0;
  fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path path = it->path();
    if (it.depth() == 0 && path.filename() == kStateFolder) {
      it.disable_recursion_pending();
      continue;
    }
    if (!path.filename().string().starts_with(kTempPrefix)) continue;
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) continue;
    const bool folder = S_ISDIR(info.st_mode);
    if (folder) it.disable_recursion_pending();
    if (!folder && !S_ISREG(info.st_mode)) continue;
    const int64_t modified =
        static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000 + info.st_mtim.tv_nsec / 1000;
    if (modified >= before_micros) continue;
    std::error_code ignored;
    if (fs::remove_all(path, ignored) > 0) ++removed;
  }
  return removed;
}

std::optional<std::string> LocalObjectStore::LocalPath(std::string_view key) const {
  if (!ValidateLocalKey(key).ok()) return std::nullopt;
  return fmt::format("{}/{}", root_, key);
}

}  // namespace loch
