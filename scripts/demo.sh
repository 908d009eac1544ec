#!/usr/bin/env bash
# The demo command: sets up a fresh checkout, then crawls a small multi-host
# site that Heed serves itself on loopback addresses. Extra arguments go to
# `heed crawl` (for example your own seeds and --contact instead of --demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then set -- --demo; fi
exec node packages/cli/bin/heed.js crawl "$@"
