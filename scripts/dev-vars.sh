#!/usr/bin/env bash
# Writes .dev.vars for local development when it is missing: a random JWT_SECRET, the dev outbox
# and the Vite dev server's origin. wrangler dev reads it; wrangler deploy never does, and git
# ignores it, so none of this reaches a deploy.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .dev.vars ]; then
  exit 0
fi
umask 077
{
  echo "JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  echo "DEV_OUTBOX=true"
  echo "ALLOWED_ORIGINS=http://localhost:5173"
} > .dev.vars
echo "dev-vars: wrote .dev.vars with a new random JWT_SECRET"
