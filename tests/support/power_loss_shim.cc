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
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr uint64_t kToEnd = UINT64_MAX;  // a range that runs to the end of the file
constexpr size_t kMaxRanges = 4096;       // beyond this many, the whole file is copied at sync

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
  dev_t device = 0;  // of the root
  std::mutex mu;     // guards `changes` and the shadow's files
  std::unordered_map<std::string, Changes> changes;  // by identity
};

State* state = nullptr;     // set once the constructor has finished; never freed
thread_local int depth = 0;  // > 0 while the shim itself runs: its own calls are not observed

struct Reentry {
  Reentry() { ++depth; }
  ~Reentry() { --depth; }
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
  const unsigned long long birth =
      (st.stx_mask & STATX_BTIME) != 0
          ? static_cast<unsigned long long>(st.stx_btime.tv_sec) * 1000000000ull +
                st.stx_btime.tv_nsec
          : 0;
  return std::to_string(st.stx_ino) + "-" + std::to_string(birth);
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
  const off_t end = ::lseek(fd, 0, SEEK_CUR);
  if (end < 0) return;  // a pipe or socket
  NoteFdChange(fd, static_cast<uint64_t>(end - written), static_cast<uint64_t>(written));
}

bool UnderRoot(const std::string& path) {
  return path == state->root ||
         (path.size() > state->root.size() && path.compare(0, state->root.size(), state->root) == 0 &&
          path[state->root.size()] == '/');
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

// Copies [offset, end) of `source` into `target` at the same offsets (end clipped to `size`).
bool CopyRange(int source, int target, uint64_t offset, uint64_t end, uint64_t size) {
  std::vector<char> buffer(1 << 20);
  end = std::min(end, size);
  while (offset < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - offset));
    const ssize_t n = ::pread(source, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (!WriteAll(target, buffer.data(), static_cast<size_t>(n), offset)) return false;
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Makes the shadow of the regular file at `path` (identity `id`) hold what it holds now: the
// ranges changed since the last sync, or all of it. Caller holds state->mu.
void SyncFile(const std::string& path, const struct statx& st, const std::string& id) {
  Changes changes;
  if (auto found = state->changes.find(id); found != state->changes.end()) {
    changes = std::move(found->second);
  }
  const bool whole =
      changes.whole || !changes.mtime_known || !SameTime(changes.mtime, Mtime(st));
  const int source = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat now;
  if (source < 0 || ::fstat(source, &now) != 0) {
    if (source >= 0) ::close(source);
    return Complain("cannot read " + path + ": " + std::strerror(errno));
  }
  const std::string target_path = state->shadow + "/files/" + id;
  const int target =
      ::open(target_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (whole ? O_TRUNC : 0), 0600);
  const uint64_t size = static_cast<uint64_t>(now.st_size);
  bool ok = target >= 0;
  if (ok && whole) {
    ok = CopyRange(source, target, 0, kToEnd, size);
  } else if (ok) {
    for (const auto& [offset, end] : changes.ranges) ok = ok && CopyRange(source, target, offset, end, size);
  }
  ok = ok && ::ftruncate(target, static_cast<off_t>(size)) == 0;
  if (!ok) Complain("cannot shadow " + path + ": " + std::strerror(errno));
  ::close(source);
  if (target >= 0) ::close(target);
  Changes& synced = state->changes[id];
  synced = Changes{};
  synced.mtime = Mtime(st);
  synced.mtime_known = true;
}

// Makes the shadow of the directory at `path` (identity `id`) list what it lists now. Caller holds
// state->mu.
void SyncDirectory(const std::string& path, const std::string& id) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return Complain("cannot list " + path + ": " + std::strerror(errno));
  std::string listing;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name.find('\n') != std::string::npos) continue;
    struct statx st;
    if (!Stat(::dirfd(dir), name.c_str(), &st)) continue;  // removed meanwhile
    const char kind = S_ISDIR(st.stx_mode) ? 'd' : S_ISREG(st.stx_mode) ? 'f' : '\0';
    if (kind == '\0') continue;  // symlinks, sockets, fifos: not part of what loch keeps
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", st.stx_mode & 07777);
    listing += std::string(1, kind) + " " + Identity(st) + " " + mode + " " + name + "\n";
  }
  ::closedir(dir);
  const std::string target = state->shadow + "/dirs/" + id;
  const std::string temp = target + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool ok = fd >= 0 && WriteAll(fd, listing.data(), listing.size(), 0);
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(temp.c_str(), target.c_str()) != 0) {
    Complain("cannot shadow folder " + path + ": " + std::strerror(errno));
  }
}

// After a successful fsync/fdatasync of `fd`.
void NoteSync(int fd) {
  Reentry reentry;
  struct statx st;
  if (!Stat(fd, "", &st) || !OnRootDevice(st)) return;
  const std::string path = DescriptorPath(fd);
  if (!UnderRoot(path)) return;
  std::lock_guard lock(state->mu);
  if (S_ISDIR(st.stx_mode)) {
    SyncDirectory(path, Identity(st));
  } else if (S_ISREG(st.stx_mode)) {
    SyncFile(path, st, Identity(st));
  }
}

