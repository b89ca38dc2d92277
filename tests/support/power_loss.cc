#include "tests/support/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/support/power_loss_identity.h"

namespace loch::testing_support {

namespace fs = std::filesystem;

std::vector<std::string> PowerLossEnvironment(const std::string& root, const std::string& shadow) {
  fs::remove_all(shadow);
  fs::create_directories(shadow);
  return {"LD_PRELOAD=" POWER_LOSS_SHIM, "LOCH_POWER_LOSS_ROOT=" + root,
          "LOCH_POWER_LOSS_SHADOW=" + shadow};
}

namespace {

struct Rebuild {
  std::string shadow;
  std::map<std::string, std::string> restored;  // identity -> first path (for hard links)
  std::string error;

  // Recreates the folder `path` (it exists, empty) from the listing of `identity`.
  bool Folder(const fs::path& path, const std::string& identity) {
    std::ifstream listing(shadow + "/dirs/" + identity);
    if (!listing) return true;  // created but never synced: its entries are all lost
    std::string line;
    while (std::getline(listing, line)) {
      std::istringstream words(line);
      std::string kind, id, mode_octal;
      words >> kind >> id >> mode_octal;
      std::string name;
      std::getline(words, name);
      if (name.empty() || name[0] != ' ') return Fail("malformed listing line: " + line);
      const fs::path child = path / name.substr(1);
      const auto mode = static_cast<mode_t>(std::stoul(mode_octal, nullptr, 8));
      if (kind == "d") {
        if (::mkdir(child.c_str(), 0700) != 0) return Fail("cannot create " + child.string());
        if (!Folder(child, id)) return false;
      } else if (!File(child, id)) {
        return false;
      }
      ::chmod(child.c_str(), mode);
    }
    return true;
  }

  bool File(const fs::path& path, const std::string& identity) {
    if (auto linked = restored.find(identity); linked != restored.end()) {
      if (::link(linked->second.c_str(), path.c_str()) == 0) return true;
      return Fail("cannot link " + path.string());
    }
    restored.emplace(identity, path.string());
    const fs::path content = shadow + "/files/" + identity;
    std::error_code failed;
    if (fs::exists(content)) {
      fs::copy_file(content, path, failed);
    } else {
      std::ofstream(path.string());  // its name was synced, its content never
    }
    return failed ? Fail("cannot restore " + path.string() + ": " + failed.message()) : true;
  }

  bool Fail(std::string message) {
    error = std::move(message);
    return false;
  }
};

// Every regular file under `root` keeps its name; its content becomes its shadow's (empty when
// it was never synced).
bool RestoreContentsOnly(const std::string& shadow, const std::string& root, std::string* error) {
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::error_code unknown;
    if (!entry.is_regular_file(unknown)) continue;
    struct statx st;
    if (::statx(AT_FDCWD, entry.path().c_str(), AT_SYMLINK_NOFOLLOW, STATX_INO | STATX_BTIME,
                &st) != 0) {
      continue;
    }
    const fs::path content = shadow + "/files/" + PowerLossIdentity(st);
    std::error_code failed;
    if (fs::exists(content)) {
      fs::copy_file(content, entry.path(), fs::copy_options::overwrite_existing, failed);
    } else {
      fs::resize_file(entry.path(), 0, failed);
    }
    if (failed) {
      if (error != nullptr)
        *error = "cannot restore " + entry.path().string() + ": " + failed.message();
      return false;
    }
  }
  return true;
}

}  // namespace

bool RestoreAfterPowerLoss(const std::string& shadow, const std::string& root, std::string* error,
                           PowerLoss loss) {
  std::ifstream root_file(shadow + "/root");
  std::string root_identity;
  if (!(root_file >> root_identity)) {
    if (error != nullptr) *error = "no shadow in " + shadow;
    return false;
  }
  if (loss == PowerLoss::kCurrentNamesSyncedContents) {
    return RestoreContentsOnly(shadow, root, error);
  }
  for (const auto& entry : fs::directory_iterator(root)) fs::remove_all(entry.path());
  Rebuild rebuild{shadow, {}, {}};
  if (rebuild.Folder(root, root_identity)) return true;
  if (error != nullptr) *error = rebuild.error;
  return false;
}

}  // namespace loch::testing_support
