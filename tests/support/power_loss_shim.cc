// The LD_PRELOAD half of tests/support/power_loss.h: observes the writes and syncs of the process
// it is loaded into and keeps the shadow of what a disk would hold at a power loss. It wraps
// libc's write, truncate, fallocate and sync functions and passes every call on unchanged; the
// bookkeeping runs after the real call succeeded. Only files under the shadowed root are kept.
//
// Limits (documented in power_loss.h): writes libc makes internally (stdio's fwrite) are not seen;
// an fsync of a file whose mtime moved without a seen write copies the whole file, which catches
// them unless they fall in the same clock tick as a seen write.

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tests/support/power_loss_identity.h"

namespace {

constexpr uint64_t kToEnd = UINT64_MAX;  // a range that runs to the end of the file
constexpr size_t kMaxRanges = 4096;      // beyond this many, the whole file is copied at sync

template <typename Function>
Function Real(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

// What was written to one file since its last sync.
struct Changes {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [offset, end), end may be kToEnd
  bool whole = false;        // unknown changes: copy the whole file at the next sync
  struct timespec mtime {};  // the file's mtime right after the last change seen (or sync)
  bool mtime_known = false;
};

struct State {
  std::string root;  // canonical, without a trailing slash
  std::string shadow;
  dev_t device = 0;                                  // of the root
  std::mutex mu;                                     // guards `changes` and the shadow's files
  std::unordered_map<std::string, Changes> changes;  // by identity
  // One per file or folder synced: its syncs run one at a time, so that their captures reach the
  // shadow in the order they were taken (an older listing or size applied last would undo a newer).
  std::unordered_map<std::string, std::shared_ptr<std::mutex>> sync_order;  // by identity
};

State* state = nullptr;      // set once the constructor has finished; never freed
thread_local int depth = 0;  // > 0 while the shim itself runs: its own calls are not observed

// Marks the shim's own work (its calls pass through unobserved) and keeps the caller's errno.
struct Reentry {
  Reentry() : saved_errno(errno) { ++depth; }
  ~Reentry() {
    --depth;
    errno = saved_errno;
  }
  int saved_errno;
};

bool Observing() { return state != nullptr && depth == 0; }

void Complain(const std::string& message) {
  static auto real_write = Real<ssize_t (*)(int, const void*, size_t)>("write");
  const std::string line = "power_loss_shim: " + message + "\n";
  real_write(STDERR_FILENO, line.data(), line.size());
}

// statx of an open descriptor (path empty) or of `path` relative to `dir`, without following
// symlinks.
bool Stat(int dir, const char* path, struct statx* out) {
  const int flags = AT_SYMLINK_NOFOLLOW | (path[0] == '\0' ? AT_EMPTY_PATH : 0);
  return ::statx(dir, path, flags, STATX_TYPE | STATX_MODE | STATX_INO | STATX_MTIME | STATX_BTIME,
                 out) == 0;
}

bool OnRootDevice(const struct statx& st) {
  return makedev(st.stx_dev_major, st.stx_dev_minor) == state->device;
}

std::string Identity(const struct statx& st) {
  if ((st.stx_mask & STATX_BTIME) == 0) {
    static bool warned = false;
    if (!warned) Complain("no birth times on this file system: a reused inode may be mistaken");
    warned = true;
  }
  return loch::testing_support::PowerLossIdentity(st);
}

struct timespec Mtime(const struct statx& st) {
  return {static_cast<time_t>(st.stx_mtime.tv_sec), static_cast<long>(st.stx_mtime.tv_nsec)};
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Records that [offset, offset + length) of the file `st` describes changed.
void NoteChange(const struct statx& st, uint64_t offset, uint64_t length) {
  if (!S_ISREG(st.stx_mode) || !OnRootDevice(st)) return;
  std::lock_guard lock(state->mu);
  Changes& changes = state->changes[Identity(st)];
  const uint64_t end = length >= kToEnd - offset ? kToEnd : offset + length;
  auto& ranges = changes.ranges;
  if (!ranges.empty() && offset >= ranges.back().first && offset <= ranges.back().second) {
    ranges.back().second = std::max(ranges.back().second, end);  // appends extend the last range
  } else {
    ranges.emplace_back(offset, end);
  }
  if (ranges.size() > kMaxRanges) {
    ranges.clear();
    changes.whole = true;
  }
  changes.mtime = Mtime(st);
  changes.mtime_known = true;
}

void NoteFdChange(int fd, uint64_t offset, uint64_t length) {
  Reentry reentry;
  struct statx st;
  if (Stat(fd, "", &st)) NoteChange(st, offset, length);
}

// After a write of `written` bytes at the descriptor's position (write, writev).
void NotePositionalWrite(int fd, ssize_t written) {
  if (written <= 0) return;
  Reentry reentry;  // lseek fails (ESPIPE) on sockets and pipes
  const off_t end = ::lseek(fd, 0, SEEK_CUR);
  if (end < 0) return;  // a pipe or socket
  NoteFdChange(fd, static_cast<uint64_t>(end - written), static_cast<uint64_t>(written));
}

bool UnderRoot(const std::string& path) {
  return path == state->root ||
         (path.size() > state->root.size() &&
          path.compare(0, state->root.size(), state->root) == 0 && path[state->root.size()] == '/');
}

std::string DescriptorPath(int fd) {
  char buffer[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
}

bool WriteAll(int fd, const char* data, size_t size, uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// What a sync makes durable, read *before* the real fsync runs: writes that race with the fsync
// (other threads') are not counted as synced, the pessimistic reading of POSIX.
struct Capture {
  enum class Kind { kNothing, kFile, kDirectory } kind = Kind::kNothing;
  std::string id;
  std::string listing;  // a directory's entries
  bool whole = false;   // a file: all of it (pieces holds one piece from 0), else changed ranges
  uint64_t size = 0;
  std::vector<std::pair<uint64_t, std::string>> pieces;  // offset, bytes
  Changes changes;                                       // given back if the fsync fails
};

// [offset, end) of the open file `source`, end clipped to `size`.
std::string ReadRange(int source, uint64_t offset, uint64_t end, uint64_t size) {
  std::string bytes;
  end = std::min(end, size);
  while (offset < end) {
    std::string buffer(static_cast<size_t>(std::min<uint64_t>(1 << 20, end - offset)), '\0');
    const ssize_t n = ::pread(source, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, 0, static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return bytes;
}

// The content a sync of the regular file open as `fd` (identity `id`) makes durable: the ranges
// changed since its last sync, or all of it when it changed in ways not seen. Caller holds
// state->mu.
Capture CaptureFile(int fd, const struct statx& st, const std::string& id) {
  Capture capture;
  capture.kind = Capture::Kind::kFile;
  capture.id = id;
  if (auto found = state->changes.find(id); found != state->changes.end()) {
    capture.changes = std::move(found->second);
  }
  Changes& synced = state->changes[id];
  synced = Changes{};
  synced.mtime = Mtime(st);
  synced.mtime_known = true;
  capture.whole = capture.changes.whole || !capture.changes.mtime_known ||
                  !SameTime(capture.changes.mtime, Mtime(st));
  // Through the descriptor, not the path: a rename over the path must not swap the content.
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  const int source = ::open(self.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat now;
  if (source < 0 || ::fstat(source, &now) != 0) {
    if (source >= 0) ::close(source);
    Complain("cannot read a synced file: " + std::string(std::strerror(errno)));
    capture.kind = Capture::Kind::kNothing;
    return capture;
  }
  capture.size = static_cast<uint64_t>(now.st_size);
  if (capture.whole) {
    capture.pieces.emplace_back(0, ReadRange(source, 0, kToEnd, capture.size));
  } else {
    for (const auto& [offset, end] : capture.changes.ranges) {
      if (offset < capture.size) {
        capture.pieces.emplace_back(offset, ReadRange(source, offset, end, capture.size));
      }
    }
  }
  ::close(source);
  return capture;
}

// The entries of the directory at `path` (identity `id`), as a shadow listing.
Capture CaptureDirectory(const std::string& path, const std::string& id) {
  Capture capture;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    Complain("cannot list " + path + ": " + std::strerror(errno));
    return capture;
  }
  capture.kind = Capture::Kind::kDirectory;
  capture.id = id;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name.find('\n') != std::string::npos) continue;
    struct statx st;
    if (!Stat(::dirfd(dir), name.c_str(), &st)) continue;  // removed meanwhile
    const char kind = S_ISDIR(st.stx_mode) ? 'd' : S_ISREG(st.stx_mode) ? 'f' : '\0';
    if (kind == '\0') continue;  // symlinks, sockets, fifos: not part of what loch keeps
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", st.stx_mode & 07777);
    capture.listing += std::string(1, kind) + " " + Identity(st) + " " + mode + " " + name + "\n";
  }
  ::closedir(dir);
  return capture;
}

// Writes a capture into the shadow (after its fsync succeeded). Caller holds state->mu.
void Apply(const Capture& capture) {
  if (capture.kind == Capture::Kind::kDirectory) {
    const std::string target = state->shadow + "/dirs/" + capture.id;
    const std::string temp = target + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const bool ok = fd >= 0 && WriteAll(fd, capture.listing.data(), capture.listing.size(), 0);
    if (fd >= 0) ::close(fd);
    if (!ok || ::rename(temp.c_str(), target.c_str()) != 0) {
      Complain("cannot shadow a folder: " + std::string(std::strerror(errno)));
    }
  } else if (capture.kind == Capture::Kind::kFile) {
    const std::string target_path = state->shadow + "/files/" + capture.id;
    const int target = ::open(target_path.c_str(),
                              O_WRONLY | O_CREAT | O_CLOEXEC | (capture.whole ? O_TRUNC : 0), 0600);
    bool ok = target >= 0;
    for (const auto& [offset, bytes] : capture.pieces) {
      ok = ok && WriteAll(target, bytes.data(), bytes.size(), offset);
    }
    ok = ok && ::ftruncate(target, static_cast<off_t>(capture.size)) == 0;
    if (target >= 0) ::close(target);
    if (!ok) Complain("cannot shadow a file: " + std::string(std::strerror(errno)));
  }
}

// Before a fsync/fdatasync of `fd`: what it will make durable, if `fd` is under the root.
Capture CaptureForSync(int fd) {
  Reentry reentry;
  struct statx st;
  if (!Stat(fd, "", &st) || !OnRootDevice(st)) return {};
  const std::string path = DescriptorPath(fd);
  if (!UnderRoot(path)) return {};
  std::lock_guard lock(state->mu);
  if (S_ISDIR(st.stx_mode)) return CaptureDirectory(path, Identity(st));
  if (S_ISREG(st.stx_mode)) return CaptureFile(fd, st, Identity(st));
  return {};
}

// The lock that orders the syncs of what `fd` is open on; null if it is not shadowed.
std::shared_ptr<std::mutex> SyncOrderOf(int fd) {
  Reentry reentry;
  struct statx st;
  if (!Stat(fd, "", &st) || !OnRootDevice(st) || !UnderRoot(DescriptorPath(fd))) return nullptr;
  std::lock_guard lock(state->mu);
  std::shared_ptr<std::mutex>& order = state->sync_order[Identity(st)];
  if (order == nullptr) order = std::make_shared<std::mutex>();
  return order;
}

// After the fsync: the capture goes to the shadow if it succeeded; if it failed, the changes it
// took count as unsynced again.
void FinishSync(Capture& capture, bool synced) {
  if (capture.kind == Capture::Kind::kNothing) return;
  Reentry reentry;
  std::lock_guard lock(state->mu);
  if (synced) return Apply(capture);
  if (capture.kind == Capture::Kind::kFile) state->changes[capture.id].whole = true;
}

// Shadows `path` as synced now (a file's whole content, a folder's entries). Caller holds
// state->mu.
void SyncPath(const std::string& path, const struct statx& st) {
  if (S_ISDIR(st.stx_mode)) return Apply(CaptureDirectory(path, Identity(st)));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  Apply(CaptureFile(fd, st, Identity(st)));
  ::close(fd);
}

// Shadows the whole tree under `path` as synced. Caller holds state->mu.
void SyncTree(const std::string& path) {
  struct statx st;
  if (!Stat(AT_FDCWD, path.c_str(), &st)) return;
  if (!S_ISREG(st.stx_mode) && !S_ISDIR(st.stx_mode)) return;
  SyncPath(path, st);
  if (!S_ISDIR(st.stx_mode)) return;
  std::vector<std::string> children;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") children.push_back(path + "/" + name);
    }
    ::closedir(dir);
  }
  for (const std::string& child : children) SyncTree(child);
}

void SyncEverything() {
  Reentry reentry;
  std::lock_guard lock(state->mu);
  SyncTree(state->root);
}

__attribute__((constructor)) void StartShadowing() {
  const char* root = std::getenv("LOCH_POWER_LOSS_ROOT");
  const char* shadow = std::getenv("LOCH_POWER_LOSS_SHADOW");
  if (root == nullptr || shadow == nullptr) return;
  Reentry reentry;
  auto* starting = new State();
  char canonical[PATH_MAX];
  if (::realpath(root, canonical) == nullptr) return Complain(std::string("no root ") + root);
  starting->root = canonical;
  starting->shadow = shadow;
  struct stat root_stat;
  if (::stat(canonical, &root_stat) != 0) return Complain("cannot stat the root");
  starting->device = root_stat.st_dev;
  // Processes this one starts run unobserved: their writes are not this test's subject.
  ::unsetenv("LOCH_POWER_LOSS_ROOT");
  ::unsetenv("LOCH_POWER_LOSS_SHADOW");
  ::mkdir((starting->shadow + "/files").c_str(), 0700);
  ::mkdir((starting->shadow + "/dirs").c_str(), 0700);
  state = starting;
  {
    std::lock_guard lock(starting->mu);
    SyncTree(starting->root);
  }
  struct statx st;
  Stat(AT_FDCWD, canonical, &st);
  const std::string id = Identity(st) + "\n";
  const int fd = ::open((starting->shadow + "/root").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || !WriteAll(fd, id.data(), id.size(), 0)) Complain("cannot write the shadow's root");
  if (fd >= 0) ::close(fd);
}

}  // namespace

// The wrapped libc functions. Each calls the real one and, when it succeeded, notes the change.
extern "C" {

ssize_t write(int fd, const void* data, size_t size) {
  static auto real = Real<ssize_t (*)(int, const void*, size_t)>("write");
  const ssize_t n = real(fd, data, size);
  if (Observing()) NotePositionalWrite(fd, n);
  return n;
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real = Real<ssize_t (*)(int, const struct iovec*, int)>("writev");
  const ssize_t n = real(fd, iov, count);
  if (Observing()) NotePositionalWrite(fd, n);
  return n;
}

#define LOCH_WRAP_PWRITE(name)                                                    \
  ssize_t name(int fd, const void* data, size_t size, off_t offset) {             \
    static auto real = Real<ssize_t (*)(int, const void*, size_t, off_t)>(#name); \
    const ssize_t n = real(fd, data, size, offset);                               \
    if (Observing() && n > 0) NoteFdChange(fd, static_cast<uint64_t>(offset), n); \
    return n;                                                                     \
  }
LOCH_WRAP_PWRITE(pwrite)
LOCH_WRAP_PWRITE(pwrite64)

#define LOCH_WRAP_PWRITEV(name)                                                        \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t offset) {             \
    static auto real = Real<ssize_t (*)(int, const struct iovec*, int, off_t)>(#name); \
    const ssize_t n = real(fd, iov, count, offset);                                    \
    if (Observing() && n > 0) NoteFdChange(fd, static_cast<uint64_t>(offset), n);      \
    return n;                                                                          \
  }
LOCH_WRAP_PWRITEV(pwritev)
LOCH_WRAP_PWRITEV(pwritev64)

#define LOCH_WRAP_PWRITEV2(name)                                                            \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t offset, int flags) {       \
    static auto real = Real<ssize_t (*)(int, const struct iovec*, int, off_t, int)>(#name); \
    const ssize_t n = real(fd, iov, count, offset, flags);                                  \
    if (Observing() && offset == -1) NotePositionalWrite(fd, n);                            \
    if (Observing() && offset != -1 && n > 0) {                                             \
      NoteFdChange(fd, static_cast<uint64_t>(offset), n);                                   \
    }                                                                                       \
    return n;                                                                               \
  }
LOCH_WRAP_PWRITEV2(pwritev2)
LOCH_WRAP_PWRITEV2(pwritev64v2)

#define LOCH_WRAP_FTRUNCATE(name)                                                            \
  int name(int fd, off_t length) {                                                           \
    static auto real = Real<int (*)(int, off_t)>(#name);                                     \
    const int result = real(fd, length);                                                     \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(length), kToEnd); \
    return result;                                                                           \
  }
LOCH_WRAP_FTRUNCATE(ftruncate)
LOCH_WRAP_FTRUNCATE(ftruncate64)

#define LOCH_WRAP_TRUNCATE(name)                                                            \
  int name(const char* path, off_t length) {                                                \
    static auto real = Real<int (*)(const char*, off_t)>(#name);                            \
    const int result = real(path, length);                                                  \
    if (Observing() && result == 0) {                                                       \
      Reentry reentry;                                                                      \
      struct statx st;                                                                      \
      if (Stat(AT_FDCWD, path, &st)) NoteChange(st, static_cast<uint64_t>(length), kToEnd); \
    }                                                                                       \
    return result;                                                                          \
  }
LOCH_WRAP_TRUNCATE(truncate)
LOCH_WRAP_TRUNCATE(truncate64)

#define LOCH_WRAP_FALLOCATE(name)                                                            \
  int name(int fd, int mode, off_t offset, off_t length) {                                   \
    static auto real = Real<int (*)(int, int, off_t, off_t)>(#name);                         \
    const int result = real(fd, mode, offset, length);                                       \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(offset), length); \
    return result;                                                                           \
  }
LOCH_WRAP_FALLOCATE(fallocate)
LOCH_WRAP_FALLOCATE(fallocate64)

#define LOCH_WRAP_POSIX_FALLOCATE(name)                                                      \
  int name(int fd, off_t offset, off_t length) {                                             \
    static auto real = Real<int (*)(int, off_t, off_t)>(#name);                              \
    const int result = real(fd, offset, length);                                             \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(offset), length); \
    return result;                                                                           \
  }
LOCH_WRAP_POSIX_FALLOCATE(posix_fallocate)
LOCH_WRAP_POSIX_FALLOCATE(posix_fallocate64)

#define LOCH_WRAP_FSYNC(name)                       \
  int name(int fd) {                                \
    static auto real = Real<int (*)(int)>(#name);   \
    if (!Observing()) return real(fd);              \
    const auto order = SyncOrderOf(fd);             \
    std::unique_lock<std::mutex> in_order;          \
    if (order) in_order = std::unique_lock(*order); \
    Capture capture = CaptureForSync(fd);           \
    const int result = real(fd);                    \
    const int saved_errno = errno;                  \
    FinishSync(capture, result == 0);               \
    errno = saved_errno;                            \
    return result;                                  \
  }
LOCH_WRAP_FSYNC(fsync)
LOCH_WRAP_FSYNC(fdatasync)

int syncfs(int fd) {
  static auto real = Real<int (*)(int)>("syncfs");
  const int result = real(fd);
  if (Observing() && result == 0) SyncEverything();
  return result;
}

void sync() {
  static auto real = Real<void (*)()>("sync");
  real();
  if (Observing()) SyncEverything();
}

}  // extern "C"
