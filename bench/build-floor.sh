#!/usr/bin/env bash
# Builds the bench floor worker (bench/floor) exactly as scripts/build-worker.sh builds the default
# worker: worker-build --release, with local wasm-bindgen, esbuild and (USERDO_WASM_OPT=1) wasm-opt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/bench/floor"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$root/node_modules/@esbuild/linux-x64/bin/esbuild"
export WASM_OPT_BIN="$root/node_modules/.bin/wasm-opt"
worker-build --release --no-opt
if [ "${USERDO_WASM_OPT:-}" = 1 ]; then
  bash "$root/scripts/wasm-opt.sh" build/index_bg.wasm
fi
