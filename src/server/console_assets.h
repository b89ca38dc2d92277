#pragma once
// The web console's files: web/ built by `npm run build` when loch is built, and embedded in the
// binary gzip-compressed by scripts/embed_console.mjs (the generated console_assets_data.cc
// defines ConsoleAssets). No request for the console ever leaves the server.

#include <cstddef>
#include <span>
#include <string_view>

namespace loch {

struct ConsoleAsset {
  std::string_view path;          // as requested: "/index.html", "/assets/index-3f2a9c.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view etag;          // a quoted hash of the content
  std::string_view gzipped;       // the file, gzip-compressed
  size_t size = 0;                // the file's size uncompressed
};

// Every file of the console, index.html among them.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace loch
