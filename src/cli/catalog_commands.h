#pragma once
// `loch catalog backup|restore|verify`: the catalog as one verified file, in a local folder or an
// S3 bucket (recovery/catalog_backup.h).

#include <ostream>
#include <string>

#include "cli/commands.h"

namespace loch::cli {

struct CatalogBackupOptions {
  std::string place;  // FILE or s3://BUCKET/KEY
  bool other_lake = false;  // restore: a backup of another lake
};
absl::Status RunCatalogBackup(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out);
absl::Status RunCatalogRestore(const CommonOptions& common, const CatalogBackupOptions& options,
                               std::ostream& out);
absl::Status RunCatalogVerify(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out);

}  // namespace loch::cli
