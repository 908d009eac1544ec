#!/usr/bin/env bash
# Prepares a fresh checkout: checks Node, installs dependencies, finds or
# installs nats-server, builds. Safe to run again; it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'heed setup: %s\n' "$*" >&2; }
die() { printf 'heed setup: %s\n' "$*" >&2; exit 3; }

command -v node >/dev/null 2>&1 || die "Node.js 20.18 or newer is required: install it from your package manager or https://nodejs.org, then run this again."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=18)?0:1)' \
  || die "Node.js $(node --version) is too old: Heed needs 20.18 or newer."
command -v npm >/dev/null 2>&1 || die "npm is required (it ships with Node.js)."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

find_nats() {
  if [ -n "${HEED_NATS_SERVER:-}" ]; then
    "$HEED_NATS_SERVER" --version >/dev/null 2>&1 || die "HEED_NATS_SERVER=$HEED_NATS_SERVER does not run."
    return 0
  fi
  command -v nats-server >/dev/null 2>&1
}
if ! find_nats; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing nats-server with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >&2 \
      || die "apt-get could not install nats-server; install it by hand or set HEED_NATS_SERVER=/path/to/nats-server."
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    say "installing nats-server with sudo apt-get"
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >&2 \
      || die "apt-get could not install nats-server; install it by hand or set HEED_NATS_SERVER=/path/to/nats-server."
  else
    die "nats-server was not found. Install it (Debian/Ubuntu: sudo apt-get install nats-server; macOS: brew install nats-server; or a release binary from the NATS project) and put it on PATH, or set HEED_NATS_SERVER=/path/to/nats-server."
  fi
fi

say "building (tsc --build)"
npx tsc --build >&2
