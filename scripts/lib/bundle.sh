#!/usr/bin/env bash
# Bundles the taskpane with esbuild: addin/taskpane/src/main.js and src/auth-dialog.js, with MSAL.js from the npm
# packages pinned in package-lock.json, into the servable site addin/taskpane/dist/ (git-ignored; the package build
# copies it into the wheel). Run by scripts/dev
# and scripts/test, and by the browser tests when dist/ is older than the sources. `npm ci` runs when
# node_modules is missing or older than the lockfile. Without Node.js it installs Debian's nodejs where it can,
# else says so; in CI (CI=true) a missing Node.js is a failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm 2>/dev/null || true
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  [ "${CI:-}" = "true" ] && die "CI needs Node.js and npm to bundle the taskpane, and they could not be installed."
  say "Node.js and npm are missing: the taskpane is not bundled and will not load (Debian: apt-get install nodejs npm)"
  exit 0
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "Installing the taskpane's npm packages (npm ci)"
  # No install scripts: esbuild's binary comes in its platform package; nothing else needs one.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi

say "Bundling the taskpane (esbuild)"
# The servable site in addin/taskpane/dist/: stable pages, content-hashed scripts and styles, precompressed
# brotli and gzip beside them (see build-taskpane.mjs).
node scripts/lib/build-taskpane.mjs "$@"
