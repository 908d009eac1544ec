#!/usr/bin/env bash
# Lints the protos and fails if the committed generated code differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
npx buf generate
if [ -n "$(git status --porcelain -- packages/shared/src/gen)" ]; then
  echo "generated protobuf code is out of date: run 'npm run proto' and commit packages/shared/src/gen" >&2
  git status --short -- packages/shared/src/gen >&2
  exit 1
fi
echo "protos: lint clean, generated code up to date"
