#pragma once
// DuckDB type names parsed into trees, and printed back.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loch {

// A DuckDB type name, parsed: `name` alone for scalars ("BIGINT", "DECIMAL(18,3)", "TIMESTAMP
// WITH TIME ZONE"); "STRUCT" with its fields' types in `children` and their names in
// `field_names`; "LIST" with one element type in `children`; "MAP" with key and value types.
struct TypeTree {
  std::string name;
  std::vector<TypeTree> children;
  std::vector<std::string> field_names;  // STRUCT only: one per child, distinct

  bool operator==(const TypeTree&) const = default;
};

// Parses a type name as DuckDB prints it (`STRUCT(id BIGINT, "name" VARCHAR, tags VARCHAR[])`,
// `MAP(VARCHAR, BIGINT)`, `DECIMAL(18,3)`, `INTEGER[]`). nullopt for what it cannot read (a fixed
// size array, a UNION, nesting deeper than 64 levels): such types only widen with themselves.
std::optional<TypeTree> ParseType(std::string_view type);

// The type name DuckDB reads back as `tree` (field names quoted where needed).
std::string TypeName(const TypeTree& tree);

}  // namespace loch
