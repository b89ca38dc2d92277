#pragma once
// Deciding, before anything is fetched, which data files a query can need.
//
// Only simple, certain cases prune: the statement is a SELECT over exactly one catalog table, and
// its WHERE clause is an AND of comparisons between a column and constants (=, <, <=, >, >=, IN,
// BETWEEN). A file is skipped only when its partition values or its min/max statistics prove that
// no row can match; anything not understood keeps the file.

#include <string>
#include <vector>

#include "catalog/model.h"
#include "nlohmann/json.hpp"

namespace loch {

struct ColumnPredicate {
  enum class Op { kEq, kLt, kLe, kGt, kGe, kIn };
  std::string column;
  Op op;
  std::vector<std::string> values;  // one value, or the IN list; as text
};

// The prunable predicates of `statement` (one entry of json_serialize_sql's "statements") on
// `table`, or none if the statement is not a single-table SELECT.
std::vector<ColumnPredicate> ExtractPredicates(const nlohmann::json& statement,
                                               const TableName& table);

// False only if `file` certainly holds no row that satisfies every predicate.
bool MayMatch(const DataFile& file, const Schema& schema,
              const std::vector<ColumnPredicate>& predicates);

}  // namespace loch
