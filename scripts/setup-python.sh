#!/usr/bin/env bash
# Creates the Python environments the compat tests use (idempotent):
#   .venvs/mlflow3 — the official client and reference server, mlflow==3.17.2
#   .venvs/mlflow2 — the 2.x client (mlflow==2.22.*)
set -euo pipefail
cd "$(dirname "$0")/.."

make_venv() {
  local dir=$1 requirements=$2
  local stamp="$dir/.requirements.sha256"
  local want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "setup-python: $dir is up to date"
    return
  fi
  echo "setup-python: installing $requirements into $dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
}

make_venv .venvs/mlflow3 compat-tests/requirements-mlflow3.txt
make_venv .venvs/mlflow2 compat-tests/requirements-mlflow2.txt
