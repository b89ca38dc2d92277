#pragma once
// Producers for crash tests: they put numbered records into a stream of `loch serve` and keep a
// ledger of which ids were acknowledged and which calls got no answer (the server died first),
// so that the lake's content can be checked afterwards: every acknowledged id exactly once, an
// unanswered one at most once, nothing else.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

namespace loch::testing_support {

struct RecordLedger {
  std::mutex mu;
  std::set<int64_t> acknowledged;
  std::set<int64_t> uncertain;  // sent, but the answer never came (or was not a 200)
  int64_t refused_calls = 0;
};

// Puts batches of 1-40 records {"id", "producer", "pad"} to `stream` until the server stops
// answering or `stop` is set; ids come from `next_id`.
void ProduceRecords(int port, const std::string& token, const std::string& stream, int producer,
                    std::atomic<int64_t>& next_id, std::atomic<bool>& stop, RecordLedger& ledger);

struct LedgerCheck {
  size_t missing = 0;     // acknowledged, not in the lake
  size_t duplicated = 0;  // in the lake more than once
  size_t unexpected = 0;  // in the lake, never sent
  size_t delivered_unanswered = 0;
};

// Compares the ids found in the lake with the ledger.
LedgerCheck CheckLedger(const RecordLedger& ledger, const std::multiset<int64_t>& in_lake);

// The integers of the first column of `sql`'s answer, read with `loch sql --lake LAKE`; false with
// the command's stderr in `error` if it fails.
bool QueryIntegers(const std::string& binary, const std::string& lake, const std::string& sql,
                   std::multiset<int64_t>* values, std::string* error);

}  // namespace loch::testing_support
