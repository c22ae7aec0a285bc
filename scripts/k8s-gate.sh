#!/usr/bin/env bash
# The offline Kubernetes gate (issue #5).  No cluster and no Docker engine
# run here, so it checks everything that can be checked without one:
#   1. setup      .venvs/k8s with kubernetes-validate (k8s/requirements.txt;
#                 idempotent), kubectl present
#   2. versions   the Kubernetes version validated against = the one
#                 k8s-openapi is built for (its v1_XX feature)
#   3. render     `kubectl kustomize` of every overlay
#   4. validate   `kubernetes-validate --strict` of every render (unknown
#                 fields are errors; a kind without a built-in schema too)
#   5. cargo      `cargo test -p ferroflow-k8s`: the jobs against the
#                 Kubeflow CRDs made strict (../shared/reference/k8s, or
#                 FERROFLOW_SHARED_DIR), the operators' rules, the references
#                 between the rendered objects, the launcher against mock
#                 API servers
# The rehearsal of the pods (compat-tests/test_k8s_rehearsal.py) runs with
# the compat suite.  K8S_GATE_SKIP_CARGO=1 leaves out step 5 (for a caller
# that runs `cargo test --workspace` itself).  Prints one line per step and
# a summary; exits 1 when a step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

venv=.venvs/k8s
requirements=k8s/requirements.txt
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
results=()
failed=0

step() {
  local name=$1; shift
  echo "=== k8s-gate: $name"
  if "$@"; then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name")
    failed=$((failed + 1))
  fi
}

setup() {
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ -x "$venv/bin/kubernetes-validate" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    echo "$venv is up to date"
  else
    python3 -m venv "$venv" &&
      "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" &&
      echo "$want" > "$stamp" || return 1
  fi
  command -v kubectl >/dev/null || { echo "kubectl is not installed (kubectl kustomize renders the overlays)"; return 1; }
}

# k8s-openapi's one v1_XX feature fixes the API the launcher speaks; the
# built-in kinds are validated against the same Kubernetes version.
k8s_version() {
  local feature
  feature=$(grep -oE 'k8s-openapi = \{[^}]*"v1_[0-9]+"' k8s/launcher/Cargo.toml | grep -oE 'v1_[0-9]+')
  [ "$(echo "$feature" | wc -w)" -eq 1 ] || { echo "expected exactly one v1_XX feature of k8s-openapi, got: $feature" >&2; return 1; }
  echo "1.${feature#v1_}.0"
}

versions() {
  local v
  v=$(k8s_version) || return 1
  echo "k8s-openapi feature → Kubernetes $v"
  "$venv/bin/python" -c "import importlib.resources as r, sys; \
    sys.exit(0 if (r.files('kubernetes_validate') / 'kubernetes-json-schema' / 'v$v-local-strict').is_dir() else 1)" ||
    { echo "kubernetes-validate ships no schemas for $v"; return 1; }
}

render() {
  local dir name ok=0
  for dir in k8s/overlays/*/; do
    name=$(basename "$dir")
    if kubectl kustomize "$dir" > "$out/$name.yaml"; then
      echo "$name: $(grep -c '^kind:' "$out/$name.yaml") objects"
    else
      echo "$name: kubectl kustomize failed"
      ok=1
    fi
  done
  return $ok
}

validate() {
  local v f report ok=0
  v=$(k8s_version) || return 1
  for f in "$out"/*.yaml; do
    report=$("$venv/bin/kubernetes-validate" -k "$v" --strict --quiet "$f" 2>&1)
    local rc=$?
    [ -n "$report" ] && echo "$report"
    # A warning means a kind without a schema: overlays hold built-in kinds only.
    if [ $rc -ne 0 ] || grep -q '^WARN' <<<"$report"; then
      echo "$(basename "$f" .yaml): FAILED strict validation against Kubernetes $v"
      ok=1
    else
      echo "$(basename "$f" .yaml): $(grep -c '^kind:' "$f") objects valid against Kubernetes $v (strict)"
    fi
  done
  return $ok
}

cargo_tests() {
  cargo test -p ferroflow-k8s --no-fail-fast 2>&1 | tee "$out/cargo.log"
  local rc=${PIPESTATUS[0]}
  grep -E '^test result:' "$out/cargo.log" |
    awk '{p+=$4; f+=$6} END {printf "ferroflow-k8s: %d tests passed, %d failed\n", p, f}'
  return "$rc"
}

step setup setup
step versions versions
step render render
step validate validate
if [ "${K8S_GATE_SKIP_CARGO:-0}" = 1 ]; then
  # scripts/test-all.sh has run them already in its `cargo test --workspace`.
  echo "=== k8s-gate: cargo-test skipped (K8S_GATE_SKIP_CARGO=1)"
  results+=("SKIP  cargo-test (K8S_GATE_SKIP_CARGO=1)")
else
  step cargo-test cargo_tests
fi

echo "=== k8s-gate summary"
printf '  %s\n' "${results[@]}"
passed=$(printf '%s\n' "${results[@]}" | grep -c '^PASS')
echo "k8s-gate: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
