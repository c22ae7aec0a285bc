//! Multi-document YAML in and out, and arbitrary objects as `DynamicObject`.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use kube::core::DynamicObject;
use serde::Serialize;
use serde_json::Value;

use crate::follow::{JobKind, JobRef};

/// The documents of a YAML stream as JSON values (empty documents dropped).
pub fn parse_documents(yaml: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple::<Value, Vec<Value>>(yaml).map_err(|e| anyhow!("{e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// The documents of a file (`-` reads standard input).
pub fn load_file(path: &Path) -> Result<Vec<Value>> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    parse_documents(&text).with_context(|| format!("parsing {}", path.display()))
}

/// One object as a YAML document.
pub fn to_yaml<T: Serialize>(value: &T) -> Result<String> {
    // Through serde_json first: k8s-openapi's types serialize the same way
    // to both, and the YAML writer then sees plain maps.
    let json = serde_json::to_value(value)?;
    serde_saphyr::to_string(&json).map_err(|e| anyhow!("{e}"))
}

/// Several objects as one YAML stream (`---` between documents).
pub fn to_yaml_stream(values: &[Value]) -> Result<String> {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        let doc = to_yaml(v)?;
        out.push_str(&doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// `kind/namespace/name` for messages.
pub fn describe(doc: &Value) -> String {
    let kind = doc["kind"].as_str().unwrap_or("?");
    let name = doc["metadata"]["name"].as_str().unwrap_or("?");
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// A document as a `DynamicObject` (it needs apiVersion, kind and metadata.name).
pub fn to_dynamic(doc: &Value) -> Result<DynamicObject> {
    for field in ["apiVersion", "kind"] {
        if doc[field].as_str().is_none_or(str::is_empty) {
            bail!("a document has no {field}");
        }
    }
    if doc["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        bail!("{} has no metadata.name", describe(doc));
    }
    serde_json::from_value(doc.clone()).with_context(|| format!("reading {}", describe(doc)))
}

/// The one training job among `docs`; its namespace defaults to `namespace`.
pub fn find_job(docs: &[Value], namespace: &str) -> Result<JobRef> {
    let jobs: Vec<JobRef> = docs
        .iter()
        .filter_map(|d| {
            let kind = JobKind::from_type(d["apiVersion"].as_str()?, d["kind"].as_str()?)?;
            Some(JobRef {
                kind,
                namespace: d["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(namespace)
                    .to_string(),
                name: d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect();
    match jobs.as_slice() {
        [job] => Ok(job.clone()),
        [] => bail!("the manifest holds no PyTorchJob (kubeflow.org/v1) or TrainJob (trainer.kubeflow.org/v1alpha1)"),
        _ => bail!("the manifest holds {} training jobs; submit one at a time", jobs.len()),
    }
}
