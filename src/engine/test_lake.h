#pragma once
// Test support: a local lake in a folder of its own, with its store, SQLite catalog and engine, as
// the CLI opens one (header-only, no test framework inside).

#include <filesystem>
#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "engine/lake_engine.h"
#include "storage/local_store.h"

namespace loch {

struct TestLake {
  std::unique_ptr<LocalObjectStore> store;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<LakeEngine> engine;  // may read only under the lake's folder
};

// Creates `root` (and its .loch state folder) and opens the lake there; aborts if it cannot.
// `prune_files` false: the engine reads every file (the unoptimized path differential tests
// compare with).
inline TestLake OpenTestLake(const std::string& root, bool prune_files = true) {
  std::filesystem::create_directories(root + "/.loch");
  TestLake lake;
  lake.store = std::move(LocalObjectStore::Open(root)).value();
  lake.catalog = std::move(OpenSqliteCatalog(root + "/.loch/catalog.sqlite")).value();
  EngineOptions options;
  options.readable_root = root;
  options.prune_files = prune_files;
  lake.engine = std::move(LakeEngine::Open(options, lake.catalog.get(), lake.store.get())).value();
  return lake;
}

}  // namespace loch
