#pragma once
// PgServer: the PostgreSQL wire protocol front end of `loch serve --pg HOST:PORT`.
//
// Accepts connections on its own thread and serves each on a thread of its own (up to
// `max_connections`; more get "too many connections" and are closed). Every connection speaks to
// the same LakeEngine as the HTTP API; catalog queries go to a PgCatalogEmulation. CancelRequest
// is routed by (process id, secret key). Stop() closes the listener and every connection.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "catalog/catalog.h"
#include "common/status.h"
#include "query/query_service.h"
#include "tls/tls_context.h"

namespace loch::pg {

struct PgServerOptions {
  std::string address = "127.0.0.1:5433";  // HOST:PORT; port 0 picks a free one
  int max_connections = 64;
  // Encrypted sessions only (see SessionContext::tls); both must outlive the server.
  const tls::TlsServerContext* tls = nullptr;
  tls::TlsCounters* tls_counters = nullptr;
};

struct PgLogin {
  std::string user;
  // The password now: asked at each login, so a rotated password applies from the next one.
  std::function<std::string()> password;
};

class PgServer {
 public:
  // Binds and starts accepting. Statements run through `queries` (the workgroup limits, history,
  // result spooling and failure reports every front end shares). `queries` and `catalog` must
  // outlive the server.
  static absl::StatusOr<std::unique_ptr<PgServer>> Start(QueryService& queries, Catalog& catalog,
                                                         const PgLogin& login,
                                                         const PgServerOptions& options);
  ~PgServer();  // Stop()s

  // The bound address, HOST:PORT.
  const std::string& address() const;
  // Stops accepting, ends every connection (running statements are cancelled) and joins threads.
  void Stop();

  struct State;

 private:
  explicit PgServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace loch::pg
