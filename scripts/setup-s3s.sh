#!/usr/bin/env bash
# Installs the S3 test server the S3 tests start (`s3s-fs`, a small
# S3-compatible server over a local directory, with SigV4 authentication)
# into the repository's ignored .tools/ folder:
#   .tools/bin/s3s-fs
# Idempotent: does nothing when the pinned version is already there.
# Usage: scripts/setup-s3s.sh            install if needed, print the path
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.14.1
root=.tools
bin="$root/bin/s3s-fs"
stamp="$root/.s3s-fs.stamp"
log() { echo "setup-s3s: $*" >&2; }

if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  log "$bin $version is up to date"
else
  log "installing s3s-fs $version into $root (cargo install, a few minutes)"
  # A separate target dir keeps the workspace's build cache untouched.
  CARGO_TARGET_DIR="$root/build" cargo install "s3s-fs@$version" \
    --features binary --locked --root "$root" --quiet
  rm -rf "$root/build"
  echo "$version" > "$stamp"
fi
"$bin" --help >/dev/null
echo "$PWD/$bin"
