#!/usr/bin/env bash
# Runs the KurrentDB client compatibility suite (kurrent_compat.test.mjs):
# installs the official clients pinned in package-lock.json from the npm
# registry into <build>/compat (once; again when the lock changes), then runs
# the suite with Node's test runner against <build>/server/stratad.
# Usage: tests/compat/run.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)"
work="$build/compat"
mkdir -p "$work"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "run.sh: node and npm are needed (scripts/install_deps.sh installs them)" >&2
  exit 1
fi
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [ ! -d "$work/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$here/kurrent_compat.test.mjs" "$work/"
cd "$work"
# One process per client (see the test file's opening comment).
status=0
for client in kurrentdb eventstore; do
  echo "== $client"
  STRATAD="$build/server/stratad" COMPAT_CLIENT=$client \
    node --test --test-timeout=60000 --test-reporter=spec kurrent_compat.test.mjs || status=1
done
exit $status
