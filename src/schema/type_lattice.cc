#include "schema/type_lattice.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "fmt/format.h"

namespace loch {
namespace {

constexpr int kMaxDepth = 64;
constexpr int kMaxDecimalDigits = 38;

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

// A recursive-descent reader of DuckDB's type names; depth-bounded.
class TypeReader {
 public:
  explicit TypeReader(std::string_view text) : text_(text) {}

  std::optional<TypeTree> ReadAll() {
    std::optional<TypeTree> tree = Read(0);
    SkipSpaces();
    if (!tree || at_ != text_.size()) return std::nullopt;
    return tree;
  }

 private:
  std::optional<TypeTree> Read(int depth) {
    if (depth > kMaxDepth) return std::nullopt;
    SkipSpaces();
    std::optional<TypeTree> tree;
    if (TakeKeyword("STRUCT")) {
      tree = ReadStruct(depth);
    } else if (TakeKeyword("MAP")) {
      tree = ReadMap(depth);
    } else {
      tree = ReadScalar();
    }
    if (!tree) return std::nullopt;
    // Suffixes: `[]` makes a list; a fixed size (`[3]`) is an ARRAY, which the lattice leaves be.
    while (true) {
      SkipSpaces();
      if (!Take('[')) break;
      if (!Take(']')) return std::nullopt;
      if (++depth > kMaxDepth) return std::nullopt;
      TypeTree list{"LIST", {std::move(*tree)}, {}};
      tree = std::move(list);
    }
    return tree;
  }

  std::optional<TypeTree> ReadStruct(int depth) {
    TypeTree tree{"STRUCT", {}, {}};
    if (!Take('(')) return std::nullopt;
    while (true) {
      SkipSpaces();
      std::optional<std::string> field = ReadFieldName();
      if (!field) return std::nullopt;
      std::optional<TypeTree> type = Read(depth + 1);
      if (!type) return std::nullopt;
      if (std::any_of(tree.field_names.begin(), tree.field_names.end(),
                      [&](const std::string& name) { return EqualsIgnoringCase(name, *field); }))
        return std::nullopt;  // fields are matched by name, case aside (as DuckDB does)
      tree.field_names.push_back(std::move(*field));
      tree.children.push_back(std::move(*type));
      SkipSpaces();
      if (Take(')')) return tree;
      if (!Take(',')) return std::nullopt;
    }
  }

  std::optional<TypeTree> ReadMap(int depth) {
    if (!Take('(')) return std::nullopt;
    std::optional<TypeTree> key = Read(depth + 1);
    SkipSpaces();
    if (!key || !Take(',')) return std::nullopt;
    std::optional<TypeTree> value = Read(depth + 1);
    SkipSpaces();
    if (!value || !Take(')')) return std::nullopt;
    return TypeTree{"MAP", {std::move(*key), std::move(*value)}, {}};
  }

  // A scalar name runs to the next ',', ')' or '[' outside its own parentheses ("DECIMAL(18,3)",
  // "TIMESTAMP WITH TIME ZONE"). UNION and ENUM are not read (they only widen with themselves).
  std::optional<TypeTree> ReadScalar() {
    const size_t start = at_;
    int parentheses = 0;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '(') {
        ++parentheses;
      } else if (c == ')') {
        if (parentheses == 0) break;
        --parentheses;
      } else if ((c == ',' || c == '[') && parentheses == 0) {
        break;
      } else if (c == '\'' || c == '"') {
        return std::nullopt;  // ENUM values, quoted names: not a type the lattice reads
      }
      ++at_;
    }
    std::string name(text_.substr(start, at_ - start));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name.empty() || parentheses != 0) return std::nullopt;
    // The tree's own kinds are never scalar names (a bare "STRUCT" would print as "STRUCT()").
    for (const char* reserved : {"UNION", "STRUCT", "LIST", "MAP"}) {
      if (EqualsIgnoringCase(std::string_view(name).substr(0, std::string_view(reserved).size()),
                             reserved))
        return std::nullopt;
    }
    return TypeTree{std::move(name), {}, {}};
  }

  std::optional<std::string> ReadFieldName() {
    if (Take('"')) {
      std::string name;
      while (at_ < text_.size()) {
        const char c = text_[at_++];
        if (c != '"') {
          name += c;
        } else if (Take('"')) {
          name += '"';  // "" inside a quoted name
        } else {
          return name;
        }
      }
      return std::nullopt;
    }
    const size_t start = at_;
    while (at_ < text_.size() && text_[at_] != ' ' && text_[at_] != ',' && text_[at_] != ')')
      ++at_;
    if (at_ == start) return std::nullopt;
    return std::string(text_.substr(start, at_ - start));
  }

  bool TakeKeyword(std::string_view keyword) {
    if (text_.size() - at_ < keyword.size() + 1) return false;
    if (!EqualsIgnoringCase(text_.substr(at_, keyword.size()), keyword)) return false;
    if (text_[at_ + keyword.size()] != '(') return false;
    at_ += keyword.size();
    return true;
  }
  bool Take(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void SkipSpaces() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }

  std::string_view text_;
  size_t at_ = 0;
};

std::string QuoteFieldName(const std::string& name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// Digits left of the point an integer type needs; 0 if `type` is not an integer type.
int IntegerDigits(const std::string& type) {
  static const std::map<std::string, int, std::less<>> kDigits = {
      {"TINYINT", 3},   {"SMALLINT", 5},   {"INTEGER", 10},   {"BIGINT", 19},   {"HUGEINT", 39},
      {"UTINYINT", 3},  {"USMALLINT", 5},  {"UINTEGER", 10},  {"UBIGINT", 20},
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
    if (std::from_chars(scale.data(), scale.data() + scale.size(), decimal.scale).ec !=
        std::errc())
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
    if (integer + scale <= kMaxDecimalDigits) return fmt::format("DECIMAL({},{})", integer + scale, scale);
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
    return TypeTree{"MAP", {Widen(a.children[0], b.children[0]), Widen(a.children[1], b.children[1])}, {}};
  if (a.name == "STRUCT" && b.name == "STRUCT") {
    TypeTree merged = a;
    for (size_t i = 0; i < b.children.size(); ++i) {
      // A struct cannot hold "a" and "A" (DuckDB's field names ignore case) and DuckDB's JSON
      // reader matches keys by case: such objects stay whole, as JSON.
      if (std::any_of(merged.field_names.begin(), merged.field_names.end(),
                      [&](const std::string& name) {
                        return name != b.field_names[i] &&
                               EqualsIgnoringCase(name, b.field_names[i]);
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

std::optional<TypeTree> ParseType(std::string_view type) { return TypeReader(type).ReadAll(); }

std::string TypeName(const TypeTree& tree) {
  if (tree.name == "LIST") return TypeName(tree.children[0]) + "[]";
  if (tree.name == "MAP")
    return fmt::format("MAP({}, {})", TypeName(tree.children[0]), TypeName(tree.children[1]));
  if (tree.name != "STRUCT") return tree.name;
  std::string name = "STRUCT(";
  for (size_t i = 0; i < tree.children.size(); ++i) {
    if (i > 0) name += ", ";
    name += QuoteFieldName(tree.field_names[i]) + " " + TypeName(tree.children[i]);
  }
  return name + ")";
}

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
