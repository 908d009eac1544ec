#!/usr/bin/env bash
# What the tests need beyond setup.sh: Debian's Chromium for the replay tests
# (ReplayWeb.page in a real browser). Installed with apt-get when run as root
# (as CI does); otherwise the replay tests say they were skipped and why.
set -euo pipefail

say() { printf 'heed test-deps: %s\n' "$*" >&2; }

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "installing chromium with apt-get (replay tests)"
  if ! (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)) >&2; then
    say "apt-get could not install chromium; the replay tests will be skipped"
  fi
else
  say "chromium is not installed (Debian/Ubuntu: sudo apt-get install chromium); the replay tests will be skipped"
fi
