#pragma once
// loch's own version (the project version in CMakeLists.txt), for `loch --version`, the server's
// answers and clients that ask (PostgreSQL's version()).

namespace loch {

// "0.4.0".
const char* LochVersion();

}  // namespace loch
