#pragma once
// Server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it for password
// authentication, without channel binding.
//
// Flow: the server announces the mechanism; the client sends client-first ("n,,n=,r=<nonce>"),
// the server answers server-first ("r=<nonce+ours>,s=<salt>,i=<iterations>"); the client sends
// client-final ("c=biws,r=...,p=<proof>"), the server checks the proof and answers server-final
// ("v=<signature>"). The password itself never crosses the wire.

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"

namespace loch::pg {

// What the server keeps for a password: PBKDF2-salted keys, never the password.
struct ScramVerifier {
  std::string salt;  // raw bytes
  int iterations = 4096;
  std::string stored_key;  // SHA-256(HMAC(salted, "Client Key"))
  std::string server_key;  // HMAC(salted, "Server Key")
};

// Derives the verifier for `password` with `salt`.
ScramVerifier MakeScramVerifier(const std::string& password, const std::string& salt,
                                int iterations = 4096);

// One authentication exchange. Not thread-safe; one per connection.
class ScramExchange {
 public:
  // `server_nonce` is appended to the client's nonce (printable, no commas); tests pass a fixed
  // one, the server a random one.
  ScramExchange(ScramVerifier verifier, std::string server_nonce);

  // Handles client-first-message; returns server-first-message. InvalidArgument if malformed or if
  // it asks for channel binding.
  absl::StatusOr<std::string> ServerFirst(const std::string& client_first);
  // Handles client-final-message; returns server-final-message if the proof is right,
  // Unauthenticated if it is wrong, InvalidArgument if the message is malformed.
  absl::StatusOr<std::string> ServerFinal(const std::string& client_final);

 private:
  ScramVerifier verifier_;
  std::string server_nonce_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string combined_nonce_;
};

}  // namespace loch::pg
