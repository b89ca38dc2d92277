#include "server/console_sessions.h"

#include <gtest/gtest.h>

#include <thread>

namespace loch {
namespace {

TEST(ConsoleSessionsTest, ASessionIsFoundByItsIdUntilItEnds) {
  ConsoleSessions sessions;
  const ConsoleSession started = sessions.Start("loch", Principal::LocalAdmin(), "login");
  EXPECT_EQ(started.id.size(), 64u);
  EXPECT_EQ(started.csrf_token.size(), 64u);
  EXPECT_NE(started.id, started.csrf_token);
  const std::optional<ConsoleSession> found = sessions.Find(started.id, "login");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user, "loch");
  EXPECT_TRUE(found->principal.is_admin);
  EXPECT_EQ(found->csrf_token, started.csrf_token);
  EXPECT_FALSE(sessions.Find(started.csrf_token, "login").has_value());
  EXPECT_FALSE(sessions.Find("", "login").has_value());
  EXPECT_FALSE(sessions.Find(started.id, "rotated").has_value());  // and it ends there
  EXPECT_FALSE(sessions.Find(started.id, "login").has_value());
  const std::string again = sessions.Start("loch", Principal::LocalAdmin(), "login").id;
  sessions.End(again);
  EXPECT_FALSE(sessions.Find(again, "login").has_value());
  sessions.End(started.id);  // twice: nothing
}

TEST(ConsoleSessionsTest, AnIdleOrOldSessionEnds) {
  ConsoleSessions idle({.idle_timeout = std::chrono::seconds(0)});
  const std::string id = idle.Start("loch", Principal::LocalAdmin(), "login").id;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE(idle.Find(id, "login").has_value());
  EXPECT_EQ(idle.size(), 0u);  // forgotten, not only refused

  ConsoleSessions old({.max_lifetime = std::chrono::seconds(0)});
  const std::string old_id = old.Start("loch", Principal::LocalAdmin(), "login").id;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE(old.Find(old_id, "login").has_value());
}

TEST(ConsoleSessionsTest, TheLeastRecentlyUsedGoesWhenTheLimitIsReached) {
  ConsoleSessions sessions({.max_sessions = 3});
  const std::string a = sessions.Start("a", Principal::LocalAdmin(), "login").id;
  const std::string b = sessions.Start("b", Principal::LocalAdmin(), "login").id;
  const std::string c = sessions.Start("c", Principal::LocalAdmin(), "login").id;
  ASSERT_TRUE(sessions.Find(a, "login"));  // a is now the most recently used; b the least
  const std::string d = sessions.Start("d", Principal::LocalAdmin(), "login").id;
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_FALSE(sessions.Find(b, "login"));
  EXPECT_TRUE(sessions.Find(a, "login"));
  EXPECT_TRUE(sessions.Find(c, "login"));
  EXPECT_TRUE(sessions.Find(d, "login"));
}

TEST(CookieValueTest, FindsANamedCookieAmongOthers) {
  EXPECT_EQ(CookieValue("loch_session=abc", "loch_session"), "abc");
  EXPECT_EQ(CookieValue("theme=dark; loch_session=abc; x=1", "loch_session"), "abc");
  EXPECT_EQ(CookieValue("theme=dark;loch_session=abc", "loch_session"), "abc");
  EXPECT_EQ(CookieValue("xloch_session=abc", "loch_session"), std::nullopt);
  EXPECT_EQ(CookieValue("loch_sessionx=abc", "loch_session"), std::nullopt);
  EXPECT_EQ(CookieValue("loch_session", "loch_session"), std::nullopt);
  EXPECT_EQ(CookieValue("", "loch_session"), std::nullopt);
  EXPECT_EQ(CookieValue(";;; ;", "loch_session"), std::nullopt);
  EXPECT_EQ(CookieValue("loch_session=", "loch_session"), "");
}

}  // namespace
}  // namespace loch
