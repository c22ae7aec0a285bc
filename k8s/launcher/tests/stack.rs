//! The rendered overlays (`kubectl kustomize`) plus the job manifests:
//! every reference resolves, env URLs reach real Services and ports,
//! credentials come from Secrets only, and the design's requirements hold.
//! Each check is also shown to fail on a broken copy of the stack.

mod common;

use common::{find, find_mut, generated_name, kustomize, local_stack, rules};
use ferroflow_k8s::lint::{self, Finding};
use serde_json::{json, Value};

fn lint_all(docs: &[Value]) -> Vec<Finding> {
    lint::lint(docs)
}

fn assert_clean(docs: &[Value], what: &str) {
    let f = lint_all(docs);
    assert!(
        f.is_empty(),
        "{what}:\n{}",
        f.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Breaks a copy of the local stack and expects `rule` with `needle`.
fn broken(rule: &str, needle: &str, mutate: impl FnOnce(&mut Vec<Value>)) {
    let mut docs = local_stack();
    mutate(&mut docs);
    let f = lint_all(&docs);
    assert!(
        f.iter()
            .any(|f| f.rule == rule && f.to_string().contains(needle)),
        "expected [{rule}] mentioning {needle:?}, got:\n{}",
        f.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn container_mut<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    let spec = &mut doc["spec"]["template"]["spec"];
    for list in ["initContainers", "containers"] {
        if let Some(cs) = spec[list].as_array_mut() {
            if let Some(i) = cs.iter().position(|c| c["name"] == name) {
                return &mut spec[list][i];
            }
        }
    }
    panic!("no container {name}");
}

fn env_mut<'a>(container: &'a mut Value, name: &str) -> &'a mut Value {
    let env = container["env"].as_array_mut().unwrap();
    let i = env
        .iter()
        .position(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"));
    &mut env[i]
}

fn pytorch_env_mut<'a>(docs: &'a mut [Value], replica: &str, name: &str) -> &'a mut Value {
    let job = find_mut(docs, "PyTorchJob", "mnist-ddp");
    env_mut(
        &mut job["spec"]["pytorchReplicaSpecs"][replica]["template"]["spec"]["containers"][0],
        name,
    )
}

// --- the renders -------------------------------------------------------------

#[test]
fn every_overlay_renders_into_the_namespace() {
    for overlay in ["local", "external"] {
        let docs = kustomize(overlay);
        assert!(docs.len() >= 10, "{overlay}: {} objects", docs.len());
        for d in &docs {
            if d["kind"] == "Namespace" {
                assert_eq!(d["metadata"]["name"], "mlops-pipeline");
            } else {
                assert_eq!(
                    d["metadata"]["namespace"], "mlops-pipeline",
                    "{overlay}: {}",
                    d["metadata"]["name"]
                );
            }
        }
    }
}

#[test]
fn local_stack_is_consistent() {
    assert_clean(&local_stack(), "overlays/local + k8s/training");
}

#[test]
fn external_stack_is_consistent() {
    let mut docs = kustomize("external");
    docs.push(common::pytorchjob_manifest());
    docs.push(common::trainjob_manifest());
    assert_clean(&docs, "overlays/external + k8s/training");
    for (kind, name) in [
        ("StatefulSet", "postgres"),
        ("Deployment", "minio"),
        ("Job", "minio-buckets"),
    ] {
        assert!(
            !docs
                .iter()
                .any(|d| d["kind"] == kind && d["metadata"]["name"] == name),
            "{kind} {name} in external"
        );
    }
    let cm = find(&docs, "ConfigMap", "ferroflow-config");
    assert!(
        cm["data"]["DB_HOST"].as_str().unwrap().contains('.'),
        "external DB_HOST should be a managed host"
    );
    assert_eq!(cm["data"]["DB_SSLMODE"], "require");
}

