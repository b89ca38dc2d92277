#pragma once
// Sample data for an online "one deal a day" store: deals, orders and clickstream events.
//
// Deterministic: the same options produce byte-identical files. Alongside the data the generator
// writes `expected.json`, the answers to the demo's business questions computed while generating
// (not by any query engine), so tests can check loch's answers against an independent source:
//   - revenue per day (from orders), in cents;
//   - the session funnel: sessions with a view, a click, an add-to-cart, a purchase;
//   - per deal: sessions that viewed it and sessions that bought it.
//
// Layout under `out_dir`:
//   deals.json                          NDJSON, one deal per day
//   orders.json                         NDJSON, one order per purchase event
//   events/day=YYYY-MM-DD/events.json   NDJSON clickstream, partitioned by day
//   expected.json
// With dirty_fraction > 0, that fraction of additional records is mixed into events and orders:
// unparseable timestamps, missing fields and wrong types, as real feeds have. They are extra
// records, never counted in expected.json, and carry "dirty": true so that quality rules can be
// checked later.

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"

namespace loch {

struct GeneratorOptions {
  std::string out_dir;
  int64_t events =
      1'000'000;  // clean clickstream events to generate (approximately; whole sessions)
  uint64_t seed = 42;
  double dirty_fraction = 0.0;  // 0..1: extra bad records relative to clean ones
  int days = 30;
  std::string first_day = "2026-10-01";  // YYYY-MM-DD
};

struct GeneratorSummary {
  int64_t deals = 0;
  int64_t sessions = 0;
  int64_t events = 0;
  int64_t orders = 0;
  int64_t dirty_records = 0;
  int64_t bytes = 0;
};

// Generates the data set. InvalidArgument for bad options; Internal if a file cannot be written.
// `progress`, if set, is called with the fraction done (0..1) from time to time.
absl::StatusOr<GeneratorSummary> GenerateStore(const GeneratorOptions& options,
                                               const std::function<void(double)>& progress = {});

}  // namespace loch
