#include "pgwire/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "fmt/format.h"

namespace loch::pg {
namespace {

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string Sha256(const std::string& data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string Base64(const std::string& bytes) { return absl::Base64Escape(bytes); }

// The value of attribute `name` ("r", "c", "p", ...) in a comma-separated SCRAM message.
std::optional<std::string> Attribute(const std::string& message, char name) {
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find(',', start);
    if (end == std::string::npos) end = message.size();
    if (end - start >= 2 && message[start] == name && message[start + 1] == '=') {
      return message.substr(start + 2, end - start - 2);
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

ScramVerifier MakeScramVerifier(const std::string& password, const std::string& salt,
                                int iterations) {
  unsigned char salted[SHA256_DIGEST_LENGTH];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof salted, salted);
  const std::string salted_password(reinterpret_cast<char*>(salted), sizeof salted);
  return ScramVerifier{salt, iterations, Sha256(Hmac(salted_password, "Client Key")),
                       Hmac(salted_password, "Server Key")};
}

ScramExchange::ScramExchange(ScramVerifier verifier, std::string server_nonce)
    : verifier_(std::move(verifier)), server_nonce_(std::move(server_nonce)) {}

absl::StatusOr<std::string> ScramExchange::ServerFirst(const std::string& client_first) {
  // gs2-header: "n,," (no channel binding) or "y,," (client could, we do not offer it).
  if (client_first.size() < 3 || (client_first[0] != 'n' && client_first[0] != 'y') ||
      client_first[1] != ',') {
    return absl::InvalidArgumentError(
        "SCRAM client-first-message must start with \"n,,\" (channel binding is not supported)");
  }
  const size_t bare_start = client_first.find(',', 2);
  if (bare_start == std::string::npos) {
    return absl::InvalidArgumentError("malformed SCRAM client-first-message");
  }
  client_first_bare_ = client_first.substr(bare_start + 1);
  const std::optional<std::string> client_nonce = Attribute(client_first_bare_, 'r');
  if (!client_nonce || client_nonce->empty()) {
    return absl::InvalidArgumentError("SCRAM client-first-message has no nonce");
  }
  combined_nonce_ = *client_nonce + server_nonce_;
  server_first_ =
      fmt::format("r={},s={},i={}", combined_nonce_, Base64(verifier_.salt), verifier_.iterations);
  return server_first_;
}

absl::StatusOr<std::string> ScramExchange::ServerFinal(const std::string& client_final) {
  if (server_first_.empty()) {
    return absl::InvalidArgumentError("SCRAM client-final-message before client-first-message");
  }
  const size_t proof_at = client_final.rfind(",p=");
  const std::optional<std::string> nonce = Attribute(client_final, 'r');
  const std::optional<std::string> binding = Attribute(client_final, 'c');
  if (proof_at == std::string::npos || !nonce || !binding) {
    return absl::InvalidArgumentError("malformed SCRAM client-final-message");
  }
  if (*nonce != combined_nonce_) {
    return absl::InvalidArgumentError("SCRAM nonce does not match");
  }
  if (*binding != "biws" && *binding != "eSws") {  // base64 of "n,," and "y,,"
    return absl::InvalidArgumentError("SCRAM channel binding is not supported");
  }
  std::string proof;
  if (!absl::Base64Unescape(client_final.substr(proof_at + 3), &proof) ||
      proof.size() != SHA256_DIGEST_LENGTH) {
    return absl::InvalidArgumentError("SCRAM proof is not valid base64 of 32 bytes");
  }
  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + client_final.substr(0, proof_at);
  const std::string client_signature = Hmac(verifier_.stored_key, auth_message);
  std::string client_key(SHA256_DIGEST_LENGTH, '\0');
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = proof[i] ^ client_signature[i];
  const std::string computed_stored_key = Sha256(client_key);
  if (CRYPTO_memcmp(computed_stored_key.data(), verifier_.stored_key.data(),
                    computed_stored_key.size()) != 0) {
    return absl::UnauthenticatedError("wrong password");
  }
  return "v=" + Base64(Hmac(verifier_.server_key, auth_message));
}

}  // namespace loch::pg