#[test]
fn the_base_alone_lacks_exactly_the_overlay_secrets() {
    // The base is not deployable by design: its Secrets come from an
    // overlay.  The reference check sees precisely that, nothing else.
    let out = std::process::Command::new("kubectl")
        .args(["kustomize"])
        .arg(common::repo_root().join("k8s/base"))
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs =
        ferroflow_k8s::manifest::parse_documents(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let f = lint::cross_references(&docs);
    assert!(!f.is_empty());
    for finding in &f {
        assert_eq!(finding.rule, "refs/secret", "{finding}");
        assert!(
            [
                "postgres-credentials",
                "minio-credentials",
                "ferroflow-s3",
                "ferroflow-auth",
                "ferroflow-auth-config"
            ]
            .iter()
            .any(|s| finding.message.contains(s)),
            "{finding}"
        );
    }
}

// --- each check catches its breakage -------------------------------------------

#[test]
fn a_missing_secret_is_caught() {
    broken("refs/secret", "minio-credentials", |docs| {
        let name = generated_name(docs, "Secret", "minio-credentials");
        docs.retain(|d| !(d["kind"] == "Secret" && d["metadata"]["name"] == name.as_str()));
    });
}

#[test]
fn a_missing_secret_key_is_caught() {
    broken("refs/secret", "has no key \"POSTGRES_PASS\"", |docs| {
        let c = container_mut(find_mut(docs, "StatefulSet", "postgres"), "postgres");
        env_mut(c, "POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"]["key"] =
            json!("POSTGRES_PASS");
    });
}

#[test]
fn a_missing_configmap_key_is_caught() {
    broken("refs/configmap", "has no key \"DB_HOST\"", |docs| {
        let cm = find_mut(docs, "ConfigMap", "ferroflow-config");
        cm["data"].as_object_mut().unwrap().remove("DB_HOST");
    });
}

#[test]
fn a_database_url_to_the_wrong_port_is_caught() {
    broken("refs/env-url", "no port 5433", |docs| {
        find_mut(docs, "ConfigMap", "ferroflow-config")["data"]["DB_PORT"] = json!("5433");
    });
}

#[test]
fn an_s3_endpoint_to_no_service_is_caught() {
    broken("refs/env-url", "\"mino\" is no Service", |docs| {
        find_mut(docs, "ConfigMap", "ferroflow-config")["data"]["MLFLOW_S3_ENDPOINT_URL"] =
            json!("http://mino:9000");
    });
}

#[test]
fn a_tracking_uri_off_the_ferroflow_service_is_caught() {
    broken(
        "refs/env-url",
        "Service \"ferroflow\" has no port 8080",
        |docs| {
            pytorch_env_mut(docs, "Worker", "MLFLOW_TRACKING_URI")["value"] =
                json!("http://ferroflow:8080");
        },
    );
    broken("refs/env-url", "the pod itself", |docs| {
        pytorch_env_mut(docs, "Master", "MLFLOW_TRACKING_URI")["value"] =
            json!("http://localhost:5000");
    });
    broken(
        "refs/env-url",
        "\"ferroflow-server.mlops-pipeline.svc\" is no Service",
        |docs| {
            let job = find_mut(docs, "TrainJob", "mnist-ddp");
            let env = job["spec"]["trainer"]["env"].as_array_mut().unwrap();
            env[0]["value"] = json!("http://ferroflow-server.mlops-pipeline.svc:5000");
        },
    );
}

#[test]
fn an_artifact_bucket_nobody_creates_is_caught() {
    broken("refs/bucket", "mlflow-artefacts", |docs| {
        find_mut(docs, "ConfigMap", "ferroflow-config")["data"]["MLFLOW_ARTIFACTS_DESTINATION"] =
            json!("s3://mlflow-artefacts/");
    });
}

#[test]
fn service_selectors_and_target_ports_are_checked() {
    broken("refs/service-target-port", "\"htp\"", |docs| {
        find_mut(docs, "Service", "ferroflow")["spec"]["ports"][0]["targetPort"] = json!("htp");
    });
    broken("refs/service-target-port", "9999", |docs| {
        find_mut(docs, "Service", "minio")["spec"]["ports"][0]["targetPort"] = json!(9999);
    });
    broken("refs/service-selector", "matches no pod", |docs| {
        find_mut(docs, "Service", "postgres")["spec"]["selector"] =
            json!({"app.kubernetes.io/name": "postgresql"});
    });
    broken("refs/pdb-selector", "matches no pod", |docs| {
        find_mut(docs, "PodDisruptionBudget", "ferroflow")["spec"]["selector"]["matchLabels"] =
            json!({"app": "x"});
    });
    broken("refs/statefulset-service", "pg", |docs| {
        find_mut(docs, "StatefulSet", "postgres")["spec"]["serviceName"] = json!("pg");
    });
}

#[test]
fn volumes_probes_and_accounts_are_checked() {
    broken("refs/volume-mount", "\"temp\"", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "ferroflow");
        c["volumeMounts"][0]["name"] = json!("temp");
    });
    broken("refs/pvc", "minio-date", |docs| {
        let d = find_mut(docs, "Deployment", "minio");
        d["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] =
            json!("minio-date");
    });
    broken("refs/probe-port", "\"https\"", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "ferroflow");
        c["readinessProbe"]["httpGet"]["port"] = json!("https");
    });
    broken("refs/service-account", "ferroflow-trainr", |docs| {
        let job = find_mut(docs, "PyTorchJob", "mnist-ddp");
        job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["serviceAccountName"] =
            json!("ferroflow-trainr");
    });
    broken("refs/service-account", "ferroflow-launchr", |docs| {
        find_mut(docs, "RoleBinding", "ferroflow-launcher")["subjects"][0]["name"] =
            json!("ferroflow-launchr");
    });
    broken("refs/role", "ferroflow-launch", |docs| {
        find_mut(docs, "RoleBinding", "ferroflow-launcher")["roleRef"]["name"] =
            json!("ferroflow-launch");
    });
}

