#pragma once
// The admin identity of a lake, created by `loch init` and kept, readable only by its owner, in
// <state>/admin-credentials.json as {"access_key_id", "secret_access_key", "token", "pg_user",
// "pg_password"}. The native API takes `Authorization: Bearer <token>`; the AWS-compatible APIs use
// the key pair; the PostgreSQL protocol the pg user and password (SCRAM-SHA-256).
//
// Rotation (`loch credentials rotate`): new secrets are written to the file, and the replaced
// token and key pair stay valid until their "expires_at" (kept under "previous"), so clients can
// move over; a running server reads the file again when it changes (CredentialsKeeper), without a
// restart. A replaced pg password stops working at once (SCRAM checks one verifier).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/console_sessions.h"

namespace loch {

// A replaced token and key pair, still accepted until `expires_micros`.
struct PreviousCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  int64_t expires_micros = 0;
};

struct AdminCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  std::string pg_user;      // empty in files written before pgwire existed
  std::string pg_password;  // (`loch init` adds both)
  std::vector<PreviousCredentials> previous;
};

// Creates the credentials file in `state_dir` (mode 0600) if it does not exist; returns what it
// holds. A file without pg_user/pg_password gets them added (the other fields are kept).
absl::StatusOr<AdminCredentials> EnsureAdminCredentials(const std::string& state_dir);

// Reads the credentials file. NotFound (naming `loch init`) if missing; PermissionDenied if others
// may read it (common/private_file.h); DataLoss if unreadable.
absl::StatusOr<AdminCredentials> LoadAdminCredentials(const std::string& state_dir);

// Compares secrets in time independent of where they differ.
bool SecretsEqual(std::string_view a, std::string_view b);

// Replaces the token, key pair and pg password in `state_dir`'s file by new random ones; the
// replaced token and key pair stay valid for `grace_seconds` (0: not at all). Previous entries
// that expired are dropped. Returns the new credentials.
absl::StatusOr<AdminCredentials> RotateAdminCredentials(const std::string& state_dir,
                                                        int64_t grace_seconds);

// The credentials a running server checks requests against, read again when their file changes.
// Thread-safe.
class CredentialsKeeper {
 public:
  // From the file in `state_dir` (created if missing, as EnsureAdminCredentials).
  static absl::StatusOr<std::unique_ptr<CredentialsKeeper>> Open(const std::string& state_dir);
  // Fixed credentials that are never reloaded (tests, tools).
  explicit CredentialsKeeper(AdminCredentials fixed);

  // Reads the file again if it changed since it was last read. True if the credentials changed;
  // an unreadable file keeps the credentials in use (and says why).
  absl::StatusOr<bool> ReloadIfChanged();

  // Whether `token` is the current token or an unexpired previous one.
  bool TokenValid(std::string_view token) const;
  // The secret key of `access_key_id` (current or unexpired previous); nullopt if unknown.
  std::optional<std::string> SecretOf(std::string_view access_key_id) const;
  std::shared_ptr<const AdminCredentials> current() const;

  // The web console's signed-in browsers: credentials of another kind (they sign in with the
  // admin's pg_user and pg_password).
  ConsoleSessions& sessions() const { return sessions_; }
  // The live console session with cookie value `id`, if it signed in with the current pg_user and
  // pg_password: rotating them (`loch credentials rotate`) signs every browser out.
  std::optional<ConsoleSession> FindSession(std::string_view id) const;
  // What identifies the current pg_user and pg_password in a session (a hash of them).
  std::string LoginFingerprint() const;

 private:
  CredentialsKeeper() = default;

  std::string state_dir_;  // empty: fixed
  mutable std::mutex mu_;
  std::shared_ptr<const AdminCredentials> current_;  // guarded by mu_
  std::string file_identity_;                        // guarded by mu_: inode, size, mtime
  mutable ConsoleSessions sessions_;
};

}  // namespace loch
