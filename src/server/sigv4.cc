#include "server/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return Hex(digest, length);
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string UriEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Header values: trimmed, inner runs of blanks (folded lines too) collapsed to one space.
std::string CanonicalValue(const std::string& value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

int64_t ParseAmzDate(const std::string& text) {
  struct tm tm {};
  if (text.size() != 16 || strptime(text.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

// The canonical URI of `path` (as sent, percent-encoded). S3 signs the path as sent; every other
// service signs it with "." and ".." segments resolved, empty segments dropped, and each segment
// URI-encoded once more (so "%20" is signed as "%2520").
std::string CanonicalUri(const std::string& path, const std::string& service) {
  if (service == "s3") return path.empty() ? "/" : path;
  std::vector<std::string> segments;
  for (std::string_view segment : Split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(UriEncode(std::string(segment)));
  }
  std::string out = "/" + Join(segments, "/");
  if (!segments.empty() && path.ends_with('/')) out += '/';
  return out;
}

// The string a SigV4 signature signs: `headers` are lower-case names with canonical values, and
// `signed_headers` the ';'-separated names the signature covers.
absl::StatusOr<std::string> StringToSign(const SignedRequest& request, const std::string& service,
                                         const std::map<std::string, std::string>& headers,
                                         const std::string& signed_headers,
                                         const std::string& payload_hash,
                                         const std::string& amz_date, const std::string& scope) {
  // Sorted by encoded name, then by encoded value (not as "name=value" strings: "a-b=1" would
  // sort before "a=1", since '-' < '=').
  std::vector<std::pair<std::string, std::string>> parameters;
  for (const auto& [name, value] : request.query)
    parameters.emplace_back(UriEncode(name), UriEncode(value));
  std::sort(parameters.begin(), parameters.end());
  std::vector<std::string> query;
  for (const auto& [name, value] : parameters) query.push_back(name + "=" + value);
  std::string canonical_headers;
  for (std::string_view name : Split(signed_headers, ';')) {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) {
      return absl::PermissionDeniedError(
          fmt::format("signed header \"{}\" is missing from the request", name));
    }
    canonical_headers += fmt::format("{}:{}\n", name, it->second);
  }
  const std::string canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, CanonicalUri(request.path, service),
                  Join(query, "&"), canonical_headers, signed_headers, payload_hash);
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope, Sha256Hex(canonical_request));
}

std::map<std::string, std::string> CanonicalHeaders(
    const std::multimap<std::string, std::string>& raw) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : raw) {
    // Repeated headers join with ',' in the order they came, empty values included.
    auto [slot, first] = headers.try_emplace(Lower(name), CanonicalValue(value));
    if (!first) slot->second += "," + CanonicalValue(value);
  }
  return headers;
}

