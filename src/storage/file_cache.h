#pragma once
// FileCache: local copies of remote objects, so that the query engine (which reads local files) can
// query a lake on S3.
//
// - Entries are keyed by object key + ETag: a replaced object is a different entry, never stale
// data.
// - Bounded: when the cached bytes exceed the capacity, the least recently used files that no query
//   holds are deleted.
// - Concurrent requests for one object share one download; requests for different objects download
// in
//   parallel (FetchAll).
// - Persistent across processes: files live in `dir` under names derived from key + ETag, written
// to a
//   temporary name and renamed, so another process never sees a partial file; at open the folder is
//   indexed (least recently modified first).
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/object_store.h"

namespace loch {

class FileCache {
 public:
  // A cached file, held (never evicted) while this handle lives.
  class Lease {
   public:
    ~Lease();
    const std::string& path() const { return path_; }

   private:
    friend class FileCache;
    Lease(FileCache* cache, std::string name, std::string path)
        : cache_(cache), name_(std::move(name)), path_(std::move(path)) {}
    FileCache* cache_;
    std::string name_;
    std::string path_;
  };

  struct Stats {
    int64_t hits = 0;
    int64_t downloads = 0;
    int64_t downloaded_bytes = 0;
    int64_t evictions = 0;
    int64_t cached_bytes = 0;
  };

  // Opens (creating) the cache folder `dir` over `store`, holding at most `capacity_bytes`.
  static absl::StatusOr<std::unique_ptr<FileCache>> Open(ObjectStore& store, std::string dir,
                                                         int64_t capacity_bytes);

  // The local copy of `key` (whose ETag is `etag`; "" if unknown, then the current object is
  // fetched and cached under its current ETag). Downloads it if needed.
  absl::StatusOr<std::shared_ptr<Lease>> Fetch(const std::string& key, const std::string& etag);

  // Fetches many objects with up to `parallelism` downloads at once; results in the order of
  // `keys`.
  absl::StatusOr<std::vector<std::shared_ptr<Lease>>> FetchAll(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags, int parallelism = 8);

  Stats stats();
  const std::string& dir() const { return dir_; }

 private:
  struct Entry {
    enum class State { kFetching, kReady } state = State::kFetching;
    int64_t size = 0;
    int pins = 0;
    std::list<std::string>::iterator lru;  // valid when ready
  };

  FileCache(ObjectStore& store, std::string dir, int64_t capacity)
      : store_(store), dir_(std::move(dir)), capacity_(capacity) {}
  void Unpin(const std::string& name);
  void EvictLocked();

  ObjectStore& store_;
  std::string dir_;
  int64_t capacity_;
  std::mutex mu_;
  std::condition_variable fetched_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: least recently used
  Stats stats_;
};

}  // namespace loch