#[test]
fn variable_references_must_be_defined_before_use() {
    // Kubernetes expands $(VAR) only for variables defined earlier in the
    // list: the URI after its parts works, before them it stays literal.
    broken("refs/env-var", "$(DB_PASSWORD)", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "ferroflow");
        let env = c["env"].as_array_mut().unwrap();
        let uri = env
            .iter()
            .position(|e| e["name"] == "MLFLOW_BACKEND_STORE_URI")
            .unwrap();
        let pw = env.remove(env.iter().position(|e| e["name"] == "DB_PASSWORD").unwrap());
        env.insert(uri, pw); // now after the URI that uses it
    });
    broken("refs/env-var", "args refers to $(BACKEND_URI)", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "db-upgrade");
        c["args"] = json!(["db", "upgrade", "$(BACKEND_URI)"]);
    });
}

#[test]
fn credentials_come_from_secrets_only() {
    broken("credentials/env", "AWS_SECRET_ACCESS_KEY", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "ferroflow");
        *env_mut(c, "AWS_SECRET_ACCESS_KEY") =
            json!({"name": "AWS_SECRET_ACCESS_KEY", "value": "hunter22"});
    });
    broken("credentials/url", "MLFLOW_BACKEND_STORE_URI", |docs| {
        let c = container_mut(find_mut(docs, "Deployment", "ferroflow"), "ferroflow");
        env_mut(c, "MLFLOW_BACKEND_STORE_URI")["value"] =
            json!("postgresql://$(DB_USER):hunter22@$(DB_HOST):$(DB_PORT)/$(DB_NAME)?sslmode=$(DB_SSLMODE)");
    });
    broken("credentials/configmap", "DB_PASSWORD", |docs| {
        find_mut(docs, "ConfigMap", "ferroflow-config")["data"]["DB_PASSWORD"] = json!("x");
    });
}

// --- the design's requirements ---------------------------------------------------

fn all_containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|l| pod[*l].as_array().into_iter().flatten())
        .collect()
}

