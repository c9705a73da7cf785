#!/usr/bin/env bash
# Installs what building and testing need, offline-friendly, skipping whatever is already there at
# the right version: the pinned Rust toolchain and its wasm32 target, worker-build, wasm-bindgen-cli
# at the Cargo.lock version, and the npm packages of package.json (wrangler, Node 22, wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
say() { printf 'setup: %s\n' "$*"; }

# The toolchain of rust-toolchain.toml. Machines of this project ship it as "stable"; when only
# that name exists and it is the pinned version, give it the pinned name too (no download needed).
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
host=$(RUSTUP_TOOLCHAIN=stable rustc -vV | sed -n 's/^host: //p')
toolchains_dir="${RUSTUP_HOME:-$HOME/.rustup}/toolchains"
if [ -e "$toolchains_dir/$toolchain-$host" ]; then
  say "rust $toolchain: present"
elif [ "$(RUSTUP_TOOLCHAIN=stable rustc --version | awk '{print $2}')" = "$toolchain" ]; then
  ln -s "$toolchains_dir/stable-$host" "$toolchains_dir/$toolchain-$host"
  say "rust $toolchain: named the installed stable toolchain"
else
  rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy
fi

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32 target: present"
else
  rustup target add wasm32-unknown-unknown
fi

if cargo install --list | grep -qx "worker-build v$WORKER_BUILD_VERSION:"; then
  say "worker-build $WORKER_BUILD_VERSION: present"
else
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly. No --locked: its lockfile names a
# crate version the registry does not serve.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$bindgen_version" ]; then
  say "wasm-bindgen-cli $bindgen_version: present"
else
  cargo install wasm-bindgen-cli --version "$bindgen_version"
fi

# npm install (not npm ci: a lockfile made here lacks other platforms' workerd packages).
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ "$stamp" -nt package.json ] && [ "$stamp" -nt package-lock.json ]; then
  say "npm packages: present"
else
  npm install --no-audit --no-fund
  touch "$stamp"
fi
