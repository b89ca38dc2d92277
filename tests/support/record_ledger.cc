#include "tests/support/record_ledger.h"

#include <httplib.h>

#include <random>
#include <sstream>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "tests/support/run_command.h"

namespace loch::testing_support {

void ProduceRecords(int port, const std::string& token, const std::string& stream, int producer,
                    std::atomic<int64_t>& next_id, std::atomic<bool>& stop, RecordLedger& ledger) {
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_keep_alive(true);
  client.set_read_timeout(5, 0);
  std::mt19937 random(static_cast<unsigned>(producer * 7919 + next_id.load()));
  const httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  const std::string path = fmt::format("/api/v1/streams/{}/records", stream);
  while (!stop) {
    const int count = 1 + static_cast<int>(random() % 40);
    std::vector<int64_t> ids;
    std::string body;
    for (int i = 0; i < count; ++i) {
      ids.push_back(next_id++);
      body += fmt::format(R"({{"id": {}, "producer": {}, "pad": "{}"}})", ids.back(), producer,
                          std::string(random() % 200, 'x'));
      body += '\n';
    }
    auto answer = client.Post(path, headers, body, "text/plain");
    std::lock_guard lock(ledger.mu);
    if (!answer) {
      ledger.uncertain.insert(ids.begin(), ids.end());
      return;  // the server is gone
    }
    if (answer->status != 200) {
      ++ledger.refused_calls;
      ledger.uncertain.insert(ids.begin(), ids.end());
      continue;
    }
    const nlohmann::json results = nlohmann::json::parse(answer->body)["records"];
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].contains("record_id")) ledger.acknowledged.insert(ids[i]);
    }
  }
}

LedgerCheck CheckLedger(const RecordLedger& ledger, const std::multiset<int64_t>& in_lake) {
  LedgerCheck check;
  for (int64_t id : ledger.acknowledged) {
    if (!in_lake.contains(id)) ++check.missing;
  }
  for (auto it = in_lake.begin(); it != in_lake.end(); it = in_lake.upper_bound(*it)) {
    if (in_lake.count(*it) > 1) ++check.duplicated;
    if (ledger.uncertain.contains(*it)) ++check.delivered_unanswered;
    if (!ledger.acknowledged.contains(*it) && !ledger.uncertain.contains(*it)) ++check.unexpected;
  }
  return check;
}

bool QueryIntegers(const std::string& binary, const std::string& lake, const std::string& sql,
                   std::multiset<int64_t>* values, std::string* error) {
  auto answer = RunCommand(binary, {"sql", "--lake", lake, "--format", "csv", sql});
  if (answer.exit_code != 0) {
    *error = answer.err;
    return false;
  }
  std::istringstream lines(answer.out);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    if (!line.empty()) values->insert(std::stoll(line));
  }
  return true;
}

}  // namespace loch::testing_support
