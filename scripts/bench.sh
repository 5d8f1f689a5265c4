#!/usr/bin/env bash
# `npm run bench`: Lifeboat end to end (CLI, Temporal, SeaweedFS on loopback) against the raw dump,
# the stock shell pipeline and the old procedures' way, with restores against raw pg_restore.
# `npm run bench -- --help` lists the options (datasets, sizes, rounds, JSON output file).
# BENCH_DATABASE_URL (a superuser URL) uses an existing server instead of an ephemeral cluster.
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIFEBOAT_BOOTSTRAP_QUIET=1 bash scripts/bootstrap.sh
npm run --silent build
exec node dist/dev/bench.js "$@"
