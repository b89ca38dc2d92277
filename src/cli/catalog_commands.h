#pragma once
// `loch catalog backup|restore|verify`: the catalog as one verified file, in a local folder or an
// S3 bucket (recovery/catalog_backup.h). `loch credentials rotate`: the state folder's other
// secret.

#include <ostream>
#include <string>

#include "cli/commands.h"

namespace loch::cli {

struct CatalogBackupOptions {
  std::string place;  // FILE or s3://BUCKET/KEY
  bool other_lake = false;  // restore: a backup of another lake
  bool discard_wal = false;  // restore: drop the logs of streams the backup does not have
};
absl::Status RunCatalogBackup(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out);
absl::Status RunCatalogRestore(const CommonOptions& common, const CatalogBackupOptions& options,
                               std::ostream& out);
absl::Status RunCatalogVerify(const CommonOptions& common, const CatalogBackupOptions& options,
                              std::ostream& out);

// `loch credentials rotate`: new admin token, key pair and pg password; the replaced token and key
// pair stay valid for `keep_old_for` ("1h", "0s", ...). A running server picks them up itself.
absl::Status RunCredentialsRotate(const CommonOptions& common, const std::string& keep_old_for,
                                  std::ostream& out);

}  // namespace loch::cli
