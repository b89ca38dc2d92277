#include "common/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace loch {

void ReserveLargeBuffer(std::string& buffer, size_t bytes) {
  if (buffer.capacity() >= bytes) return;
  buffer.reserve(bytes);
  constexpr size_t kHugePageWorthIt = 4 << 20;
  if (bytes < kHugePageWorthIt) return;
  // madvise wants page-aligned ranges: the whole pages inside the capacity.
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<uintptr_t>(buffer.data());
  const uintptr_t first = (start + page - 1) & ~(page - 1);
  const uintptr_t end = (start + buffer.capacity()) & ~(page - 1);
  if (end > first) ::madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
}

}  // namespace loch
