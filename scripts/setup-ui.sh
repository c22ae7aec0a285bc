#!/usr/bin/env bash
# Fetches the official MLflow web UI (the React build inside the pinned
# mlflow wheel) into .ui/mlflow-<version>/, where `ferroflow server` finds it
# by default when run from this checkout (or point --ui-dir /
# FERROFLOW_UI_DIR at the printed folder). ferroflow neither rebuilds nor
# modifies the bundle, and it is never committed.
#
# The wheel comes from the Python package index through pip and is checked
# against a pinned SHA-256 before anything is extracted. Idempotent: a
# complete folder (stamp file) is left alone.
#   scripts/setup-ui.sh           install if needed, print the folder
#   scripts/setup-ui.sh --force   fetch and extract again
set -euo pipefail
cd "$(dirname "$0")/.."

version=3.17.2
wheel=mlflow-$version-py3-none-any.whl
sha256=4e44c03791beb518d8b0a40b0982d958c2634d902f46d67d7907c82107f21fac
dest=.ui/mlflow-$version
stamp=$dest/.wheel.sha256
log() { echo "setup-ui: $*" >&2; }

if [ "${1:-}" != "--force" ] && [ -f "$dest/build/index.html" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "$sha256" ]; then
  log "$dest is up to date"
  echo "$PWD/$dest/build"
  exit 0
fi

python=python3
command -v "$python" >/dev/null || { log "python3 is needed to fetch the UI wheel"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A wheel already downloaded by an earlier run (or placed there by hand)
# is reused; it is checked like a fresh one.
cache=.ui/wheels
mkdir -p "$cache"
if [ ! -f "$cache/$wheel" ]; then
  log "downloading mlflow==$version (wheel only, no dependencies)"
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: "mlflow==$version" -d "$tmp" >&2
  mv "$tmp/$wheel" "$cache/$wheel"
fi
got=$(sha256sum "$cache/$wheel" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
  log "$cache/$wheel has SHA-256 $got, expected $sha256: refusing to use it"
  rm -f "$cache/$wheel"
  exit 1
fi

log "extracting mlflow/server/js/build into $dest/build"
"$python" - "$cache/$wheel" "$tmp/build" <<'EOF'
import os
import sys
import zipfile

wheel, out = sys.argv[1], sys.argv[2]
prefix = "mlflow/server/js/build/"
count = 0
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        # A wheel is an archive from outside: keep every member inside out/.
        if rel.startswith("/") or ".." in rel.split("/"):
            sys.exit(f"unsafe member in wheel: {name}")
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            dst.write(src.read())
        count += 1
if count == 0 or not os.path.exists(os.path.join(out, "index.html")):
    sys.exit("the wheel holds no UI build (mlflow/server/js/build/index.html)")
print(f"{count} files", file=sys.stderr)
EOF
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/build" "$dest/build"
echo "$sha256" > "$stamp"
log "UI ready in $dest/build"
echo "$PWD/$dest/build"
