#pragma once
// ScratchDir: a folder of its own under the state folder's tmp/, removed with what is in it when
// the object goes (internal to recovery/).

#include <filesystem>
#include <string>
#include <system_error>

#include "common/ids.h"
#include "common/lake_config.h"

namespace loch {

class ScratchDir {
 public:
  ScratchDir(const LakeLocation& lake, const std::string& purpose)
      : path_(lake.state_dir + "/tmp/" + purpose + "-" + NewRandomId()) {
    std::error_code error;  // a folder that cannot be made fails the first file written in it
    std::filesystem::create_directories(path_, error);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace loch
