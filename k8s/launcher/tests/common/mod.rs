//! Shared by the gate's tests: paths, the rendered overlays, the job manifests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ferroflow_k8s::manifest;
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// `FERROFLOW_SHARED_DIR`, else `shared/` beside the repository (as laid
/// out for development and CI).
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("FERROFLOW_SHARED_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("../shared"),
    }
}

/// A file of the shared reference data; fails (never skips) when missing.
pub fn shared_file(rel: &str) -> PathBuf {
    let path = shared_dir().join(rel);
    assert!(
        path.is_file(),
        "missing {}: the offline gate validates against the Kubeflow CRDs in shared/reference/k8s \
         (set FERROFLOW_SHARED_DIR to the shared/ directory); they are never copied into the repository",
        path.display()
    );
    path
}

pub fn load(rel: &str) -> Vec<Value> {
    manifest::load_file(&repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e:#}"))
}

pub fn pytorchjob_manifest() -> Value {
    load("k8s/training/pytorchjob.yaml").remove(0)
}

pub fn trainjob_manifest() -> Value {
    load("k8s/training/trainjob.yaml").remove(0)
}

/// `kubectl kustomize k8s/overlays/<overlay>` as JSON values; fails with
/// kustomize's own message.
pub fn kustomize(overlay: &str) -> Vec<Value> {
    let dir = repo_root().join("k8s/overlays").join(overlay);
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run kubectl (needed by the gate to render the overlays): {e}")
        });
    assert!(
        out.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    manifest::parse_documents(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

/// The local overlay plus both job manifests: everything a local cluster runs.
pub fn local_stack() -> Vec<Value> {
    let mut docs = kustomize("local");
    docs.push(pytorchjob_manifest());
    docs.push(trainjob_manifest());
    docs
}

pub fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered output"))
}

pub fn find_mut<'a>(docs: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
    docs.iter_mut()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered output"))
}

/// The Secret whose generated name starts with `base` (kustomize appends a hash).
pub fn generated_name(docs: &[Value], kind: &str, base: &str) -> String {
    docs.iter()
        .filter(|d| d["kind"] == kind)
        .filter_map(|d| d["metadata"]["name"].as_str())
        .find(|n| *n == base || n.starts_with(&format!("{base}-")))
        .unwrap_or_else(|| panic!("no {kind} generated from {base}"))
        .to_string()
}

/// The rules that fired, for assertions.
pub fn rules(findings: &[ferroflow_k8s::lint::Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}
