#include "storage/memory_store.h"

#include <algorithm>

#include "common/clock.h"
#include "fmt/format.h"

namespace loch {
namespace {
absl::Status NotFound(std::string_view key) {
  return absl::NotFoundError(fmt::format("no object at key \"{}\"", key));
}
}  // namespace

ObjectInfo MemoryObjectStore::InfoOf(const std::string& key, const Object& object) const {
  return ObjectInfo{key, object.data.size(), object.modified_micros,
                    fmt::format("m{:x}", object.version)};
}

absl::Status MemoryObjectStore::Put(std::string_view key, std::string_view data) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  objects_[std::string(key)] = Object{std::string(data), NowMicros(), next_version_++};
  return absl::OkStatus();
}

absl::Status MemoryObjectStore::PutIfAbsent(std::string_view key, std::string_view data) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  auto [it, inserted] =
      objects_.try_emplace(std::string(key), Object{std::string(data), NowMicros(), next_version_});
  if (!inserted) return absl::AlreadyExistsError(fmt::format("object \"{}\" already exists", key));
  ++next_version_;
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemoryObjectStore::Get(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  return it->second.data;
}

absl::StatusOr<std::string> MemoryObjectStore::GetRange(std::string_view key, uint64_t offset,
                                                        uint64_t length) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  const std::string& data = it->second.data;
  if (offset >= data.size() && !data.empty()) {
    return absl::OutOfRangeError(
        fmt::format("range starts at {} but \"{}\" has {} bytes", offset, key, data.size()));
  }
  if (offset >= data.size()) return std::string();
  return data.substr(offset, std::min<uint64_t>(length, data.size() - offset));
}

absl::StatusOr<ObjectInfo> MemoryObjectStore::Head(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return NotFound(key);
  return InfoOf(it->first, it->second);
}

absl::StatusOr<ListPage> MemoryObjectStore::List(const ListOptions& options) {
  size_t max_keys = std::clamp<size_t>(options.max_keys, 1, 1000);
  std::lock_guard lock(mu_);
  ListPage page;
  auto it = objects_.lower_bound(options.prefix);
  if (!options.continuation.empty() && options.continuation >= options.prefix) {
    it = objects_.upper_bound(options.continuation);
  }
  for (; it != objects_.end() && it->first.starts_with(options.prefix); ++it) {
    if (page.objects.size() == max_keys) {
      page.next_token = page.objects.back().key;
      break;
    }
    page.objects.push_back(InfoOf(it->first, it->second));
  }
  return page;
}

absl::Status MemoryObjectStore::Delete(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard lock(mu_);
  if (auto it = objects_.find(key); it != objects_.end()) objects_.erase(it);
  return absl::OkStatus();
}

}  // namespace loch
