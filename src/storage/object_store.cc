#include "storage/object_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"
#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

absl::Status ValidateKey(std::string_view key) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("invalid object key \"{}\": {}", key, why));
  };
  if (key.empty()) return invalid("it is empty");
  if (key.size() > 1024) return invalid("it is longer than 1024 bytes");
  if (key.front() == '/') return invalid("it must be relative (no leading '/')");
  if (key.back() == '/') return invalid("it must not end with '/'");
  for (char c : key) {
    if (c == '\0') return invalid("it contains a NUL byte");
    if (c == '\\') return invalid("it contains a backslash");
  }
  for (std::string_view segment : Split(key, '/')) {
    if (segment.empty()) return invalid("it contains an empty segment ('//')");
    if (segment == "." || segment == "..") return invalid("it contains a '.' or '..' segment");
  }
  return absl::OkStatus();
}

absl::Status ObjectStore::PutFile(std::string_view key, const std::string& local_path) {
  std::ifstream in(local_path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot open local file \"{}\"", local_path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(fmt::format("error reading \"{}\"", local_path));
  return Put(key, buffer.str());
}

absl::StatusOr<uint64_t> ObjectStore::GetToFile(std::string_view key,
                                                const std::string& local_path) {
  ASSIGN_OR_RETURN(std::string data, Get(key));
  std::ofstream out(local_path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return absl::ResourceExhaustedError(fmt::format("cannot write \"{}\"", local_path));
  return data.size();
}

absl::Status ObjectStore::Copy(std::string_view from, std::string_view to) {
  std::error_code error;
  const std::filesystem::path local =
      std::filesystem::temp_directory_path(error) / ("loch-copy-" + NewRandomId());
  if (error) return absl::InternalError(fmt::format("no temporary folder: {}", error.message()));
  absl::StatusOr<uint64_t> fetched = GetToFile(from, local.string());
  absl::Status copied = fetched.ok() ? PutFile(to, local.string()) : fetched.status();
  std::filesystem::remove(local, error);
  return copied;
}

absl::StatusOr<std::vector<ObjectInfo>> ListAll(ObjectStore& store, std::string_view prefix) {
  std::vector<ObjectInfo> all;
  ListOptions options;
  options.prefix = std::string(prefix);
  options.max_keys = SIZE_MAX;  // as many per page as the store gives
  while (true) {
    ASSIGN_OR_RETURN(ListPage page, store.List(options));
    for (auto& object : page.objects) all.push_back(std::move(object));
    if (page.next_token.empty()) return all;
    options.continuation = page.next_token;
  }
}

}  // namespace loch
