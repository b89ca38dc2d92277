#pragma once
// A last line of defence for threads that serve clients.
//
// loch's modules return absl::Status and never let exceptions cross their boundaries; a
// third-party library or a bug may still throw. On a thread's entry point (or a request's
// dispatch) an escaping exception would end the whole process, and with it every other client,
// stream and query. RunGuarded turns it into a logged Internal error for the one piece of work.

#include <functional>
#include <string_view>

#include "common/status.h"

namespace loch {

// Runs `body`. If it throws, logs the exception with `what` (what was running, e.g. "postgres
// session 12") at error level and returns Internal naming it; otherwise OK. Thread-safe.
absl::Status RunGuarded(std::string_view what, const std::function<void()>& body);

}  // namespace loch
