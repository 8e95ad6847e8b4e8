#!/bin/sh
# Runs the tinypool contract tests against another tinypool version, installed into a scratch directory:
#   scripts/tinypool-contract.sh 2.1.2
# (npm run build first: the worker side of the adapter is loaded from dist/.)
set -e
version="${1:?usage: scripts/tinypool-contract.sh <tinypool version>}"
scratch="${TMPDIR:-/tmp}/tp-$version"
if [ ! -f "$scratch/node_modules/tinypool/package.json" ]; then
  mkdir -p "$scratch"
  (cd "$scratch" && npm init -y >/dev/null && npm install --no-audit --no-fund "tinypool@$version" >/dev/null)
fi
MULTIPROC_TINYPOOL="$scratch/node_modules/tinypool" NODE_OPTIONS=--experimental-vm-modules \
  npx jest --maxWorkers=1 __tests__/tinypool-contract.test.ts
