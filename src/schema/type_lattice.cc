#include "schema/type_lattice.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr int kMaxDecimalDigits = 38;

// Digits left of the point an integer type needs; 0 if `type` is not an integer type.
int IntegerDigits(const std::string& type) {
  static const std::map<std::string, int, std::less<>> kDigits = {
      {"TINYINT", 3},  {"SMALLINT", 5},  {"INTEGER", 10},  {"BIGINT", 19},  {"HUGEINT", 39},
      {"UTINYINT", 3}, {"USMALLINT", 5}, {"UINTEGER", 10}, {"UBIGINT", 20},
  };
  auto it = kDigits.find(type);
  return it == kDigits.end() ? 0 : it->second;
}

// The signed integer type holding both integer types.
std::string WiderInteger(const std::string& a, const std::string& b) {
  static const std::vector<std::string> kSigned = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT",
                                                   "HUGEINT"};
  static const std::map<std::string, int, std::less<>> kRank = {
      {"TINYINT", 0},  {"SMALLINT", 1},  {"INTEGER", 2},  {"BIGINT", 3},  {"HUGEINT", 4},
      {"UTINYINT", 1}, {"USMALLINT", 2}, {"UINTEGER", 3}, {"UBIGINT", 4},
  };
  return kSigned[std::max(kRank.at(a), kRank.at(b))];
}

struct Decimal {
  int width = 18;
  int scale = 3;
};

// DECIMAL, DECIMAL(p) or DECIMAL(p,s); nullopt for other types.
std::optional<Decimal> ParseDecimal(const std::string& type) {
  if (type == "DECIMAL") return Decimal{};
  if (!type.starts_with("DECIMAL(") || !type.ends_with(")")) return std::nullopt;
  const std::string_view inside = std::string_view(type).substr(8, type.size() - 9);
  Decimal decimal{0, 0};
  const size_t comma = inside.find(',');
  const std::string_view width = inside.substr(0, comma);
  if (std::from_chars(width.data(), width.data() + width.size(), decimal.width).ec != std::errc())
    return std::nullopt;
  if (comma != std::string_view::npos) {
    std::string_view scale = inside.substr(comma + 1);
    while (!scale.empty() && scale.front() == ' ') scale.remove_prefix(1);
    if (std::from_chars(scale.data(), scale.data() + scale.size(), decimal.scale).ec != std::errc())
      return std::nullopt;
  }
  // What DuckDB allows; anything else is not a decimal the lattice can reason about.
  if (decimal.width < 1 || decimal.width > kMaxDecimalDigits || decimal.scale < 0 ||
      decimal.scale > decimal.width)
    return std::nullopt;
  return decimal;
}

bool IsFloating(const std::string& type) {
  return type == "FLOAT" || type == "DOUBLE" || type == "REAL";
}

bool IsNaiveDatetime(const std::string& type) {
  return type == "DATE" || type == "TIMESTAMP" || type == "TIMESTAMP_S" || type == "TIMESTAMP_MS" ||
         type == "TIMESTAMP_NS" || type == "DATETIME";
}
bool IsZonedTimestamp(const std::string& type) {
  return type == "TIMESTAMP WITH TIME ZONE" || type == "TIMESTAMPTZ";
}

