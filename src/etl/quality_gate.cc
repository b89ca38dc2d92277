#include "etl/quality_gate.h"

#include "common/strings.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

const TableName kOutputTable{"loch-run", "output"};

std::string_view StateName(RuleOutcome::State state) {
  switch (state) {
    case RuleOutcome::State::kPassed:
      return "passed";
    case RuleOutcome::State::kFailed:
      return "failed";
    case RuleOutcome::State::kError:
      return "error";
  }
  return "?";
}

std::string Describe(const RuleOutcome& outcome) {
  if (outcome.state == RuleOutcome::State::kError) return outcome.error;
  switch (outcome.rule->kind) {
    case DqRule::Kind::kIsComplete:
    case DqRule::Kind::kColumnValues:
    case DqRule::Kind::kReferentialIntegrity:
      return fmt::format("{} row(s) break it", outcome.observed);
    case DqRule::Kind::kIsUnique:
      return fmt::format("{} value(s) appear more than once", outcome.observed);
    case DqRule::Kind::kRowCount:
      return fmt::format("{} row(s)", outcome.observed);
    case DqRule::Kind::kFreshness:
      return outcome.observed.empty() ? "no values"
                                      : fmt::format("the newest is {}", outcome.observed);
    case DqRule::Kind::kCustomSql:
      return fmt::format("the query gave {}", outcome.observed.empty() ? "NULL" : outcome.observed);
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<RuleOutcome>> EvaluateRules(LakeEngine& engine, const Principal& who,
                                                       const std::vector<DqRule>& rules,
                                                       const StagedFiles& staged,
                                                       int64_t now_micros) {
  QueryOptions options;
  TableSnapshot output;
  output.table.name = kOutputTable;
  output.table.schema = staged.schema;
  output.files = staged.files;
  options.pinned = {{kOutputTable, std::move(output)}};
  const std::string table = fmt::format("{}.{}", QuoteIdentifier(kOutputTable.database),
                                        QuoteIdentifier(kOutputTable.table));
  std::vector<RuleOutcome> outcomes;
  for (const DqRule& rule : rules) {
    RuleOutcome outcome;
    outcome.rule = &rule;
    auto answer = [&]() -> absl::StatusOr<std::vector<std::optional<std::string>>> {
      ASSIGN_OR_RETURN(std::unique_ptr<QueryCursor> cursor,
                       engine.Query(who, RuleSql(rule, table, now_micros), options));
      std::vector<std::optional<std::string>> row;
      while (true) {
        ASSIGN_OR_RETURN(std::optional<ResultChunk> chunk, cursor->Next());
        if (!chunk.has_value()) break;
        if (row.empty() && chunk->row_count > 0) {
          for (const auto& column : chunk->cells) row.push_back(column[0]);
        }
      }
      return row;
    }();
    if (!answer.ok()) {
      outcome.state = RuleOutcome::State::kError;
      outcome.error = std::string(ToStd(answer.status().message()));
    } else if (answer->size() != 2) {
      outcome.state = RuleOutcome::State::kError;
      outcome.error = "the rule's query gave no answer";
    } else {
      outcome.state = (*answer)[0] == "true" ? RuleOutcome::State::kPassed
                                             : RuleOutcome::State::kFailed;
      outcome.observed = (*answer)[1].value_or("");
    }
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

nlohmann::json ToJson(const std::vector<RuleOutcome>& outcomes) {
  nlohmann::json out = nlohmann::json::array();
  for (const RuleOutcome& outcome : outcomes) {
    out.push_back({{"line", outcome.rule->line},
                   {"rule", outcome.rule->ToText()},
                   {"severity", outcome.rule->warn ? "warn" : "error"},
                   {"outcome", StateName(outcome.state)},
                   {"observed", outcome.observed},
                   {"message", outcome.state == RuleOutcome::State::kPassed ? "" : Describe(outcome)}});
  }
  return out;
}

absl::Status Verdict(const std::vector<RuleOutcome>& outcomes) {
  std::vector<std::string> broken;
  for (const RuleOutcome& outcome : outcomes) {
    if (outcome.rule->warn || outcome.state == RuleOutcome::State::kPassed) continue;
    broken.push_back(fmt::format("line {} `{}` {}: {}", outcome.rule->line, outcome.rule->ToText(),
                                 StateName(outcome.state), Describe(outcome)));
  }
  if (broken.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      fmt::format("data-quality rules failed, so nothing was published: {}", Join(broken, "; ")));
}

}  // namespace loch::etl