// An HTTP token character (RFC 9110), as header names are made of.
bool IsHeaderNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=HEX` header; nullopt if it is not shaped so.
struct AuthorizationParts {
  std::string access_key_id, date, region, service, signed_headers, signature;
};

std::optional<AuthorizationParts> ParseAuthorization(std::string_view header) {
  auto take = [&](std::string_view expected) {
    if (!header.starts_with(expected)) return false;
    header.remove_prefix(expected.size());
    return true;
  };
  // Up to (not including) `end`, at least one character, each satisfying `allowed`.
  auto field = [&](char end, auto allowed) -> std::optional<std::string> {
    const size_t at = header.find(end);
    if (at == 0 || at == std::string_view::npos) return std::nullopt;
    const std::string_view value = header.substr(0, at);
    if (!std::all_of(value.begin(), value.end(), allowed)) return std::nullopt;
    header.remove_prefix(at + 1);
    return std::string(value);
  };
  auto any = [](char c) { return c != '/'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // Lower-case HTTP token characters (RFC 9110), and ';' between names.
  auto header_name = [](char c) {
    return c == ';' || (IsHeaderNameChar(c) && !(c >= 'A' && c <= 'Z'));
  };
  if (!take("AWS4-HMAC-SHA256 Credential=")) return std::nullopt;
  auto key = field('/', any), date = field('/', digit), region = field('/', any),
       service = field('/', any);
  if (!key || !date || date->size() != 8 || !region || !service || !take("aws4_request,")) {
    return std::nullopt;
  }
  take(" ");
  if (!take("SignedHeaders=")) return std::nullopt;
  auto signed_headers = field(',', header_name);
  if (!signed_headers) return std::nullopt;
  take(" ");
  if (!take("Signature=") || header.size() != 64 ||
      !std::all_of(header.begin(), header.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  return AuthorizationParts{*key, *date, *region, *service, *signed_headers, std::string(header)};
}

}  // namespace

std::optional<std::string> SigV4AccessKeyId(std::string_view authorization) {
  std::optional<AuthorizationParts> parts = ParseAuthorization(authorization);
  if (!parts) return std::nullopt;
  return parts->access_key_id;
}

std::string SigV4Signature(const std::string& secret, const std::string& date,
                           const std::string& region, const std::string& service,
                           const std::string& string_to_sign) {
  // The signing key changes once a day per secret and scope (AWS SDKs cache it too): four HMACs
  // saved per request.
  thread_local std::string cached_for, cached_key;
  std::string scope = fmt::format("{}\n{}\n{}\n{}", secret, date, region, service);
  if (scope != cached_for) {
    std::string key = Hmac("AWS4" + secret, date);
    key = Hmac(key, region);
    key = Hmac(key, service);
    cached_key = Hmac(key, "aws4_request");
    cached_for = std::move(scope);
  }
  const std::string signature = Hmac(cached_key, string_to_sign);
  return Hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

absl::StatusOr<SigV4Identity> VerifySigV4(
    const SignedRequest& request, const std::function<std::string(const std::string&)>& secret_for,
    int64_t now_seconds) {
  std::map<std::string, std::string> headers = CanonicalHeaders(request.headers);
  const std::string authorization = headers.count("authorization") ? headers["authorization"] : "";
  if (authorization.empty()) {
    return absl::UnauthenticatedError("missing Authorization header: sign requests with AWS SigV4");
  }
  std::optional<AuthorizationParts> parts = ParseAuthorization(authorization);
  if (!parts) {
    return absl::UnauthenticatedError(
        "the Authorization header is not an AWS4-HMAC-SHA256 signature");
  }
  SigV4Identity identity{parts->access_key_id, parts->region, parts->service};
  const std::string &date = parts->date, &signed_headers = parts->signed_headers,
                    &signature = parts->signature;
  const std::string secret = secret_for(identity.access_key_id);
  if (secret.empty()) {
    return absl::PermissionDeniedError(
        fmt::format("unknown access key id \"{}\"", identity.access_key_id));
  }
  const std::string amz_date = headers.count("x-amz-date") ? headers["x-amz-date"] : "";
  const int64_t signed_at = ParseAmzDate(amz_date);
  if (signed_at < 0 || amz_date.substr(0, 8) != date) {
    return absl::UnauthenticatedError(
        "the request needs an X-Amz-Date header matching its credential scope");
  }
  if (std::abs(now_seconds - signed_at) > 15 * 60) {
    return absl::PermissionDeniedError(fmt::format(
        "the request was signed at {} but the server time differs by more than 15 minutes",
        amz_date));
  }

  const std::string body_hash = Sha256Hex(request.body);
  const std::string payload_hash =
      headers.count("x-amz-content-sha256") ? headers["x-amz-content-sha256"] : body_hash;
  if (payload_hash != "UNSIGNED-PAYLOAD" && payload_hash != body_hash) {
    return absl::PermissionDeniedError("x-amz-content-sha256 does not match the body");
  }
  ASSIGN_OR_RETURN(
      const std::string string_to_sign,
      StringToSign(request, identity.service, headers, signed_headers, payload_hash, amz_date,
                   fmt::format("{}/{}/{}/aws4_request", date, identity.region, identity.service)));
  const std::string expected =
      SigV4Signature(secret, date, identity.region, identity.service, string_to_sign);
  if (expected.size() != signature.size() ||
      CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError(
        "the request signature does not match: check the secret access key and the signing method");
  }
  return identity;
}

std::multimap<std::string, std::string> SignSigV4(const SignedRequest& request,
                                                  const std::string& access_key_id,
                                                  const std::string& secret,
                                                  const std::string& region,
                                                  const std::string& service, int64_t now_seconds) {
  const std::time_t now = static_cast<std::time_t>(now_seconds);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char amz_date[17];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
  const std::string date(amz_date, 8);
  // Only names a request can carry are signed (a ';' in a name would split the signed list).
  std::multimap<std::string, std::string> all;
  for (const auto& [name, value] : request.headers) {
    if (!name.empty() && std::all_of(name.begin(), name.end(), IsHeaderNameChar)) {
      all.emplace(name, value);
    }
  }
  all.emplace("x-amz-date", amz_date);
  const std::map<std::string, std::string> headers = CanonicalHeaders(all);
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) names.push_back(name);
  const std::string signed_headers = Join(names, ";");
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  // As a verifier reads it: a given x-amz-content-sha256 (e.g. UNSIGNED-PAYLOAD) is the hash.
  auto content_hash = headers.find("x-amz-content-sha256");
  const std::string payload_hash =
      content_hash != headers.end() ? content_hash->second : Sha256Hex(request.body);
  // Every signed header is present by construction.
  const std::string string_to_sign =
      StringToSign(request, service, headers, signed_headers, payload_hash, amz_date, scope)
          .value_or("");
  return {{"X-Amz-Date", amz_date},
          {"Authorization",
           fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                       access_key_id, scope, signed_headers,
                       SigV4Signature(secret, date, region, service, string_to_sign))}};
}

}  // namespace loch
