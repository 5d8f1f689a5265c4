#!/bin/sh
# One-shot of deploy/compose.yaml: waits for the Temporal server, then creates the namespace the
# worker uses unless it exists, and registers Lifeboat's search attributes (LifeboatDatabase,
# LifeboatKind, LifeboatOutcome, LifeboatRunbook; Keyword) it lacks. Idempotent. Runs in the
# temporalio/admin-tools image.
#   TEMPORAL_ADDRESS  e.g. temporal:7233    NAMESPACE (default: default)
#   NAMESPACE_RETENTION  closed-workflow retention of a new namespace (default 30d)
set -eu
: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
NAMESPACE="${NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-30d}"

attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge 60 ]; then
    echo "Temporal at $TEMPORAL_ADDRESS is not healthy after $attempt attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

register_search_attributes() {
  # A new namespace reaches the operator API's cache a little later: retry the listing.
  attempt=1
  until listed=$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" 2>&1); do
    if [ "$attempt" -ge 30 ]; then
      echo "cannot list the search attributes of $NAMESPACE: $listed" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 1
  done
  missing=""
  for name in LifeboatDatabase LifeboatKind LifeboatOutcome LifeboatRunbook; do
    case "$listed" in
      *"$name"*) ;;
      *) missing="$missing $name" ;;
    esac
  done
  if [ -z "$missing" ]; then
    echo "search attributes of $NAMESPACE already registered"
    return 0
  fi
  for name in $missing; do
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS" >/dev/null
    echo "registered search attribute $name"
  done
}

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE already exists"
  register_search_attributes
  exit 0
fi
temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
# Creation is asynchronous on a multi-node cluster: wait until it can be described.
attempt=1
until temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge 30 ]; then
    echo "namespace $NAMESPACE was created but cannot be described" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 1
done
echo "created namespace $NAMESPACE (retention $RETENTION)"
register_search_attributes
