#pragma once
// Compressing test inputs the way producers do: gzip (one member, as gzip(1) writes) and zstd
// (one frame), for tests of everything that reads compressed files and bodies.

#include <string>

namespace loch::testing_support {

// `text` as a gzip file.
std::string GzipText(const std::string& text);
// `text` as a zstd frame.
std::string ZstdText(const std::string& text);

}  // namespace loch::testing_support
