#!/usr/bin/env bash
# Type-checks the taskpane's JavaScript (addin/taskpane/src/) with TypeScript against Microsoft's published
# @types/office-js, both pinned in package-lock.json; tsconfig.json says how (checkJs, no output). A call or a
# property the published Office.js API does not have, on a value whose type is known, fails the run. Run by
# scripts/test after the bundle; `npm ci` runs when node_modules is missing or older than the lockfile. Without
# Node.js it says so and does nothing; in CI (CI=true) a missing Node.js is a failure.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

ensure_npm_packages "type-check the taskpane" "the taskpane's JavaScript is not type-checked" || exit 0

say "Type-checking the taskpane (tsc, @types/office-js)"
node_modules/.bin/tsc -p tsconfig.json --pretty false
