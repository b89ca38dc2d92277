#pragma once
// The quality gate: a job's data-quality rules (dq_rules.h) evaluated before a run's commit on
// the rows its query returned (staged: the output of append and replace-partitions, the
// "changes" of merge and history) or, for a rollup, the rollup rows it writes.

#include <cstdint>
#include <string>
#include <vector>

#include "common/principal.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "etl/dq_rules.h"
#include "nlohmann/json.hpp"

namespace loch::etl {

struct RuleOutcome {
  const DqRule* rule = nullptr;
  enum class State { kPassed, kFailed, kError } state = State::kPassed;
  std::string observed;  // what was measured (a count, the newest value, ...)
  std::string error;     // kError: why the rule could not be evaluated
};

// Evaluates every rule over `staged` (read as the table "loch-run".output). A rule that cannot be
// evaluated (a column it names is missing, a bad regular expression, CustomSql that fails) is
// kError, not an error of this call; errors are only the engine's failing outright.
absl::StatusOr<std::vector<RuleOutcome>> EvaluateRules(LakeEngine& engine, const Principal& who,
                                                       const std::vector<DqRule>& rules,
                                                       const StagedFiles& staged,
                                                       int64_t now_micros);

// The outcomes as a run report keeps them: [{line, rule, severity, outcome, observed, message}].
nlohmann::json ToJson(const std::vector<RuleOutcome>& outcomes);

// FailedPrecondition naming each error-severity rule that failed or could not be evaluated; OK
// when there is none (warnings pass).
absl::Status Verdict(const std::vector<RuleOutcome>& outcomes);

}  // namespace loch::etl
