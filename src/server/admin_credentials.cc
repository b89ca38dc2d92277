#include "server/admin_credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "common/content_hash.h"
#include "common/durable_files.h"
#include "common/ids.h"
#include "common/private_file.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

std::string PathIn(const std::string& state_dir) { return state_dir + "/admin-credentials.json"; }

std::string ToJson(const AdminCredentials& credentials) {
  nlohmann::json json{{"access_key_id", credentials.access_key_id},
                      {"secret_access_key", credentials.secret_access_key},
                      {"token", credentials.token},
                      {"pg_user", credentials.pg_user},
                      {"pg_password", credentials.pg_password}};
  if (!credentials.previous.empty()) {
    json["previous"] = nlohmann::json::array();
    for (const PreviousCredentials& previous : credentials.previous) {
      json["previous"].push_back({{"access_key_id", previous.access_key_id},
                                  {"secret_access_key", previous.secret_access_key},
                                  {"token", previous.token},
                                  {"expires_at", FormatIsoMicros(previous.expires_micros)},
                                  {"expires_micros", previous.expires_micros}});
    }
  }
  return json.dump(2) + "\n";
}

std::string NewAccessKeyId() { return "LOCH" + NewRandomId().substr(0, 16); }
std::string NewSecretKey() { return NewRandomId() + NewRandomId(); }
std::string NewToken() { return "loch_" + NewRandomId() + NewRandomId(); }

// What identifies a version of the file: a rename over it changes the inode, a write the rest.
std::string FileIdentity(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return "";
  return fmt::format("{}:{}:{}.{}", status.st_ino, status.st_size, status.st_mtim.tv_sec,
                     status.st_mtim.tv_nsec);
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
  if (json.contains("previous") && json["previous"].is_array()) {
    for (const nlohmann::json& entry : json["previous"]) {
      if (!entry.is_object() || !entry.value("token", nlohmann::json()).is_string() ||
          !entry.value("access_key_id", nlohmann::json()).is_string() ||
          !entry.value("secret_access_key", nlohmann::json()).is_string() ||
          !entry.value("expires_micros", nlohmann::json()).is_number_integer()) {
        return absl::DataLossError(
            fmt::format("\"{}\" has a malformed entry under \"previous\"", path));
      }
      credentials.previous.push_back({entry["access_key_id"], entry["secret_access_key"],
                                      entry["token"], entry["expires_micros"]});
    }
  }
  return credentials;
}

absl::StatusOr<AdminCredentials> EnsureAdminCredentials(const std::string& state_dir) {
  const AdminCredentials fresh{NewAccessKeyId(), NewSecretKey(), NewToken(),
                               "loch",           NewRandomId(),  {}};
  const absl::Status created = WriteNewPrivateFile(PathIn(state_dir), ToJson(fresh));
  if (created.ok()) return fresh;
  if (!absl::IsAlreadyExists(created)) return created;
  ASSIGN_OR_RETURN(AdminCredentials existing, LoadAdminCredentials(state_dir));
  if (existing.pg_user.empty()) return AddPgLogin(state_dir, std::move(existing));
  return existing;
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<AdminCredentials> RotateAdminCredentials(const std::string& state_dir,
                                                        int64_t grace_seconds) {
  ASSIGN_OR_RETURN(AdminCredentials credentials, LoadAdminCredentials(state_dir));
  const int64_t now = NowMicros();
  std::erase_if(credentials.previous, [now](const PreviousCredentials& previous) {
    return previous.expires_micros <= now;
  });
  if (grace_seconds > 0) {
    credentials.previous.push_back({credentials.access_key_id, credentials.secret_access_key,
                                    credentials.token, now + grace_seconds * 1'000'000});
  }
  credentials.access_key_id = NewAccessKeyId();
  credentials.secret_access_key = NewSecretKey();
  credentials.token = NewToken();
  credentials.pg_password = NewRandomId();
  if (credentials.pg_user.empty()) credentials.pg_user = "loch";
  RETURN_IF_ERROR(ReplaceFileDurably(PathIn(state_dir), ToJson(credentials), 0600));
  return credentials;
}

CredentialsKeeper::CredentialsKeeper(AdminCredentials fixed)
    : current_(std::make_shared<const AdminCredentials>(std::move(fixed))) {}

absl::StatusOr<std::unique_ptr<CredentialsKeeper>> CredentialsKeeper::Open(
    const std::string& state_dir) {
  std::unique_ptr<CredentialsKeeper> keeper(new CredentialsKeeper());
  keeper->state_dir_ = state_dir;
  keeper->file_identity_ = FileIdentity(PathIn(state_dir));
  ASSIGN_OR_RETURN(AdminCredentials credentials, EnsureAdminCredentials(state_dir));
  keeper->current_ = std::make_shared<const AdminCredentials>(std::move(credentials));
  keeper->file_identity_ = FileIdentity(PathIn(state_dir));
  return keeper;
}

absl::StatusOr<bool> CredentialsKeeper::ReloadIfChanged() {
  if (state_dir_.empty()) return false;
  const std::string identity = FileIdentity(PathIn(state_dir_));
  {
    std::lock_guard lock(mu_);
    if (identity == file_identity_) return false;
  }
  absl::StatusOr<AdminCredentials> credentials = LoadAdminCredentials(state_dir_);
  std::lock_guard lock(mu_);
  file_identity_ = identity;  // a bad version is reported once, not at every look
  if (!credentials.ok()) return credentials.status();
  current_ = std::make_shared<const AdminCredentials>(*std::move(credentials));
  return true;
}

std::shared_ptr<const AdminCredentials> CredentialsKeeper::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

bool CredentialsKeeper::TokenValid(std::string_view token) const {
  const std::shared_ptr<const AdminCredentials> credentials = current();
  if (SecretsEqual(token, credentials->token)) return true;
  const int64_t now = NowMicros();
  for (const PreviousCredentials& previous : credentials->previous) {
    if (previous.expires_micros > now && SecretsEqual(token, previous.token)) return true;
  }
  return false;
}

std::optional<std::string> CredentialsKeeper::SecretOf(std::string_view access_key_id) const {
  const std::shared_ptr<const AdminCredentials> credentials = current();
  if (SecretsEqual(access_key_id, credentials->access_key_id))
    return credentials->secret_access_key;
  const int64_t now = NowMicros();
  for (const PreviousCredentials& previous : credentials->previous) {
    if (previous.expires_micros > now && SecretsEqual(access_key_id, previous.access_key_id))
      return previous.secret_access_key;
  }
  return std::nullopt;
}

std::string CredentialsKeeper::LoginFingerprint() const {
  const std::shared_ptr<const AdminCredentials> credentials = current();
  Sha256 hash;
  hash.Update(credentials->pg_user);
  hash.Update(std::string_view("\0", 1));
  hash.Update(credentials->pg_password);
  return hash.HexDigest();
}

std::optional<ConsoleSession> CredentialsKeeper::FindSession(std::string_view id) const {
  return sessions_.Find(id, LoginFingerprint());
}

}  // namespace loch
