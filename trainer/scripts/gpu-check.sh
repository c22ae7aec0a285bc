#!/usr/bin/env bash
# The NCCL path on a GPU machine, as one short script: builds ferroflow-train
# with --features nccl against a full torch install (CUDA libraries and NCCL
# headers come with the torch wheel's nvidia-* dependencies), then
#   1. selftest: 2 ranks, all-reduce + broadcast of CUDA tensors over NCCL;
#   2. a few training steps: launch --nproc 2 --backend nccl, 1 epoch on 1024 samples.
# Needs: MNIST_DIR (t10k-*.gz), network for pip (or an existing .venvs/torch-full).
# NCCL refuses two ranks on one GPU, so a single-GPU machine runs 1 rank.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=.venvs/torch-full
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0 numpy
fi
# ProcessGroupNCCL.hpp pulls in CUDA headers the runtime wheels lack:
# crt/host_config.h (nvidia-cuda-crt) and nv/target (nvidia-cuda-cccl).
if ! ls "$venv"/lib/python3*/site-packages/nvidia/cu13/include/nv/target >/dev/null 2>&1; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    "nvidia-cuda-crt==13.0.*" "nvidia-cuda-cccl==13.0.*"
fi
[ -f /usr/include/gloo/config.h ] || scripts/setup-libtorch.sh >/dev/null
site=$(echo "$PWD/$venv"/lib/python3*/site-packages)
export LIBTORCH="$site/torch" LIBTORCH_CXX11_ABI=1
export CARGO_TARGET_DIR="$PWD/target/trainer-nccl"
# The NCCL/CUDA libraries live in the nvidia-* wheels beside torch.
export LD_LIBRARY_PATH="$(ls -d "$site"/nvidia/*/lib | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cargo build -p ferroflow-trainer --features nccl --quiet
bin="$CARGO_TARGET_DIR/debug/ferroflow-train"

gpus=$(nvidia-smi -L | wc -l)
world=2
[ "$gpus" -ge 2 ] || world=1
echo "=== $gpus GPU(s), $world rank(s)"
port=$((20000 + RANDOM % 20000))
pids=()
for rank in $(seq 0 $((world - 1))); do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=$port RANK=$rank WORLD_SIZE=$world LOCAL_RANK=$rank \
    "$bin" selftest --backend nccl --sizes 1,7,1001,65537 --timeout 60 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "=== selftest over NCCL passed"

nproc=$world
"$bin" launch --nproc $nproc --backend nccl --epochs 1 --limit-train 1024 \
  --data-dir "${MNIST_DIR:?set MNIST_DIR}" --timeout 60
echo "=== training over NCCL passed ($nproc rank(s))"
