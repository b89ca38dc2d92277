#pragma once
// Files and folders that survive a power loss, not only a crash of the process. After a crash the
// kernel still writes its page cache back; after a power loss a disk holds only what was fsynced:
// a file's content once the file is fsynced, and a new (or renamed) name only once the folder that
// holds it is fsynced. Each function here returns OK only when what it made is durable in both
// ways. (tests/power_loss_test.cc checks the callers against a simulated power loss.)

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace loch {

// Makes the entries of the folder `dir` durable (files created, renamed or removed in it).
absl::Status SyncDirectory(const std::string& dir);

// Creates the folder `path` and its missing ancestors (with `mode`), each made durable in its
// parent. OK when `path` already is a folder (it is then assumed durable already).
absl::Status CreateDirectoriesDurably(const std::string& path, mode_t mode = 0755);

// Creates `name` in the folder open as `parent_fd` if it is missing, and makes its entry durable.
// OK when it already exists.
absl::Status MakeDirectoryDurably(int parent_fd, const std::string& name, std::string_view what,
                                  mode_t mode = 0755);

// Replaces the file `path` by `content` atomically and durably: a temporary file in the same
// folder (with `mode` from the first byte) is written and fsynced, renamed over `path`, and the
// folder is fsynced. A reader sees the old content or the new one, never a mix.
absl::Status ReplaceFileDurably(const std::string& path, std::string_view content,
                                mode_t mode = 0644);

// The error for a failed system call on `path` (from errno): PermissionDenied, ResourceExhausted
// (disk full), NotFound, or Unavailable; the message says what was being done.
absl::Status FileError(std::string_view doing, std::string_view path);

}  // namespace loch
