#include "storage/file_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/ids.h"
#include "fmt/format.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

// "<sha256(key \0 etag) prefix>-<file name of the key>": unique per version, and the extension
// stays, so readers still recognise the format and compression (.json.zst, .parquet, ...).
std::string CacheName(const std::string& key, const std::string& etag) {
  const std::string input = key + '\0' + etag;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 12; ++i) hex += fmt::format("{:02x}", digest[i]);
  const size_t slash = key.rfind('/');
  return hex + "-" + (slash == std::string::npos ? key : key.substr(slash + 1));
}

}  // namespace

FileCache::Lease::~Lease() { cache_->Unpin(name_); }

absl::StatusOr<std::unique_ptr<FileCache>> FileCache::Open(ObjectStore& store, std::string dir,
                                                           int64_t capacity_bytes) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    return absl::InternalError(
        fmt::format("cannot create cache folder \"{}\": {}", dir, error.message()));
  std::unique_ptr<FileCache> cache(new FileCache(store, dir, capacity_bytes));
  // Index what earlier processes left, oldest first; drop unfinished downloads.
  std::vector<std::pair<fs::file_time_type, fs::directory_entry>> found;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().filename().string().starts_with(".tmp-")) {
      fs::remove(entry.path(), error);
      continue;
    }
    found.emplace_back(entry.last_write_time(), entry);
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [time, entry] : found) {
    const std::string name = entry.path().filename().string();
    Entry& cached = cache->entries_[name];
    cached.state = Entry::State::kReady;
    cached.size = static_cast<int64_t>(entry.file_size());
    cached.lru = cache->lru_.insert(cache->lru_.end(), name);
    cache->stats_.cached_bytes += cached.size;
  }
  std::lock_guard lock(cache->mu_);
  cache->EvictLocked();
  return cache;
}

absl::StatusOr<std::shared_ptr<FileCache::Lease>> FileCache::Fetch(const std::string& key,
                                                                   const std::string& etag) {
  std::string version = etag;
  if (version.empty()) {
    ASSIGN_OR_RETURN(ObjectInfo info, store_.Head(key));
    version = info.etag;
  }
  const std::string name = CacheName(key, version);
  const std::string path = dir_ + "/" + name;
  std::unique_lock lock(mu_);
  while (true) {
    auto it = entries_.find(name);
    if (it == entries_.end()) break;
    if (it->second.state == Entry::State::kReady) {
      if (it->second.pins == 0 && !fs::exists(path)) {  // another process evicted it: fetch again
        stats_.cached_bytes -= it->second.size;
        lru_.erase(it->second.lru);
        entries_.erase(it);
        break;
      }
      ++it->second.pins;
      lru_.splice(lru_.end(), lru_, it->second.lru);  // most recently used
      ++stats_.hits;
      return std::shared_ptr<Lease>(new Lease(this, name, path));
    }
    fetched_.wait(lock);  // another thread is downloading it
  }
  Entry& entry = entries_[name];
  entry.state = Entry::State::kFetching;
  entry.pins = 1;
  lock.unlock();

  // Download outside the lock; publish atomically with a rename.
  const std::string temp = dir_ + "/.tmp-" + NewRandomId();
  absl::StatusOr<uint64_t> size = store_.GetToFile(key, temp);  // streamed, never whole in memory
  absl::Status written = size.status();
  if (size.ok()) {
    std::error_code error;
    if (fs::rename(temp, path, error); error) {
      written = absl::InternalError(
          fmt::format("cannot publish cache file \"{}\": {}", path, error.message()));
    }
  }
  lock.lock();
  if (!written.ok()) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    entries_.erase(name);
    fetched_.notify_all();
    return Annotate(written, fmt::format("fetching \"{}\" into the local cache", key));
  }
  Entry& ready = entries_[name];
  ready.state = Entry::State::kReady;
  ready.size = static_cast<int64_t>(*size);
  ready.lru = lru_.insert(lru_.end(), name);
  ++stats_.downloads;
  stats_.downloaded_bytes += ready.size;
  stats_.cached_bytes += ready.size;
  EvictLocked();
  fetched_.notify_all();
  return std::shared_ptr<Lease>(new Lease(this, name, path));
}

absl::StatusOr<std::vector<std::shared_ptr<FileCache::Lease>>> FileCache::FetchAll(
    const std::vector<std::pair<std::string, std::string>>& keys_and_etags, int parallelism) {
  std::vector<absl::StatusOr<std::shared_ptr<Lease>>> results(keys_and_etags.size(),
                                                              absl::UnknownError("not fetched"));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < keys_and_etags.size(); i = next++) {
      results[i] = Fetch(keys_and_etags[i].first, keys_and_etags[i].second);
    }
  };
  std::vector<std::thread> workers;
  const size_t threads = std::min<size_t>(std::max(parallelism, 1), keys_and_etags.size());
  for (size_t i = 1; i < threads; ++i) workers.emplace_back(worker);
  worker();
  for (auto& thread : workers) thread.join();
  std::vector<std::shared_ptr<Lease>> leases;
  for (auto& result : results) {
    if (!result.ok()) return result.status();
    leases.push_back(std::move(*result));
  }
  return leases;
}

FileCache::Stats FileCache::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

void FileCache::Unpin(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it != entries_.end() && it->second.pins > 0) --it->second.pins;
  EvictLocked();
}

void FileCache::EvictLocked() {
  for (auto it = lru_.begin(); it != lru_.end() && stats_.cached_bytes > capacity_;) {
    auto entry = entries_.find(*it);
    if (entry == entries_.end() || entry->second.pins > 0) {
      ++it;
      continue;
    }
    std::error_code ignored;
    fs::remove(dir_ + "/" + *it, ignored);
    stats_.cached_bytes -= entry->second.size;
    ++stats_.evictions;
    entries_.erase(entry);
    it = lru_.erase(it);
  }
}

}  // namespace loch
