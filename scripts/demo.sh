#!/usr/bin/env bash
# `npm run demo`: installs what is missing, then runs a real backup on embedded defaults (Temporal
# dev server with its Web UI, a local S3 server, a sample PostgreSQL database). `--once` exits
# after the backup; otherwise everything keeps running until Ctrl-C.
# Set DEMO_DATABASE_URL=postgres://user:pass@host/postgres to use an existing server instead of
# an ephemeral cluster (a `lifeboat_demo` database is created there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIFEBOAT_BOOTSTRAP_QUIET=1 bash scripts/bootstrap.sh
npm run --silent build
exec node dist/dev/demo.js "$@"
