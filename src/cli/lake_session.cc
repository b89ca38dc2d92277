#include "cli/lake_session.h"

#include <sys/stat.h>

#include <filesystem>

#include "fmt/format.h"

namespace loch {

absl::StatusOr<bool> LakeSession::Init(const LakeLocation& location) {
  namespace fs = std::filesystem;
  const bool existed = fs::exists(location.CatalogPath());
  std::error_code error;
  fs::create_directories(location.state_dir, error);
  if (error) {
    return absl::PermissionDeniedError(fmt::format("cannot create the lake folder \"{}\": {}",
                                                   location.state_dir, error.message()));
  }
  ::chmod(location.state_dir.c_str(), 0700);  // credentials and the catalog live here
  ASSIGN_OR_RETURN(auto store, LocalObjectStore::Open(location.root));
  ASSIGN_OR_RETURN(auto catalog, OpenSqliteCatalog(location.CatalogPath()));
  return !existed;
}

absl::StatusOr<std::unique_ptr<LakeSession>> LakeSession::Open(const LakeLocation& location,
                                                               const EngineSettings& engine) {
  if (!std::filesystem::exists(location.CatalogPath())) {
    return absl::FailedPreconditionError(
        fmt::format("no lake at \"{}\": create one with `loch init --lake {}` (or point --lake / "
                    "LOCH_LAKE at an existing one)",
                    location.root, location.root));
  }
  std::unique_ptr<LakeSession> session(new LakeSession(location, engine));
  ASSIGN_OR_RETURN(session->store_, LocalObjectStore::Open(location.root));
  ASSIGN_OR_RETURN(session->catalog_, OpenSqliteCatalog(location.CatalogPath()));
  return session;
}

absl::StatusOr<LakeEngine*> LakeSession::engine() {
  if (engine_ == nullptr) {
    EngineOptions options;
    options.readable_root = location_.root;
    options.temp_dir = location_.state_dir + "/tmp";
    options.memory_limit = settings_.memory_limit;
    options.threads = settings_.threads;
    ASSIGN_OR_RETURN(engine_, LakeEngine::Open(options, catalog_.get(), store_.get()));
  }
  return engine_.get();
}

}  // namespace loch
