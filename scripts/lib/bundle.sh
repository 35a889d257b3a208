#!/usr/bin/env bash
# Bundles the taskpane with esbuild: addin/taskpane/src/main.js and src/auth-dialog.js, with MSAL.js from the npm
# packages pinned in package-lock.json, and the send-time guard src/send-guard.js (a classic script), into the
# servable site addin/taskpane/dist/ (git-ignored; the package build copies it into the wheel). Run by scripts/dev
# and scripts/test, and by the browser tests when dist/ is older than the sources. `npm ci` runs when
# node_modules is missing or older than the lockfile. Without Node.js it installs Debian's nodejs where it can,
# else says so; in CI (CI=true) a missing Node.js is a failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_npm_packages "bundle the taskpane" "the taskpane is not bundled and will not load" || exit 0

say "Bundling the taskpane (esbuild)"
# The servable site in addin/taskpane/dist/: stable pages, content-hashed scripts and styles, precompressed
# brotli and gzip beside them (see build-taskpane.mjs).
node scripts/lib/build-taskpane.mjs "$@"
