#!/usr/bin/env bash
# The test command: sets up a fresh checkout (and Chromium for the replay tests), then runs every test with vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/test-deps.sh
exec npx vitest run "$@"
