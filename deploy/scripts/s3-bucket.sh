#!/bin/sh
# One-shot of deploy/compose.yaml: creates the backup bucket through the S3 API (idempotent).
# Runs in the SeaweedFS image (its curl signs requests with SigV4). The credentials reach curl
# through its config on stdin, never on a command line.
#   S3_ENDPOINT  e.g. http://s3:8333      BUCKET  bucket name
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_REGION (default us-east-1)
set -eu
: "${S3_ENDPOINT:?S3_ENDPOINT is required}"
: "${BUCKET:?BUCKET is required}"
: "${AWS_ACCESS_KEY_ID:?AWS_ACCESS_KEY_ID is required}"
: "${AWS_SECRET_ACCESS_KEY:?AWS_SECRET_ACCESS_KEY is required}"

# s3 METHOD PATH [curl options...]: prints the HTTP status of a signed request (000: no answer)
s3() {
  method="$1"
  target="$2"
  shift 2
  printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
    curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -K - \
      --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" -X "$method" "$@" "$S3_ENDPOINT/$target" || true
}

attempt=1
while :; do
  code="$(s3 PUT "$BUCKET")"
  case "$code" in
    200) echo "created bucket $BUCKET"; break ;;
    409) echo "bucket $BUCKET already exists"; break ;;
    000 | 5??)
      # not up yet
      if [ "$attempt" -ge 30 ]; then
        echo "creating bucket $BUCKET failed: $S3_ENDPOINT did not answer (HTTP $code)" >&2
        exit 1
      fi
      attempt=$((attempt + 1))
      sleep 2
      ;;
    *) echo "creating bucket $BUCKET failed: HTTP $code from $S3_ENDPOINT" >&2; exit 1 ;;
  esac
done

code="$(s3 HEAD "$BUCKET" -I)"
if [ "$code" != 200 ]; then
  echo "bucket $BUCKET is not accessible with these credentials (HTTP $code)" >&2
  exit 1
fi
