#!/usr/bin/env bash
# Installs wrk, the load generator of `make bench`, from Debian when it is missing (about 3 s here;
# `cargo install oha` would compile for minutes). Idempotent: does nothing when wrk is there.
set -euo pipefail
command -v wrk >/dev/null && exit 0
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get install -y wrk >/dev/null 2>&1 || {
  "${as_root[@]}" apt-get update >/dev/null
  "${as_root[@]}" apt-get install -y wrk >/dev/null
}
echo "bench: installed $(wrk -v 2>&1 | head -1)"
