//! The PyTorchJob and TrainJob, as checked in and as the launcher renders
//! them, against the operators' own CRD schemas (shared/reference/k8s, never
//! copied into the repository), made strict: where a schema lists
//! properties and says nothing about others, unknown fields are errors (the
//! API server would silently prune them — a typo'd field simply vanishes).

mod common;

use ferroflow_k8s::manifest;
use ferroflow_k8s::render::{self, JobOptions};
use jsonschema::Validator;
use serde_json::{json, Value};

const PYTORCHJOB_V17: &str = "reference/k8s/kubeflow.org_pytorchjobs.yaml";
const PYTORCHJOB_V194: &str = "reference/k8s/kubeflow.org_pytorchjobs.v1.9.4.yaml";
const TRAINJOB_V23: &str = "reference/k8s/trainer.kubeflow.org_trainjobs.v2.3.0.yaml";

/// `additionalProperties: false` wherever `properties` is listed without
/// `additionalProperties` or `x-kubernetes-preserve-unknown-fields`.
fn strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&json!(true));
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && !preserve
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            for v in map.values_mut() {
                strict(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strict),
        _ => {}
    }
}

/// The strict validator of `version` in a CRD file.  The root `metadata`
/// (only `type: object` in the CRD; the API server checks ObjectMeta) gets
/// the fields a manifest may set.
fn validator(crd_file: &str, version: &str) -> Validator {
    let crd = manifest::load_file(&common::shared_file(crd_file))
        .unwrap()
        .remove(0);
    assert_eq!(crd["kind"], "CustomResourceDefinition", "{crd_file}");
    let v = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{crd_file} has no version {version}"));
    let mut schema = v["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    schema["properties"]["metadata"] = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    });
    jsonschema::draft4::new(&schema).unwrap_or_else(|e| panic!("{crd_file}: {e}"))
}

fn errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(v: &Validator, doc: &Value, what: &str) {
    let errs = errors(v, doc);
    assert!(
        errs.is_empty(),
        "{what} does not validate:\n{}",
        errs.join("\n")
    );
}

fn pytorchjob_validators() -> Vec<(&'static str, Validator)> {
    vec![
        ("v1.7.0", validator(PYTORCHJOB_V17, "v1")),
        ("v1.9.4", validator(PYTORCHJOB_V194, "v1")),
    ]
}

#[test]
fn the_crd_files_are_the_pinned_upstream_ones() {
    // The versions the README names; a swapped file would change the gate.
    for (file, group, kind) in [
        (PYTORCHJOB_V17, "kubeflow.org", "PyTorchJob"),
        (PYTORCHJOB_V194, "kubeflow.org", "PyTorchJob"),
        (TRAINJOB_V23, "trainer.kubeflow.org", "TrainJob"),
    ] {
        let crd = manifest::load_file(&common::shared_file(file))
            .unwrap()
            .remove(0);
        assert_eq!(crd["spec"]["group"], group, "{file}");
        assert_eq!(crd["spec"]["names"]["kind"], kind, "{file}");
    }
}

#[test]
fn checked_in_pytorchjob_validates() {
    let job = common::pytorchjob_manifest();
    for (version, v) in pytorchjob_validators() {
        assert_valid(
            &v,
            &job,
            &format!("k8s/training/pytorchjob.yaml (CRD {version})"),
        );
    }
}

#[test]
fn checked_in_trainjob_validates() {
    assert_valid(
        &validator(TRAINJOB_V23, "v1alpha1"),
        &common::trainjob_manifest(),
        "k8s/training/trainjob.yaml",
    );
}

#[test]
fn rendered_variants_validate() {
    let variants = [
        JobOptions::default(),
        JobOptions {
            workers: 0,
            ..Default::default()
        },
        JobOptions {
            name: "x".into(),
            workers: 7,
            extra_env: vec![("GLOO_SOCKET_IFNAME".into(), "eth0".into())],
            train_args: render::default_train_args(1, None, &["--threads".into(), "2".into()]),
            ..Default::default()
        },
    ];
    let pj = pytorchjob_validators();
    let tj = validator(TRAINJOB_V23, "v1alpha1");
    for opts in &variants {
        let job = serde_json::to_value(render::pytorchjob(opts)).unwrap();
        for (version, v) in &pj {
            assert_valid(
                v,
                &job,
                &format!("rendered PyTorchJob {opts:?} (CRD {version})"),
            );
        }
        let job = serde_json::to_value(render::trainjob(opts)).unwrap();
        assert_valid(&tj, &job, &format!("rendered TrainJob {opts:?}"));
    }
}

#[test]
fn unknown_fields_are_errors() {
    let pj = pytorchjob_validators();
    let mut job = common::pytorchjob_manifest();
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
        ["imagePullPolcy"] = json!("Always");
    job["spec"]["runPolicy"]["cleanPodPolicyy"] = json!("All");
    job["metadata"]["lables"] = json!({"a": "b"});
    for (version, v) in &pj {
        let errs = errors(v, &job).join("\n");
        for field in ["imagePullPolcy", "cleanPodPolicyy", "lables"] {
            assert!(
                errs.contains(field),
                "CRD {version} accepted unknown field {field}:\n{errs}"
            );
        }
    }
    let tj = validator(TRAINJOB_V23, "v1alpha1");
    let mut job = common::trainjob_manifest();
    job["spec"]["trainer"]["numNode"] = json!(3);
    let errs = errors(&tj, &job).join("\n");
    assert!(
        errs.contains("numNode"),
        "TrainJob CRD accepted trainer.numNode:\n{errs}"
    );
}

#[test]
fn wrong_types_and_missing_required_fields_are_errors() {
    let pj = pytorchjob_validators();
    let mut job = common::pytorchjob_manifest();
    job["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = json!("1");
    job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["ports"][0]
        ["containerPort"] = json!("23456");
    for (version, v) in &pj {
        let errs = errors(v, &job).join("\n");
        assert!(
            errs.contains("/spec/pytorchReplicaSpecs/Master/replicas"),
            "CRD {version}:\n{errs}"
        );
        assert!(errs.contains("containerPort"), "CRD {version}:\n{errs}");
    }
    let mut job = common::pytorchjob_manifest();
    job["spec"]
        .as_object_mut()
        .unwrap()
        .remove("pytorchReplicaSpecs");
    for (version, v) in &pj {
        assert!(
            errors(v, &job).join("\n").contains("pytorchReplicaSpecs"),
            "CRD {version}"
        );
    }
    let tj = validator(TRAINJOB_V23, "v1alpha1");
    let mut job = common::trainjob_manifest();
    job["spec"]["runtimeRef"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert!(errors(&tj, &job).join("\n").contains("name"));
}
