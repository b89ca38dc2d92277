#include "server/admin_credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/durable_files.h"
#include "common/ids.h"
#include "common/private_file.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

std::string PathIn(const std::string& state_dir) { return state_dir + "/admin-credentials.json"; }

std::string ToJson(const AdminCredentials& credentials) {
  return nlohmann::json{{"access_key_id", credentials.access_key_id},
                        {"secret_access_key", credentials.secret_access_key},
                        {"token", credentials.token},
                        {"pg_user", credentials.pg_user},
                        {"pg_password", credentials.pg_password}}
             .dump(2) +
         "\n";
}

// Writes `text` to a new file at `path` (mode 0600 from the first byte, O_EXCL: never over
// anything) and makes it durable (the file and its folder fsynced).
absl::Status WriteNewPrivateFile(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(path);
    return absl::PermissionDeniedError(
        fmt::format("cannot create \"{}\": {}", path, std::strerror(errno)));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return absl::InternalError(fmt::format("cannot write \"{}\"", path));
  return SyncDirectory(std::filesystem::path(path).parent_path().string());
}

// Adds pg_user/pg_password to an older credentials file: a new file renamed over the old one.
absl::StatusOr<AdminCredentials> AddPgLogin(const std::string& state_dir,
                                            AdminCredentials credentials) {
  credentials.pg_user = "loch";
  credentials.pg_password = NewRandomId();
  RETURN_IF_ERROR(ReplaceFileDurably(PathIn(state_dir), ToJson(credentials), 0600));
  return credentials;
}

}  // namespace

absl::StatusOr<AdminCredentials> LoadAdminCredentials(const std::string& state_dir) {
  const std::string path = PathIn(state_dir);
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("no admin credentials at \"{}\": run `loch init` for this lake first", path));
  }
  RETURN_IF_ERROR(CheckPrivateFile(path));
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("token") || !json["token"].is_string() ||
      !json.contains("access_key_id") || !json.contains("secret_access_key")) {
    return absl::DataLossError(fmt::format("\"{}\" is not a valid credentials file", path));
  }
  AdminCredentials credentials;
  credentials.access_key_id = json["access_key_id"];
  credentials.secret_access_key = json["secret_access_key"];
  credentials.token = json["token"];
  if (json.contains("pg_user") && json["pg_user"].is_string() && json.contains("pg_password") &&
      json["pg_password"].is_string()) {
    credentials.pg_user = json["pg_user"];
    credentials.pg_password = json["pg_password"];
  }
  return credentials;
}

absl::StatusOr<AdminCredentials> EnsureAdminCredentials(const std::string& state_dir) {
  const AdminCredentials fresh{"LOCH" + NewRandomId().substr(0, 16), NewRandomId() + NewRandomId(),
                               "loch_" + NewRandomId() + NewRandomId(), "loch", NewRandomId()};
  const absl::Status created = WriteNewPrivateFile(PathIn(state_dir), ToJson(fresh));
  if (created.ok()) return fresh;
  if (!absl::IsAlreadyExists(created)) return created;
  ASSIGN_OR_RETURN(AdminCredentials existing, LoadAdminCredentials(state_dir));
  if (existing.pg_user.empty()) return AddPgLogin(state_dir, std::move(existing));
  return existing;
}

bool SecretsEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace loch
