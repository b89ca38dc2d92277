#include "etl/job_lineage.h"

#include <algorithm>
#include <set>

namespace loch::etl {

absl::StatusOr<JobLineage> LineageOf(LakeEngine& engine, const Principal& who, const JobSpec& spec,
                                     int64_t version) {
  JobLineage lineage;
  lineage.job = spec.name;
  lineage.version = version;
  ASSIGN_OR_RETURN(lineage.sources, engine.SourceTables(who, spec.sql));
  lineage.target = spec.target;
  lineage.policy = spec.policy;
  return lineage;
}

bool RunsAfter(const RunPolicy& policy, const std::string& job,
               const std::vector<std::string>& tags) {
  for (const std::string& entry : policy.after) {
    if (entry == job) return true;
    if (entry.starts_with(kTagPrefix) &&
        std::find(tags.begin(), tags.end(), entry.substr(kTagPrefix.size())) != tags.end()) {
      return true;
    }
  }
  return false;
}

bool Follows(const JobLineage& downstream, const JobLineage& upstream) {
  if (downstream.job == upstream.job) return false;
  return RunsAfter(downstream.policy, upstream.job, upstream.policy.tags) ||
         std::find(downstream.sources.begin(), downstream.sources.end(), upstream.target) !=
             downstream.sources.end();
}

std::optional<std::vector<std::string>> FindCycle(const std::map<std::string, JobLineage>& jobs,
                                                  const std::string& job) {
  // Depth-first along "is followed by" edges from `job`, with an explicit stack (a long chain of
  // jobs must not recurse); `path` is the way from `job` to the node on top.
  struct Frame {
    std::string name;
    std::vector<std::string> next;  // the jobs that follow it, not yet visited
  };
  auto followers = [&](const std::string& name) {
    std::vector<std::string> out;
    const auto self = jobs.find(name);
    if (self == jobs.end()) return out;
    for (const auto& [other, lineage] : jobs) {
      if (Follows(lineage, self->second)) out.push_back(other);
    }
    return out;
  };
  std::set<std::string> visited{job};
  std::vector<Frame> stack{{job, followers(job)}};
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next.empty()) {
      stack.pop_back();
      continue;
    }
    const std::string next = top.next.back();
    top.next.pop_back();
    if (next == job) {
      std::vector<std::string> cycle;
      for (const Frame& frame : stack) cycle.push_back(frame.name);
      cycle.push_back(job);
      return cycle;
    }
    if (visited.insert(next).second) stack.push_back(Frame{next, followers(next)});
  }
  return std::nullopt;
}

}  // namespace loch::etl
