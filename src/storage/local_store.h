#pragma once
// LocalObjectStore: an ObjectStore over a local directory; object "a/b/c" is the file <root>/a/b/c.
//
// Guarantees beyond the interface:
//   - Atomic, durable writes: data goes to a temporary file in the target folder, is fsynced,
//   renamed
//     (or hard-linked, for PutIfAbsent) into place, and the folder is fsynced.
//   - Symlinks are never followed: every path component is opened with O_NOFOLLOW relative to the
//   root's
//     descriptor, so a symlink placed anywhere in the lake cannot redirect a read or a write
//     outside it. Listing skips symlinks.
//   - Keys whose first segment is ".loch" (the local state folder) are refused, and temporary files
//     (".loch-tmp-*") are invisible to List.
//   - List pages hold up to kMaxLocalListKeys keys (a listing walks the folders whatever the page
//     size; folders and files before the continuation are skipped without a stat).
// Thread-safe; concurrent writers to the same key are serialised by the filesystem (last rename
// wins).

#include <mutex>
#include <set>
#include <string>

#include "storage/object_store.h"

namespace loch {

inline constexpr size_t kMaxLocalListKeys = 100000;

class LocalObjectStore final : public ObjectStore {
 public:
  // Opens (creating if needed) the directory `root`. Fails if it cannot be created or opened, or if
  // `root` itself is a symlink.
  static absl::StatusOr<std::unique_ptr<LocalObjectStore>> Open(const std::string& root);
  ~LocalObjectStore() override;

  absl::Status Put(std::string_view key, std::string_view data) override;
  absl::Status PutIfAbsent(std::string_view key, std::string_view data) override;
  absl::Status PutFile(std::string_view key, const std::string& local_path) override;
  absl::StatusOr<std::string> Get(std::string_view key) override;
  absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                       uint64_t length) override;
  absl::StatusOr<ObjectInfo> Head(std::string_view key) override;
  absl::StatusOr<ListPage> List(const ListOptions& options) override;
  absl::Status Delete(std::string_view key) override;
  std::optional<std::string> LocalPath(std::string_view key) const override;
  // The ".loch-tmp-*" files of unfinished writes and folders of unfinished queries, anywhere
  // under the root but the state folder.
  absl::StatusOr<int64_t> RemoveAbandonedTemporaries(int64_t before_micros) override;
  std::string Describe() const override { return "file://" + root_; }

  const std::string& root() const { return root_; }

 private:
  LocalObjectStore(std::string root, int root_fd) : root_(std::move(root)), root_fd_(root_fd) {}

  // Writes `source` (bytes or a file) into a new temporary file in the key's folder, then publishes
  // it with rename (replace) or link (if absent).
  enum class Publish { kReplace, kIfAbsent };
  struct Source {
    std::string_view bytes;
    const std::string* file_path = nullptr;
  };
  absl::Status Write(std::string_view key, const Source& source, Publish mode);

  std::string root_;
  int root_fd_;
  // Folders (relative to the root) whose entries in their parents this process knows are durable.
  // A write into any other folder fsyncs its parent first: the folder may have been made a moment
  // ago by another thread that has not fsynced it yet, or by a process killed before it could.
  std::mutex durable_folders_mu_;
  std::set<std::string> durable_folders_;
};

}  // namespace loch
