#include "server/job_api.h"

#include <httplib.h>

#include "common/clock.h"
#include "common/strings.h"
#include "etl/job_runner.h"
#include "etl/saved_jobs.h"
#include "fmt/format.h"
#include "orchestrate/run_control.h"
#include "server/json_depth.h"

namespace loch {
namespace {

using nlohmann::json;

json JobJson(const SavedJob& job) {
  json out = job.definition;
  out["name"] = job.name;
  out["version"] = job.version;
  out["created_at"] = FormatIsoMicros(job.created_micros);
  out["created_by"] = job.created_by;
  return out;
}

absl::StatusOr<etl::JobSpec> SpecFromBody(const httplib::Request& request,
                                          const std::string& name_in_path) {
  RETURN_IF_ERROR(CheckJsonDepth(request.body));
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return absl::InvalidArgumentError(
        "the body must be a JSON object with the job's fields: name, sql, target, mode, "
        "partition_by, sort_by, file_size_mib, incremental, description");
  }
  if (!name_in_path.empty()) {
    if (body.contains("name") && body["name"] != name_in_path) {
      return absl::InvalidArgumentError(
          fmt::format("the body names job {} but the path {}", body["name"].dump(), name_in_path));
    }
    body["name"] = name_in_path;
  }
  return etl::JobSpecFromJson(body);
}

// ?NAME=N as a count from 1 to `most`, else `fallback`.
size_t CountParam(const httplib::Request& request, const char* name, size_t fallback, size_t most) {
  if (!request.has_param(name)) return fallback;
  const std::optional<int64_t> value =
      ParseInteger(request.get_param_value(name), 1, static_cast<int64_t>(most));
  return value ? static_cast<size_t>(*value) : fallback;
}

}  // namespace

json RunRecordJson(const RunRecord& run) {
  json out = orchestrate::RunJson(run);
  out["job"] = run.name;
  out["started_at"] =
      run.started_micros == 0 ? json(nullptr) : json(FormatIsoMicros(run.started_micros));
  out["finished_at"] =
      run.finished_micros == 0 ? json(nullptr) : json(FormatIsoMicros(run.finished_micros));
  return out;
}

void RegisterJobApi(httplib::Server& server, Catalog& catalog, LakeEngine& engine,
                    ObjectStore& store, const std::string& lock_dir, const Guard& guard) {
  server.Get("/api/v1/jobs", guard([&catalog](const Principal& who, const httplib::Request&,
                                              httplib::Response& response) -> absl::Status {
               ASSIGN_OR_RETURN(std::vector<SavedJob> jobs, catalog.ListJobs(who));
               json list = json::array();
               for (const SavedJob& job : jobs) {
                 json entry = JobJson(job);
                 ASSIGN_OR_RETURN(std::vector<RunRecord> runs,
                                  catalog.ListRuns(who, "job", job.name, 1));
                 entry["last_run"] = runs.empty() ? json(nullptr) : RunRecordJson(runs.front());
                 list.push_back(std::move(entry));
               }
               SendJsonAnswer(response, {{"jobs", list}});
               return absl::OkStatus();
             }));

  auto save = [&catalog, &engine](etl::SaveMode mode) {
    return [&catalog, &engine, mode](const Principal& who, const httplib::Request& request,
                                     httplib::Response& response) -> absl::Status {
      const std::string name = request.matches.size() > 1 ? request.matches[1].str() : "";
      ASSIGN_OR_RETURN(etl::JobSpec spec, SpecFromBody(request, name));
      ASSIGN_OR_RETURN(etl::SaveResult saved, etl::SaveJob(catalog, engine, who, spec, mode));
      json out = JobJson(saved.job);
      out["changed"] = saved.changed;
      SendJsonAnswer(response, out, saved.created ? 201 : 200);
      return absl::OkStatus();
    };
  };
  server.Post("/api/v1/jobs", guard(save(etl::SaveMode::kCreate)));
  server.Put(R"(/api/v1/jobs/([^/]+))", guard(save(etl::SaveMode::kCreateOrUpdate)));

  server.Get(R"(/api/v1/jobs/([^/]+))",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               const std::string name = request.matches[1].str();
               std::optional<int64_t> version;
               if (request.has_param("version")) {
                 version = ParseInteger(request.get_param_value("version"), 1);
                 if (!version) return absl::InvalidArgumentError("?version must be a number");
               }
               ASSIGN_OR_RETURN(SavedJob job, catalog.GetJob(who, name, version));
               ASSIGN_OR_RETURN(std::vector<SavedJob> versions, catalog.ListJobVersions(who, name));
               ASSIGN_OR_RETURN(
                   std::vector<RunRecord> runs,
                   catalog.ListRuns(who, "job", name, CountParam(request, "runs", 5, 100)));
               json out = JobJson(job);
               out["versions"] = json::array();
               for (const SavedJob& each : versions) {
                 out["versions"].push_back({{"version", each.version},
                                            {"created_at", FormatIsoMicros(each.created_micros)},
                                            {"created_by", each.created_by}});
               }
               out["runs"] = json::array();
               for (const RunRecord& run : runs) out["runs"].push_back(RunRecordJson(run));
               SendJsonAnswer(response, out);
               return absl::OkStatus();
             }));

  server.Post(R"(/api/v1/jobs/([^/]+)/run)",
              guard([&catalog, &engine, &store, lock_dir](
                        const Principal& who, const httplib::Request& request,
                        httplib::Response& response) -> absl::Status {
                etl::JobRunner runner(catalog, store, engine, lock_dir);
                etl::RunRequest run_request{request.matches[1].str()};
                run_request.full = request.get_param_value("full") == "true";
                if (request.has_param("from") || request.has_param("to")) {
                  if (!request.has_param("from") || !request.has_param("to")) {
                    return absl::InvalidArgumentError(
                        "a range re-run needs both from and to (query parameters)");
                  }
                  run_request.range = etl::PartitionRange{request.get_param_value("from"),
                                                          request.get_param_value("to")};
                }
                run_request.trigger = "api";
                ASSIGN_OR_RETURN(RunRecord run, runner.Run(who, run_request));
                SendJsonAnswer(response, RunRecordJson(run));
                return absl::OkStatus();
              }));

  server.Get(R"(/api/v1/jobs/([^/]+)/runs)",
             guard([&catalog](const Principal& who, const httplib::Request& request,
                              httplib::Response& response) -> absl::Status {
               const std::string name = request.matches[1].str();
               RETURN_IF_ERROR(catalog.GetJob(who, name).status());
               ASSIGN_OR_RETURN(
                   std::vector<RunRecord> runs,
                   catalog.ListRuns(who, "job", name, CountParam(request, "limit", 20, 1000)));
               json list = json::array();
               for (const RunRecord& run : runs) list.push_back(RunRecordJson(run));
               SendJsonAnswer(response, {{"runs", list}});
               return absl::OkStatus();
             }));

  server.Delete(R"(/api/v1/jobs/([^/]+))",
                guard([&catalog, &engine, &store, lock_dir](
                          const Principal& who, const httplib::Request& request,
                          httplib::Response& response) -> absl::Status {
                  etl::JobRunner runner(catalog, store, engine, lock_dir);
                  RETURN_IF_ERROR(runner.Delete(who, request.matches[1].str()));
                  response.status = 204;
                  return absl::OkStatus();
                }));
}

}  // namespace loch
