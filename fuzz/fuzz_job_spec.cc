// Job definitions as clients send them: YAML files (`loch job apply`) and JSON bodies
// (/api/v1/jobs), and a rollup's measures text. No parser may throw, recurse without bound or
// allocate without a limit (yaml-cpp parses recursively: nesting is bounded before it runs); a
// spec that parses must survive its own JSON form unchanged (what the catalog stores is what the
// user defined), and measures their own text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "etl/job_spec.h"

namespace {

void CheckRoundTrip(const loch::etl::JobSpec& spec) {
  auto again = loch::etl::JobSpecFromJson(loch::etl::ToJson(spec));
  if (!again.ok() || loch::etl::ToJson(*again) != loch::etl::ToJson(spec)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto measures = loch::etl::ParseMeasures(input); measures.ok()) {
    std::string text;
    for (const loch::etl::Measure& measure : *measures)
      text += (text.empty() ? "" : ", ") + measure.ToText();
    auto again = loch::etl::ParseMeasures(text);
    if (!again.ok() || *again != *measures) std::abort();
  }
  if (auto spec = loch::etl::JobSpecFromYaml(input); spec.ok()) CheckRoundTrip(*spec);
  const nlohmann::json json = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    if (auto spec = loch::etl::JobSpecFromJson(json); spec.ok()) CheckRoundTrip(*spec);
  }
  return 0;
}
