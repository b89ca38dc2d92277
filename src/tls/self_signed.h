#pragma once
// `loch serve --tls-self-signed`: a private certificate authority and a server certificate it
// signed, kept in the state folder so a quick start gets TLS without a CA of its own. Clients
// trust the CA file once (`--ca-file`, `NODE_EXTRA_CA_CERTS`, `sslrootcert=`); the server
// certificate can then be renewed without touching them.
//
// Files under `dir` (created 0700): ca.pem, ca-key.pem, server.pem (the leaf, then the CA),
// server-key.pem; keys are 0600 and written with O_EXCL through a temporary name, so two starts
// never mix halves. Keys are ECDSA P-256.

#include <string>
#include <vector>

#include "common/status.h"
#include "tls/tls_context.h"

namespace loch::tls {

struct SelfSignedOptions {
  std::string dir;  // e.g. <state>/tls
  // Names the server certificate must be valid for, besides localhost, 127.0.0.1 and ::1: DNS
  // names or IP addresses (e.g. the listen host, `--tls-name`).
  std::vector<std::string> names;
  int leaf_days = 397;  // what browsers accept at most
  int ca_days = 3650;
};

struct SelfSigned {
  CertificateFiles server;  // for TlsServerContext
  std::string ca_path;      // what clients trust
  bool created = false;     // a new server certificate was made this time
};

// Reuses the files in `dir` when the server certificate covers every name and is valid for at
// least 30 more days; otherwise makes a new server certificate (and a CA, if there is none yet).
absl::StatusOr<SelfSigned> EnsureSelfSigned(const SelfSignedOptions& options);

}  // namespace loch::tls
