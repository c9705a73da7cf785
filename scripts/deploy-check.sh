#!/usr/bin/env bash
# A deploy without deploying: wrangler bundles the default worker as it would upload it and reports
# its size, which is printed here (the gzipped size is what matters for cold starts).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! USERDO_SKIP_BUILD=1 wrangler deploy --dry-run --outdir dist >"$out" 2>&1; then
  cat "$out"
  exit 1
fi
size=$(grep -E "Total Upload" "$out" || true)
if [ -z "$size" ]; then
  cat "$out"
  echo "deploy-check: wrangler printed no upload size" >&2
  exit 1
fi
echo "deploy-check: wrangler deploy --dry-run OK: $size"
