#!/usr/bin/env bash
# Installs what aztp needs to build, test, benchmark and run its demo on
# Debian 12: the Debian packages below (only those missing; `apt-get update`
# runs once, first) and the npm packages of the interop and OIDC tests
# (jose, oidc-provider for the test identity provider of tests/oidc, and the
# official MCP and A2A SDKs with express and zod for the tests of MCP and A2A
# routes; pinned by scripts/npm/package-lock.json) into .deps/node, which git
# ignores.
# Idempotent: a second run changes nothing and takes well under a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config make clang libclang-rt-14-dev clang-format
  # libraries
  libssl-dev openssl nlohmann-json3-dev libsqlite3-dev libcli11-dev
  libboost-dev libboost-system-dev libspdlog-dev libyaml-cpp-dev curl
  # the PostgreSQL store: its client library, and the server its tests start
  # (tests/pg/pgctl.sh, on 127.0.0.1, as an unprivileged user under root)
  libpq-dev postgresql
  # aztp-proxy's shared replay store: the Redis client library, and the
  # server its tests start (tests/redis/redisctl.sh, on 127.0.0.1)
  libhiredis-dev redis-server
  # tests and benchmarks; sqlite3 (the CLI) inspects and tampers with
  # audit logs in tests and the demo
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3
  # interop checks: independent verifiers
  python3 python3-cryptography python3-jwt
  # the hosted SDK's call sequences replayed with the HTTP library it uses
  python3-requests
)
# make bench (AZTP_DEPS_BENCH=1) also compares aztp-proxy with nginx
# (scripts/bench_proxy.sh); only then is nginx installed.
if [ "${AZTP_DEPS_BENCH:-}" = 1 ]; then
  packages+=(nginx-light)
fi
# Node.js: the machine's own build when present (it ships npm), else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_dir="$root/.deps/node"
if ! cmp -s "$root/scripts/npm/package-lock.json" "$node_dir/package-lock.json" ||
   [ ! -d "$node_dir/node_modules/jose" ] ||
   [ ! -d "$node_dir/node_modules/oidc-provider" ] ||
   [ ! -d "$node_dir/node_modules/@modelcontextprotocol/sdk" ] ||
   [ ! -d "$node_dir/node_modules/@a2a-js/sdk" ]; then
  echo "install-deps: installing npm interop packages into .deps/node"
  mkdir -p "$node_dir"
  cp "$root/scripts/npm/package.json" "$root/scripts/npm/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --silent)
fi
