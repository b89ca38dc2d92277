// make bench (journal): what journaling every catalog commit in the lake costs. Catalog commits
// (an append of one file with column statistics, as a load or a stream flush makes) per second,
// side by side in one run: without a journal, with the journal in a local lake (state folder
// elsewhere), and with it in an S3 bucket (s3rver behind the tests' SigV4 proxy, on this machine).
// Each round measures every mode, in a rotating order; medians of the rounds, and the ratio to no
// journal per round, then their median.
// Usage: journal_commits [COMMITS_PER_ROUND (200)] [ROUNDS (5)]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/test_dir.h"
#include "fmt/format.h"
#include "recovery/lake_journal.h"
#include "storage/local_store.h"
#include "storage/s3_store.h"
#include "tests/support/s3_test_server.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Commits/s of `commits` appends to a new table of a new catalog at `state` (with `journal`).
double CommitsPerSecond(const LakeLocation& lake, ObjectStore* store, int commits) {
  fs::create_directories(lake.state_dir + "/tmp");
  std::unique_ptr<LakeJournal> journal;
  if (store != nullptr) journal = std::make_unique<LakeJournal>(lake, *store);
  auto catalog = std::move(OpenSqliteCatalog(lake.CatalogPath(), journal.get())).value();
  if (journal != nullptr && !journal->Prepare().ok()) std::abort();
  const Principal admin = Principal::LocalAdmin();
  if (!catalog->CreateDatabase(admin, "b", false).ok()) std::abort();
  TableCommit create;
  create.table = {"b", "t"};
  create.operation = "create";
  Schema schema;
  schema.columns = {{"id", "BIGINT"}, {"name", "VARCHAR"}, {"amount", "DOUBLE"}};
  create.new_schema = schema;
  create.location = "tables/b/t/";
  int64_t at = catalog->Commit(admin, create).value().snapshot_id;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < commits; ++i) {
    TableCommit append;
    append.table = {"b", "t"};
    append.base_snapshot = at;
    append.operation = "append";
    DataFile file;
    file.key = fmt::format("tables/b/t/{:06d}.parquet", i);
    file.format = "parquet";
    file.size_bytes = 1 << 20;
    file.row_count = 10000;
    file.stats = {ColumnStats{"id", "1", "10000", 0, "BIGINT"},
                  ColumnStats{"name", "a", "z", 3, "VARCHAR"},
                  ColumnStats{"amount", "0.5", "99.5", 0, "DOUBLE"}};
    append.add_files = {file};
    at = catalog->Commit(admin, append).value().snapshot_id;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return commits / seconds;
}

int Main(int argc, char** argv) {
  const int commits = argc > 1 ? std::atoi(argv[1]) : 200;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  TestDir scratch("loch-bench-journal");
  auto server = testing_support::S3TestServer::Start();
  if (!server.ok() || !(*server)->CreateBucket("bench").ok()) {
    std::fprintf(stderr, "cannot start s3rver: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const std::vector<std::string> modes = {"none", "local", "s3"};
  std::map<std::string, std::vector<double>> rates, ratios;
  for (int round = 0; round < rounds; ++round) {
    std::map<std::string, double> rate;
    for (size_t m = 0; m < modes.size(); ++m) {
      const std::string& mode = modes[(m + round) % modes.size()];
      const std::string run = fmt::format("{}/{}-{}", scratch.path(), mode, round);
      LakeLocation lake;
      lake.state_dir = run + "/state";
      std::unique_ptr<ObjectStore> store;
      if (mode == "local") {
        lake.root = run + "/lake";
        fs::create_directories(lake.root);
        store = std::move(LocalObjectStore::Open(lake.root)).value();
      } else if (mode == "s3") {
        lake.root = fmt::format("s3://bench/{}", round);
        store = std::move(S3ObjectStore::Open((*server)->ConfigFor("bench", std::to_string(round))))
                    .value();
      } else {
        lake.root = run + "/lake";
      }
      rate[mode] = CommitsPerSecond(lake, store.get(), commits);
      rates[mode].push_back(rate[mode]);
    }
    for (const std::string& mode : modes) ratios[mode].push_back(rate[mode] / rate["none"]);
    std::printf("round %d: none %.0f, local %.0f, s3 %.0f commits/s\n", round + 1, rate["none"],
                rate["local"], rate["s3"]);
  }
  std::printf("\ncatalog commits/s, median of %d rounds of %d commits (ratio to no journal)\n",
              rounds, commits);
  for (const std::string& mode : modes) {
    std::printf("  %-6s %7.0f  (%.2f)\n", mode.c_str(), Median(rates[mode]), Median(ratios[mode]));
  }
  return 0;
}

}  // namespace
}  // namespace loch

int main(int argc, char** argv) { return loch::Main(argc, argv); }