// Shadows the whole tree under `path` as synced. Caller holds state->mu.
void SyncTree(const std::string& path) {
  struct statx st;
  if (!Stat(AT_FDCWD, path.c_str(), &st)) return;
  if (S_ISREG(st.stx_mode)) return SyncFile(path, st, Identity(st));
  if (!S_ISDIR(st.stx_mode)) return;
  SyncDirectory(path, Identity(st));
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

#define LOCH_WRAP_PWRITE(name)                                                        \
  ssize_t name(int fd, const void* data, size_t size, off_t offset) {                 \
    static auto real = Real<ssize_t (*)(int, const void*, size_t, off_t)>(#name);     \
    const ssize_t n = real(fd, data, size, offset);                                   \
    if (Observing() && n > 0) NoteFdChange(fd, static_cast<uint64_t>(offset), n);     \
    return n;                                                                         \
  }
LOCH_WRAP_PWRITE(pwrite)
LOCH_WRAP_PWRITE(pwrite64)

#define LOCH_WRAP_PWRITEV(name)                                                       \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t offset) {            \
    static auto real = Real<ssize_t (*)(int, const struct iovec*, int, off_t)>(#name); \
    const ssize_t n = real(fd, iov, count, offset);                                   \
    if (Observing() && n > 0) NoteFdChange(fd, static_cast<uint64_t>(offset), n);     \
    return n;                                                                         \
  }
LOCH_WRAP_PWRITEV(pwritev)
LOCH_WRAP_PWRITEV(pwritev64)

#define LOCH_WRAP_PWRITEV2(name)                                                           \
  ssize_t name(int fd, const struct iovec* iov, int count, off_t offset, int flags) {      \
    static auto real = Real<ssize_t (*)(int, const struct iovec*, int, off_t, int)>(#name); \
    const ssize_t n = real(fd, iov, count, offset, flags);                                 \
    if (Observing() && offset == -1) NotePositionalWrite(fd, n);                           \
    if (Observing() && offset != -1 && n > 0) {                                            \
      NoteFdChange(fd, static_cast<uint64_t>(offset), n);                                  \
    }                                                                                      \
    return n;                                                                              \
  }
LOCH_WRAP_PWRITEV2(pwritev2)
LOCH_WRAP_PWRITEV2(pwritev64v2)

#define LOCH_WRAP_FTRUNCATE(name)                                                   \
  int name(int fd, off_t length) {                                                  \
    static auto real = Real<int (*)(int, off_t)>(#name);                            \
    const int result = real(fd, length);                                            \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(length), kToEnd); \
    return result;                                                                  \
  }
LOCH_WRAP_FTRUNCATE(ftruncate)
LOCH_WRAP_FTRUNCATE(ftruncate64)

#define LOCH_WRAP_TRUNCATE(name)                                                 \
  int name(const char* path, off_t length) {                                     \
    static auto real = Real<int (*)(const char*, off_t)>(#name);                 \
    const int result = real(path, length);                                       \
    if (Observing() && result == 0) {                                            \
      Reentry reentry;                                                           \
      struct statx st;                                                           \
      if (Stat(AT_FDCWD, path, &st)) NoteChange(st, static_cast<uint64_t>(length), kToEnd); \
    }                                                                            \
    return result;                                                               \
  }
LOCH_WRAP_TRUNCATE(truncate)
LOCH_WRAP_TRUNCATE(truncate64)

#define LOCH_WRAP_FALLOCATE(name)                                                \
  int name(int fd, int mode, off_t offset, off_t length) {                       \
    static auto real = Real<int (*)(int, int, off_t, off_t)>(#name);             \
    const int result = real(fd, mode, offset, length);                           \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(offset), length); \
    return result;                                                               \
  }
LOCH_WRAP_FALLOCATE(fallocate)
LOCH_WRAP_FALLOCATE(fallocate64)

#define LOCH_WRAP_POSIX_FALLOCATE(name)                                          \
  int name(int fd, off_t offset, off_t length) {                                 \
    static auto real = Real<int (*)(int, off_t, off_t)>(#name);                  \
    const int result = real(fd, offset, length);                                 \
    if (Observing() && result == 0) NoteFdChange(fd, static_cast<uint64_t>(offset), length); \
    return result;                                                               \
  }
LOCH_WRAP_POSIX_FALLOCATE(posix_fallocate)
LOCH_WRAP_POSIX_FALLOCATE(posix_fallocate64)

int fsync(int fd) {
  static auto real = Real<int (*)(int)>("fsync");
  const int result = real(fd);
  if (Observing() && result == 0) NoteSync(fd);
  return result;
}

int fdatasync(int fd) {
  static auto real = Real<int (*)(int)>("fdatasync");
  const int result = real(fd);
  if (Observing() && result == 0) NoteSync(fd);
  return result;
}

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
