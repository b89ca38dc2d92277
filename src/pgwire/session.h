#pragma once
// PgSession: one client connection speaking the PostgreSQL protocol v3, from the startup packet to
// Terminate. Runs on its own thread (Run blocks until the connection ends).
//
// Supported: SSLRequest ('S' and TLS when configured, else 'N'), GSSENCRequest ('N'), SCRAM-SHA-256 authentication, the simple
// query protocol (several statements per message), the extended protocol (Parse, Bind, Describe,
// Execute with row limits and PortalSuspended, Close, Sync, Flush; text format; parameters),
// CancelRequest (through the server), catalog queries (see catalog_emulation.h), and no-op
// session statements (SET, RESET, BEGIN, COMMIT, ROLLBACK, DISCARD). Statements run in the
// workgroup the startup packet's `options` name (`-c workgroup=NAME`, e.g. PGOPTIONS), else in
// "primary". A malformed message or a
// wrong length gets an ErrorResponse (08P01) and closes this connection only.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "engine/lake_engine.h"
#include "pgwire/catalog_emulation.h"
#include "pgwire/scram.h"
#include "query/query_service.h"
#include "tls/tls_context.h"

namespace loch::pg {

// What every session of one server shares.
struct SessionContext {
  // Runs the lake's statements: the workgroup's limits, the query history, result spooling and
  // failure reports apply as for every other front end.
  QueryService* queries = nullptr;
  PgCatalogEmulation* catalog = nullptr;
  std::string user;  // the one user that may log in
  // Its password's SCRAM verifier now (asked at each login). Thread-safe.
  std::function<ScramVerifier()> verifier;
  // Forwards a CancelRequest (process id, secret key) to the session it names.
  std::function<void(int32_t, int32_t)> cancel;
  // TLS: an SSLRequest is answered 'S' and the session continues encrypted with this context's
  // current certificate; a client that logs in without it is refused (FATAL). Null: 'N',
  // plain text only. Counted in `tls_counters`.
  const tls::TlsServerContext* tls = nullptr;
  tls::TlsCounters* tls_counters = nullptr;
};

class PgSession {
 public:
  // Takes ownership of the connected socket `fd`. (`process_id`, `secret_key`) identify the
  // session to CancelRequest.
  PgSession(int fd, const SessionContext& context, int32_t process_id, int32_t secret_key);
  ~PgSession();  // closes the socket

  // Serves the connection until the client leaves, an error closes it, or Shutdown().
  void Run();
  // Cancels the statement running now, if any. Any thread.
  void CancelRunningStatement();
  // Makes Run() return soon: stops the running statement and shuts the socket down. Any thread.
  void Shutdown();

  int32_t secret_key() const { return secret_key_; }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int32_t secret_key_;
};

}  // namespace loch::pg
