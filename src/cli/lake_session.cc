#include "cli/lake_session.h"

#include <sys/stat.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/durable_files.h"
#include "common/strings.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "storage/local_store.h"
#include "storage/s3_store.h"

namespace loch {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDefaultCacheBytes = 10LL << 30;

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::optional<std::string>(value) : std::nullopt;
}

absl::StatusOr<nlohmann::json> ReadSettings(const LakeLocation& location) {
  std::ifstream in(location.SettingsPath());
  if (!in) return nlohmann::json::object();
  auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object())
    return absl::DataLossError(fmt::format("\"{}\" is not valid JSON", location.SettingsPath()));
  return json;
}

// The S3 configuration of a lake: URL and credentials from the environment; endpoint, region and
// addressing from the environment, else from lake.json.
absl::StatusOr<S3Config> S3ConfigOf(const LakeLocation& location, const nlohmann::json& settings) {
  ASSIGN_OR_RETURN(S3Config config, S3ConfigFromUrl(location.root, GetEnv));
  if (!GetEnv("AWS_ENDPOINT_URL") && settings.contains("endpoint"))
    config.endpoint = settings["endpoint"];
  if (!GetEnv("AWS_REGION") && !GetEnv("AWS_DEFAULT_REGION") && settings.contains("region")) {
    config.region = settings["region"];
  }
  config.sse = settings.value("sse", "");
  config.sse_kms_key_id = settings.value("sse_kms_key_id", "");
  const std::string addressing = settings.value("addressing", "auto");
  if (addressing == "path") config.addressing = S3Config::Addressing::kPath;
  if (addressing == "virtual") config.addressing = S3Config::Addressing::kVirtualHosted;
  return config;
}

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenStore(const LakeLocation& location,
                                                       const nlohmann::json& settings) {
  if (!location.remote()) {
    ASSIGN_OR_RETURN(auto store, LocalObjectStore::Open(location.root));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  ASSIGN_OR_RETURN(S3Config config, S3ConfigOf(location, settings));
  ASSIGN_OR_RETURN(auto store, S3ObjectStore::Open(config));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ObjectStore>> OpenStoreAt(const LakeLocation& lake,
                                                         const std::string& url) {
  ASSIGN_OR_RETURN(nlohmann::json settings, ReadSettings(lake));
  LakeLocation place = lake;
  place.root = url;
  return OpenStore(place, settings);
}

namespace {

// Creates the state folder and writes lake.json with `s3`'s settings; the lake's object store
// (checked to be reachable for S3).
absl::StatusOr<std::unique_ptr<ObjectStore>> PrepareStateFolder(const LakeLocation& location,
                                                                const S3Settings& s3) {
  RETURN_IF_ERROR(Annotate(CreateDirectoriesDurably(location.state_dir),
                           "cannot create the state folder"));
  ::chmod(location.state_dir.c_str(), 0700);  // credentials and the catalog live here
  ASSIGN_OR_RETURN(nlohmann::json settings, ReadSettings(location));
  if (settings.contains("lake") && settings["lake"] != location.root) {
    return absl::FailedPreconditionError(
        fmt::format("the state folder \"{}\" belongs to the lake {}, not {}", location.state_dir,
                    settings["lake"].get<std::string>(), location.root));
  }
  settings["lake"] = location.root;
  if (location.remote()) {
    if (s3.endpoint) settings["endpoint"] = *s3.endpoint;
    if (s3.region) settings["region"] = *s3.region;
    if (s3.addressing) {
      if (*s3.addressing != "auto" && *s3.addressing != "path" && *s3.addressing != "virtual") {
        return absl::InvalidArgumentError(
            fmt::format("addressing \"{}\" is not one of auto, path, virtual", *s3.addressing));
      }
      settings["addressing"] = *s3.addressing;
    }
    if (s3.sse || s3.sse_kms_key_id) {
      const std::string sse = s3.sse.value_or(settings.value("sse", ""));
      const std::string key_id = s3.sse_kms_key_id.value_or("");
      RETURN_IF_ERROR(CheckServerSideEncryption(sse, key_id));
      settings["sse"] = sse;
      settings["sse_kms_key_id"] = key_id;
    }
  } else if (s3.sse || s3.sse_kms_key_id) {
    return absl::InvalidArgumentError(
        "--sse is for lakes on S3; a local lake's files are as safe as its disk");
  }
  ASSIGN_OR_RETURN(auto store, OpenStore(location, settings));
  if (location.remote()) {
    ListOptions probe;
    probe.max_keys = 1;
    RETURN_IF_ERROR(
        Annotate(store->List(probe).status(), fmt::format("checking access to {}", location.root)));
  }
  RETURN_IF_ERROR(ReplaceFileDurably(location.SettingsPath(), settings.dump(2) + "\n"));
  return store;
}

}  // namespace

absl::StatusOr<bool> LakeSession::Init(const LakeLocation& location, const S3Settings& s3,
                                       bool new_catalog) {
  const bool existed = fs::exists(location.CatalogPath());
  ASSIGN_OR_RETURN(auto store, PrepareStateFolder(location, s3));
  if (!existed && !new_catalog && LakeKeepsJournal(location)) {
    // An empty catalog here would become the one the lake's journal names.
    const std::string head = std::string(kCatalogJournalPrefix) + "HEAD";
    absl::StatusOr<ObjectInfo> journal = store->Head(head);
    if (journal.ok()) {
      return absl::FailedPreconditionError(fmt::format(
          "{} already holds a lake (its catalog journal is at {}) and the state folder {} has no "
          "catalog: rebuild it with `loch init --recover`, or pass --new-catalog to start an "
          "empty catalog that replaces the lake's (e.g. to `loch catalog restore` a backup)",
          location.root, head, location.state_dir));
    }
    if (!absl::IsNotFound(journal.status()))
      return Annotate(journal.status(), "looking for the lake's catalog journal");
  }
  {
    ASSIGN_OR_RETURN(auto catalog, OpenSqliteCatalog(location.CatalogPath()));
  }
  // SQLite makes its commits durable, not the name of a database file it has just created.
  RETURN_IF_ERROR(SyncDirectory(location.state_dir));
  // The journal's first checkpoint goes to the lake now, not at the first write.
  ASSIGN_OR_RETURN(auto session, Open(location));
  RETURN_IF_ERROR(session->PrepareJournal());
  return !existed;
}

absl::StatusOr<RecoveryReport> LakeSession::Recover(const LakeLocation& location,
                                                    const S3Settings& s3) {
  std::error_code unreadable;
  if (fs::exists(location.CatalogPath(), unreadable) || unreadable) {
    return absl::FailedPreconditionError(fmt::format(
        "the state folder {} already holds a catalog: --recover rebuilds a lost one into a new "
        "(empty) state folder",
        location.state_dir));
  }
  ASSIGN_OR_RETURN(auto store, PrepareStateFolder(location, s3));
  const std::string scratch = fmt::format("{}/tmp/recover-{}", location.state_dir, ::getpid());
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  RETURN_IF_ERROR(Annotate(CreateDirectoriesDurably(scratch), "cannot create " + scratch));
  const std::string rebuilt = scratch + "/catalog.sqlite";
  absl::StatusOr<RecoveryReport> report = RecoverCatalogFromLake(location, *store, rebuilt);
  if (report.ok()) {
    fs::rename(rebuilt, location.CatalogPath(), ignored);
    if (ignored) {
      report = absl::InternalError(fmt::format("cannot move the rebuilt catalog to {}: {}",
                                               location.CatalogPath(), ignored.message()));
    }
  }
  fs::remove_all(scratch, ignored);
  if (!report.ok()) return report.status();
  RETURN_IF_ERROR(SyncDirectory(location.state_dir));
  // The recovered catalog's own journal timeline starts now; the lake names it, and the timeline
  // it was recovered from is fenced (a machine still writing there fails at its next commit).
  ASSIGN_OR_RETURN(auto session, Open(location));
  RETURN_IF_ERROR(session->PrepareJournal());
  return report;
}

absl::StatusOr<std::unique_ptr<LakeSession>> LakeSession::Open(const LakeLocation& location,
                                                               const EngineSettings& engine) {
  if (!fs::exists(location.CatalogPath())) {
    return absl::FailedPreconditionError(fmt::format(
        "no lake at \"{}\": create one with `loch init --lake {}{}` (or point --lake / LOCH_LAKE "
        "at an existing one; `loch init --recover` rebuilds the catalog of a lake whose state "
        "folder was lost, if the lake keeps its journal)",
        location.root, location.root, location.remote() ? " --state " + location.state_dir : ""));
  }
  ASSIGN_OR_RETURN(nlohmann::json settings, ReadSettings(location));
  std::unique_ptr<LakeSession> session(new LakeSession(location, engine));
  ASSIGN_OR_RETURN(session->store_, OpenStore(location, settings));
  if (LakeKeepsJournal(location))
    session->journal_ = std::make_unique<LakeJournal>(location, *session->store_);
  ASSIGN_OR_RETURN(session->catalog_,
                   OpenSqliteCatalog(location.CatalogPath(), session->journal_.get()));
  return session;
}

absl::Status LakeSession::PrepareJournal() {
  if (journal_ == nullptr) return absl::OkStatus();
  return Annotate(journal_->Prepare(),
                  fmt::format("starting the catalog journal in {}", location_.root));
}

absl::StatusOr<LakeEngine*> LakeSession::engine() {
  if (engine_ == nullptr) {
    EngineOptions options;
    options.readable_root = location_.root;
    options.temp_dir = location_.state_dir + "/tmp";
    options.memory_limit = settings_.memory_limit;
    options.threads = settings_.threads;
    if (location_.remote()) {
      int64_t capacity = kDefaultCacheBytes;
      if (auto configured = GetEnv("LOCH_CACHE_BYTES")) {
        const std::optional<int64_t> bytes = ParseInteger(*configured, 1);
        if (!bytes) {
          return absl::InvalidArgumentError(fmt::format(
              "LOCH_CACHE_BYTES is \"{}\"; it must be a positive number of bytes", *configured));
        }
        capacity = *bytes;
      }
      ASSIGN_OR_RETURN(cache_, FileCache::Open(*store_, location_.state_dir + "/cache", capacity));
      options.cache = cache_.get();
      options.readable_root = cache_->dir();
    }
    ASSIGN_OR_RETURN(engine_, LakeEngine::Open(options, catalog_.get(), store_.get()));
  }
  return engine_.get();
}

}  // namespace loch
