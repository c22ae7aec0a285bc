//! The rules the Kubeflow operators rely on that their CRDs do not check:
//! each one passes on the checked-in jobs and fails on a job that breaks it.

mod common;

use common::rules;
use ferroflow_k8s::lint::{self, is_dns1035_label, is_dns1123_label, operator_rules};
use serde_json::{json, Value};

fn pytorch_rules(mutate: impl FnOnce(&mut Value)) -> Vec<lint::Finding> {
    let mut job = common::pytorchjob_manifest();
    mutate(&mut job);
    operator_rules(&job)
}

fn trainjob_rules(mutate: impl FnOnce(&mut Value)) -> Vec<lint::Finding> {
    let mut job = common::trainjob_manifest();
    mutate(&mut job);
    operator_rules(&job)
}

fn assert_fires(findings: &[lint::Finding], rule: &str, needle: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.message.contains(needle)),
        "expected [{rule}] mentioning {needle:?}, got {findings:#?}"
    );
}

#[test]
fn checked_in_jobs_follow_the_rules() {
    assert_eq!(operator_rules(&common::pytorchjob_manifest()), vec![]);
    assert_eq!(operator_rules(&common::trainjob_manifest()), vec![]);
}

#[test]
fn dns_labels() {
    for ok in ["mnist-ddp", "a", "a1-b2"] {
        assert!(is_dns1035_label(ok), "{ok}");
    }
    for bad in [
        "",
        "1mnist",
        "MNIST",
        "mnist_ddp",
        "mnist-",
        "mnist.ddp",
        &"a".repeat(64),
    ] {
        assert!(!is_dns1035_label(bad), "{bad}");
    }
    assert!(is_dns1123_label("1pytorch"));
    assert!(!is_dns1123_label("PyTorch"));
}

#[test]
fn container_must_be_named_pytorch() {
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["name"] =
            json!("trainer")
    });
    assert_fires(&f, "operator/pytorch-container", "Worker");
}

#[test]
fn exactly_one_master() {
    let f = pytorch_rules(|j| j["spec"]["pytorchReplicaSpecs"]["Master"]["replicas"] = json!(2));
    assert_fires(&f, "operator/one-master", "2 replicas");
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]
            .as_object_mut()
            .unwrap()
            .remove("Master");
    });
    assert_fires(&f, "operator/one-master", "no Master");
    let f = pytorch_rules(|j| {
        let w = j["spec"]["pytorchReplicaSpecs"]["Worker"].clone();
        j["spec"]["pytorchReplicaSpecs"]["Chief"] = w;
    });
    assert_fires(&f, "operator/replica-type", "Chief");
}

#[test]
fn restart_policy_from_the_enum() {
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]["Worker"]["restartPolicy"] = json!("OnFailur")
    });
    assert_fires(&f, "operator/restart-policy", "OnFailur");
    for ok in ["Always", "OnFailure", "Never", "ExitCode"] {
        assert_eq!(
            pytorch_rules(
                |j| j["spec"]["pytorchReplicaSpecs"]["Worker"]["restartPolicy"] = json!(ok)
            ),
            vec![]
        );
    }
}

#[test]
fn job_name_is_a_dns_1035_label() {
    let f = pytorch_rules(|j| j["metadata"]["name"] = json!("MNIST_ddp"));
    assert_fires(&f, "operator/dns-1035-name", "MNIST_ddp");
    let f = pytorch_rules(|j| j["metadata"]["name"] = json!("7mnist"));
    assert_fires(&f, "operator/dns-1035-name", "7mnist");
    // 60 characters: a label, but <job>-worker-1 is not.
    let f = pytorch_rules(|j| j["metadata"]["name"] = json!("m".repeat(60)));
    assert_fires(&f, "operator/dns-1035-name", "exceeds 63");
    let f = trainjob_rules(|j| j["metadata"]["name"] = json!("mnist.ddp"));
    assert_fires(&f, "operator/dns-1035-name", "mnist.ddp");
}

#[test]
fn every_container_has_an_image() {
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .unwrap()
            .remove("image");
    });
    assert_fires(&f, "operator/image", "pytorch");
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["initContainers"] =
            json!([{"name": "fetch", "image": " "}]);
    });
    assert_fires(&f, "operator/image", "fetch");
    let f = trainjob_rules(|j| {
        j["spec"]["trainer"]
            .as_object_mut()
            .unwrap()
            .remove("image");
    });
    assert_fires(&f, "operator/image", "trainer.image");
}

#[test]
fn one_process_per_pod() {
    let f = pytorch_rules(|j| j["spec"]["nprocPerNode"] = json!("auto"));
    assert_fires(&f, "operator/nproc-per-node", "auto");
    let f = pytorch_rules(|j| j["spec"]["elasticPolicy"] = json!({"rdzvBackend": "c10d"}));
    assert_fires(&f, "operator/elastic", "elastic");
    let f = trainjob_rules(|j| {
        j["spec"]["trainer"]
            .as_object_mut()
            .unwrap()
            .remove("numProcPerNode");
    });
    assert_fires(&f, "operator/num-proc-per-node", "auto");
    let f = trainjob_rules(|j| j["spec"]["trainer"]["numProcPerNode"] = json!(2));
    assert_fires(&f, "operator/num-proc-per-node", "2");
}

#[test]
fn injected_variables_are_not_set_by_hand() {
    let f = pytorch_rules(|j| {
        j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "MASTER_ADDR", "value": "10.0.0.1"}))
    });
    assert_fires(&f, "operator/injected-env", "MASTER_ADDR");
    let f = trainjob_rules(|j| {
        j["spec"]["trainer"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "PET_MASTER_PORT", "value": "1234"}))
    });
    assert_fires(&f, "operator/injected-env", "PET_MASTER_PORT");
}

#[test]
fn trainjob_runtime_and_patch_names() {
    let f = trainjob_rules(|j| j["spec"]["runtimeRef"]["kind"] = json!("TrainingRuntimes"));
    assert_fires(&f, "operator/runtime-ref", "TrainingRuntimes");
    let f = trainjob_rules(|j| j["spec"]["managedBy"] = json!("me"));
    assert_fires(&f, "operator/managed-by", "me");
    let f = trainjob_rules(|j| {
        j["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
            ["replicatedJobs"][0]["name"] = json!("trainer")
    });
    assert_fires(&f, "operator/runtime-patch", "trainer");
    let f = trainjob_rules(|j| {
        j["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
            ["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["name"] =
            json!("pytorch")
    });
    assert_fires(&f, "operator/runtime-patch", "pytorch");
}

#[test]
fn other_kinds_have_no_operator_rules() {
    let f = operator_rules(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "X_Y"}}),
    );
    assert!(f.is_empty());
    assert!(rules(&f).is_empty());
}
