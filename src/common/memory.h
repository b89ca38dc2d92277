#pragma once
// Large buffers that are filled once and reused.

#include <cstddef>
#include <string>

namespace loch {

// Gives `buffer` at least `bytes` of capacity. A large one (>= 4 MiB) is backed by transparent
// huge pages where the kernel allows it (madvise mode): writing fresh memory then takes a page
// fault per 2 MiB instead of per 4 KiB, and in a VM a page fault costs more than copying its page
// (filling a fresh 64 MiB buffer: ~240 ms with 4 KiB pages, 12-150 ms with huge pages, ~3 ms
// reused). Harmless where huge pages are off.
void ReserveLargeBuffer(std::string& buffer, size_t bytes);

}  // namespace loch
