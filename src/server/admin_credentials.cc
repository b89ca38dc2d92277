#include "server/admin_credentials.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/ids.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

std::string PathIn(const std::string& state_dir) { return state_dir + "/admin-credentials.json"; }

}  // namespace

absl::StatusOr<AdminCredentials> LoadAdminCredentials(const std::string& state_dir) {
  const std::string path = PathIn(state_dir);
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("no admin credentials at \"{}\": run `loch init` for this lake first", path));
  }
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("token") || !json["token"].is_string() ||
      !json.contains("access_key_id") || !json.contains("secret_access_key")) {
    return absl::DataLossError(fmt::format("\"{}\" is not a valid credentials file", path));
  }
  return AdminCredentials{json["access_key_id"], json["secret_access_key"], json["token"]};
}

absl::StatusOr<AdminCredentials> EnsureAdminCredentials(const std::string& state_dir) {
  const std::string path = PathIn(state_dir);
  AdminCredentials fresh{"LOCH" + NewRandomId().substr(0, 16), NewRandomId() + NewRandomId(),
                         "loch_" + NewRandomId() + NewRandomId()};
  // O_EXCL: never overwrite existing credentials; 0600 from the first byte.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadAdminCredentials(state_dir);
    return absl::PermissionDeniedError(
        fmt::format("cannot create \"{}\": {}", path, std::strerror(errno)));
  }
  const std::string text = nlohmann::json{{"access_key_id", fresh.access_key_id},
                                          {"secret_access_key", fresh.secret_access_key},
                                          {"token", fresh.token}}
                               .dump(2) +
                           "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return absl::InternalError(fmt::format("cannot write \"{}\"", path));
  return fresh;
}

bool SecretsEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace loch
