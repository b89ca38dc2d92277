#pragma once
// Who is asking. Every request carries a Principal down to catalog and engine calls so that
// permissions can later be enforced in one place, identically for every front end (CLI, HTTP, AWS
// APIs, pgwire).

#include <string>

namespace loch {

struct Principal {
  std::string name;  // stable user name, e.g. "admin"
  bool is_admin = false;

  // The local operator running the `loch` command on the lake's own machine.
  static Principal LocalAdmin() { return Principal{"admin", true}; }
};

}  // namespace loch
