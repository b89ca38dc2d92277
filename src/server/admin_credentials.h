#pragma once
// The admin identity of a lake, created by `loch init` and kept, readable only by its owner, in
// <state>/admin-credentials.json as {"access_key_id", "secret_access_key", "token", "pg_user",
// "pg_password"}. The native API takes `Authorization: Bearer <token>`; the AWS-compatible APIs use
// the key pair; the PostgreSQL protocol the pg user and password (SCRAM-SHA-256).

#include <string>

#include "common/status.h"

namespace loch {

struct AdminCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  std::string pg_user;      // empty in files written before pgwire existed
  std::string pg_password;  // (`loch init` adds both)
};

// Creates the credentials file in `state_dir` (mode 0600) if it does not exist; returns what it
// holds. A file without pg_user/pg_password gets them added (the other fields are kept).
absl::StatusOr<AdminCredentials> EnsureAdminCredentials(const std::string& state_dir);

// Reads the credentials file. NotFound (naming `loch init`) if missing; PermissionDenied if others
// may read it (common/private_file.h); DataLoss if unreadable.
absl::StatusOr<AdminCredentials> LoadAdminCredentials(const std::string& state_dir);

// Compares secrets in time independent of where they differ.
bool SecretsEqual(const std::string& a, const std::string& b);

}  // namespace loch
