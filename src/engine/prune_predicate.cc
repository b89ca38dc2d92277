#include "engine/prune_predicate.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "common/strings.h"
#include "fmt/format.h"

namespace loch {
namespace {

using nlohmann::json;

// Every accessor tolerates a tree of any shape: a missing or mistyped field reads as empty.
std::string Field(const json& node, const char* name) {
  if (!node.is_object()) return "";
  auto it = node.find(name);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Child(const json& node, const char* name) {
  static const json kNull;
  if (!node.is_object()) return kNull;
  auto it = node.find(name);
  return it != node.end() ? *it : kNull;
}

// DuckDB's type ids in casts (json_serialize_sql's "cast_type.id") by family.
TypeFamily FamilyOfTypeId(const std::string& id) {
  static const std::map<std::string, TypeFamily> kFamilies = {
      {"TINYINT", TypeFamily::kNumeric},
      {"SMALLINT", TypeFamily::kNumeric},
      {"INTEGER", TypeFamily::kNumeric},
      {"BIGINT", TypeFamily::kNumeric},
      {"HUGEINT", TypeFamily::kNumeric},
      {"UTINYINT", TypeFamily::kNumeric},
      {"USMALLINT", TypeFamily::kNumeric},
      {"UINTEGER", TypeFamily::kNumeric},
      {"UBIGINT", TypeFamily::kNumeric},
      {"UHUGEINT", TypeFamily::kNumeric},
      {"FLOAT", TypeFamily::kNumeric},
      {"DOUBLE", TypeFamily::kNumeric},
      {"DECIMAL", TypeFamily::kNumeric},
      {"DATE", TypeFamily::kDatetime},
      {"TIMESTAMP", TypeFamily::kDatetime},
      {"TIMESTAMP_S", TypeFamily::kDatetime},
      {"TIMESTAMP_MS", TypeFamily::kDatetime},
      {"TIMESTAMP_NS", TypeFamily::kDatetime},
      {"TIMESTAMP WITH TIME ZONE", TypeFamily::kTimestampTz},
      {"TIMESTAMP_TZ", TypeFamily::kTimestampTz},
      {"VARCHAR", TypeFamily::kString},
      {"BOOLEAN", TypeFamily::kBoolean}};
  auto it = kFamilies.find(id);
  return it == kFamilies.end() ? TypeFamily::kOther : it->second;
}

// Functions and operators a constant may use: deterministic, so the value DuckDB computes while
// pruning is the value the query sees. (Intervals parse into to_days(trunc(...)) and the like.)
bool IsDeterministicFunction(const std::string& name) {
  static const std::array<const char*, 17> kAllowed = {"+",
                                                       "-",
                                                       "*",
                                                       "/",
                                                       "//",
                                                       "%",
                                                       "^",
                                                       "to_years",
                                                       "to_months",
                                                       "to_weeks",
                                                       "to_days",
                                                       "to_hours",
                                                       "to_minutes",
                                                       "to_seconds",
                                                       "to_milliseconds",
                                                       "to_microseconds",
                                                       "trunc"};
  return std::any_of(kAllowed.begin(), kAllowed.end(),
                     [&](const char* allowed) { return name == allowed; });
}

bool IsOperatorName(const std::string& name) {
  return !name.empty() && !std::isalpha(static_cast<unsigned char>(name[0]));
}

// A cast's target type (json_serialize_sql's "cast_type") as SQL, for the types pruning knows.
std::optional<std::string> RenderType(const json& type) {
  const std::string id = Field(type, "id");
  const json& info = Child(type, "type_info");
  if (id == "DECIMAL") {
    const json& width = Child(info, "width");
    const json& scale = Child(info, "scale");
    if (!width.is_number_integer() || !scale.is_number_integer()) return std::nullopt;
    return "DECIMAL(" + std::to_string(width.get<int64_t>()) + "," +
           std::to_string(scale.get<int64_t>()) + ")";
  }
  if (!info.is_null()) return std::nullopt;  // e.g. a collation: not a plain type
  if (FamilyOfTypeId(id) == TypeFamily::kOther) return std::nullopt;
  return id;
}

// A 128-bit integer of json_serialize_sql ({"upper": signed high, "lower": unsigned low}) or a
// plain JSON integer, as decimal digits.
std::optional<std::string> IntegerDigits(const json& value, bool is_unsigned) {
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  const json& upper = Child(value, "upper");
  const json& lower = Child(value, "lower");
  if (!upper.is_number_integer() || !lower.is_number_integer()) return std::nullopt;
  const unsigned __int128 low = lower.is_number_unsigned()
                                    ? lower.get<uint64_t>()
                                    : static_cast<uint64_t>(lower.get<int64_t>());
  const unsigned __int128 high = upper.is_number_unsigned()
                                     ? upper.get<uint64_t>()
                                     : static_cast<uint64_t>(upper.get<int64_t>());
  unsigned __int128 magnitude = (high << 64) | low;
  bool negative = false;
  if (!is_unsigned && static_cast<__int128>(magnitude) < 0) {
    negative = true;
    magnitude = ~magnitude + 1;  // two's complement; the minimum maps to itself, as unsigned
  }
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  return negative ? "-" + digits : digits;
}

std::optional<std::string> RenderValue(const json& value) {
  const std::string id = Field(Child(value, "type"), "id");
  const json& is_null = Child(value, "is_null");
  if (!is_null.is_boolean()) return std::nullopt;
  if (is_null.get<bool>())
    return id == "NULL" || id == "SQLNULL" ? std::optional<std::string>("NULL") : std::nullopt;
  const json& raw = Child(value, "value");
  if (id == "VARCHAR") {
    if (!raw.is_string()) return std::nullopt;
    return QuoteLiteral(raw.get<std::string>());
  }
  if (id == "BOOLEAN") {
    if (!raw.is_boolean()) return std::nullopt;
    return raw.get<bool>() ? "true" : "false";
  }
  if (id == "DOUBLE" || id == "FLOAT") {
    if (!raw.is_number()) return std::nullopt;
    return "CAST(" + QuoteLiteral(fmt::format("{}", raw.get<double>())) + " AS " + id + ")";
  }
  if (id == "DECIMAL") {
    auto type = RenderType(Child(value, "type"));
    auto digits = IntegerDigits(raw, false);
    const json& scale_node = Child(Child(Child(value, "type"), "type_info"), "scale");
    if (!type || !digits || !scale_node.is_number_integer()) return std::nullopt;
    const int64_t scale = scale_node.get<int64_t>();
    const bool negative = digits->starts_with('-');
    std::string magnitude = negative ? digits->substr(1) : *digits;
    if (scale < 0 || scale > 38) return std::nullopt;
    if (static_cast<int64_t>(magnitude.size()) <= scale)
      magnitude.insert(0, static_cast<size_t>(scale + 1) - magnitude.size(), '0');
    if (scale > 0) magnitude.insert(magnitude.size() - static_cast<size_t>(scale), ".");
    return "CAST(" + QuoteLiteral((negative ? "-" : "") + magnitude) + " AS " + *type + ")";
  }
  if (FamilyOfTypeId(id) == TypeFamily::kNumeric) {  // the integer types
    // As digits: DuckDB types an integer literal by its value, so the same digits parse to the
    // same type (and stay an integer literal, which binds like the original).
    auto digits = IntegerDigits(raw, id.starts_with('U'));
    if (!digits) return std::nullopt;
    return digits->starts_with('-') ? "(" + *digits + ")" : *digits;
  }
  return std::nullopt;
}

// Placeholder values, and whether a placeholder may stand where it is: an untyped one (bound as
// text) takes a type DuckDB infers from its position, which loch knows only when it is compared
// with the column directly or cast; a typed one is bound as BIGINT, DOUBLE or BOOLEAN wherever it
// stands.
struct Parameters {
  const std::vector<QueryParameter>& values;
  bool untyped_allowed;
};

// The type a declared parameter type is bound as (query_parameters.cc), "" for text.
std::string BoundType(const std::string& declared) {
  if (declared == "TINYINT" || declared == "SMALLINT" || declared == "INTEGER" ||
      declared == "BIGINT") {
    return "BIGINT";
  }
  if (declared == "FLOAT" || declared == "DOUBLE") return "DOUBLE";
  if (declared == "BOOLEAN") return "BOOLEAN";
  return "";
}

const QueryParameter* ParameterOf(const json& node, const std::vector<QueryParameter>& values) {
  const std::optional<int64_t> number =
      ParseInteger(Field(node, "identifier"), 1, static_cast<int64_t>(values.size()));
  return number ? &values[static_cast<size_t>(*number - 1)] : nullptr;
}

// A placeholder ($n) as the value bound to it, typed as it was bound.
std::optional<std::string> RenderParameter(const json& node, const Parameters& parameters) {
  const QueryParameter* parameter = ParameterOf(node, parameters.values);
  if (parameter == nullptr) return std::nullopt;  // named, or beyond the values given
  if (!parameter->value) return "NULL";
  const std::string type = BoundType(parameter->type);
  if (type.empty()) {
    if (!parameters.untyped_allowed) return std::nullopt;
    return QuoteLiteral(*parameter->value);  // text: cast by DuckDB to what it is compared with
  }
  return "CAST(" + QuoteLiteral(*parameter->value) + " AS " + type + ")";
}

std::optional<std::string> Render(const json& node, int depth, const Parameters& parameters) {
  if (depth > 32 || !node.is_object()) return std::nullopt;
  const std::string type = Field(node, "type");
  if (type == "VALUE_CONSTANT") return RenderValue(Child(node, "value"));
  if (type == "VALUE_PARAMETER") return RenderParameter(node, parameters);
  if (type == "OPERATOR_CAST") {
    auto target = RenderType(Child(node, "cast_type"));
    auto child = Render(Child(node, "child"), depth + 1, Parameters{parameters.values, true});
    const json& try_cast = Child(node, "try_cast");
    if (!target || !child || !try_cast.is_boolean()) return std::nullopt;
    return (try_cast.get<bool>() ? "TRY_CAST(" : "CAST(") + *child + " AS " + *target + ")";
  }
  if (type != "FUNCTION") return std::nullopt;
  const std::string name = Field(node, "function_name");
  if (!Field(node, "schema").empty() || !Field(node, "catalog").empty() ||
      !IsDeterministicFunction(name) || !Child(node, "filter").is_null()) {
    return std::nullopt;
  }
  const json& distinct = Child(node, "distinct");
  if (distinct.is_boolean() && distinct.get<bool>()) return std::nullopt;
  const json& children = Child(node, "children");
  if (!children.is_array() || children.empty() || children.size() > 2) return std::nullopt;
  std::vector<std::string> arguments;
  for (const json& child : children) {
    // (An untyped placeholder under arithmetic takes a type DuckDB infers from the expression.)
    auto argument = Render(child, depth + 1, Parameters{parameters.values, false});
    if (!argument) return std::nullopt;
    arguments.push_back(std::move(*argument));
  }
  if (!IsOperatorName(name)) return name + "(" + Join(arguments, ", ") + ")";
  if (arguments.size() == 1) return "(" + name + " " + arguments[0] + ")";
  return "(" + arguments[0] + " " + name + " " + arguments[1] + ")";
}

struct Context {
  const TableName& table;
  std::string alias;
  const Schema& schema;
  const std::vector<QueryParameter>& parameters;
};

// The schema column a COLUMN_REF names (DuckDB binds names case-insensitively), or nullptr.
const Column* ReferencedColumn(const json& node, const Context& context) {
  if (Field(node, "type") != "COLUMN_REF") return nullptr;
  const json& names = Child(node, "column_names");
  if (!names.is_array() || names.empty() || names.size() > 2) return nullptr;
  for (const json& name : names) {
    if (!name.is_string()) return nullptr;
  }
  if (names.size() == 2) {
    const std::string qualifier = names[0].get<std::string>();
    const std::string& expected = context.alias.empty() ? context.table.table : context.alias;
    if (!EqualsIgnoringCase(qualifier, expected)) return nullptr;
  }
  const std::string name = names.back().get<std::string>();
  const Column* found = nullptr;
  for (const auto* list : {&context.schema.columns, &context.schema.partition_columns}) {
    for (const Column& column : *list) {
      if (!EqualsIgnoringCase(column.name, name)) continue;
      if (found != nullptr) return nullptr;  // ambiguous
      found = &column;
    }
  }
  return found;
}

// The column side of an atom: a column, or a CAST of one that keeps its order. Fills `atom`'s
// column, cast and family; false if `node` is anything else.
bool ReadColumnSide(const json& node, const Context& context, PruneAtom& atom) {
  if (const Column* column = ReferencedColumn(node, context)) {
    atom.column = column->name;
    atom.family = FamilyOfTypeName(column->type);
    return atom.family != TypeFamily::kOther;
  }
  if (Field(node, "type") != "OPERATOR_CAST") return false;
  const Column* column = ReferencedColumn(Child(node, "child"), context);
  auto target = RenderType(Child(node, "cast_type"));
  const json& try_cast = Child(node, "try_cast");
  if (column == nullptr || !target || !try_cast.is_boolean()) return false;
  const TypeFamily from = FamilyOfTypeName(column->type);
  const TypeFamily to = FamilyOfTypeName(*target);
  if (from != to || to == TypeFamily::kOther) return false;
  atom.column = column->name;
  atom.cast_type = *target;
  atom.try_cast = try_cast.get<bool>();
  atom.family = to;
  return true;
}

std::string Mirror(const std::string& op) {
  if (op == "<") return ">";
  if (op == "<=") return ">=";
  if (op == ">") return "<";
  if (op == ">=") return "<=";
  return op;
}

std::string Negate(const std::string& op) {
  static const std::map<std::string, std::string> kNegations = {
      {"=", "<>"}, {"<>", "="}, {"<", ">="}, {"<=", ">"}, {">", "<="}, {">=", "<"}};
  return kNegations.at(op);
}

PrunePredicate True() { return PrunePredicate{}; }

PrunePredicate Atom(PruneAtom atom) {
  PrunePredicate predicate;
  predicate.kind = PrunePredicate::Kind::kAtom;
  predicate.atom = std::move(atom);
  return predicate;
}

// AND/OR of `children`, simplified: true children drop out of an AND and make an OR true.
PrunePredicate Combine(PrunePredicate::Kind kind, std::vector<PrunePredicate> children,
                       std::vector<std::string> same_type_constants = {}) {
  std::vector<PrunePredicate> kept;
  for (PrunePredicate& child : children) {
    if (child.IsTrue()) {
      if (kind == PrunePredicate::Kind::kOr) return True();
      continue;
    }
    kept.push_back(std::move(child));
  }
  if (kept.empty()) return True();
  if (kept.size() == 1 && same_type_constants.empty()) return std::move(kept.front());
  PrunePredicate predicate;
  predicate.kind = kind;
  predicate.children = std::move(kept);
  predicate.same_type_constants = std::move(same_type_constants);
  return predicate;
}

// Whether `node` is a constant expression loch can render (placeholders included).
bool IsConstant(const json& node, const Context& context) {
  return Render(node, 0, Parameters{context.parameters, true}).has_value();
}

PrunePredicate Comparison(const json& column_node, const std::string& op, const json& constant,
                          const Context& context) {
  PruneAtom atom;
  if (!ReadColumnSide(column_node, context, atom)) return True();
  auto constant_sql = Render(constant, 0, Parameters{context.parameters, true});
  if (!constant_sql) return True();
  atom.op = op;
  atom.constant_sql = std::move(*constant_sql);
  // DuckDB casts a string literal, and text bound to a placeholder, to the column's type.
  const std::string kind = Field(constant, "type");
  if (kind == "VALUE_CONSTANT") {
    atom.string_literal = Field(Child(Child(constant, "value"), "type"), "id") == "VARCHAR";
  } else if (kind == "VALUE_PARAMETER") {
    const QueryParameter* parameter = ParameterOf(constant, context.parameters);
    atom.string_literal =
        parameter != nullptr && parameter->value && BoundType(parameter->type).empty();
  }
  return Atom(std::move(atom));
}

PrunePredicate Convert(const json& node, bool negated, const Context& context, int depth);

PrunePredicate ConvertComparison(const json& node, const std::string& op, bool negated,
                                 const Context& context) {
  const std::string effective = negated ? Negate(op) : op;
  const json& left = Child(node, "left");
  const json& right = Child(node, "right");
  if (IsConstant(right, context)) return Comparison(left, effective, right, context);
  if (IsConstant(left, context)) return Comparison(right, Mirror(effective), left, context);
  return True();
}

PrunePredicate ConvertBetween(const json& node, bool negated, const Context& context) {
  const json& input = Child(node, "input");
  // NOT (lower <= c AND c <= upper) == c < lower OR c > upper
  PrunePredicate low = Comparison(input, negated ? "<" : ">=", Child(node, "lower"), context);
  PrunePredicate high = Comparison(input, negated ? ">" : "<=", Child(node, "upper"), context);
  // DuckDB types the three together: with one bound not understood, the other alone is not either.
  if (low.IsTrue() || high.IsTrue()) return True();
  std::vector<std::string> constants = {low.atom.constant_sql, high.atom.constant_sql};
  return Combine(negated ? PrunePredicate::Kind::kOr : PrunePredicate::Kind::kAnd,
                 {std::move(low), std::move(high)}, std::move(constants));
}

PrunePredicate ConvertIn(const json& node, bool negated, const Context& context) {
  const json& children = Child(node, "children");
  if (negated || !children.is_array() || children.size() < 2) return True();  // NOT IN: keep
  std::vector<PrunePredicate> equalities;
  std::vector<std::string> constants;
  for (size_t i = 1; i < children.size(); ++i) {
    PrunePredicate equality = Comparison(children[0], "=", children[i], context);
    if (equality.IsTrue()) return True();  // one member not understood: the IN is not either
    constants.push_back(equality.atom.constant_sql);
    equalities.push_back(std::move(equality));
  }
  return Combine(PrunePredicate::Kind::kOr, std::move(equalities), std::move(constants));
}

PrunePredicate ConvertNullTest(const json& node, bool is_null, const Context& context) {
  const json& children = Child(node, "children");
  if (!children.is_array() || children.size() != 1) return True();
  const Column* column = ReferencedColumn(children[0], context);
  if (column == nullptr) return True();
  PruneAtom atom;
  atom.kind = is_null ? PruneAtom::Kind::kIsNull : PruneAtom::Kind::kIsNotNull;
  atom.column = column->name;
  atom.family = FamilyOfTypeName(column->type);
  return Atom(std::move(atom));
}

PrunePredicate Convert(const json& node, bool negated, const Context& context, int depth) {
  if (depth > 64 || !node.is_object()) return True();
  static const std::map<std::string, std::string> kComparisons = {
      {"COMPARE_EQUAL", "="},       {"COMPARE_NOTEQUAL", "<>"},
      {"COMPARE_LESSTHAN", "<"},    {"COMPARE_LESSTHANOREQUALTO", "<="},
      {"COMPARE_GREATERTHAN", ">"}, {"COMPARE_GREATERTHANOREQUALTO", ">="}};
  const std::string type = Field(node, "type");
  if (type == "CONJUNCTION_AND" || type == "CONJUNCTION_OR") {
    const json& children = Child(node, "children");
    if (!children.is_array()) return True();
    std::vector<PrunePredicate> converted;
    for (const json& child : children)
      converted.push_back(Convert(child, negated, context, depth + 1));
    // De Morgan: NOT (a AND b) == NOT a OR NOT b, also in three-valued logic.
    const bool conjunction = (type == "CONJUNCTION_AND") != negated;
    return Combine(conjunction ? PrunePredicate::Kind::kAnd : PrunePredicate::Kind::kOr,
                   std::move(converted));
  }
  if (type == "OPERATOR_NOT") {
    const json& children = Child(node, "children");
    if (!children.is_array() || children.size() != 1) return True();
    return Convert(children[0], !negated, context, depth + 1);
  }
  if (auto it = kComparisons.find(type); it != kComparisons.end()) {
    return ConvertComparison(node, it->second, negated, context);
  }
  if (type == "COMPARE_BETWEEN") return ConvertBetween(node, negated, context);
  if (type == "COMPARE_IN") return ConvertIn(node, negated, context);
  if (type == "COMPARE_NOT_IN") return ConvertIn(node, !negated, context);
  if (type == "OPERATOR_IS_NULL") return ConvertNullTest(node, !negated, context);
  if (type == "OPERATOR_IS_NOT_NULL") return ConvertNullTest(node, negated, context);
  return True();
}

size_t CountAtoms(const PrunePredicate& predicate) {
  if (predicate.kind == PrunePredicate::Kind::kAtom) return 1;
  size_t atoms = 0;
  for (const PrunePredicate& child : predicate.children) atoms += CountAtoms(child);
  return atoms;
}

// How many table references (BASE_TABLE nodes) the tree holds, counting at most to 2.
int CountTableReferences(const json& node, int depth = 0) {
  if (depth > 256) return 2;  // too deep to be sure: count it as more than one
  int count = 0;
  if (node.is_object()) {
    if (Field(node, "type") == "BASE_TABLE") ++count;
    for (const auto& [key, child] : node.items()) {
      if (child.is_structured()) count += CountTableReferences(child, depth + 1);
      if (count > 1) return count;
    }
  } else if (node.is_array()) {
    for (const json& child : node) {
      count += CountTableReferences(child, depth + 1);
      if (count > 1) return count;
    }
  }
  return count;
}

}  // namespace

std::optional<std::string> RenderConstant(const json& node) {
  static const std::vector<QueryParameter> kNone;
  return Render(node, 0, Parameters{kNone, true});
}

std::string PruneAtom::ColumnSideSql(const std::string& bound) const {
  if (cast_type.empty()) return bound;
  // TRY_CAST even for the query's CAST: a bound that cannot be cast (1e300 to DECIMAL) then reads
  // as unknown, so only this file is kept, instead of failing the pruning of every file.
  return "TRY_CAST(" + bound + " AS " + cast_type + ")";
}

TypeFamily FamilyOfTypeName(std::string_view type) {
  if (type.starts_with("DECIMAL")) return TypeFamily::kNumeric;
  if (type == "TIMESTAMP WITH TIME ZONE" || type == "TIMESTAMPTZ") return TypeFamily::kTimestampTz;
  return FamilyOfTypeId(std::string(type));
}

PrunePredicate ExtractPrunePredicate(const json& statement, const TableName& table,
                                     const Schema& schema,
                                     const std::vector<QueryParameter>& parameters) {
  const json& node = Child(statement, "node");
  if (Field(node, "type") != "SELECT_NODE" || !Child(node, "sample").is_null()) return True();
  const json& from = Child(node, "from_table");
  const json& column_aliases = Child(from, "column_name_alias");
  if (column_aliases.is_array() && !column_aliases.empty()) return True();  // t AS x(a, b)
  if (Field(from, "type") != "BASE_TABLE" || !Child(from, "sample").is_null() ||
      !Child(from, "at_clause").is_null() || Field(from, "schema_name") != table.database ||
      Field(from, "table_name") != table.table || !Field(from, "catalog_name").empty()) {
    return True();
  }
  // Pruning changes what the one table reference reads: a second reference (a subquery, a CTE)
  // must not see fewer files.
  if (CountTableReferences(statement) != 1) return True();
  const json& where = Child(node, "where_clause");
  if (!where.is_object()) return True();
  PrunePredicate predicate =
      Convert(where, false, Context{table, Field(from, "alias"), schema, parameters}, 0);
  return CountAtoms(predicate) > kMaxPruneAtoms ? True() : predicate;
}

}  // namespace loch
