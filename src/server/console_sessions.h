#pragma once
// ConsoleSessions: the browsers signed in to the web console. Signing in starts a session: a
// random id the browser keeps in an HttpOnly, SameSite=Strict cookie, and a CSRF token the page
// keeps in memory and sends as `X-CSRF-Token` with every request that changes something
// (http_api.h checks both). Sessions live in the server's memory: a restart signs everyone out.
//
// A session ends when it is signed out, after `idle_timeout` without a request, after
// `max_lifetime` in any case, or when `max_sessions` newer ones push it out (the least recently
// used goes first), so hostile sign-ins cannot grow memory without bound.
//
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/principal.h"

namespace loch {

// The cookie that carries a session's id, and the header that must carry its CSRF token.
inline constexpr std::string_view kConsoleSessionCookie = "loch_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

struct ConsoleSessionOptions {
  std::chrono::seconds idle_timeout = std::chrono::hours(8);
  std::chrono::seconds max_lifetime = std::chrono::hours(24 * 7);
  size_t max_sessions = 10000;
};

struct ConsoleSession {
  std::string id;          // the cookie's value: 256 random bits, hex
  std::string csrf_token;  // 256 random bits, hex
  std::string user;        // the name signed in with
  std::string login;       // what identifies the credentials it signed in with (see Find)
  Principal principal;
  int64_t started_micros = 0;
  int64_t last_used_micros = 0;
};

class ConsoleSessions {
 public:
  explicit ConsoleSessions(ConsoleSessionOptions options = {}) : options_(options) {}

  // A new session for `user`, acting as `principal`, signed in with the credentials `login`
  // identifies.
  ConsoleSession Start(std::string user, Principal principal, std::string login);
  // The live session with cookie value `id`, marked used now, if it signed in with the
  // credentials `login` identifies (a session of replaced credentials ends here); nullopt if
  // there is none (unknown, signed out, expired or of old credentials). Found by hash: a guess
  // costs the same whatever it shares with an id.
  std::optional<ConsoleSession> Find(std::string_view id, std::string_view login);
  // Signs the session out (nothing if there is none).
  void End(std::string_view id);
  size_t size() const;

 private:
  using Order = std::list<ConsoleSession>;  // most recently used first
  bool Expired(const ConsoleSession& session, int64_t now) const;

  const ConsoleSessionOptions options_;
  mutable std::mutex mu_;
  Order order_;                                             // guarded by mu_
  std::unordered_map<std::string, Order::iterator> by_id_;  // guarded by mu_
};

// The value of cookie `name` in a Cookie header ("a=1; loch_session=..."); nullopt if absent.
std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name);

}  // namespace loch
