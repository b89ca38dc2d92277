#pragma once
// Opening a lake for a CLI command: the object store, the catalog and (on demand) the query engine.

#include <memory>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "common/lake_config.h"
#include "engine/lake_engine.h"
#include "storage/local_store.h"

namespace loch {

struct EngineSettings {
  std::string memory_limit;  // empty: DuckDB's default
  int threads = 0;
};

class LakeSession {
 public:
  // Creates the lake folder, its state folder (owner-only) and an empty catalog. Idempotent: an
  // existing lake is left as it is. Returns true if the lake was created now.
  static absl::StatusOr<bool> Init(const LakeLocation& location);

  // Opens an initialized lake. FailedPrecondition, with the `loch init` command to run, if there is
  // none.
  static absl::StatusOr<std::unique_ptr<LakeSession>> Open(const LakeLocation& location,
                                                           const EngineSettings& engine = {});

  const LakeLocation& location() const { return location_; }
  ObjectStore& store() { return *store_; }
  Catalog& catalog() { return *catalog_; }
  // The query engine, opened on first use.
  absl::StatusOr<LakeEngine*> engine();

 private:
  LakeSession(LakeLocation location, EngineSettings settings)
      : location_(std::move(location)), settings_(settings) {}

  LakeLocation location_;
  EngineSettings settings_;
  std::unique_ptr<LocalObjectStore> store_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<LakeEngine> engine_;
};

}  // namespace loch
