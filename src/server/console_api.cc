#include "server/console_api.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/clock.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "server/admission.h"
#include "server/console_assets.h"
#include "server/http_api.h"
#include "server/http_status.h"
#include "server/json_depth.h"

namespace loch {

namespace {

using nlohmann::json;

// What the console may load: this server's files and API, nothing else. CodeMirror sets styles
// on elements, hence 'unsafe-inline' for styles (not scripts).
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'";

const ConsoleAsset* FindAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

// The asset uncompressed, for the rare client that does not take gzip. Empty if it cannot be.
std::string Inflate(const ConsoleAsset& asset) {
  std::string out(asset.size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return "";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(asset.gzipped.data()));
  stream.avail_in = static_cast<uInt>(asset.gzipped.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = inflate(&stream, Z_FINISH);
  inflateEnd(&stream);
  return result == Z_STREAM_END ? out : "";
}

std::string_view Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Whether Accept-Encoding lists gzip (or *) without refusing it (q=0).
bool TakesGzip(const httplib::Request& request) {
  const std::string accepted = request.get_header_value("Accept-Encoding");
  for (const std::string_view item : Split(accepted, ',')) {
    const size_t semicolon = item.find(';');
    const std::string_view name = Trimmed(item.substr(0, semicolon));
    if (!EqualsIgnoringCase(name, "gzip") && name != "*") continue;
    if (semicolon == std::string_view::npos) return true;
    const std::string_view weight = Trimmed(item.substr(semicolon + 1));
    const bool refused =
        weight.starts_with("q=0") && weight.find_first_not_of("0.", 2) == std::string_view::npos;
    return !refused;
  }
  return false;
}

httplib::Response ServeAsset(const httplib::Request& request, const ConsoleAsset& asset) {
  httplib::Response response;
  response.set_header("Content-Security-Policy", kContentSecurityPolicy);
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("ETag", std::string(asset.etag));
  response.set_header("Vary", "Accept-Encoding");
  // Hashed names never change content; index.html is checked each time (cheap: 304).
  response.set_header("Cache-Control", asset.path.starts_with("/assets/")
                                           ? "public, max-age=31536000, immutable"
                                           : "no-cache");
  if (request.get_header_value("If-None-Match") == asset.etag) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  if (TakesGzip(request)) {
    response.set_header("Content-Encoding", "gzip");
    response.body.assign(asset.gzipped);
  } else {
    response.body = Inflate(asset);
  }
  response.set_header("Content-Type", std::string(asset.content_type));
  return response;
}

void SendStatus(httplib::Response& response, const absl::Status& status) {
  response.status = HttpStatusFor(status.code());
  response.set_content(ErrorJson(status), "application/json");
}

// Failed sign-ins per client address: after kMaxFailures within kWindow, the address is refused
// until the window that began with its first failure has passed. At most kMaxAddresses are
// remembered (the expired are forgotten first), so hostile clients cannot grow it without bound.
class SignInThrottle {
 public:
  static constexpr int kMaxFailures = 10;
  static constexpr int64_t kWindowMicros = int64_t{10} * 60 * 1000000;
  static constexpr size_t kMaxAddresses = 10000;

  // Seconds until `address` may try again; 0 if it may now.
  int64_t WaitSeconds(const std::string& address) {
    std::lock_guard lock(mu_);
    const auto found = failures_.find(address);
    if (found == failures_.end() || found->second.count < kMaxFailures) return 0;
    const int64_t left = found->second.first_micros + kWindowMicros - NowMicros();
    if (left <= 0) {
      failures_.erase(found);
      return 0;
    }
    return left / 1000000 + 1;
  }

  void Failed(const std::string& address) {
    const int64_t now = NowMicros();
    std::lock_guard lock(mu_);
    if (failures_.size() >= kMaxAddresses && !failures_.contains(address)) {
      std::erase_if(failures_, [&](const auto& entry) {
        return now - entry.second.first_micros > kWindowMicros;
      });
      if (failures_.size() >= kMaxAddresses) failures_.clear();
    }
    Failures& failures = failures_[address];
    if (failures.count == 0 || now - failures.first_micros > kWindowMicros) {
      failures = Failures{0, now};
    }
    ++failures.count;
  }

  void Succeeded(const std::string& address) {
    std::lock_guard lock(mu_);
    failures_.erase(address);
  }

 private:
  struct Failures {
    int count = 0;
    int64_t first_micros = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Failures> failures_;  // guarded by mu_
};

std::string SessionCookie(const ConsoleSession& session, bool https) {
  const auto lifetime = std::chrono::hours(24 * 7);
  return fmt::format(
      "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kConsoleSessionCookie, session.id,
      std::chrono::duration_cast<std::chrono::seconds>(lifetime).count(), https ? "; Secure" : "");
}

std::string ExpiredCookie(bool https) {
  return fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}", kConsoleSessionCookie,
                     https ? "; Secure" : "");
}

json SessionJson(const ConsoleSession& session) {
  return {{"user", session.user}, {"csrf_token", session.csrf_token}};
}

// The user and password of a sign-in body; InvalidArgument naming what is wrong.
absl::StatusOr<std::pair<std::string, std::string>> SignInFields(const std::string& body) {
  constexpr size_t kMaxFieldBytes = 256;
  RETURN_IF_ERROR(CheckJsonDepth(body));
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const auto field = [&](const char* name) -> std::optional<std::string> {
    if (!parsed.is_object()) return std::nullopt;
    const auto it = parsed.find(name);
    if (it == parsed.end() || !it->is_string()) return std::nullopt;
    std::string value = it->get<std::string>();
    if (value.empty() || value.size() > kMaxFieldBytes) return std::nullopt;
    return value;
  };
  std::optional<std::string> user = field("user");
  std::optional<std::string> password = field("password");
  if (parsed.is_discarded() || !user || !password) {
    return absl::InvalidArgumentError(
        "the body must be a JSON object {\"user\": ..., \"password\": ...} (strings of 1 to 256 "
        "bytes)");
  }
  return std::make_pair(std::move(*user), std::move(*password));
}

}  // namespace

FastRoute ConsoleFilesRoute() {
  FastRoute route;
  route.matches = [](const httplib::Request& request) {
    return request.method == "GET" && FindAsset(request.path) != nullptr;
  };
  route.handle = [](const httplib::Request& request, HttpReply reply) {
    reply(ServeAsset(request, *FindAsset(request.path)));
  };
  return route;
}

void RegisterConsoleApi(RoutedServer& routes, const CredentialsKeeper& credentials, bool https) {
  auto throttle = std::make_shared<SignInThrottle>();
  routes.Post(kSignInPath, [&credentials, https, throttle](const httplib::Request& request,
                                                           httplib::Response& response) {
    if (const int64_t wait = throttle->WaitSeconds(request.remote_addr); wait > 0) {
      response.set_header("Retry-After", std::to_string(wait));
      return SendStatus(response, absl::ResourceExhaustedError(fmt::format(
                                      "too many failed sign-ins from {}: try again in {} s",
                                      request.remote_addr, wait)));
    }
    absl::StatusOr<std::pair<std::string, std::string>> fields = SignInFields(request.body);
    if (!fields.ok()) return SendStatus(response, fields.status());
    const auto& [user, password] = *fields;
    const std::shared_ptr<const AdminCredentials> admin = credentials.current();
    // Both compared, whatever the first gives: the time does not say which one was wrong.
    const bool user_ok = SecretsEqual(user, admin->pg_user);
    const bool password_ok = SecretsEqual(password, admin->pg_password);
    if (!user_ok || !password_ok || admin->pg_user.empty()) {
      throttle->Failed(request.remote_addr);
      return SendStatus(response, absl::UnauthenticatedError(
                                      "wrong user name or password (the lake admin's are pg_user "
                                      "and pg_password in <state>/admin-credentials.json)"));
    }
    throttle->Succeeded(request.remote_addr);
    const ConsoleSession session =
        credentials.sessions().Start(user, Principal::LocalAdmin(), credentials.LoginFingerprint());
    response.set_header("Set-Cookie", SessionCookie(session, https));
    response.set_header("Cache-Control", "no-store");
    SendJsonAnswer(response, SessionJson(session));
  });
  routes.Get(kSignInPath, [&credentials](const httplib::Request& request,
                                         httplib::Response& response) {
    const std::optional<std::string> id =
        CookieValue(request.get_header_value("Cookie"), kConsoleSessionCookie);
    const std::optional<ConsoleSession> session = id ? credentials.FindSession(*id) : std::nullopt;
    if (!session) return SendStatus(response, absl::UnauthenticatedError("not signed in"));
    response.set_header("Cache-Control", "no-store");
    SendJsonAnswer(response, SessionJson(*session));
  });
  routes.Delete(kSignInPath, [&credentials, https](const httplib::Request& request,
                                                   httplib::Response& response) {
    const absl::StatusOr<Principal> who = Authenticate(request, credentials);
    if (!who.ok()) return SendStatus(response, who.status());
    if (const std::optional<std::string> id =
            CookieValue(request.get_header_value("Cookie"), kConsoleSessionCookie)) {
      credentials.sessions().End(*id);
    }
    response.set_header("Set-Cookie", ExpiredCookie(https));
    SendJsonAnswer(response, {{"signed_out", true}});
  });
}

}  // namespace loch
