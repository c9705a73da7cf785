#!/usr/bin/env bash
# A deploy without deploying: wrangler bundles the default worker as it would upload it and reports
# its size, which is printed here (the gzipped size is what matters for cold starts).
# It first refuses a configuration that would deploy a development-only setting: DEV_OUTBOX opens
# an unauthenticated outbox of everyone's reset tokens, so it belongs in .dev.vars (which
# wrangler deploy never reads), never in wrangler.toml. USERDO_DEPLOY_CONFIG checks another file
# (its tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
config="${USERDO_DEPLOY_CONFIG:-wrangler.toml}"
# Any DEV_OUTBOX key in the deployed configuration ([vars], [env.*.vars], an inline table),
# comments aside.
if sed -e 's/#.*$//' "$config" | grep -Eq '(^|[{,[:space:]])["'"'"']?DEV_OUTBOX["'"'"']?[[:space:]]*='; then
  echo "deploy-check: $config sets DEV_OUTBOX, a development-only variable: remove it (put it in .dev.vars for local development)" >&2
  exit 1
fi
# A sign-in provider's client secret (OAUTH_<ID>_CLIENT_SECRET, also JWT_SECRET) is a secret:
# `wrangler secret put`, never a plain variable that the dashboard and the repository show.
if sed -e 's/#.*$//' "$config" | grep -Eq '(^|[{,[:space:]])["'"'"']?(OAUTH_[A-Z0-9_]+_CLIENT_SECRET|JWT_SECRET)["'"'"']?[[:space:]]*='; then
  echo "deploy-check: $config sets a secret as a plain variable (OAUTH_*_CLIENT_SECRET or JWT_SECRET): remove it and use \`wrangler secret put\`" >&2
  exit 1
fi
if [ "${USERDO_DEPLOY_CONFIG_ONLY:-}" = 1 ]; then
  echo "deploy-check: $config sets no development-only variable and no secret"
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! USERDO_SKIP_BUILD=1 wrangler deploy --config "$config" --dry-run --outdir dist >"$out" 2>&1; then
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
