#pragma once
// Opening a lake for a CLI command: the object store (local folder or S3), the catalog and, on
// demand, the query engine (with a local file cache for an S3 lake).

#include <memory>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "common/lake_config.h"
#include "engine/lake_engine.h"
#include "recovery/lake_journal.h"
#include "storage/file_cache.h"
#include "storage/object_store.h"
#include "storage/s3_config.h"

namespace loch {

struct EngineSettings {
  std::string memory_limit;  // empty: DuckDB's default
  int threads = 0;
};

// S3 settings given to `loch init`, remembered in the state folder's lake.json (never credentials:
// those always come from the environment).
struct S3Settings {
  std::optional<std::string> endpoint;
  std::optional<std::string> region;
  std::optional<std::string> addressing;  // "auto", "path" or "virtual"
  std::optional<std::string> sse;         // "AES256" or "aws:kms" ("": the bucket's default)
  std::optional<std::string> sse_kms_key_id;
};

// An object store for `url` with the lake's S3 settings: "s3://BUCKET[/PREFIX]" (credentials from
// the environment; endpoint, region and addressing as for the lake), or a local folder.
absl::StatusOr<std::unique_ptr<ObjectStore>> OpenStoreAt(const LakeLocation& lake,
                                                         const std::string& url);

class LakeSession {
 public:
  // Creates the lake (folder or S3 location), its owner-only state folder and an empty catalog. For
  // S3 it checks that the bucket is reachable with the environment's credentials. Idempotent: an
  // existing lake is left as it is. Returns true if the lake was created now. FailedPrecondition
  // if the state folder has no catalog but the lake keeps a catalog journal (its catalog is to be
  // recovered, not replaced by an empty one), unless `new_catalog`.
  static absl::StatusOr<bool> Init(const LakeLocation& location, const S3Settings& s3 = {},
                                   bool new_catalog = false);

  // Rebuilds the catalog of a lake whose state folder was lost, from the lake alone (its catalog
  // journal, recovery/lake_journal.h), into the new state folder `location.state_dir`, which must
  // not hold a catalog. Then opens it once, which starts the recovered catalog's own journal.
  static absl::StatusOr<RecoveryReport> Recover(const LakeLocation& location,
                                                const S3Settings& s3 = {});

  // Opens an initialized lake. A lake that keeps a catalog journal (LakeKeepsJournal) has every
  // catalog write journaled in the lake (the first write readies the journal). FailedPrecondition,
  // with the `loch init` command to run, if there is none.
  static absl::StatusOr<std::unique_ptr<LakeSession>> Open(const LakeLocation& location,
                                                           const EngineSettings& engine = {});

  // Readies the catalog journal now (LakeJournal::Prepare) rather than at the first write: for
  // init, recovery and restore, which take the lake over. OK for a lake without a journal.
  absl::Status PrepareJournal();

  const LakeLocation& location() const { return location_; }
  ObjectStore& store() { return *store_; }
  Catalog& catalog() { return *catalog_; }
  // The query engine, opened on first use (with `settings`, if set before that).
  absl::StatusOr<LakeEngine*> engine();
  void set_engine_settings(const EngineSettings& settings) { settings_ = settings; }

 private:
  LakeSession(LakeLocation location, EngineSettings settings)
      : location_(std::move(location)), settings_(settings) {}

  LakeLocation location_;
  EngineSettings settings_;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<LakeJournal> journal_;  // lakes that keep one; outlives catalog_
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<FileCache> cache_;  // remote lakes only
  std::unique_ptr<LakeEngine> engine_;
};

}  // namespace loch
