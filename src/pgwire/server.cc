#include "pgwire/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "common/guarded.h"
#include "common/ids.h"
#include "common/logging.h"
#include "fmt/format.h"
#include "pgwire/catalog_emulation.h"
#include "pgwire/errors.h"
#include "pgwire/session.h"
#include "pgwire/wire.h"

namespace loch::pg {
namespace {

int32_t RandomInt32() {
  int32_t value = 0;
  FillRandomBytes(&value, sizeof value);
  return value;
}

absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(fmt::format("--pg {} must be HOST:PORT", address));
  }
  return std::make_pair(address.substr(0, colon), address.substr(colon + 1));
}

// Binds and listens on `address`; returns the socket and the bound "host:port".
absl::StatusOr<std::pair<int, std::string>> Listen(const std::string& address) {
  ASSIGN_OR_RETURN(auto host_port, SplitHostPort(address));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int error =
          getaddrinfo(host_port.first.c_str(), host_port.second.c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(
        fmt::format("--pg {}: cannot resolve it: {}", address, gai_strerror(error)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(fmt::format("socket: {}", std::strerror(errno)));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError(
        fmt::format("cannot listen on {}: {} (is the port in use?)", address, reason));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::make_pair(fd, fmt::format("{}:{}", host_port.first, port));
}

}  // namespace

struct PgServer::State {
  struct Connection {
    std::unique_ptr<PgSession> session;
    int32_t process_id = 0;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  std::unique_ptr<PgCatalogEmulation> catalog_emulation;
  SessionContext context;
  PgServerOptions options;
  std::string address;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread acceptor;
  std::mutex mu;
  std::list<std::unique_ptr<Connection>> connections;
  int32_t next_process_id = 1;
  std::string salt;  // of the SCRAM verifier
  std::mutex verifier_mu;
  std::string verifier_password;  // guarded by verifier_mu: what `verifier` was derived from
  ScramVerifier verifier;         // guarded by verifier_mu

  void Cancel(int32_t process_id, int32_t secret_key) {
    std::lock_guard lock(mu);
    for (const auto& connection : connections) {
      if (connection->process_id == process_id && !connection->finished &&
          connection->session->secret_key() == secret_key) {
        connection->session->CancelRunningStatement();
      }
    }
  }

  // Joins connections that ended. Caller holds mu.
  void ReapFinished() {
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->finished) {
        (*it)->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  void RefuseTooMany(int fd) {
    MessageWriter writer;
    writer.Begin('E').Byte('S').CString("FATAL").Byte('V').CString("FATAL");
    writer.Byte('C').CString(sqlstate::kTooManyConnections);
    writer.Byte('M').CString(
        fmt::format("sorry, too many clients already (at most {})", options.max_connections));
    writer.Byte(0).End();
    (void)::send(fd, writer.data().data(), writer.data().size(), MSG_NOSIGNAL);
    ::close(fd);
  }

  void AcceptLoop() {
    while (!stopping) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        spdlog::warn("pgwire: accept failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // e.g. out of descriptors
        continue;
      }
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      std::lock_guard lock(mu);
      ReapFinished();
      if (static_cast<int>(connections.size()) >= options.max_connections) {
        RefuseTooMany(fd);
        continue;
      }
      auto connection = std::make_unique<Connection>();
      connection->process_id = next_process_id++;
      connection->session =
          std::make_unique<PgSession>(fd, context, connection->process_id, RandomInt32());
      Connection* raw = connection.get();
      connection->thread = std::thread([raw] {
        RunGuarded(fmt::format("postgres session {}", raw->process_id), [raw] {
          raw->session->Run();
        }).IgnoreError();  // logged; the session's socket closes with it
        raw->finished = true;
      });
      connections.push_back(std::move(connection));
    }
  }
};

absl::StatusOr<std::unique_ptr<PgServer>> PgServer::Start(QueryService& queries, Catalog& catalog,
                                                          const PgLogin& login,
                                                          const PgServerOptions& options) {
  if (login.user.empty() || !login.password || login.password().empty()) {
    return absl::FailedPreconditionError(
        "no pg_user/pg_password in admin-credentials.json: run `loch init` for this lake again "
        "to add them");
  }
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(state->catalog_emulation, PgCatalogEmulation::Open(&catalog, login.user));
  state->salt.assign(16, '\0');
  FillRandomBytes(state->salt.data(), state->salt.size());
  state->options = options;
  State* raw = state.get();
  // The verifier of the password now, derived again only when the password changed.
  auto verifier = [raw, password = login.password] {
    const std::string now = password();
    std::lock_guard lock(raw->verifier_mu);
    if (now != raw->verifier_password || raw->verifier.stored_key.empty()) {
      raw->verifier = MakeScramVerifier(now, raw->salt);
      raw->verifier_password = now;
    }
    return raw->verifier;
  };
  state->context = SessionContext{&queries, state->catalog_emulation.get(), login.user,
                                  std::move(verifier),
                                  [raw](int32_t pid, int32_t key) { raw->Cancel(pid, key); },
                                  options.tls, options.tls_counters};
  ASSIGN_OR_RETURN(auto listening, Listen(options.address));
  state->listen_fd = listening.first;
  state->address = listening.second;
  state->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<PgServer>(new PgServer(std::move(state)));
}

PgServer::PgServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

PgServer::~PgServer() { Stop(); }

const std::string& PgServer::address() const { return state_->address; }

void PgServer::Stop() {
  if (state_->stopping.exchange(true)) return;
  ::shutdown(state_->listen_fd, SHUT_RDWR);  // wakes accept()
  if (state_->acceptor.joinable()) state_->acceptor.join();
  ::close(state_->listen_fd);
  std::lock_guard lock(state_->mu);
  for (const auto& connection : state_->connections) connection->session->Shutdown();
  for (const auto& connection : state_->connections) connection->thread.join();
  state_->connections.clear();
}

}  // namespace loch::pg
