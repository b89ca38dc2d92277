#pragma once
// MemoryObjectStore: an ObjectStore held in memory, for unit tests and ephemeral use.
// Thread-safe. Nothing is persisted.

#include <map>
#include <mutex>

#include "storage/object_store.h"

namespace loch {

class MemoryObjectStore : public ObjectStore {
 public:
  absl::Status Put(std::string_view key, std::string_view data) override;
  absl::Status PutIfAbsent(std::string_view key, std::string_view data) override;
  absl::StatusOr<std::string> Get(std::string_view key) override;
  absl::StatusOr<std::string> GetRange(std::string_view key, uint64_t offset,
                                       uint64_t length) override;
  absl::StatusOr<ObjectInfo> Head(std::string_view key) override;
  absl::StatusOr<ListPage> List(const ListOptions& options) override;
  absl::Status Delete(std::string_view key) override;
  std::string Describe() const override { return "memory://"; }

 private:
  struct Object {
    std::string data;
    int64_t modified_micros;
    uint64_t version;
  };
  ObjectInfo InfoOf(const std::string& key, const Object& object) const;

  std::mutex mu_;
  std::map<std::string, Object, std::less<>> objects_;
  uint64_t next_version_ = 1;
};

}  // namespace loch
