#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, lints, then runs the whole suite against real
# services (a Temporal dev server, an S3-protocol server and an ephemeral PostgreSQL cluster that
# the suite starts itself). Extra arguments go to jest, e.g. `npm test -- test/unit`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIFEBOAT_BOOTSTRAP_QUIET=1 LIFEBOAT_BOOTSTRAP_BROWSER=1 bash scripts/bootstrap.sh
# The lock file must stay installable with `npm ci` on every platform (it lists every optional
# platform package); a drifted lock fails here, in about a second, rather than on a user's machine.
if ! npm ci --dry-run --no-audit --no-fund --loglevel=error >/dev/null 2>&1; then
  echo "test: package-lock.json does not match package.json (npm ci --dry-run failed); run 'npm install', review and commit the lock file" >&2
  exit 1
fi
npm run --silent build
npm run -s lint
# The tests are type-checked too (the build compiles only the shipped code).
npx --no-install tsc -p tsconfig.test.json --noEmit
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" exec npx --no-install jest "$@"
