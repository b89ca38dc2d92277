#pragma once
// The second layer of the query sandbox (the first is sql_guard.h, which admits only queries over
// catalog tables): DuckDB's own configuration, so that even SQL the guard let through by mistake
// cannot leave the lake. After LockDownDatabase, every connection of the database may read and
// write files only under `readable_root` (the engine's own scratch folders live there, so writes
// there cannot be refused at this layer: only the guard keeps user SQL from writing), cannot
// install or load extensions or attach anything outside it, and cannot change any setting
// (lock_configuration). Set what else the database needs before calling it.

#include <string>

#include "common/status.h"
#include "engine/duck.h"

namespace loch {

absl::Status LockDownDatabase(duck::Connection& admin, const std::string& readable_root);

}  // namespace loch