#[test]
fn ferroflow_deployment_meets_the_design() {
    let docs = kustomize("local");
    let d = find(&docs, "Deployment", "ferroflow");
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let init = &pod["initContainers"][0];
    assert_eq!(init["args"][0], "db");
    assert_eq!(init["args"][1], "upgrade");
    let server = &pod["containers"][0];
    // Readiness asks the database; liveness only the process.
    assert_eq!(server["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(server["livenessProbe"]["httpGet"]["path"], "/health");
    // Prometheus metrics on their own port, not the Service's.
    let args: Vec<&str> = server["args"]
        .as_array()
        .expect("server args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let at = args
        .iter()
        .position(|a| *a == "--metrics-address")
        .expect("--metrics-address");
    assert_eq!(args.get(at + 1), Some(&"0.0.0.0:9090"));
    assert!(server["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .any(|p| p["name"] == "metrics" && p["containerPort"] == 9090));
    for c in all_containers(pod) {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{}", c["name"]);
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{}", c["name"]);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{}", c["name"]);
        for kind in ["requests", "limits"] {
            for res in ["cpu", "memory"] {
                assert!(
                    c["resources"][kind][res].is_string(),
                    "{} {kind}.{res}",
                    c["name"]
                );
            }
        }
    }
    let cm = find(&docs, "ConfigMap", "ferroflow-config");
    assert_eq!(
        cm["data"]["MLFLOW_ARTIFACTS_DESTINATION"],
        "s3://mlflow-artifacts/"
    );
    assert_eq!(cm["data"]["MLFLOW_S3_ENDPOINT_URL"], "http://minio:9000");
    // The credentials reach the server only through secretKeyRef.
    for name in [
        "DB_USER",
        "DB_PASSWORD",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        let e = server["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap();
        assert!(e["valueFrom"]["secretKeyRef"]["name"].is_string(), "{name}");
    }
}

#[test]
fn postgres_minio_and_buckets_meet_the_design() {
    let docs = kustomize("local");
    let pg = find(&docs, "StatefulSet", "postgres");
    let c = &pg["spec"]["template"]["spec"]["containers"][0];
    assert!(c["readinessProbe"]["exec"]["command"]
        .to_string()
        .contains("pg_isready"));
    assert_eq!(
        pg["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        "data"
    );
    assert_eq!(
        find(&docs, "Service", "postgres")["spec"]["clusterIP"],
        "None"
    );
    find(&docs, "PersistentVolumeClaim", "minio-data");
    let job = find(&docs, "Job", "minio-buckets");
    let script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(
        script.contains("mb --ignore-existing"),
        "bucket creation must be idempotent"
    );
    for bucket in ["mlflow-artifacts", "dvc-data"] {
        assert!(script.contains(bucket), "{bucket}");
    }
    for (kind, name) in [
        ("Deployment", "minio"),
        ("Job", "minio-buckets"),
        ("StatefulSet", "postgres"),
    ] {
        let pod = &find(&docs, kind, name)["spec"]["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"], true,
            "{kind} {name}"
        );
    }
    for svc in ["ferroflow-ui", "minio-console"] {
        assert_eq!(
            find(&docs, "Service", svc)["spec"]["type"],
            "LoadBalancer",
            "{svc}"
        );
    }
}

#[test]
fn rbac_is_least_privilege() {
    let docs = kustomize("local");
    let role = find(&docs, "Role", "ferroflow-launcher");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": ["create", "get", "watch"]},
            {"apiGroups": ["trainer.kubeflow.org"], "resources": ["trainjobs"], "verbs": ["create", "get", "watch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}
        ])
    );
    assert!(!docs
        .iter()
        .any(|d| d["kind"] == "ClusterRole" || d["kind"] == "ClusterRoleBinding"));
    for sa in ["ferroflow", "ferroflow-trainer"] {
        assert_eq!(
            find(&docs, "ServiceAccount", sa)["automountServiceAccountToken"],
            false,
            "{sa}"
        );
        let bound = docs
            .iter()
            .filter(|d| d["kind"] == "RoleBinding")
            .any(|rb| {
                rb["subjects"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s["name"] == sa)
            });
        assert!(!bound, "{sa} must have no Role");
    }
}

#[test]
fn the_lint_binary_reports_and_fails() {
    // `ferroflow-k8s lint` over a broken file: a finding and exit status 1.
    let dir = std::env::temp_dir().join(format!("ferroflow-k8s-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut job = common::pytorchjob_manifest();
    job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = json!(3);
    let file = dir.join("job.yaml");
    std::fs::write(&file, ferroflow_k8s::manifest::to_yaml(&job).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferroflow-k8s"))
        .arg("lint")
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[operator/one-master]"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
    assert!(rules(&[]).is_empty());
}
