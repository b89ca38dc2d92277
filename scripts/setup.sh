#!/usr/bin/env bash
# Installs everything loch needs to build and test on Debian 12, idempotently:
#   - Debian packages (only the missing ones; apt-get update runs only if something is missing),
#   - DuckDB 1.4.4 (header + libduckdb.so) from the npm registry, checksum-verified, into third_party/,
#   - the web console's build tools (web/package-lock.json) and the test peers (package-lock.json)
#     from the npm registry.
# Safe to run repeatedly; a second run does nothing and takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libabsl-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libzstd-dev libsimdjson-dev zlib1g-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev libhttp-parser-dev libtinyxml2-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  nodejs npm curl tzdata chromium
  postgresql-client-15 postgresql-15
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian on a developer's machine; accept any working install.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- DuckDB from npm (Debian does not package it). Pinned versions and checksums. ---
DUCKDB_DIR=third_party/duckdb
declare -A TARBALLS=(
  ["duckdb@1.4.4"]="duckdb-1.4.4.tgz 5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed"
  ["@duckdb/node-bindings-linux-x64@1.4.4-r.4"]="duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz 732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b"
)
if [[ ! -f $DUCKDB_DIR/include/duckdb.h || ! -f $DUCKDB_DIR/lib/libduckdb.so ]]; then
  echo "setup: fetching DuckDB 1.4.4 from the npm registry"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for spec in "${!TARBALLS[@]}"; do
    read -r file sum <<<"${TARBALLS[$spec]}"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    echo "$sum  $tmp/$file" | sha256sum --check --quiet || { echo "setup: checksum mismatch for $spec" >&2; exit 1; }
  done
  mkdir -p "$tmp/h" "$tmp/l" "$DUCKDB_DIR/include" "$DUCKDB_DIR/lib"
  tar -xzf "$tmp/duckdb-1.4.4.tgz" -C "$tmp/h" package/src/duckdb/src/include/duckdb.h
  tar -xzf "$tmp/duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz" -C "$tmp/l" package/libduckdb.so
  cp "$tmp/h/package/src/duckdb/src/include/duckdb.h" "$DUCKDB_DIR/include/"
  cp "$tmp/l/package/libduckdb.so" "$DUCKDB_DIR/lib/"
fi

# --- Real peers for interop tests (S3 server, AWS SDK clients), from the npm registry. ---
if [[ -f package-lock.json ]] && { [[ ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; }; then
  echo "setup: installing test peers from npm (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

# --- The web console's build tools (TypeScript, Vite, CodeMirror), from the npm registry. ---
if [[ ! -f web/node_modules/.package-lock.json ]] || [[ web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
  echo "setup: installing the web console's build tools from npm (web/package-lock.json)"
  npm ci --prefix web --no-audit --no-fund --loglevel=error >/dev/null
fi
