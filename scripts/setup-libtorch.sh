#!/usr/bin/env bash
# Installs the libtorch the trainer (tch 0.26 = PyTorch 2.13) builds and runs
# against, without tch's own download (not reachable here):
#   .venvs/torch   the torch 2.13.0 wheel with --no-deps (≈1.25 GB): its
#                  lib/ is a complete libtorch.  libtorch_cpu.so needs
#                  libcudart.so.13 and libcupti.so.13 even on CPU, hence the
#                  two small nvidia packages.
#   libgloo-dev    gloo's headers (the wheel ships gloo's symbols inside
#                  libtorch_cpu.so but not its headers); only declarations
#                  are used by the trainer's c10d shim.
# Idempotent (stamp file).  Usage:
#   scripts/setup-libtorch.sh            install if needed, print the env
#   eval "$(scripts/setup-libtorch.sh --env)"   install if needed, export the env
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

venv=.venvs/torch
packages=(torch==2.13.0 "nvidia-cuda-runtime==13.0.96.*" "nvidia-cuda-cupti==13.0.85.*")
stamp="$venv/.libtorch.stamp"
want=$(printf '%s\n' "${packages[@]}" | sha256sum | cut -d' ' -f1)

env_only=0
[ "${1:-}" = "--env" ] && env_only=1
# Progress goes to stderr so that `eval "$(… --env)"` only sees the exports.
log() { echo "setup-libtorch: $*" >&2; }

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  log "$venv is up to date"
else
  log "installing ${packages[*]} into $venv (≈1.25 GB)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${packages[@]}" >&2
  echo "$want" > "$stamp"
fi

if [ ! -f /usr/include/gloo/config.h ]; then
  log "installing libgloo-dev (gloo headers)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  if ! "${sudo_cmd[@]}" apt-get install -y -qq libgloo-dev >&2 2>/dev/null; then
    "${sudo_cmd[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libgloo-dev >&2
  fi
fi

site=$(echo "$repo/$venv"/lib/python3*/site-packages)
torch_dir="$site/torch"
if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ]; then
  log "no libtorch_cpu.so under $torch_dir"
  exit 1
fi

exports=(
  "export LIBTORCH='$torch_dir'"
  "export LIBTORCH_CXX11_ABI=1"
)
# No LIBTORCH_BYPASS_VERSION_CHECK: torch-sys only checks the version when
# the directory has a build-version file, which the wheel does not ship.
if [ $env_only -eq 1 ]; then
  printf '%s\n' "${exports[@]}"
else
  log "export these before building the trainer (or eval \"\$(scripts/setup-libtorch.sh --env)\"):"
  printf '%s\n' "${exports[@]}"
fi
