#!/usr/bin/env bash
# Builds the bench floor worker (bench/floor) exactly as scripts/build-worker.sh builds the default
# worker: worker-build --release, with local wasm-bindgen, esbuild and (USERDO_WASM_OPT=1) wasm-opt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/bench/floor"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
# NO_MINIFY: scripts/lean-shim.mjs rewrites the entry shim without its per-call Proxies, then minifies.
NO_MINIFY=1 worker-build --release --no-opt
node "$root/scripts/lean-shim.mjs" "$root/bench/floor"
if [ "${USERDO_WASM_OPT:-}" = 1 ]; then
  bash "$root/scripts/wasm-opt.sh" build/index_bg.wasm
fi
