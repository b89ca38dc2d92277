#pragma once
// Files that hold secrets (private keys, credentials) must not be readable by anyone but their
// owner: loch refuses to start with one that others may read, as ssh and PostgreSQL do.

#include <string>

#include "common/status.h"

namespace loch {

// OK when `path` belongs to this user (or root) and grants nothing to group or others.
// `allow_root_group_read`: a root-owned file may also be group-readable (0640), PostgreSQL's rule
// for keys shared through a group such as Debian's `ssl-cert`. PermissionDenied names the file and
// the fix (`chmod 600`); NotFound if it cannot be read.
absl::Status CheckPrivateFile(const std::string& path, bool allow_root_group_read = false);

}  // namespace loch
