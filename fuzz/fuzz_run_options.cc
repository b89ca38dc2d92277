// What a client sends to queue or time things (orchestrate/run_control.h, server/run_api.h): the
// options of POST /api/v1/runs ({"full": ..., "range": {"from", "to"}}), read back by the worker as
// a job's run request, and the durations of PUT /api/v1/freshness ("1h"). Reading must refuse with
// a status, never throw or crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "orchestrate/run_control.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)loch::ParseDurationMicros(input, "expect_every");
  loch::RunRecord run;
  run.name = "fuzz";
  run.request = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (run.request.is_discarded() || !run.request.is_object()) return 0;
  (void)loch::orchestrate::JobRunRequest(run);
  return 0;
}
