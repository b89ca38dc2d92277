// Data-quality rules as users write them (`loch job create --rules FILE`, the job field "rules").
// The parser may not throw, recurse without bound or allocate without a limit; rules that parse
// must survive their canonical text (RulesText) unchanged, and making their SQL must not fail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "etl/dq_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto rules = loch::etl::ParseRules(input);
  if (!rules.ok()) return 0;
  const std::string text = loch::etl::RulesText(*rules);
  // The canonical text may be longer than what was read (spaces added): over the limit, it is
  // refused like any text; a job stores what its user wrote.
  if (text.size() > loch::etl::kMaxRulesBytes) return 0;
  auto again = loch::etl::ParseRules(text);
  if (!again.ok() || again->size() != rules->size()) std::abort();
  for (size_t i = 0; i < rules->size(); ++i) {
    loch::etl::DqRule a = (*rules)[i], b = (*again)[i];
    a.line = b.line = 0;
    if (!(a == b)) std::abort();
    if (loch::etl::RuleSql(a, "\"loch-run\".\"output\"", 0).empty()) std::abort();
  }
  return 0;
}
