#include "common/content_hash.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "fmt/format.h"

namespace loch {

struct Sha256::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  // Only out of memory fails here; the digest then stays empty, which matches no other.
  if (context_->md) EVP_DigestInit_ex(context_->md.get(), EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  if (context_->md) EVP_DigestUpdate(context_->md.get(), bytes.data(), bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!context_->md || EVP_DigestFinal_ex(context_->md.get(), digest, &length) != 1) return "";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

absl::StatusOr<std::string> Sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = std::strerror(errno);
    return errno == ENOENT
               ? absl::NotFoundError(fmt::format("no such file: \"{}\"", path))
               : absl::InternalError(fmt::format("cannot read \"{}\": {}", path, reason));
  }
  Sha256 hash;
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const std::streamsize got = in.gcount();
    if (got > 0) hash.Update(std::string_view(block.data(), static_cast<size_t>(got)));
  }
  if (in.bad()) return absl::InternalError(fmt::format("cannot read \"{}\"", path));
  std::string hex = hash.HexDigest();
  if (hex.empty()) return absl::InternalError("cannot compute a SHA-256 digest");
  return hex;
}

}  // namespace loch
