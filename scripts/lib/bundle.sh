#!/usr/bin/env bash
# Bundles the taskpane's JavaScript with esbuild: addin/taskpane/src/main.js and src/auth-dialog.js, with MSAL.js
# from the npm packages pinned in package-lock.json, and the send-time guard src/send-guard.js (a classic script),
# into addin/taskpane/dist/ (git-ignored). Run by scripts/dev
# and scripts/test, and by the browser tests when dist/ is older than the sources. `npm ci` runs when
# node_modules is missing or older than the lockfile. Without Node.js it installs Debian's nodejs where it can,
# else says so; in CI (CI=true) a missing Node.js is a failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_npm_packages "bundle the taskpane" "the taskpane is not bundled and will not load" || exit 0

say "Bundling the taskpane (esbuild)"
rm -rf addin/taskpane/dist
# A fixed target and no source maps: the same sources and lockfile give the same files, with no local paths.
node_modules/.bin/esbuild addin/taskpane/src/main.js addin/taskpane/src/auth-dialog.js \
  --bundle --format=esm --target=es2020 --platform=browser --minify --charset=utf8 --legal-comments=eof \
  --outdir=addin/taskpane/dist --log-level=warning
# The send-time guard runs in classic Outlook's JavaScript-only runtime too: one classic script (IIFE), no imports.
node_modules/.bin/esbuild addin/taskpane/src/send-guard.js \
  --bundle --format=iife --target=es2017 --platform=browser --minify --charset=utf8 --legal-comments=eof \
  --outfile=addin/taskpane/dist/send-guard.js --log-level=warning