std::string WidenScalar(const std::string& a, const std::string& b) {
  const int digits_a = IntegerDigits(a), digits_b = IntegerDigits(b);
  if (digits_a > 0 && digits_b > 0) return WiderInteger(a, b);
  const std::optional<Decimal> decimal_a = ParseDecimal(a), decimal_b = ParseDecimal(b);
  const bool exact_a = digits_a > 0 || decimal_a, exact_b = digits_b > 0 || decimal_b;
  if (exact_a && exact_b) {  // at least one decimal: a decimal holding both, if one can
    const Decimal da = decimal_a.value_or(Decimal{digits_a, 0});
    const Decimal db = decimal_b.value_or(Decimal{digits_b, 0});
    const int scale = std::max(da.scale, db.scale);
    const int integer = std::max(da.width - da.scale, db.width - db.scale);
    if (integer + scale <= kMaxDecimalDigits)
      return fmt::format("DECIMAL({},{})", integer + scale, scale);
    return "DOUBLE";
  }
  if ((exact_a || IsFloating(a)) && (exact_b || IsFloating(b))) return "DOUBLE";
  const bool zoned = IsZonedTimestamp(a) || IsZonedTimestamp(b);
  if ((IsNaiveDatetime(a) || IsZonedTimestamp(a)) && (IsNaiveDatetime(b) || IsZonedTimestamp(b)))
    return zoned ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP";
  return "VARCHAR";
}

bool IsNested(const TypeTree& tree) {
  return tree.name == "STRUCT" || tree.name == "LIST" || tree.name == "MAP";
}

TypeTree Widen(const TypeTree& a, const TypeTree& b) {
  if (a == b) return a;
  if (IsUnknownType(a.name)) return b;
  if (IsUnknownType(b.name)) return a;
  if (a.name == "LIST" && b.name == "LIST") {
    // An empty list's element type is unknown (JSON[] from DuckDB's reader): any element holds it.
    const TypeTree& ea = a.children[0];
    const TypeTree& eb = b.children[0];
    if (ea.name == "JSON" && eb.name != "JSON") return b;
    if (eb.name == "JSON" && ea.name != "JSON") return a;
    return TypeTree{"LIST", {Widen(ea, eb)}, {}};
  }
  if (a.name == "MAP" && b.name == "MAP")
    return TypeTree{
        "MAP", {Widen(a.children[0], b.children[0]), Widen(a.children[1], b.children[1])}, {}};
  if (a.name == "STRUCT" && b.name == "STRUCT") {
    TypeTree merged = a;
    for (size_t i = 0; i < b.children.size(); ++i) {
      // A struct cannot hold "a" and "A" (DuckDB's field names ignore case) and DuckDB's JSON
      // reader matches keys by case: such objects stay whole, as JSON.
      if (std::any_of(
              merged.field_names.begin(), merged.field_names.end(), [&](const std::string& name) {
                return name != b.field_names[i] && EqualsIgnoringCase(name, b.field_names[i]);
              })) {
        return TypeTree{"JSON", {}, {}};
      }
      auto same = std::find(merged.field_names.begin(), merged.field_names.end(), b.field_names[i]);
      if (same == merged.field_names.end()) {
        merged.field_names.push_back(b.field_names[i]);
        merged.children.push_back(b.children[i]);
      } else {
        TypeTree& field = merged.children[static_cast<size_t>(same - merged.field_names.begin())];
        field = Widen(field, b.children[i]);
      }
    }
    return merged;
  }
  if ((IsNested(a) || a.name == "JSON") && (IsNested(b) || b.name == "JSON"))
    return TypeTree{"JSON", {}, {}};
  if (IsNested(a) || IsNested(b)) return TypeTree{"VARCHAR", {}, {}};
  return TypeTree{WidenScalar(a.name, b.name), {}, {}};
}

}  // namespace

bool IsUnknownType(std::string_view type) { return type == "NULL"; }

std::string WidenType(const std::string& a, const std::string& b) {
  if (a == b) return a;
  if (IsUnknownType(a)) return b;
  if (IsUnknownType(b)) return a;
  const std::optional<TypeTree> ta = ParseType(a), tb = ParseType(b);
  if (!ta || !tb) return "VARCHAR";
  if (*ta == *tb) return a;  // the same type, spelled differently
  const TypeTree widened = Widen(*ta, *tb);
  // Keep a side's own spelling when it already holds the other (no change to report).
  if (widened == *ta) return a;
  if (widened == *tb) return b;
  return TypeName(widened);
}

}  // namespace loch
