#pragma once
// An exclusive advisory lock on a file (flock), held until destroyed or the process dies: a crash
// never leaves it held.

#include <memory>
#include <string>

#include "common/status.h"

namespace loch {

class FileLock {
 public:
  // Takes the lock on `path` (creating the file, 0600) without waiting. nullptr with
  // `held_elsewhere` set when another open file description holds it; an error if the file cannot
  // be opened or locked.
  static absl::StatusOr<std::unique_ptr<FileLock>> TryAcquire(const std::string& path,
                                                              bool& held_elsewhere);
  ~FileLock();  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace loch
