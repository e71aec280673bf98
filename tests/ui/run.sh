#!/usr/bin/env bash
# Runs the admin web UI test (ui.test.mjs) in Debian's chromium, driven
# headless by puppeteer-core (pinned in package-lock.json, installed from the
# npm registry into <build>/ui-test once; again when the lock changes; it uses
# the installed browser and never downloads one). Screenshots go to
# <build>/ui-screenshots. Usage: tests/ui/run.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)"
work="$build/ui-test"
mkdir -p "$work" "$build/ui-screenshots"
for tool in node npm chromium; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool is needed (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [ ! -d "$work/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$here/ui.test.mjs" "$work/"
cd "$work"
STRATAD="$build/server/stratad" STRATA="$build/tools/strata" CHROMIUM="$(command -v chromium)" \
  SCREENSHOTS="$build/ui-screenshots" \
  node --test --test-timeout=240000 --test-reporter=spec ui.test.mjs
