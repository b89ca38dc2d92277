#include "orchestrate/freshness.h"

#include <map>

#include "common/clock.h"
#include "common/logging.h"
#include "common/strings.h"

namespace loch::orchestrate {

using nlohmann::json;

json TableFreshness::ToJson(int64_t now_micros) const {
  json out{{"table", table.ToString()},
           {"last_changed", FormatIsoMicros(last_changed_micros)},
           {"snapshot", snapshot},
           {"operation", operation},
           {"author", author},
           {"run_id", run_id == 0 ? json(nullptr) : json(run_id)},
           {"age_seconds", static_cast<double>(now_micros - last_changed_micros) / 1e6}};
  if (expect_every_micros > 0) {
    out["expect_every_seconds"] = expect_every_micros / 1'000'000;
    out["stale"] = Stale(now_micros);
  }
  return out;
}

absl::StatusOr<std::vector<TableFreshness>> ReadFreshness(Catalog& catalog, const Principal& who,
                                                          bool expected_only) {
  ASSIGN_OR_RETURN(const std::vector<FreshnessExpectation> expectations,
                   catalog.ListFreshness(who));
  std::map<std::string, int64_t> expected;
  for (const FreshnessExpectation& expectation : expectations) {
    expected[expectation.table.ToString()] = expectation.every_micros;
  }
  ASSIGN_OR_RETURN(const std::vector<TableInfo> tables, catalog.ListTables(who, std::nullopt));
  std::vector<TableFreshness> out;
  for (const TableInfo& table : tables) {
    const auto expectation = expected.find(table.name.ToString());
    if (expected_only && expectation == expected.end()) continue;
    // Snapshot ids grow across the catalog: the first commit after id - 1 is the snapshot itself.
    ASSIGN_OR_RETURN(const std::vector<CommitRecord> newest,
                     catalog.ListCommits(who, table.current_snapshot - 1, 1));
    TableFreshness freshness;
    freshness.table = table.name;
    freshness.snapshot = table.current_snapshot;
    if (!newest.empty() && newest[0].snapshot_id == table.current_snapshot) {
      freshness.last_changed_micros = newest[0].committed_micros;
      freshness.operation = newest[0].operation;
      freshness.author = newest[0].author;
      const json run = newest[0].summary.value("run_id", json());
      if (run.is_number_integer()) freshness.run_id = run.get<int64_t>();
    }
    if (freshness.operation == kCompactOperation) {
      // A compaction moves rows without changing them: the last change is the one before it.
      ASSIGN_OR_RETURN(const std::vector<SnapshotInfo> snapshots,
                       catalog.ListSnapshots(who, table.name));
      for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        if (it->operation == kCompactOperation) continue;
        freshness.snapshot = it->snapshot_id;
        freshness.last_changed_micros = it->committed_micros;
        freshness.operation = it->operation;
        freshness.author = it->author;
        const json run = it->summary.value("run_id", json());
        freshness.run_id = run.is_number_integer() ? run.get<int64_t>() : 0;
        break;
      }
    }
    if (expectation != expected.end()) freshness.expect_every_micros = expectation->second;
    out.push_back(std::move(freshness));
  }
  return out;
}

void FreshnessWatch::Check(Catalog& catalog, const Principal& who, int64_t now_micros,
                           EventBus& events) {
  auto tables = ReadFreshness(catalog, who, /*expected_only=*/true);
  if (!tables.ok()) {
    spdlog::error("freshness: {}", ToStd(tables.status().message()));
    return;
  }
  std::set<std::string> stale;
  for (const TableFreshness& table : *tables) {
    if (!table.Stale(now_micros)) continue;
    const std::string name = table.table.ToString();
    stale.insert(name);
    if (stale_.contains(name)) continue;  // alerted already
    spdlog::warn("freshness: {} has not changed since {}; it is expected every {}", name,
                 FormatIsoMicros(table.last_changed_micros), table.expect_every_micros / 1'000'000);
    events.Publish(Event{0, 0, "freshness", table.ToJson(now_micros)});
  }
  stale_ = std::move(stale);
}

}  // namespace loch::orchestrate
