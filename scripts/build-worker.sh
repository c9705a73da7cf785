#!/usr/bin/env bash
# Builds a worker crate (the default worker unless named) with worker-build, pointing it at local
# tools so it downloads nothing.
#   scripts/build-worker.sh [crate dir]   e.g. examples/multi-tenant; default examples/default
#   USERDO_WASM_OPT=1   optimise with wasm-opt (release and size measurements; about 20 s more):
#                       scripts/wasm-opt.sh, which also drops the name section (USERDO_KEEP_NAMES=1 keeps it)
#   USERDO_SKIP_BUILD=1 do nothing if a build exists (make test builds once, then runs wrangler)
# The default worker first builds the web example, its static assets (esbuild, a few ms).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
crate="${1:-examples/default}"
if [ "$crate" = examples/default ]; then
  bash "$root/examples/web/build.sh"
fi
cd "$root/$crate"
if [ "${USERDO_SKIP_BUILD:-}" = 1 ] && [ -f build/index.js ]; then
  exit 0
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
# NO_MINIFY: scripts/lean-shim.mjs rewrites the entry shim without its per-call Proxies, then minifies.
NO_MINIFY=1 worker-build --release --no-opt
node "$root/scripts/lean-shim.mjs" "$root/$crate"
if [ "${USERDO_WASM_OPT:-}" = 1 ]; then
  bash "$root/scripts/wasm-opt.sh" build/index_bg.wasm
fi
