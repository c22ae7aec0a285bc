//! Checks no schema makes: the rules the Kubeflow operators rely on but
//! their CRDs do not enforce, the references between rendered objects, and
//! where credentials come from.  Everything works on plain JSON values (the
//! output of `kubectl kustomize` plus the job manifests), offline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::manifest::describe;
use crate::render::{PYTORCH_CONTAINER, TORCH_RUNTIME, TRAINJOB_NODE};

/// One problem: which rule, which object, what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub object: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.object, self.message)
    }
}

fn finding(rule: &'static str, doc: &Value, message: impl Into<String>) -> Finding {
    Finding {
        rule,
        object: describe(doc),
        message: message.into(),
    }
}

/// All checks over a set of objects.
pub fn lint(docs: &[Value]) -> Vec<Finding> {
    let mut out: Vec<Finding> = docs.iter().flat_map(operator_rules).collect();
    out.extend(cross_references(docs));
    out.extend(credentials(docs));
    out
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// RFC 1035 label as Kubernetes checks it: `[a-z]([-a-z0-9]*[a-z0-9])?`, ≤ 63.
pub fn is_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

/// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

// ---------------------------------------------------------------------------
// Operator rules
// ---------------------------------------------------------------------------

/// What the Training Operator v1 injects into container `pytorch`.
pub const PYTORCHJOB_INJECTED_ENV: [&str; 7] = [
    "MASTER_ADDR",
    "MASTER_PORT",
    "WORLD_SIZE",
    "RANK",
    "PET_NNODES",
    "PET_NODE_RANK",
    "PET_NPROC_PER_NODE",
];
/// What Kubeflow Trainer v2's torch plugin injects (and rejects in `trainer.env`).
pub const TRAINJOB_RESERVED_ENV: [&str; 5] = [
    "PET_NNODES",
    "PET_NPROC_PER_NODE",
    "PET_NODE_RANK",
    "PET_MASTER_ADDR",
    "PET_MASTER_PORT",
];
pub const RESTART_POLICIES: [&str; 4] = ["Always", "OnFailure", "Never", "ExitCode"];

/// The rules the operator relies on for a PyTorchJob or TrainJob; other
/// kinds have none.
pub fn operator_rules(doc: &Value) -> Vec<Finding> {
    match (doc["apiVersion"].as_str(), doc["kind"].as_str()) {
        (Some("kubeflow.org/v1"), Some("PyTorchJob")) => pytorchjob_rules(doc),
        (Some("trainer.kubeflow.org/v1alpha1"), Some("TrainJob")) => trainjob_rules(doc),
        _ => Vec::new(),
    }
}

fn job_name_rules(doc: &Value, longest_suffix: &str, out: &mut Vec<Finding>) {
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    if !is_dns1035_label(name) {
        out.push(finding(
            "operator/dns-1035-name",
            doc,
            format!("job name {name:?} is not a DNS-1035 label ([a-z]([-a-z0-9]*[a-z0-9])?, at most 63)"),
        ));
    } else if name.len() + longest_suffix.len() > 63 {
        out.push(finding(
            "operator/dns-1035-name",
            doc,
            format!(
                "job name {name:?} is too long: the operator's pod/Service name {name}{longest_suffix} exceeds 63 characters"
            ),
        ));
    }
}

fn container_rules(doc: &Value, pod: &Value, where_: &str, out: &mut Vec<Finding>) {
    for list in ["initContainers", "containers"] {
        for c in pod[list].as_array().into_iter().flatten() {
            let name = c["name"].as_str().unwrap_or_default();
            if !is_dns1123_label(name) {
                out.push(finding(
                    "operator/dns-1123-container-name",
                    doc,
                    format!("{where_}: container name {name:?} is not a DNS-1123 label"),
                ));
            }
            if c["image"].as_str().is_none_or(|i| i.trim().is_empty()) {
                out.push(finding(
                    "operator/image",
                    doc,
                    format!("{where_}: container {name:?} has no image"),
                ));
            }
        }
    }
}

fn pytorchjob_rules(doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let spec = &doc["spec"];
    let specs = spec["pytorchReplicaSpecs"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let max_workers = specs
        .get("Worker")
        .and_then(|w| w["replicas"].as_i64())
        .unwrap_or(1)
        .max(1);
    job_name_rules(doc, &format!("-worker-{}", max_workers - 1), &mut out);
    replica_type_rules(doc, &specs, &mut out);
    pytorchjob_policy_rules(doc, spec, &mut out);
    for (rtype, rs) in &specs {
        replica_rules(doc, rtype, rs, &mut out);
    }
    out
}

/// Master and Worker only, and exactly one Master.
fn replica_type_rules(doc: &Value, specs: &Map<String, Value>, out: &mut Vec<Finding>) {
    for key in specs.keys() {
        if key != "Master" && key != "Worker" {
            out.push(finding(
                "operator/replica-type",
                doc,
                format!("replica type {key:?}: a PyTorchJob has Master and Worker"),
            ));
        }
    }
    match specs.get("Master") {
        None => out.push(finding(
            "operator/one-master",
            doc,
            "no Master replica: without it the operator injects no MASTER_ADDR/RANK/WORLD_SIZE at all",
        )),
        Some(m) => {
            let n = m["replicas"].as_i64().unwrap_or(1);
            if n != 1 {
                out.push(finding(
                    "operator/one-master",
                    doc,
                    format!("Master has {n} replicas; exactly one (rank 0, MASTER_ADDR=<job>-master-0)"),
                ));
            }
        }
    }
}

/// The job-level fields: nprocPerNode, elasticPolicy, cleanPodPolicy.
fn pytorchjob_policy_rules(doc: &Value, spec: &Value, out: &mut Vec<Finding>) {
    if let Some(p) = spec["nprocPerNode"].as_str() {
        if p != "1" {
            out.push(finding(
                "operator/nproc-per-node",
                doc,
                format!("nprocPerNode {p:?}: ferroflow-train runs one rank per pod, so \"1\""),
            ));
        }
    } else if !spec["nprocPerNode"].is_null() {
        out.push(finding(
            "operator/nproc-per-node",
            doc,
            "nprocPerNode must be a string",
        ));
    }
    if !spec["elasticPolicy"].is_null() {
        out.push(finding(
            "operator/elastic",
            doc,
            "elasticPolicy: ferroflow-train has no elastic (c10d rendezvous) mode",
        ));
    }
    if let Some(p) = spec["runPolicy"]["cleanPodPolicy"].as_str() {
        if !["None", "Running", "All"].contains(&p) {
            out.push(finding(
                "operator/clean-pod-policy",
                doc,
                format!("cleanPodPolicy {p:?} is not one of None, Running, All"),
            ));
        }
    }
}

/// One replica spec: its restartPolicy, its `pytorch` container (where the
/// operator injects its variables) and its containers' names and images.
fn replica_rules(doc: &Value, rtype: &str, rs: &Value, out: &mut Vec<Finding>) {
    let where_ = format!("pytorchReplicaSpecs.{rtype}");
    if let Some(p) = rs.get("restartPolicy").and_then(Value::as_str) {
        if !RESTART_POLICIES.contains(&p) {
            out.push(finding(
                "operator/restart-policy",
                doc,
                format!(
                    "{where_}.restartPolicy {p:?} is not one of {}",
                    RESTART_POLICIES.join(", ")
                ),
            ));
        }
    } else if rs.get("restartPolicy").is_some_and(|v| !v.is_null()) {
        out.push(finding(
            "operator/restart-policy",
            doc,
            format!("{where_}.restartPolicy must be a string"),
        ));
    }
    let pod = &rs["template"]["spec"];
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    match containers.iter().find(|c| c["name"] == PYTORCH_CONTAINER) {
        None => out.push(finding(
            "operator/pytorch-container",
            doc,
            format!("{where_}: no container named {PYTORCH_CONTAINER:?}: the operator injects its variables and port only there"),
        )),
        Some(c) => {
            for e in c["env"].as_array().into_iter().flatten() {
                let n = e["name"].as_str().unwrap_or_default();
                if PYTORCHJOB_INJECTED_ENV.contains(&n) {
                    out.push(finding(
                        "operator/injected-env",
                        doc,
                        format!("{where_}: env {n} is set by the operator; a second definition is ambiguous"),
                    ));
                }
            }
        }
    }
    container_rules(doc, pod, &where_, out);
}

fn trainjob_rules(doc: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let spec = &doc["spec"];
    let nodes = spec["trainer"]["numNodes"].as_i64().unwrap_or(1).max(1);
    // JobSet pods: <name>-node-0-<index>-xxxxx; the Service <name> itself.
    job_name_rules(doc, &format!("-{TRAINJOB_NODE}-0-{}", nodes - 1), &mut out);
    runtime_ref_rules(doc, spec, &mut out);
    trainer_rules(doc, &spec["trainer"], &mut out);
    if spec["runtimeRef"]["name"].as_str() == Some(TORCH_RUNTIME) {
        runtime_patch_rules(doc, spec, &mut out);
    }
    out
}

/// runtimeRef names a runtime of an allowed kind; managedBy is a known controller.
fn runtime_ref_rules(doc: &Value, spec: &Value, out: &mut Vec<Finding>) {
    let rref = &spec["runtimeRef"];
    if rref["name"].as_str().is_none_or(str::is_empty) {
        out.push(finding(
            "operator/runtime-ref",
            doc,
            "runtimeRef.name is empty",
        ));
    }
    if let Some(k) = rref["kind"].as_str() {
        if k != "ClusterTrainingRuntime" && k != "TrainingRuntime" {
            out.push(finding(
                "operator/runtime-ref",
                doc,
                format!("runtimeRef.kind {k:?} is not ClusterTrainingRuntime or TrainingRuntime"),
            ));
        }
    }
    if let Some(m) = spec["managedBy"].as_str() {
        if ![
            "trainer.kubeflow.org/trainjob-controller",
            "kueue.x-k8s.io/multikueue",
        ]
        .contains(&m)
        {
            out.push(finding(
                "operator/managed-by",
                doc,
                format!("managedBy {m:?} is not allowed"),
            ));
        }
    }
}

/// `spec.trainer`: an image, at least one node, one process per node, none
/// of the variables the torch plugin reserves.
fn trainer_rules(doc: &Value, trainer: &Value, out: &mut Vec<Finding>) {
    if trainer["image"]
        .as_str()
        .is_none_or(|i| i.trim().is_empty())
    {
        out.push(finding(
            "operator/image",
            doc,
            "trainer.image is not set: the runtime's default image has no ferroflow-train",
        ));
    }
    if let Some(n) = trainer["numNodes"].as_i64() {
        if n < 1 {
            out.push(finding(
                "operator/num-nodes",
                doc,
                format!("trainer.numNodes {n} < 1"),
            ));
        }
    }
    match &trainer["numProcPerNode"] {
        Value::Number(n) if n.as_i64() == Some(1) => {}
        other => out.push(finding(
            "operator/num-proc-per-node",
            doc,
            format!(
                "trainer.numProcPerNode is {other}: must be 1 (with the default \"auto\" the torch plugin takes the CPU limit as the process count)"
            ),
        )),
    }
    for e in trainer["env"].as_array().into_iter().flatten() {
        let n = e["name"].as_str().unwrap_or_default();
        if TRAINJOB_RESERVED_ENV.contains(&n) {
            out.push(finding(
                "operator/injected-env",
                doc,
                format!("trainer.env {n} is reserved: Trainer v2 rejects a TrainJob that sets it"),
            ));
        }
    }
}

/// Patches of the torch runtime may only touch its one replicated job and container.
fn runtime_patch_rules(doc: &Value, spec: &Value, out: &mut Vec<Finding>) {
    for patch in spec["runtimePatches"].as_array().into_iter().flatten() {
        let rjobs = &patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"];
        for rj in rjobs.as_array().into_iter().flatten() {
            if rj["name"] != TRAINJOB_NODE {
                out.push(finding(
                    "operator/runtime-patch",
                    doc,
                    format!("runtime patch of replicated job {}: {TORCH_RUNTIME} has only {TRAINJOB_NODE:?}", rj["name"]),
                ));
            }
            let pod = &rj["template"]["spec"]["template"]["spec"];
            for c in pod["containers"].as_array().into_iter().flatten() {
                if c["name"] != TRAINJOB_NODE {
                    out.push(finding(
                        "operator/runtime-patch",
                        doc,
                        format!("runtime patch of container {}: {TORCH_RUNTIME}'s container is {TRAINJOB_NODE:?}", c["name"]),
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Pod templates of every workload kind
// ---------------------------------------------------------------------------

/// A pod template inside a document.
#[derive(Clone, Debug)]
pub struct PodView {
    pub doc_index: usize,
    pub namespace: String,
    /// e.g. `spec.template`, `pytorchReplicaSpecs.Worker`.
    pub path: String,
    pub labels: Map<String, Value>,
    pub spec: Value,
    /// StatefulSet volumeClaimTemplates names (mountable like volumes).
    pub claim_templates: Vec<String>,
}

fn namespace_of(doc: &Value) -> String {
    doc["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string()
}

/// The pod templates of a document (Deployment, StatefulSet, DaemonSet,
/// ReplicaSet, Job, CronJob, Pod, PyTorchJob replicas, and a TrainJob's
/// trainer as its pods will look: trainer fields + runtime patch).
pub fn pod_templates(doc_index: usize, doc: &Value) -> Vec<PodView> {
    let ns = namespace_of(doc);
    let view = |path: &str, template: &Value| PodView {
        doc_index,
        namespace: ns.clone(),
        path: path.to_string(),
        labels: template["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        spec: template["spec"].clone(),
        claim_templates: Vec::new(),
    };
    match doc["kind"].as_str().unwrap_or_default() {
        "Deployment" | "DaemonSet" | "ReplicaSet" | "Job" => {
            vec![view("spec.template", &doc["spec"]["template"])]
        }
        "StatefulSet" => {
            let mut v = view("spec.template", &doc["spec"]["template"]);
            v.claim_templates = doc["spec"]["volumeClaimTemplates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            vec![v]
        }
        "CronJob" => vec![view(
            "spec.jobTemplate.spec.template",
            &doc["spec"]["jobTemplate"]["spec"]["template"],
        )],
        "Pod" => vec![view("", doc)],
        "PyTorchJob" => doc["spec"]["pytorchReplicaSpecs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, rs)| view(&format!("pytorchReplicaSpecs.{k}"), &rs["template"]))
            .collect(),
        "TrainJob" => vec![trainjob_pod(doc_index, doc)],
        _ => Vec::new(),
    }
}

fn trainjob_pod(doc_index: usize, doc: &Value) -> PodView {
    let trainer = &doc["spec"]["trainer"];
    let mut patch_pod = json!({});
    for patch in doc["spec"]["runtimePatches"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for rj in patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if rj["name"] == TRAINJOB_NODE {
                patch_pod = rj["template"]["spec"]["template"]["spec"].clone();
            }
        }
    }
    let patch_container = patch_pod["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == TRAINJOB_NODE).cloned())
        .unwrap_or_else(|| json!({}));
    let mut env = trainer["env"].as_array().cloned().unwrap_or_default();
    env.extend(
        patch_container["env"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    let mut container = json!({
        "name": TRAINJOB_NODE,
        "image": trainer["image"].clone(),
        "env": env,
        "volumeMounts": patch_container["volumeMounts"].clone(),
    });
    for field in ["command", "args"] {
        if !trainer[field].is_null() {
            container[field] = trainer[field].clone();
        }
    }
    let mut spec = json!({
        "containers": [container],
        "volumes": patch_pod["volumes"].clone(),
    });
    if let Some(sa) = patch_pod["serviceAccountName"].as_str() {
        spec["serviceAccountName"] = json!(sa);
    }
    PodView {
        doc_index,
        namespace: namespace_of(doc),
        path: "spec.trainer".into(),
        labels: Map::new(),
        spec,
        claim_templates: Vec::new(),
    }
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().into_iter().flatten())
}

// ---------------------------------------------------------------------------
// Cross-references
// ---------------------------------------------------------------------------

struct Index<'a> {
    docs: &'a [Value],
    by_kind: BTreeMap<(String, String, String), &'a Value>,
    namespaces: BTreeSet<String>,
}

impl<'a> Index<'a> {
    fn new(docs: &'a [Value]) -> Self {
        let mut by_kind = BTreeMap::new();
        let mut namespaces = BTreeSet::new();
        for d in docs {
            let kind = d["kind"].as_str().unwrap_or_default().to_string();
            let name = d["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if kind == "Namespace" {
                namespaces.insert(name.clone());
            }
            let ns = namespace_of(d);
            namespaces.insert(ns.clone());
            by_kind.insert((kind, ns, name), d);
        }
        Index {
            docs,
            by_kind,
            namespaces,
        }
    }

    fn get(&self, kind: &str, ns: &str, name: &str) -> Option<&'a Value> {
        self.by_kind
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .copied()
    }

    fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.docs.iter().filter(move |d| d["kind"] == kind)
    }

    /// The value of `key` in a ConfigMap or Secret (Secret data decoded).
    fn data_value(&self, kind: &str, ns: &str, name: &str, key: &str) -> Option<String> {
        let obj = self.get(kind, ns, name)?;
        if let Some(v) = obj["stringData"][key].as_str() {
            return Some(v.to_string());
        }
        let raw = obj["data"][key].as_str()?;
        if kind == "Secret" {
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            Some(raw.to_string())
        }
    }

    fn data_keys(&self, kind: &str, ns: &str, name: &str) -> Option<Vec<String>> {
        let obj = self.get(kind, ns, name)?;
        let mut keys: Vec<String> = Vec::new();
        for field in ["data", "stringData", "binaryData"] {
            keys.extend(
                obj[field]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone()),
            );
        }
        Some(keys)
    }
}

fn selector_matches(selector: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Where a container's variable comes from.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    Literal,
    Secret,
    ConfigMap,
    Field,
}

/// The container's environment, resolved as the kubelet would: envFrom
/// first, then env in order, `$(VAR)` expanded against what is defined so
/// far.  Unresolvable references stay as written.
fn resolve_env(idx: &Index, ns: &str, container: &Value) -> BTreeMap<String, (String, Source)> {
    let mut vars: BTreeMap<String, (String, Source)> = BTreeMap::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or_default();
        for (kind, field, source) in [
            ("ConfigMap", "configMapRef", Source::ConfigMap),
            ("Secret", "secretRef", Source::Secret),
        ] {
            if let Some(name) = from[field]["name"].as_str() {
                for key in idx.data_keys(kind, ns, name).unwrap_or_default() {
                    let v = idx.data_value(kind, ns, name, &key).unwrap_or_default();
                    vars.insert(format!("{prefix}{key}"), (v, source.clone()));
                }
            }
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let Some(name) = e["name"].as_str() else {
            continue;
        };
        let vf = &e["valueFrom"];
        let entry = if let Some(v) = e["value"].as_str() {
            (expand(v, &vars), Source::Literal)
        } else if !vf["secretKeyRef"].is_null() {
            let r = &vf["secretKeyRef"];
            let v = idx
                .data_value(
                    "Secret",
                    ns,
                    r["name"].as_str().unwrap_or_default(),
                    r["key"].as_str().unwrap_or_default(),
                )
                .unwrap_or_default();
            (v, Source::Secret)
        } else if !vf["configMapKeyRef"].is_null() {
            let r = &vf["configMapKeyRef"];
            let v = idx
                .data_value(
                    "ConfigMap",
                    ns,
                    r["name"].as_str().unwrap_or_default(),
                    r["key"].as_str().unwrap_or_default(),
                )
                .unwrap_or_default();
            (v, Source::ConfigMap)
        } else {
            (String::new(), Source::Field)
        };
        vars.insert(name.to_string(), entry);
    }
    vars
}

/// Kubernetes' `$(VAR)` expansion (`$$` escapes).
fn expand(s: &str, vars: &BTreeMap<String, (String, Source)>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) if vars.contains_key(&inner[..end]) => {
                    out.push_str(&vars[&inner[..end]].0);
                    rest = &inner[end + 1..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The `$(NAME)` references in `s` (NAME a C identifier; `$$(` is an escape).
pub fn var_refs(s: &str) -> Vec<String> {
    let mut refs = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'$' {
            i += 2;
            continue;
        }
        if b[i] == b'$' && b[i + 1] == b'(' {
            if let Some(end) = s[i + 2..].find(')') {
                let name = &s[i + 2..i + 2 + end];
                let ident = !name.is_empty()
                    && !name.as_bytes()[0].is_ascii_digit()
                    && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
                if ident {
                    refs.push(name.to_string());
                }
            }
        }
        i += 1;
    }
    refs
}

/// Every reference between the objects: Secrets, ConfigMaps (and their
/// keys), PVCs, volumes, ServiceAccounts, probe ports, Service selectors and
/// target ports, StatefulSet governing Services, RoleBinding roles and
/// subjects, PDB selectors, `$(VAR)` references, and URLs in the env (host
/// = a Service with that port; s3:// bucket = one the bucket Job creates).
pub fn cross_references(docs: &[Value]) -> Vec<Finding> {
    let idx = Index::new(docs);
    let pods: Vec<PodView> = docs
        .iter()
        .enumerate()
        .flat_map(|(i, d)| pod_templates(i, d))
        .collect();
    let mut out = Vec::new();
    for pod in &pods {
        let place = PodPlace {
            idx: &idx,
            doc: &docs[pod.doc_index],
            pod,
        };
        pod_references(&place, &mut out);
    }
    service_references(&idx, &pods, &mut out);
    statefulset_service_references(&idx, &mut out);
    rbac_references(&idx, &mut out);
    pdb_references(&idx, &pods, &mut out);
    out
}

/// A pod template under check: the objects it may refer to, the document
/// it is part of, and its path there (which every finding about it names).
struct PodPlace<'a> {
    idx: &'a Index<'a>,
    doc: &'a Value,
    pod: &'a PodView,
}

impl PodPlace<'_> {
    fn ns(&self) -> &str {
        &self.pod.namespace
    }

    fn at(&self, what: String) -> String {
        if self.pod.path.is_empty() {
            what
        } else {
            format!("{}: {what}", self.pod.path)
        }
    }

    fn report(&self, rule: &'static str, what: String, out: &mut Vec<Finding>) {
        out.push(finding(rule, self.doc, self.at(what)));
    }
}

fn pod_references(place: &PodPlace, out: &mut Vec<Finding>) {
    service_account_reference(place, out);
    let volume_names = volume_references(place, out);
    for c in containers(&place.pod.spec) {
        let cname = c["name"].as_str().unwrap_or_default();
        volume_mount_references(place, c, cname, &volume_names, out);
        env_key_references(place, c, cname, out);
        env_from_references(place, c, cname, out);
        probe_port_references(place, c, cname, out);
        variable_references(place, c, cname, out);
        env_url_references(place, c, cname, out);
    }
}

fn service_account_reference(place: &PodPlace, out: &mut Vec<Finding>) {
    if let Some(sa) = place.pod.spec["serviceAccountName"].as_str() {
        if sa != "default" && place.idx.get("ServiceAccount", place.ns(), sa).is_none() {
            place.report(
                "refs/service-account",
                format!("ServiceAccount {sa:?} does not exist"),
                out,
            );
        }
    }
}

/// Checks the Secrets, ConfigMaps and claims the pod's volumes name, and
/// returns the names its containers may mount (volumes and claim templates).
fn volume_references(place: &PodPlace, out: &mut Vec<Finding>) -> BTreeSet<String> {
    let (idx, ns) = (place.idx, place.ns());
    let mut volume_names: BTreeSet<String> = place.pod.claim_templates.iter().cloned().collect();
    for v in place.pod.spec["volumes"].as_array().into_iter().flatten() {
        let vname = v["name"].as_str().unwrap_or_default();
        volume_names.insert(vname.to_string());
        if let Some(s) = v["secret"]["secretName"].as_str() {
            if v["secret"]["optional"] != true && idx.get("Secret", ns, s).is_none() {
                place.report(
                    "refs/secret",
                    format!("volume {vname}: Secret {s:?} does not exist"),
                    out,
                );
            }
        }
        if let Some(c) = v["configMap"]["name"].as_str() {
            if v["configMap"]["optional"] != true && idx.get("ConfigMap", ns, c).is_none() {
                place.report(
                    "refs/configmap",
                    format!("volume {vname}: ConfigMap {c:?} does not exist"),
                    out,
                );
            }
        }
        if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
            if idx.get("PersistentVolumeClaim", ns, c).is_none() {
                place.report(
                    "refs/pvc",
                    format!("volume {vname}: PersistentVolumeClaim {c:?} does not exist"),
                    out,
                );
            }
        }
    }
    volume_names
}

fn volume_mount_references(
    place: &PodPlace,
    c: &Value,
    cname: &str,
    volume_names: &BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let mname = m["name"].as_str().unwrap_or_default();
        if !volume_names.contains(mname) {
            place.report(
                "refs/volume-mount",
                format!("container {cname}: volumeMount {mname:?} names no volume"),
                out,
            );
        }
    }
}

/// `env[].valueFrom` Secret and ConfigMap keys (unless optional).
fn env_key_references(place: &PodPlace, c: &Value, cname: &str, out: &mut Vec<Finding>) {
    for e in c["env"].as_array().into_iter().flatten() {
        let ename = e["name"].as_str().unwrap_or_default();
        for (kind, field, rule) in [
            ("Secret", "secretKeyRef", "refs/secret"),
            ("ConfigMap", "configMapKeyRef", "refs/configmap"),
        ] {
            let r = &e["valueFrom"][field];
            if r.is_null() || r["optional"] == true {
                continue;
            }
            let rname = r["name"].as_str().unwrap_or_default();
            let key = r["key"].as_str().unwrap_or_default();
            match place.idx.data_keys(kind, place.ns(), rname) {
                None => place.report(
                    rule,
                    format!("container {cname}: env {ename}: {kind} {rname:?} does not exist"),
                    out,
                ),
                Some(keys) if !keys.iter().any(|k| k == key) => place.report(
                    rule,
                    format!("container {cname}: env {ename}: {kind} {rname:?} has no key {key:?}"),
                    out,
                ),
                _ => {}
            }
        }
    }
}

/// `envFrom` Secrets and ConfigMaps (unless optional).
fn env_from_references(place: &PodPlace, c: &Value, cname: &str, out: &mut Vec<Finding>) {
    for from in c["envFrom"].as_array().into_iter().flatten() {
        for (kind, field, rule) in [
            ("Secret", "secretRef", "refs/secret"),
            ("ConfigMap", "configMapRef", "refs/configmap"),
        ] {
            let r = &from[field];
            if r.is_null() || r["optional"] == true {
                continue;
            }
            let rname = r["name"].as_str().unwrap_or_default();
            if place.idx.get(kind, place.ns(), rname).is_none() {
                place.report(
                    rule,
                    format!("container {cname}: envFrom {kind} {rname:?} does not exist"),
                    out,
                );
            }
        }
    }
}

/// Probes that name their port must name one of the container's ports.
fn probe_port_references(place: &PodPlace, c: &Value, cname: &str, out: &mut Vec<Finding>) {
    let port_names: BTreeSet<&str> = c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        for handler in ["httpGet", "tcpSocket"] {
            if let Some(p) = c[probe][handler]["port"].as_str() {
                if !port_names.contains(p) {
                    place.report(
                        "refs/probe-port",
                        format!(
                            "container {cname}: {probe} port {p:?} is not a port of the container"
                        ),
                        out,
                    );
                }
            }
        }
    }
}

/// `$(VAR)` in an env value must name a variable defined before it (envFrom
/// first, then env in order); in command and args, any of the container's.
fn variable_references(place: &PodPlace, c: &Value, cname: &str, out: &mut Vec<Finding>) {
    let mut defined = env_from_names(place.idx, place.ns(), c);
    for e in c["env"].as_array().into_iter().flatten() {
        let ename = e["name"].as_str().unwrap_or_default();
        if let Some(v) = e["value"].as_str() {
            for r in var_refs(v) {
                if !defined.contains(&r) {
                    place.report("refs/env-var", format!(
                        "container {cname}: env {ename} refers to $({r}), which is not defined before it (Kubernetes leaves it unexpanded)"
                    ), out);
                }
            }
        }
        defined.insert(ename.to_string());
    }
    for field in ["command", "args"] {
        for a in c[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            for r in var_refs(a) {
                if !defined.contains(&r) {
                    place.report("refs/env-var", format!(
                        "container {cname}: {field} refers to $({r}), which is not a variable of the container"
                    ), out);
                }
            }
        }
    }
}

/// The variables a container's envFrom defines (with their prefix).
fn env_from_names(idx: &Index, ns: &str, c: &Value) -> BTreeSet<String> {
    let mut defined = BTreeSet::new();
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or_default();
        for (kind, field) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
            if let Some(n) = from[field]["name"].as_str() {
                for k in idx.data_keys(kind, ns, n).unwrap_or_default() {
                    defined.insert(format!("{prefix}{k}"));
                }
            }
        }
    }
    defined
}

/// URLs in the resolved environment (those left with a `$(` cannot be read).
fn env_url_references(place: &PodPlace, c: &Value, cname: &str, out: &mut Vec<Finding>) {
    let env = resolve_env(place.idx, place.ns(), c);
    for (vname, (value, _)) in &env {
        if value.contains("://") && !value.contains("$(") {
            check_url(
                place,
                &place.at(format!("container {cname}: env {vname}")),
                value,
                out,
            );
        }
    }
}

/// A Service's selector must match a pod template of its namespace, and
/// its target ports must be ports of every template it matches.
fn service_references(idx: &Index, pods: &[PodView], out: &mut Vec<Finding>) {
    for svc in idx.of_kind("Service") {
        let ns = namespace_of(svc);
        let Some(selector) = svc["spec"]["selector"]
            .as_object()
            .filter(|s| !s.is_empty())
        else {
            continue;
        };
        let matched: Vec<&PodView> = pods
            .iter()
            .filter(|p| p.namespace == ns && selector_matches(selector, &p.labels))
            .collect();
        if matched.is_empty() {
            out.push(finding(
                "refs/service-selector",
                svc,
                format!(
                    "selector {} matches no pod template",
                    Value::Object(selector.clone())
                ),
            ));
            continue;
        }
        for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
            service_target_port(idx.docs, svc, port, &matched, out);
        }
    }
}

fn service_target_port(
    docs: &[Value],
    svc: &Value,
    port: &Value,
    matched: &[&PodView],
    out: &mut Vec<Finding>,
) {
    let target = if port["targetPort"].is_null() {
        &port["port"]
    } else {
        &port["targetPort"]
    };
    for p in matched {
        let cports: Vec<&Value> = p.spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .collect();
        let ok = match target {
            Value::String(name) => cports.iter().any(|cp| cp["name"] == name.as_str()),
            Value::Number(n) => cports
                .iter()
                .any(|cp| cp["containerPort"].as_i64() == n.as_i64()),
            _ => false,
        };
        if !ok {
            out.push(finding(
                "refs/service-target-port",
                svc,
                format!(
                    "targetPort {target} is not a port of {} ({})",
                    describe(&docs[p.doc_index]),
                    p.path
                ),
            ));
        }
    }
}

/// A StatefulSet's serviceName must be a headless Service.
fn statefulset_service_references(idx: &Index, out: &mut Vec<Finding>) {
    for sts in idx.of_kind("StatefulSet") {
        let ns = namespace_of(sts);
        if let Some(name) = sts["spec"]["serviceName"].as_str() {
            match idx.get("Service", &ns, name) {
                None => out.push(finding(
                    "refs/statefulset-service",
                    sts,
                    format!("serviceName {name:?}: no such Service"),
                )),
                Some(svc) if svc["spec"]["clusterIP"] != "None" => out.push(finding(
                    "refs/statefulset-service",
                    sts,
                    format!("serviceName {name:?} is not a headless Service (clusterIP: None)"),
                )),
                _ => {}
            }
        }
    }
}

/// A RoleBinding's Role and ServiceAccount subjects must exist.
fn rbac_references(idx: &Index, out: &mut Vec<Finding>) {
    for rb in idx.of_kind("RoleBinding") {
        let ns = namespace_of(rb);
        let role = &rb["roleRef"];
        if role["kind"] == "Role" {
            let name = role["name"].as_str().unwrap_or_default();
            if idx.get("Role", &ns, name).is_none() {
                out.push(finding(
                    "refs/role",
                    rb,
                    format!("roleRef Role {name:?} does not exist"),
                ));
            }
        }
        for s in rb["subjects"].as_array().into_iter().flatten() {
            if s["kind"] == "ServiceAccount" {
                let sns = s["namespace"].as_str().unwrap_or(&ns);
                let name = s["name"].as_str().unwrap_or_default();
                if idx.get("ServiceAccount", sns, name).is_none() {
                    out.push(finding(
                        "refs/service-account",
                        rb,
                        format!("subject ServiceAccount {sns}/{name} does not exist"),
                    ));
                }
            }
        }
    }
}

/// A PodDisruptionBudget's selector must match a pod template.
fn pdb_references(idx: &Index, pods: &[PodView], out: &mut Vec<Finding>) {
    for pdb in idx.of_kind("PodDisruptionBudget") {
        let ns = namespace_of(pdb);
        let sel = pdb["spec"]["selector"]["matchLabels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if !pods
            .iter()
            .any(|p| p.namespace == ns && selector_matches(&sel, &p.labels))
        {
            out.push(finding(
                "refs/pdb-selector",
                pdb,
                "selector matches no pod template",
            ));
        }
    }
}

/// In-cluster DNS forms: `svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`.
fn cluster_service(idx: &Index, host: &str, ns: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [svc] => Some((svc.to_string(), ns.to_string())),
        [svc, n] if idx.namespaces.contains(*n) => Some((svc.to_string(), n.to_string())),
        [svc, n, "svc"] | [svc, n, "svc", "cluster", "local"] => {
            Some((svc.to_string(), n.to_string()))
        }
        _ => None,
    }
}

/// A URL in a container's environment (`what` names the variable): an
/// s3:// bucket must be created by the stack, an http(s) or postgres host
/// inside the cluster must be a Service with the URL's port.
fn check_url(place: &PodPlace, what: &str, value: &str, out: &mut Vec<Finding>) {
    let url = match url::Url::parse(value) {
        Ok(u) => u,
        Err(e) => {
            out.push(finding(
                "refs/env-url",
                place.doc,
                format!("{what}: {value:?} is not a URL: {e}"),
            ));
            return;
        }
    };
    let scheme = url
        .scheme()
        .split('+')
        .next()
        .unwrap_or_default()
        .to_string();
    if scheme == "s3" {
        bucket_reference(place, what, url.host_str().unwrap_or_default(), out);
        return;
    }
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        "postgres" | "postgresql" => 5432,
        _ => return,
    };
    service_url_reference(place, what, value, &url, default_port, out);
}

/// Every bucket Job of the namespace must create `bucket`.
fn bucket_reference(place: &PodPlace, what: &str, bucket: &str, out: &mut Vec<Finding>) {
    let ns = place.ns();
    let bucket_jobs: Vec<&Value> = place
        .idx
        .docs
        .iter()
        .filter(|d| {
            d["kind"] == "Job"
                && namespace_of(d) == ns
                && d["metadata"]["labels"]["app.kubernetes.io/component"] == "buckets"
        })
        .collect();
    for job in &bucket_jobs {
        let script = job["spec"]["template"]["spec"]["containers"].to_string();
        if !script.contains(bucket) {
            out.push(finding(
                "refs/bucket",
                place.doc,
                format!(
                    "{what}: bucket {bucket:?} is not created by {}",
                    describe(job)
                ),
            ));
        }
    }
}

fn service_url_reference(
    place: &PodPlace,
    what: &str,
    value: &str,
    url: &url::Url,
    default_port: i64,
    out: &mut Vec<Finding>,
) {
    let doc = place.doc;
    let Some(host) = url.host_str() else {
        out.push(finding(
            "refs/env-url",
            doc,
            format!("{what}: {value:?} has no host"),
        ));
        return;
    };
    if host == "localhost" || host.starts_with("127.") || host == "[::1]" {
        out.push(finding(
            "refs/env-url",
            doc,
            format!("{what}: {host} is the pod itself, not a Service"),
        ));
        return;
    }
    let Some((svc, svc_ns)) = cluster_service(place.idx, host, place.ns()) else {
        return; // outside the cluster (a managed service): nothing to check here
    };
    let port = url.port().map(i64::from).unwrap_or(default_port);
    match place.idx.get("Service", &svc_ns, &svc) {
        None => out.push(finding(
            "refs/env-url",
            doc,
            format!("{what}: host {host:?} is no Service in namespace {svc_ns}"),
        )),
        Some(s) => {
            let ports: Vec<i64> = s["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["port"].as_i64())
                .collect();
            if !ports.contains(&port) {
                out.push(finding(
                    "refs/env-url",
                    doc,
                    format!("{what}: Service {svc:?} has no port {port} (it has {ports:?})"),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

fn looks_like_credential(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "SECRET",
        "TOKEN",
        "ACCESS_KEY",
        "CREDENTIAL",
        "PRIVATE_KEY",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Credentials only from Secrets: no literal value for a variable whose
/// name says credential, no literal password in a URL (only a `$(VAR)` of a
/// Secret-sourced variable), no credential-named key in a ConfigMap.
pub fn credentials(docs: &[Value]) -> Vec<Finding> {
    let idx = Index::new(docs);
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        if doc["kind"] == "ConfigMap" {
            for key in doc["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                if looks_like_credential(key) {
                    out.push(finding(
                        "credentials/configmap",
                        doc,
                        format!("key {key:?} looks like a credential: keep it in a Secret"),
                    ));
                }
            }
        }
        for pod in pod_templates(i, doc) {
            for c in containers(&pod.spec) {
                let cname = c["name"].as_str().unwrap_or_default();
                let env = resolve_env(&idx, &pod.namespace, c);
                for e in c["env"].as_array().into_iter().flatten() {
                    let ename = e["name"].as_str().unwrap_or_default();
                    let Some(v) = e["value"].as_str() else {
                        continue;
                    };
                    // A value made only of $(VAR)s that come from Secrets.
                    let from_secrets = |text: &str| {
                        let refs = var_refs(text);
                        let mut rest = text.to_string();
                        for r in &refs {
                            rest = rest.replace(&format!("$({r})"), "");
                        }
                        !refs.is_empty()
                            && rest.is_empty()
                            && refs
                                .iter()
                                .all(|r| env.get(r).is_some_and(|(_, s)| *s == Source::Secret))
                    };
                    if looks_like_credential(ename) && !v.is_empty() && !from_secrets(v) {
                        out.push(finding("credentials/env", doc, format!("{}: container {cname}: env {ename} has a literal value: use secretKeyRef", pod.path)));
                    }
                    // user:password@ in a URL
                    if let Some((_, rest)) = v.split_once("://") {
                        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
                        if let Some((userinfo, _)) = authority.rsplit_once('@') {
                            if let Some((_, password)) = userinfo.split_once(':') {
                                if !from_secrets(password) {
                                    out.push(finding("credentials/url", doc, format!(
                                        "{}: container {cname}: env {ename} holds a URL whose password is not a $(VAR) from a Secret", pod.path
                                    )));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}
