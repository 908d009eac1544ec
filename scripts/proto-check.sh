#!/usr/bin/env bash
# Lints the protos and fails if the committed generated code differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
npx buf generate
node scripts/proto-descriptors.mjs >/dev/null
generated=(packages/shared/src/gen services/coordinator/src/grpc/descriptor-set.ts)
if [ -n "$(git status --porcelain -- "${generated[@]}")" ]; then
  echo "generated protobuf code is out of date: run 'npm run proto' and commit ${generated[*]}" >&2
  git status --short -- "${generated[@]}" >&2
  exit 1
fi
echo "protos: lint clean, generated code up to date"
