#pragma once
// Test support: a full disk, injected for real. While a FileSizeLimit lives, the kernel refuses
// writes that would grow any file of this process past `max_bytes` (RLIMIT_FSIZE: the write fails
// with EFBIG, as it would with ENOSPC, possibly in the middle of a record); SIGXFSZ is ignored so
// the process survives. Header-only, for tests.

#include <signal.h>
#include <sys/resource.h>

#include <cstdint>

namespace loch {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t max_bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &previous_action_);
    getrlimit(RLIMIT_FSIZE, &previous_limit_);
    rlimit limit = previous_limit_;
    limit.rlim_cur = max_bytes;
    applied_ = setrlimit(RLIMIT_FSIZE, &limit) == 0;
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_limit_);
    sigaction(SIGXFSZ, &previous_action_, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  bool applied() const { return applied_; }

 private:
  struct sigaction previous_action_ {};
  rlimit previous_limit_{};
  bool applied_ = false;
};

}  // namespace loch
