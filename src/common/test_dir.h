#pragma once
// Test support (header-only, no test framework inside): TestDir, a fresh folder for a test's files,
// removed with everything in it when the TestDir is destroyed, so that a test run leaves nothing
// behind (hundreds of test lakes per run filled CI's disk once). It lives under $TEST_TMPDIR (as
// GoogleTest's TempDir()), else the system's temporary folder.
// LOCH_KEEP_TEST_DIRS=1 keeps the folders, for looking at after a failure.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/ids.h"

namespace loch {

class TestDir {
 public:
  // Creates "<temporary folder>/<prefix>-<random id>".
  explicit TestDir(std::string_view prefix) {
    const char* base = std::getenv("TEST_TMPDIR");
    const std::filesystem::path parent =
        base != nullptr && *base != '\0' ? std::filesystem::path(base)
                                         : std::filesystem::temp_directory_path();
    path_ = (parent / (std::string(prefix) + "-" + NewRandomId())).string();
    std::filesystem::create_directories(path_);
  }
  ~TestDir() { Remove(); }

  TestDir(TestDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TestDir& operator=(TestDir&& other) noexcept {
    if (this != &other) {
      Remove();
      path_ = std::exchange(other.path_, {});
    }
    return *this;
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::string& path() const { return path_; }
  // "<path>/<name>" (not created).
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  void Remove() {
    const char* keep = std::getenv("LOCH_KEEP_TEST_DIRS");
    if (path_.empty() || (keep != nullptr && *keep != '\0' && *keep != '0')) return;
    std::error_code ignored;  // a folder a test already removed is fine
    std::filesystem::remove_all(path_, ignored);
  }

  std::string path_;
};

}  // namespace loch
