#include "recovery/zstd_frame.h"

#include <zstd.h>

#include <memory>

#include "fmt/format.h"

namespace loch {

absl::StatusOr<std::string> CompressFrame(std::string_view bytes, int level,
                                          std::string_view what) {
  std::string out;
  size_t size = 0;
  out.resize_and_overwrite(ZSTD_compressBound(bytes.size()), [&](char* data, size_t capacity) {
    size = ZSTD_compress(data, capacity, bytes.data(), bytes.size(), level);
    return ZSTD_isError(size) ? 0 : size;
  });
  if (ZSTD_isError(size)) {
    return absl::InternalError(
        fmt::format("cannot compress {}: {}", what, ZSTD_getErrorName(size)));
  }
  return out;
}

absl::Status DecompressFrame(std::string_view compressed, uint64_t expected, std::string_view what,
                             const std::function<absl::Status(std::string_view)>& sink) {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!context) return absl::ResourceExhaustedError(fmt::format("cannot decompress {}", what));
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  std::string chunk(1 << 20, '\0');
  uint64_t produced = 0;
  size_t remaining = 1;  // 0 once the frame is complete
  while (remaining != 0 && produced <= expected) {
    ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
    const size_t consumed_before = in.pos;
    remaining = ZSTD_decompressStream(context.get(), &out, &in);
    if (ZSTD_isError(remaining)) {
      return absl::DataLossError(
          fmt::format("{} cannot be decompressed: {}", what, ZSTD_getErrorName(remaining)));
    }
    produced += out.pos;
    if (produced <= expected && out.pos > 0)
      RETURN_IF_ERROR(sink(std::string_view(chunk.data(), out.pos)));
    if (remaining != 0 && out.pos == 0 && in.pos == consumed_before) break;  // input ended early
  }
  if (remaining != 0 || produced != expected || in.pos != in.size) {
    return absl::DataLossError(
        fmt::format("{} is cut off or damaged (it does not decompress to its size)", what));
  }
  return absl::OkStatus();
}

}  // namespace loch
