#pragma once
// The `loch` subcommands. Each takes its parsed options, writes its answer to `out` and returns a
// Status; main() prints errors to stderr and turns them into the exit code.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/lake_session.h"
#include "common/status.h"

namespace loch::cli {

struct CommonOptions {
  std::optional<std::string> lake;   // --lake; falls back to LOCH_LAKE, the state's lake, ./lake
  std::optional<std::string> state;  // --state; falls back to LOCH_STATE, then <lake>/.loch
};

// Opens the lake the common options name (see ResolveLakeLocation).
absl::StatusOr<std::unique_ptr<LakeSession>> OpenLake(const CommonOptions& common,
                                                      const EngineSettings& engine = {});

struct InitOptions {
  std::optional<std::string> endpoint;    // S3 lakes: endpoint URL (else AWS_ENDPOINT_URL)
  std::optional<std::string> region;      // S3 lakes: region (else AWS_REGION)
  std::optional<std::string> addressing;  // S3 lakes: auto, path or virtual
  std::optional<std::string> sse;         // S3 lakes: AES256 or aws:kms on every object written
  std::optional<std::string> sse_kms_key_id;
  bool recover = false;      // rebuild the catalog of an existing lake from its journal
  bool new_catalog = false;  // start an empty catalog even if the lake has a journal
};
absl::Status RunInit(const CommonOptions& common, const InitOptions& options, std::ostream& out);

struct LoadOptions {
  std::vector<std::string> inputs;
  std::string table;  // DB.TABLE
  bool allow_duplicates = false;
  bool dry_run = false;
  std::vector<std::string> columns;            // NAME:TYPE hints
  std::vector<std::string> timestamp_formats;  // for the hinted DATE/TIMESTAMP columns
};
absl::Status RunLoad(const CommonOptions& common, const LoadOptions& options, std::ostream& out);

struct SqlOptions {
  std::string sql;
  std::string format = "table";
  double timeout_seconds = 0;  // 0: none
  size_t max_rows = 1000;      // table format only
  std::string memory_limit;
  bool timing = false;  // print "time: N ms (R rows)" on stderr
};
absl::Status RunSql(const CommonOptions& common, const SqlOptions& options, std::ostream& out);

absl::Status RunTables(const CommonOptions& common, const std::optional<std::string>& database,
                       std::ostream& out);

struct DescribeOptions {
  std::string table;
  bool versions = false;
  bool files = false;
};
absl::Status RunDescribe(const CommonOptions& common, const DescribeOptions& options,
                         std::ostream& out);

struct GenerateOptions {
  std::string out_dir;
  int64_t events = 1'000'000;
  uint64_t seed = 42;
  double dirty = 0;
};
struct ServeCommandOptions {
  std::string http = "127.0.0.1:8080";
  std::string pg;  // empty: no PostgreSQL protocol
  int max_running_queries = 2;
  int http_threads = 64;
  int request_timeout_seconds = 60;
  uint64_t ingest_memory_mib = 1024;     // records accepted and not yet delivered, at most
  uint64_t max_saved_result_mib = 1024;  // of one query's CSV in the results zone
  uint64_t wal_segment_mib = 64;         // write-ahead log segment size
  std::string tls_cert;                  // PEM chain; with tls_key: HTTPS and pgwire over TLS
  std::string tls_key;
  bool tls_self_signed = false;        // a CA and certificate made in <state>/tls
  std::vector<std::string> tls_names;  // more names for the self-signed certificate
  bool insecure = false;               // plain text on a non-loopback address
  std::string wal_dir;                 // the streams' write-ahead log; empty: <state>/wal
  int max_workers = 2;                 // worker processes running runs at once
  int retry_backoff_ms = 1000;         // before a failed run's first retry (then doubled)
  std::string failure_webhook;         // failed runs, queries and freshness alerts go here too
};
// The write-ahead log folder `loch serve` uses for the state folder (see --wal-dir).
std::string CurrentWalDir(const std::string& state_dir);

absl::Status RunServe(const CommonOptions& common, const ServeCommandOptions& options,
                      std::ostream& out);

absl::Status RunGenerate(const GenerateOptions& options, std::ostream& out);

}  // namespace loch::cli
