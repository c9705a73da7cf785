#!/usr/bin/env bash
# Builds the default worker with worker-build, pointing it at local tools so it downloads nothing.
#   USERDO_WASM_OPT=1   optimise with wasm-opt (release and size measurements; about 20 s more)
#   USERDO_SKIP_BUILD=1 do nothing if a build exists (make test builds once, then runs wrangler)
# First the web example, the worker's static assets (esbuild, a few milliseconds; always).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/examples/web/build.sh"
cd "$root/examples/default"
if [ "${USERDO_SKIP_BUILD:-}" = 1 ] && [ -f build/index.js ]; then
  exit 0
fi
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
if [ "${USERDO_WASM_OPT:-}" = 1 ]; then
  exec worker-build --release
else
  exec worker-build --release --no-opt
fi
