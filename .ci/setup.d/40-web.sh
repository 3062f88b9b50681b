#!/usr/bin/env bash
# The browser build's tools: Debian's emscripten (3.1.6) for the web preset, chromium
# for the headless end-to-end test (tests/web/browser.test.mjs, driven by npm
# playwright-core with /usr/bin/chromium; never a downloaded browser),
# and web/'s npm dev dependencies (npm ci, from the committed lock file) when
# it has any. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in emscripten chromium; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi
if [ -f "$root/web/package-lock.json" ] && grep -q '"devDependencies"' "$root/web/package.json"; then
  if [ ! -d "$root/web/node_modules" ] || [ "$root/web/package-lock.json" -nt "$root/web/node_modules" ]; then
    (cd "$root/web" && npm ci --no-audit --no-fund --silent)
  fi
fi
