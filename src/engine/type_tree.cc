#include "engine/type_tree.h"

#include <algorithm>
#include <cctype>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

constexpr int kMaxDepth = 64;

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
    while (at_ < text_.size() && text_[at_] != ' ' && text_[at_] != ',' && text_[at_] != ')') ++at_;
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

}  // namespace loch
