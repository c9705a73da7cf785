#!/usr/bin/env bash
# Builds the web example into examples/web/build, the directory the default worker serves as
# static assets ([assets] in wrangler.toml): the page, its stylesheet and headers, and src/main.ts
# bundled by esbuild together with the browser client's TypeScript sources (client-ts/src).
# No type check here (esbuild only strips types): `make test` runs tsc on it.
set -euo pipefail
web=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$web/../.." && pwd)
mkdir -p "$web/build"
cp "$web/index.html" "$web/app.css" "$web/_headers" "$web/build/"
"$root/node_modules/@esbuild/linux-x64/bin/esbuild" "$web/src/main.ts" --bundle --format=esm \
  --target=es2022 --minify --sourcemap --log-level=warning --outfile="$web/build/app.js"
