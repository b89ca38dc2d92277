#include "etl/job_lineage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "etl/job_spec.h"
#include "etl/run_policy.h"

namespace loch::etl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

JobLineage Job(std::string name, std::vector<TableName> sources, TableName target,
               std::vector<std::string> after = {}) {
  JobLineage job{std::move(name), 1, std::move(sources), std::move(target), {}};
  job.policy.after = std::move(after);
  return job;
}

TEST(JobLineageTest, ACycleThroughTablesOrAfterIsFoundWithItsPath) {
  const TableName raw{"raw", "clicks"}, clean{"db", "clean"}, daily{"db", "daily"};
  std::map<std::string, JobLineage> jobs;
  jobs["clean"] = Job("clean", {raw}, clean);
  jobs["daily"] = Job("daily", {clean}, daily);
  EXPECT_EQ(FindCycle(jobs, "clean"), std::nullopt);
  EXPECT_TRUE(Follows(jobs["daily"], jobs["clean"]));
  EXPECT_FALSE(Follows(jobs["clean"], jobs["daily"]));

  jobs["loop"] = Job("loop", {daily}, raw);  // writes what clean reads
  EXPECT_THAT(*FindCycle(jobs, "loop"), ElementsAre("loop", "clean", "daily", "loop"));
  jobs.erase("loop");

  jobs["report"] = Job("report", {raw}, TableName{"db", "report"}, {"daily"});
  EXPECT_EQ(FindCycle(jobs, "report"), std::nullopt);
  jobs["clean"].policy.after = {"report"};  // clean -> daily -> report -> clean
  EXPECT_THAT(*FindCycle(jobs, "clean"), ElementsAre("clean", "daily", "report", "clean"));

  // Through a dependency tag: audit runs after every job tagged "shop", and clean waits for audit.
  jobs["clean"].policy.after = {"audit"};
  jobs["daily"].policy.tags = {"shop"};
  jobs["audit"] = Job("audit", {}, TableName{"db", "audit"}, {"tag:shop"});
  EXPECT_TRUE(RunsAfter(jobs["audit"].policy, "daily", {"shop"}));
  EXPECT_FALSE(RunsAfter(jobs["audit"].policy, "daily", {"other"}));
  EXPECT_THAT(*FindCycle(jobs, "audit"), ElementsAre("audit", "clean", "daily", "audit"));
}

TEST(JobLineageTest, ALongChainIsWalkedWithoutRecursion) {
  std::map<std::string, JobLineage> jobs;
  constexpr int kJobs = 20000;
  for (int i = 0; i < kJobs; ++i) {
    jobs.emplace("j" + std::to_string(i),
                 Job("j" + std::to_string(i), {TableName{"db", "t" + std::to_string(i)}},
                     TableName{"db", "t" + std::to_string(i + 1)}));
  }
  EXPECT_EQ(FindCycle(jobs, "j0"), std::nullopt);
}

TEST(RunPolicyTest, FieldsAreCheckedAndOnlyChangedOnesAreStored) {
  auto policy = RunPolicyFromJson({{"on_update", true},
                                   {"debounce_seconds", 5},
                                   {"after", {"clean", "clean", "tag:shop"}},
                                   {"max_attempts", 4},
                                   {"timeout_seconds", 60},
                                   {"memory_limit", "512MB"},
                                   {"tags", {"shop"}}});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->on_update);
  EXPECT_EQ(policy->after, (std::vector<std::string>{"clean", "tag:shop"}));
  EXPECT_EQ(policy->max_attempts, 4);
  nlohmann::json stored = nlohmann::json::object();
  AddRunPolicyJson(*policy, stored);
  EXPECT_EQ(*RunPolicyFromJson(stored), *policy);
  nlohmann::json defaults = nlohmann::json::object();
  AddRunPolicyJson(RunPolicy{}, defaults);
  EXPECT_TRUE(defaults.empty());  // a job stored before policies keeps its stored form

  for (const auto& [field, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"max_attempts", 0},
                                                           {"max_attempts", 21},
                                                           {"timeout_seconds", "1h"},
                                                           {"debounce_seconds", -1},
                                                           {"on_update", "yes"},
                                                           {"memory_limit", "lots"},
                                                           {"memory_limit", "5; DROP"},
                                                           {"memory_limit", "10MB"},
                                                           {"memory_limit", "2000TiB"},
                                                           {"memory_limit", 512},
                                                           {"after", "clean"},
                                                           {"after", {"bad name"}},
                                                           {"after", {"tag:bad tag"}},
                                                           {"tags", {1}}}) {
    auto bad = RunPolicyFromJson({{field, value}});
    EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << field << " " << value.dump();
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr(field));
  }
}

TEST(RunPolicyTest, AJobCannotRunAfterItself) {
  auto spec = JobSpecFromJson(
      {{"name", "clean"}, {"sql", "SELECT 1"}, {"target", "db.clean"}, {"after", {"clean"}}});
  EXPECT_TRUE(absl::IsInvalidArgument(spec.status()));
  auto yaml = JobSpecFromYaml(
      "name: clean\nsql: SELECT 1\ntarget: db.clean\non_update: true\nmax_attempts: 5\n");
  ASSERT_TRUE(yaml.ok()) << yaml.status();
  EXPECT_TRUE(yaml->policy.on_update);
  EXPECT_EQ(yaml->policy.max_attempts, 5);
}

}  // namespace
}  // namespace loch::etl
