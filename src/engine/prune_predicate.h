#pragma once
// The part of a query's WHERE clause that per-file statistics can judge, as a tree of atoms.
//
// A PrunePredicate over-approximates the WHERE clause: every row the WHERE clause accepts is
// accepted by the predicate when each atom is read as "some value in the file's [min, max] (or its
// null count) could satisfy it". Whatever is not understood becomes kTrue ("may match"), so the
// predicate can only be weaker than the query's, never stronger.
//
// Understood, under SQL's three-valued logic (NOT is pushed down to the atoms, which is exact for
// Kleene logic): AND, OR, NOT; `c OP k` and `k OP c` for =, <>, <, <=, >, >=; `c [NOT] BETWEEN
// k AND k`; `c IN (k, ...)`; `c IS [NOT] NULL`. `c` is a column of the table, optionally under a
// CAST whose ordering DuckDB keeps (numeric to numeric, date/timestamp to date/timestamp); `k` is a
// constant expression: literals, casts of constants and arithmetic on them, placeholders with
// their bound values (no column, subquery, or function whose value could change between two
// evaluations).
//
// Constants are rendered back to SQL with their exact parsed types (json_deserialize_sql is lossy:
// it prints DOUBLE constants as DECIMAL literals and drops -0.0), so that DuckDB later evaluates
// each comparison against a file's bounds with the query's own typing rules (see file_pruner.h).

#include <optional>
#include <string>
#include <vector>

#include "catalog/model.h"
#include "engine/query_parameters.h"
#include "nlohmann/json.hpp"

namespace loch {

// `node` (a json_serialize_sql expression) as SQL with the same value and type, if it is a
// deterministic constant expression loch can render; nullopt otherwise.
std::optional<std::string> RenderConstant(const nlohmann::json& node);

// The families of DuckDB types whose order pruning relies on. Casts between two types of the same
// family keep order (never reverse it); a value of a family compares with constants of the same
// family, or with a string literal (which DuckDB casts to the column's type).
enum class TypeFamily { kNumeric, kDatetime, kTimestampTz, kString, kBoolean, kOther };

// The family of a DuckDB type name ("BIGINT", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE", ...).
TypeFamily FamilyOfTypeName(std::string_view type);

struct PruneAtom {
  enum class Kind { kCompare, kIsNull, kIsNotNull };
  Kind kind = Kind::kCompare;
  std::string column;  // the table's column, as the schema names it
  // The column is read through `CAST(column AS cast_type)` (TRY_CAST if try_cast); empty: as is.
  std::string cast_type;
  bool try_cast = false;
  // The family the comparison happens in on the column side (the cast's target family, if any).
  TypeFamily family = TypeFamily::kOther;
  std::string op;  // kCompare: "=", "<>", "<", "<=", ">", ">=" with the column on the left
  // kCompare: the constant side as SQL that DuckDB types exactly as it typed the query's constant.
  std::string constant_sql;
  // The constant is a bare string literal, which DuckDB casts to the column's type.
  bool string_literal = false;

  // The column side with `bound` (an expression of the column's type) in place of the column,
  // cast with TRY_CAST (a bound the cast cannot take reads as NULL: unknown).
  std::string ColumnSideSql(const std::string& bound) const;
};

inline constexpr size_t kMaxPruneAtoms = 256;

struct PrunePredicate {
  enum class Kind { kTrue, kAnd, kOr, kAtom };
  Kind kind = Kind::kTrue;
  std::vector<PrunePredicate> children;  // kAnd, kOr
  PruneAtom atom;                        // kAtom
  // kAnd/kOr made from one IN list or BETWEEN: DuckDB types all its constants together, so the
  // children are only valid when these constants share one type (or are all integers); else true.
  std::vector<std::string> same_type_constants;  // as SQL

  bool IsTrue() const { return kind == Kind::kTrue; }
};

// The predicate of `statement` (one entry of json_serialize_sql's "statements") for the rows of
// `table` (whose schema is `schema`). kTrue when the statement is not a single-table SELECT of
// `table` (joins, set operations, samples, time travel, any second table reference such as a
// subquery or CTE), or when nothing in its WHERE clause is understood. Never fails: malformed or
// unexpected trees read as kTrue.
//
// `parameters` are the values bound to the statement's placeholders: one with a declared type
// reads as the value in the type it is bound as (BIGINT, DOUBLE, BOOLEAN); an untyped one as text,
// which DuckDB casts to the column's type like a string literal. More than kMaxPruneAtoms atoms
// (long IN lists) read as kTrue: pruning's own work stays bounded.
PrunePredicate ExtractPrunePredicate(const nlohmann::json& statement, const TableName& table,
                                     const Schema& schema,
                                     const std::vector<QueryParameter>& parameters = {});

}  // namespace loch
