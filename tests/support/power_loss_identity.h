#pragma once
// How the power-loss shim and its restore name a file across renames (header-only, shared by the
// LD_PRELOAD library and the test support): "<inode>-<birth time in ns>", unique even when the
// file system reuses inode numbers (up to the birth clock's tick).

#include <fcntl.h>
#include <sys/stat.h>

#include <string>

namespace loch::testing_support {

inline std::string PowerLossIdentity(const struct statx& st) {
  const unsigned long long birth =
      (st.stx_mask & STATX_BTIME) != 0
          ? static_cast<unsigned long long>(st.stx_btime.tv_sec) * 1000000000ull +
                st.stx_btime.tv_nsec
          : 0;
  return std::to_string(st.stx_ino) + "-" + std::to_string(birth);
}

}  // namespace loch::testing_support
