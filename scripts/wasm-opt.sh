#!/usr/bin/env bash
# Optimises a worker's wasm in place with wasm-opt (binaryen from npm), as worker-build would:
# the same `-O` and the same feature set (nothing newer than workerd runs; SIMD, which
# .cargo/config.toml turns on for wasm32), but without
# `--debuginfo`, so the name section (function names, about 44 KiB of the gzipped default
# worker) is not shipped. Panics and errors still log their message; their wasm stack frames
# show function indices instead of names. USERDO_KEEP_NAMES=1 keeps the names (debugging).
#   scripts/wasm-opt.sh path/to/index_bg.wasm
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wasm="$1"
args=(-O)
for feature in mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue \
  reference-types exception-handling simd; do
  args+=("--enable-$feature")
done
if [ "${USERDO_KEEP_NAMES:-}" = 1 ]; then
  args+=(--debuginfo)
fi
"$root/node_modules/.bin/wasm-opt" "$wasm" -o "$wasm.opt" "${args[@]}"
mv "$wasm.opt" "$wasm"
