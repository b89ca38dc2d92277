#include "ingest/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "fmt/format.h"

namespace loch {
namespace {

constexpr size_t kBlock = 1 << 16;

absl::Status TooLarge(size_t max_bytes) {
  return absl::OutOfRangeError(fmt::format("it decompresses to more than {} bytes", max_bytes));
}

absl::StatusOr<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return absl::InternalError("cannot start gzip");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> owner(&stream, &inflateEnd);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), UINT32_MAX));
  size_t fed = stream.avail_in;
  std::string out;
  char block[kBlock];
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(block);
    stream.avail_out = sizeof block;
    const int result = inflate(&stream, Z_NO_FLUSH);
    out.append(block, sizeof block - stream.avail_out);
    if (out.size() > max_bytes) return TooLarge(max_bytes);
    if (stream.avail_in == 0 && fed < data.size()) {  // inputs over 4 GiB, in slices
      const size_t more = std::min<size_t>(data.size() - fed, UINT32_MAX);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + fed));
      stream.avail_in = static_cast<uInt>(more);
      fed += more;
    }
    if (result == Z_STREAM_END) {
      if (stream.avail_in == 0 && fed == data.size()) return out;
      if (inflateReset(&stream) != Z_OK) return absl::InternalError("cannot restart gzip");
      continue;  // the next member
    }
    if (result != Z_OK && result != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(fmt::format(
          "it is not valid gzip data ({})", stream.msg != nullptr ? stream.msg : "corrupt"));
    }
    if (result == Z_BUF_ERROR && stream.avail_in == 0 && stream.avail_out != 0)
      return absl::InvalidArgumentError("the gzip data is truncated");
  }
}

absl::StatusOr<std::string> Unzstd(std::string_view data, size_t max_bytes) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> stream(ZSTD_createDStream(),
                                                                    &ZSTD_freeDStream);
  if (stream == nullptr) return absl::InternalError("cannot start zstd");
  // A frame's window must fit the limit too: a tiny frame may not claim gigabytes of buffer.
  ZSTD_DCtx_setParameter(stream.get(), ZSTD_d_windowLogMax, 27);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string out;
  char block[kBlock];
  for (;;) {
    ZSTD_outBuffer output{block, sizeof block, 0};
    // 0 once a frame is decoded and flushed (a later frame may follow in the input).
    const size_t left = ZSTD_decompressStream(stream.get(), &output, &in);
    if (ZSTD_isError(left)) {
      return absl::InvalidArgumentError(
          fmt::format("it is not valid zstd data ({})", ZSTD_getErrorName(left)));
    }
    out.append(block, output.pos);
    if (out.size() > max_bytes) return TooLarge(max_bytes);
    if (in.pos < in.size) continue;
    if (left == 0) break;           // the last frame is complete
    if (output.pos < sizeof block)  // no more output without more input
      return absl::InvalidArgumentError("the zstd data is truncated");
  }
  return out;
}

}  // namespace

std::optional<ContentEncoding> ParseContentEncoding(std::string_view header) {
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.front())))
    header.remove_prefix(1);
  while (!header.empty() && std::isspace(static_cast<unsigned char>(header.back())))
    header.remove_suffix(1);
  std::string name;
  for (char c : header) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.empty() || name == "identity") return ContentEncoding::kIdentity;
  if (name == "gzip" || name == "x-gzip") return ContentEncoding::kGzip;
  if (name == "zstd") return ContentEncoding::kZstd;
  return std::nullopt;
}

ContentEncoding SniffContentEncoding(std::string_view data) {
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
      static_cast<unsigned char>(data[1]) == 0x8b)
    return ContentEncoding::kGzip;
  if (data.size() >= 4 && data.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4))
    return ContentEncoding::kZstd;
  return ContentEncoding::kIdentity;
}

absl::StatusOr<std::string> DecompressBounded(std::string_view data, ContentEncoding encoding,
                                              size_t max_bytes) {
  switch (encoding) {
    case ContentEncoding::kGzip:
      return Gunzip(data, max_bytes);
    case ContentEncoding::kZstd:
      return Unzstd(data, max_bytes);
    case ContentEncoding::kIdentity:
      break;
  }
  if (data.size() > max_bytes) return TooLarge(max_bytes);
  return std::string(data);
}

}  // namespace loch
