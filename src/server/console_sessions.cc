#include "server/console_sessions.h"

#include "common/clock.h"
#include "common/ids.h"

namespace loch {

namespace {

std::string NewSecret() { return NewRandomId() + NewRandomId(); }

int64_t Micros(std::chrono::seconds seconds) {
  return std::chrono::duration_cast<std::chrono::microseconds>(seconds).count();
}

}  // namespace

bool ConsoleSessions::Expired(const ConsoleSession& session, int64_t now) const {
  return now - session.last_used_micros > Micros(options_.idle_timeout) ||
         now - session.started_micros > Micros(options_.max_lifetime);
}

ConsoleSession ConsoleSessions::Start(std::string user, Principal principal, std::string login) {
  const int64_t now = NowMicros();
  ConsoleSession session{
      NewSecret(), NewSecret(), std::move(user), std::move(login), std::move(principal), now, now};
  std::lock_guard lock(mu_);
  while (!order_.empty() && order_.size() >= options_.max_sessions) {
    by_id_.erase(order_.back().id);
    order_.pop_back();
  }
  order_.push_front(session);
  by_id_[session.id] = order_.begin();
  return session;
}

std::optional<ConsoleSession> ConsoleSessions::Find(std::string_view id, std::string_view login) {
  // Looked up by hash: an id that is not a session's costs the same whatever it shares with one.
  const int64_t now = NowMicros();
  std::lock_guard lock(mu_);
  const auto found = by_id_.find(std::string(id));
  if (found == by_id_.end()) return std::nullopt;
  if (Expired(*found->second, now) || found->second->login != login) {
    order_.erase(found->second);
    by_id_.erase(found);
    return std::nullopt;
  }
  found->second->last_used_micros = now;
  order_.splice(order_.begin(), order_, found->second);
  return *found->second;
}

void ConsoleSessions::End(std::string_view id) {
  std::lock_guard lock(mu_);
  const auto found = by_id_.find(std::string(id));
  if (found == by_id_.end()) return;
  order_.erase(found->second);
  by_id_.erase(found);
}

size_t ConsoleSessions::size() const {
  std::lock_guard lock(mu_);
  return order_.size();
}

std::optional<std::string> CookieValue(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const size_t end = cookie_header.find(';');
    std::string_view pair = cookie_header.substr(0, end);
    cookie_header = end == std::string_view::npos ? "" : cookie_header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace loch
