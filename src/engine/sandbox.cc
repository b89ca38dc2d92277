#include "engine/sandbox.h"

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {

absl::Status LockDownDatabase(duck::Connection& admin, const std::string& readable_root) {
  // Order matters: allowed_directories cannot be set once external access is off, and nothing can
  // be set once the configuration is locked.
  std::string root = readable_root;
  if (!root.ends_with('/')) root += '/';
  RETURN_IF_ERROR(
      Annotate(admin.Execute(fmt::format("SET allowed_directories = [{}]", QuoteLiteral(root))),
               "sandboxing the query engine"));
  RETURN_IF_ERROR(admin.Execute("SET enable_external_access = false"));
  return admin.Execute("SET lock_configuration = true");
}

}  // namespace loch
