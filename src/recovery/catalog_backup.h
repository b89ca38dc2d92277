#pragma once
// `loch catalog backup` and `restore`: the whole catalog (databases, tables, schema versions,
// snapshots, files and statistics, crawlers, streams and their positions, jobs and runs,
// workgroups, query history) as one verified file, in a local folder or an S3 bucket.
//
// A backup is taken online: one read transaction of the catalog (catalog_file.h), so it is the
// catalog as of one commit while writers go on. It is verified after writing: read back from
// where it went, decompressed, its SHA-256 and SQLite's integrity check passed, and its content
// digest equal to the copy's. Secrets are not in it (admin-credentials.json stays in the state
// folder).
//
// Format (version 1): "LOCHBAK1", a 4-byte big-endian length, that many bytes of JSON header
// {format, lake, catalog_format, taken_at, db_bytes, db_sha256, digest, rows}, then one zstd frame
// of the SQLite catalog file.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/lake_config.h"
#include "common/status.h"
#include "storage/object_store.h"

namespace loch {

struct BackupInfo {
  std::string lake;            // the lake's root when the backup was taken
  int64_t catalog_format = 0;  // catalog format of the backed-up catalog
  std::string taken_at;        // ISO 8601 UTC
  uint64_t db_bytes = 0;       // the catalog file's size
  uint64_t stored_bytes = 0;   // the backup's size (compressed)
  std::string db_sha256;       // of the catalog file
  std::string digest;          // of its content (CatalogFileSummary::digest)
  std::map<std::string, int64_t> rows;
  // The streams it holds (name, created_micros); filled when the backup was read and checked.
  std::vector<std::pair<std::string, int64_t>> streams;
};

// Backs up the catalog of `lake` to `key` in `store`, which must not exist yet (a backup never
// replaces another). Temporary files go to `lake.state_dir`/tmp.
absl::StatusOr<BackupInfo> BackupCatalog(const LakeLocation& lake, ObjectStore& store,
                                         const std::string& key);

// Stores `copy` (a consistent copy of the lake's catalog, e.g. from CopyCatalogFile) as a backup
// at `key`, as BackupCatalog does.
absl::StatusOr<BackupInfo> StoreCatalogCopy(const LakeLocation& lake, const std::string& copy,
                                            ObjectStore& store, const std::string& key);

// Reads the backup at `key` and checks it as VerifyCatalogBackup does; its catalog file is written
// to `db_path`.
absl::StatusOr<BackupInfo> FetchCatalogBackup(ObjectStore& store, const std::string& key,
                                              const std::string& db_path);

struct RestoreOptions {
  // Restore a backup taken of another lake (its root differs from `lake.root`): refused otherwise.
  bool other_lake = false;
};

// Replaces the catalog of `lake` by the backup at `key` in `store`, after verifying the backup
// (DataLoss naming what is wrong: nothing is changed then). FailedPrecondition while a `loch
// serve` uses the lake's state folder. The restored catalog is checked against the backup's
// digest; its journal position is cleared (its next open starts a journal timeline). Data files are not touched: those the restored catalog names must still be in the lake.
absl::StatusOr<BackupInfo> RestoreCatalog(const LakeLocation& lake, ObjectStore& store,
                                          const std::string& key, const RestoreOptions& options);

// Reads and verifies the backup at `key` without restoring it (its header, sizes, hashes and
// integrity).
absl::StatusOr<BackupInfo> VerifyCatalogBackup(const LakeLocation& lake, ObjectStore& store,
                                               const std::string& key);

// Receives a backup's catalog file as it decompresses, a piece at a time (at most 1 MiB each).
using CatalogSink = std::function<absl::Status(std::string_view)>;

// Parses a backup's bytes: its header, and its catalog file (decompressed) handed to `sink`.
// DataLoss naming what is wrong for anything else (also when the catalog does not come to the
// size the header announces, at most 64 GiB). Memory stays bounded whatever the bytes claim: the
// catalog goes to `sink` as it decompresses. Exposed for the fuzz target.
absl::StatusOr<BackupInfo> ParseCatalogBackup(std::string_view bytes, const CatalogSink& sink);

// The lock `loch serve` holds on its state folder; RestoreCatalog takes it too.
std::string ServeLockPath(const LakeLocation& lake);

}  // namespace loch
