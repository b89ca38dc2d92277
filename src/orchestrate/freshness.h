#pragma once
// Freshness: when each table last changed and which run changed it, and the tables that missed
// the freshness they are expected to have (Catalog::SetFreshness, `loch freshness TABLE
// --expect-every 1h`). A dashboard must never show stale numbers silently: a table that goes
// stale raises a "freshness" event (pushed to webhooks like a failed run).

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/principal.h"
#include "common/status.h"
#include "orchestrate/event_bus.h"

namespace loch::orchestrate {

struct TableFreshness {
  TableName table;
  int64_t last_changed_micros = 0;  // its newest snapshot's commit
  int64_t snapshot = 0;
  std::string operation;
  std::string author;
  int64_t run_id = 0;               // the run that made that commit (0: a load, stream, SQL...)
  int64_t expect_every_micros = 0;  // 0: no expectation

  bool Stale(int64_t now_micros) const {
    return expect_every_micros > 0 && now_micros - last_changed_micros > expect_every_micros;
  }
  nlohmann::json ToJson(int64_t now_micros) const;
};

// The live tables' freshness, by name (only those with an expectation if `expected_only`).
absl::StatusOr<std::vector<TableFreshness>> ReadFreshness(Catalog& catalog, const Principal& who,
                                                          bool expected_only);

// Raises a "freshness" event for each table that has gone stale since the last Check (once per
// time it goes stale). Used by one thread.
class FreshnessWatch {
 public:
  void Check(Catalog& catalog, const Principal& who, int64_t now_micros, EventBus& events);

 private:
  std::set<std::string> stale_;  // tables alerted and still stale
};

}  // namespace loch::orchestrate
