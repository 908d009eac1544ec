#!/usr/bin/env bash
# The test command: sets up a fresh checkout, then runs every test with vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
