#pragma once
// Data-quality rules of a job: a small language in the spirit of AWS Glue's DQDL, evaluated on the
// rows a run is about to publish. One rule per line (or DQDL's `Rules = [ rule, rule ]`), `#`
// starts a comment, keywords ignore case, names and texts are double-quoted (\" and \\ escape):
//
//   IsComplete "col"                              no NULL in col
//   IsUnique "col" ["col2" ...]                   no two rows share the (non-NULL) values
//   ColumnValues "col" between A and B            every non-NULL value satisfies the condition:
//   ColumnValues "col" in [A, B, ...]               A, B are numbers or "texts"
//   ColumnValues "col" matches "regex"              the whole text matches (RE2)
//   ColumnValues "col" (=|!=|<|<=|>|>=) A
//   RowCount between A and B | RowCount (=|!=|<|<=|>|>=) N
//   Freshness "col" (<=|<) N (second|minute|hour|day)[s]   the newest value is that recent
//   ReferentialIntegrity "col" "db.table.col"     every non-NULL value is in the other column
//   CustomSql "SELECT ... FROM primary ..." (=|!=|<|<=|>|>=) N   one value, compared; `primary`
//                                                 is the run's output
//
// Each rule may end with `severity error` (the default: a failure fails the run, nothing is
// published) or `severity warn` (recorded; the run goes on).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace loch::etl {

struct DqLiteral {
  bool is_text = false;  // a quoted text; else a number (as written: sign, digits, fraction, exp)
  std::string value;
  bool operator==(const DqLiteral&) const = default;
};

struct DqRule {
  enum class Kind {
    kIsComplete,
    kIsUnique,
    kColumnValues,
    kRowCount,
    kFreshness,
    kReferentialIntegrity,
    kCustomSql,
  };
  enum class Condition { kNone, kBetween, kIn, kMatches, kCompare };
  Kind kind = Kind::kRowCount;
  int line = 0;                      // where it starts in the text (1-based)
  std::vector<std::string> columns;  // the rule's columns (IsUnique: one or more; else 0 or 1)
  Condition condition = Condition::kNone;  // ColumnValues, RowCount, CustomSql (kCompare)
  std::string op;                          // kCompare: = != < <= > >=
  std::vector<DqLiteral> values;           // kBetween: 2, kIn: 1 or more, kCompare: 1
  std::string text;  // kMatches: the pattern; ReferentialIntegrity: db.table.col; CustomSql: SQL
  int64_t amount = 0;  // Freshness: how many `unit`s
  std::string unit;    // Freshness: second, minute, hour or day
  bool warn = false;   // severity warn

  // The rule as ParseRules reads it back (canonical spelling).
  std::string ToText() const;
  bool operator==(const DqRule&) const = default;
};

inline constexpr size_t kMaxRulesBytes = 64 << 10;
inline constexpr size_t kMaxRules = 200;

// The rules of `text`. InvalidArgument "rules line L, column C: ..." for anything else; at most
// kMaxRulesBytes and kMaxRules, texts of at most 4 KiB, 100 values in a list.
absl::StatusOr<std::vector<DqRule>> ParseRules(std::string_view text);
// The rules as text, one per line (ParseRules of it gives them back).
std::string RulesText(const std::vector<DqRule>& rules);

// A query over `output` (a table name, quoted) giving one row: passed BOOLEAN, observed VARCHAR
// (what was measured: a count, the newest value, ...). `now_micros` is the run's time
// (Freshness). Identifiers and texts are quoted, numbers were checked when parsed.
// ReferentialIntegrity's table and CustomSql's SQL are read by the query as it runs: the engine's
// checks apply to them as to any query.
std::string RuleSql(const DqRule& rule, std::string_view output, int64_t now_micros);

}  // namespace loch::etl
