#!/usr/bin/env bash
# `npm run bench`: Lifeboat's backup path against the stock shell pipeline, with ratios and memory.
# BENCH_SIZE_MB (default 512), BENCH_RUNS (default 3), BENCH_DATABASE_URL (default: an ephemeral
# PostgreSQL cluster). Not part of the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LIFEBOAT_BOOTSTRAP_QUIET=1 bash scripts/bootstrap.sh
npm run --silent build
exec node dist/dev/bench.js
