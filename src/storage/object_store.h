#pragma once
// ObjectStore: the one interface through which loch reads and writes the lake's objects.
//
// Semantics follow S3 (the most restrictive backend) so that code written against the local
// directory works unchanged on S3-compatible stores:
//   - Keys are '/'-separated relative paths (see ValidateKey). There are no directories: a "folder"
//   is
//     a key prefix. Objects are immutable blobs replaced whole; readers never see a partial object.
//   - List returns keys in ascending byte order, in pages; a page's `next_token` continues the
//   listing.
//   - Delete of a missing key succeeds (idempotent), as on S3.
// Every backend passes the shared conformance suite in object_store_conformance.cc.
// Thread-safety: every implementation is safe to call from many threads at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loch {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t modified_micros = 0;  // last modification, UTC microseconds since the epoch
  std::string etag;             // changes whenever the content is replaced
};

struct ListOptions {
  std::string prefix;        // only keys starting with this (may end mid-segment)
  std::string continuation;  // `next_token` of the previous page; empty for the first page
  size_t max_keys = 1000;    // page size, at least 1; each store caps it (S3: 1000)
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // ascending by key
  std::string next_token;           // empty when this is the last page
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Stores `data` at `key`, replacing any existing object atomically: readers see the old or the
  // new object, never a mix. On success the object is durable (fsynced where the backend allows).
  virtual absl::Status Put(std::string_view key, std::string_view data) = 0;

  // Like Put, but only if no object exists at `key`; otherwise fails with AlreadyExists and leaves
  // the existing object untouched. Atomic with respect to concurrent PutIfAbsent calls: exactly one
  // wins.
  virtual absl::Status PutIfAbsent(std::string_view key, std::string_view data) = 0;

  // Stores the content of the local file `local_path` at `key` with Put's semantics, without
  // requiring the whole file in memory. The default implementation reads the file and calls Put.
  virtual absl::Status PutFile(std::string_view key, const std::string& local_path);

  // Stores a copy of the object at `from` at `to` with Put's semantics. NotFound if there is no
  // object at `from`. The default implementation goes through a local temporary file.
  virtual absl::Status Copy(std::string_view from, std::string_view to);

  // Returns the whole object. NotFound if there is no object at `key`.
  virtual absl::StatusOr<std::string> Get(std::string_view key) = 0;

  // Writes the whole object to the local file `local_path` (created or truncated) without holding
  // it in memory where the backend can stream; returns its size. NotFound if there is no object at
  // `key`. The default implementation calls Get.
  virtual absl::StatusOr<uint64_t> GetToFile(std::string_view key, const std::string& local_path);

  // Returns up to `length` bytes starting at `offset` (fewer at the end of the object).
  // NotFound if missing; OutOfRange if `offset` is past the end of a non-empty object.
  virtual absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                               uint64_t length) = 0;

  // Returns the object's metadata. NotFound if missing.
  virtual absl::StatusOr<ObjectInfo> Head(std::string_view key) = 0;

  // Returns one page of the objects whose keys start with `options.prefix`, ascending by key.
  virtual absl::StatusOr<ListPage> List(const ListOptions& options) = 0;

  // Removes the object at `key`. Succeeds if it does not exist.
  virtual absl::Status Delete(std::string_view key) = 0;

  // For backends whose objects are plain local files: the absolute path of `key`'s file, so that
  // the query engine can read it in place. nullopt for remote backends (their objects are fetched
  // first).
  virtual std::optional<std::string> LocalPath(std::string_view /*key*/) const {
    return std::nullopt;
  }

  // Removes the temporary files (and scratch folders) of writes that never finished (a process
  // killed mid-write) last changed before `before_micros`, as far as it can; returns how many it
  // removed. Backends whose unfinished writes
  // are never visible (S3) have none: the default returns 0.
  virtual absl::StatusOr<int64_t> RemoveAbandonedTemporaries(int64_t /*before_micros*/) {
    return 0;
  }

  // A human-readable location for messages, e.g. "file:///srv/lake" or "memory://".
  virtual std::string Describe() const = 0;
};

// Checks that `key` is a valid object key: 1..1024 bytes, relative ('/' not first or last), no
// empty,
// "." or ".." segments, no NUL or backslash characters, valid as a path on every backend.
// InvalidArgument with the reason otherwise.
absl::Status ValidateKey(std::string_view key);

// Lists every object under `prefix` by following pages. Convenience for callers that need all keys.
absl::StatusOr<std::vector<ObjectInfo>> ListAll(ObjectStore& store, std::string_view prefix);

}  // namespace loch
