#!/usr/bin/env bash
# Builds the web example into examples/web/build, the directory the default worker serves as
# static assets ([assets] in wrangler.toml): the page, its stylesheet and headers, and src/main.ts
# bundled by esbuild together with the browser client's TypeScript sources (client-ts/src).
# No type check here (esbuild only strips types): `make test` runs tsc on it.
set -euo pipefail
web=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$web/../.." && pwd)
# Built beside build/, at the same depth, so the source map's relative paths come out the same.
tmp="$web/.build.tmp"
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp "$web/index.html" "$web/app.css" "$web/_headers" "$tmp/"
"$root/node_modules/@esbuild/linux-x64/bin/esbuild" "$web/src/main.ts" --bundle --format=esm \
  --target=es2022 --minify --sourcemap --log-level=warning --outfile="$tmp/app.js"
# Only what changed is written: a running `wrangler dev` reloads at any write in that directory.
mkdir -p "$web/build"
for file in "$tmp"/*; do
  cmp -s "$file" "$web/build/${file##*/}" || cp "$file" "$web/build/"
done
