#pragma once
// `loch serve`: the long-running server. Composition root: it wires the lake's catalog, store and
// engine into the QueryService, the IngestService and the HTTP, AWS (Athena, Firehose) and
// PostgreSQL APIs, and runs until SIGINT/SIGTERM (then delivers what the streams hold). SIGHUP
// reloads the TLS certificate and key (a bad pair is logged and the old one kept); the credentials
// file is read again within seconds of a change (and at SIGHUP), so rotated keys apply without a
// restart.

#include <chrono>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "common/status.h"
#include "engine/lake_engine.h"
#include "ingest/ingest_service.h"
#include "orchestrate/orchestrator.h"
#include "server/admin_credentials.h"
#include "storage/object_store.h"
#include "tls/tls_context.h"

namespace loch {

struct ServeOptions {
  std::string http_address = "127.0.0.1:8080";  // HOST:PORT; loopback by default
  // Threads answering HTTP requests other than puts of records (queries, catalog, console): this
  // many run at once, the rest wait. Connections and puts take no thread of their own (see
  // front_door.h).
  int http_threads = 64;
  // A request must arrive whole (headers and body) within this; slower ones get 408.
  std::chrono::seconds request_timeout{60};
  int max_running_queries = 2;
  uint64_t max_saved_result_bytes = uint64_t{1} << 30;  // see QueryServiceOptions
  std::string pg_address;  // HOST:PORT for the PostgreSQL protocol; empty: not served
  int pg_max_connections = 64;
  IngestOptions ingest;      // its wal_dir is required
  std::string job_lock_dir;  // where job runs hold their locks (etl/job_runner.h); required
  std::string state_dir;     // the lake's state folder (worker logs); required
  // Runs the run store's queued runs in worker processes (orchestrate/orchestrator.h); unset: the
  // runs stay queued (the API still queues them).
  std::optional<orchestrate::OrchestratorOptions> orchestrator;
  // Failed runs (and queries, freshness alerts) are posted here too ("": only to the jobs' and
  // workgroups' own webhooks). Every webhook is signed with `webhook_secret` (webhook.h).
  std::string failure_webhook;
  std::string webhook_secret;
  // HTTPS and PostgreSQL over TLS with this certificate (null: plain text). Must outlive Serve.
  tls::TlsServerContext* tls = nullptr;
  // Plain text on an address other than loopback: refused unless this is set.
  bool insecure = false;
};

// Where the server listens, once it does.
struct ServeAddresses {
  std::string http_url;    // e.g. "http://127.0.0.1:8080" ("https://" with TLS)
  std::string pg_address;  // e.g. "127.0.0.1:5433"; empty when pgwire is off
};

// Whether every address `host` resolves to is a loopback one (127.0.0.0/8, ::1); false when it
// does not resolve.
bool IsLoopbackHost(const std::string& host);

// Serves until a termination signal; returns the reason it could not start, or OK after a clean
// stop. `ready` is called once the ports are bound. Query results are also written to `store`'s
// results zone; spooled in `temp_dir` first. `catalog` answers pgwire's catalog queries.
absl::Status Serve(LakeEngine& engine, Catalog& catalog, ObjectStore& store,
                   const std::string& temp_dir, CredentialsKeeper& credentials,
                   const ServeOptions& options,
                   const std::function<void(const ServeAddresses&)>& ready);

}  // namespace loch
