#!/usr/bin/env bash
# Side by side: ferroflow-train vs PyTorch DDP (torchrun, gloo) on the same
# model, data, batch, threads and world size.  Prints samples/s (wall clock
# of the training loop, validation included) and samples per CPU-second
# (summed over ranks; robust to a noisy shared machine).  Not a test.
#
#   trainer/bench/compare_torchrun.sh [nproc=3] [epochs=5] [batch=64] [threads=1] [repeats=3]
#
# Needs MNIST_DIR, a release build of ferroflow-train (FERROFLOW_TRAIN_BIN, default
# target/release/ferroflow-train or target/trainer/release/ferroflow-train) and a full
# torch install (TORCH_VENV, default .venvs/torch-full: torch==2.13.0 + numpy, created
# here if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
nproc=${1:-3} epochs=${2:-5} batch=${3:-64} threads=${4:-1} repeats=${5:-3}
data=${MNIST_DIR:?set MNIST_DIR to the directory with t10k-*.gz}

venv=${TORCH_VENV:-.venvs/torch-full}
if [ ! -x "$venv/bin/torchrun" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0 numpy
fi
bin=${FERROFLOW_TRAIN_BIN:-}
for candidate in target/release/ferroflow-train target/trainer/release/ferroflow-train; do
  [ -n "$bin" ] || { [ -x "$candidate" ] && bin=$candidate; }
done
[ -n "$bin" ] || { echo "build it first: cargo build --release -p ferroflow-trainer" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
unset MLFLOW_TRACKING_URI RUST_BACKTRACE
common=(--epochs "$epochs" --batch-size "$batch" --threads "$threads")
for i in $(seq 1 "$repeats"); do
  "$bin" launch --nproc "$nproc" "${common[@]}" --data-dir "$data" \
    --summary-json "$out/ferroflow-$i.json" > "$out/ferroflow-$i.log" 2>&1
  OMP_NUM_THREADS=$threads "$venv/bin/torchrun" --standalone --nproc-per-node "$nproc" \
    trainer/bench/torch_ddp_mnist.py "${common[@]}" --data-dir "$data" \
    --summary-json "$out/torch-$i.json" > "$out/torch-$i.log" 2>&1
done

"$venv/bin/python" - "$out" "$repeats" "$nproc" "$epochs" "$batch" "$threads" <<'PY'
import json, statistics, sys
out, repeats, nproc, epochs, batch, threads = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
def load(name):
    return [json.load(open(f"{out}/{name}-{i}.json")) for i in range(1, repeats + 1)]
rows = {"ferroflow-train (tch)": load("ferroflow"), "torchrun DDP (PyTorch)": load("torch")}
print(f"MNIST MLP, {nproc} ranks, {epochs} epochs, batch {batch}/rank, {threads} thread(s)/rank, "
      f"gloo; median of {repeats}")
print(f"{'':26} {'samples/s':>12} {'samples/CPU-s':>14} {'final val_acc':>14}")
med = {}
for name, runs in rows.items():
    sps = statistics.median(r["samples_per_second"] for r in runs)
    spc = statistics.median(r["samples_per_cpu_second"] for r in runs)
    acc = statistics.median((r.get("final") or r["history"][-1])["val_accuracy"] for r in runs)
    med[name] = (sps, spc)
    print(f"{name:26} {sps:12.0f} {spc:14.0f} {acc:14.4f}")
(a, b), (c, d) = med.values()
print(f"{'ratio tch / PyTorch':26} {a / c:12.2f} {b / d:14.2f}")
PY
