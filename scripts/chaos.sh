#!/usr/bin/env bash
# `npm run test:chaos`: builds, then runs the chaos suite (test/chaos) against real services, one
# scenario file at a time. Extra arguments go to jest, e.g. `npm run test:chaos -- -t SIGKILL`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIFEBOAT_BOOTSTRAP_QUIET=1 bash scripts/bootstrap.sh
npm run --silent build
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning" exec npx --no-install jest --config jest.chaos.config.js "$@"
