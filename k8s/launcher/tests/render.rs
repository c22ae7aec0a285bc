//! The launcher renders exactly the checked-in job manifests, flags change
//! what they say, and `submit` plans what it will create.

mod common;

use clap::Parser;
use ferroflow_k8s::follow::JobKind;
use ferroflow_k8s::manifest::{self, find_job};
use ferroflow_k8s::render::{self, JobOptions};
use ferroflow_k8s::submit::{self, SubmitArgs};
use serde_json::{json, Value};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SubmitArgs,
}

fn args(argv: &[&str]) -> SubmitArgs {
    Cli::try_parse_from(std::iter::once("submit").chain(argv.iter().copied()))
        .unwrap()
        .args
}

fn container(job: &Value, replica: &str) -> Value {
    job["spec"]["pytorchReplicaSpecs"][replica]["template"]["spec"]["containers"][0].clone()
}

fn env_value(c: &Value, name: &str) -> Option<String> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(str::to_string))
}

#[test]
fn default_pytorchjob_is_the_checked_in_manifest() {
    let rendered = serde_json::to_value(render::pytorchjob(&JobOptions::default())).unwrap();
    assert_eq!(
        rendered,
        common::pytorchjob_manifest(),
        "k8s/training/pytorchjob.yaml and render::pytorchjob(JobOptions::default()) differ:\n{}",
        manifest::to_yaml(&rendered).unwrap()
    );
}

#[test]
fn default_trainjob_is_the_checked_in_manifest() {
    let rendered = serde_json::to_value(render::trainjob(&JobOptions::default())).unwrap();
    assert_eq!(
        rendered,
        common::trainjob_manifest(),
        "k8s/training/trainjob.yaml and render::trainjob(JobOptions::default()) differ:\n{}",
        manifest::to_yaml(&rendered).unwrap()
    );
}

#[test]
fn pytorchjob_has_the_design_shape() {
    let job = common::pytorchjob_manifest();
    let spec = &job["spec"];
    assert_eq!(spec["pytorchReplicaSpecs"]["Master"]["replicas"], 1);
    assert_eq!(spec["pytorchReplicaSpecs"]["Worker"]["replicas"], 2);
    assert_eq!(spec["runPolicy"]["cleanPodPolicy"], "Running");
    assert_eq!(spec["nprocPerNode"], "1");
    for replica in ["Master", "Worker"] {
        let rs = &spec["pytorchReplicaSpecs"][replica];
        assert_eq!(rs["restartPolicy"], "OnFailure");
        let pod = &rs["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "ferroflow-trainer");
        assert_eq!(pod["automountServiceAccountToken"], false);
        let c = container(&job, replica);
        assert_eq!(c["name"], "pytorch");
        assert_eq!(
            c["ports"],
            json!([{"name": "pytorchjob-port", "containerPort": 23456}])
        );
        assert_eq!(
            env_value(&c, "MLFLOW_TRACKING_URI").as_deref(),
            Some("http://ferroflow:5000")
        );
        assert_eq!(
            env_value(&c, "FERROFLOW_JOB_ID").as_deref(),
            Some("mnist-ddp")
        );
        let shm = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "dshm")
            .unwrap();
        assert_eq!(shm["emptyDir"]["medium"], "Memory");
        assert!(c["volumeMounts"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "dshm", "mountPath": "/dev/shm"})));
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert!(
            c["resources"]["limits"]["cpu"].is_string()
                && c["resources"]["requests"]["memory"].is_string()
        );
    }
}

#[test]
fn trainjob_has_the_design_shape() {
    let job = common::trainjob_manifest();
    let spec = &job["spec"];
    assert_eq!(spec["runtimeRef"]["name"], "torch-distributed");
    assert_eq!(spec["trainer"]["numNodes"], 3);
    assert_eq!(spec["trainer"]["numProcPerNode"], 1);
    let pod = &spec["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
        ["replicatedJobs"][0]["template"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ferroflow-trainer");
    assert_eq!(pod["volumes"][0]["emptyDir"]["medium"], "Memory");
}

#[test]
fn trainjob_patch_targets_the_runtime_it_names() {
    // The runtime patch must name the replicated job and container of the
    // torch-distributed ClusterTrainingRuntime (shared reference copy).
    let runtime = manifest::load_file(&common::shared_file(
        "reference/k8s/trainer-v2.3.0_runtime_torch_distributed.yaml",
    ))
    .unwrap()
    .remove(0);
    assert_eq!(runtime["metadata"]["name"], "torch-distributed");
    let rjob = &runtime["spec"]["template"]["spec"]["replicatedJobs"][0];
    let rcontainer = &rjob["template"]["spec"]["template"]["spec"]["containers"][0]["name"];
    let job = common::trainjob_manifest();
    let patch = &job["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
        ["replicatedJobs"][0];
    assert_eq!(patch["name"], rjob["name"]);
    assert_eq!(
        patch["template"]["spec"]["template"]["spec"]["containers"][0]["name"],
        *rcontainer
    );
}

#[test]
fn flags_change_the_rendered_job() {
    let a = args(&[
        "--name",
        "mnist-big",
        "-n",
        "team-a",
        "--image",
        "registry.local/trainer:1",
        "--workers",
        "4",
        "--epochs",
        "2",
        "--experiment",
        "exp",
        "--tracking-uri",
        "http://ferroflow.mlops:5000",
        "--register-as",
        "",
        "--cpu",
        "2",
        "--env",
        "GLOO_SOCKET_IFNAME=eth0",
        "--",
        "--threads",
        "2",
    ]);
    let opts = submit::job_options(&a).unwrap();
    let job = serde_json::to_value(render::pytorchjob(&opts)).unwrap();
    assert_eq!(job["metadata"]["name"], "mnist-big");
    assert_eq!(job["metadata"]["namespace"], "team-a");
    assert_eq!(job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"], 4);
    let c = container(&job, "Worker");
    assert_eq!(c["image"], "registry.local/trainer:1");
    assert_eq!(
        c["args"],
        json!([
            "run",
            "--epochs",
            "2",
            "--download",
            "--checkpoint-artifacts",
            "--threads",
            "2"
        ])
    );
    assert_eq!(
        env_value(&c, "FERROFLOW_JOB_ID").as_deref(),
        Some("mnist-big")
    );
    assert_eq!(
        env_value(&c, "MLFLOW_EXPERIMENT_NAME").as_deref(),
        Some("exp")
    );
    assert_eq!(env_value(&c, "GLOO_SOCKET_IFNAME").as_deref(), Some("eth0"));
    assert_eq!(c["resources"]["limits"]["cpu"], "2");

    let tj = serde_json::to_value(render::trainjob(&opts)).unwrap();
    assert_eq!(tj["spec"]["trainer"]["numNodes"], 5);
    assert_eq!(tj["spec"]["trainer"]["args"], c["args"]);
}

#[test]
fn a_job_without_workers_has_only_a_master() {
    let opts = JobOptions {
        workers: 0,
        ..Default::default()
    };
    let job = serde_json::to_value(render::pytorchjob(&opts)).unwrap();
    let specs = job["spec"]["pytorchReplicaSpecs"].as_object().unwrap();
    assert_eq!(specs.keys().collect::<Vec<_>>(), ["Master"]);
}

#[test]
fn bad_env_flag_is_an_error() {
    let err = submit::job_options(&args(&["--env", "NOEQUALS"])).unwrap_err();
    assert!(err.to_string().contains("NAME=VALUE"), "{err}");
}

#[test]
fn dry_run_yaml_round_trips() {
    for trainjob in [false, true] {
        let a = SubmitArgs {
            trainjob,
            ..Default::default()
        };
        let plan = submit::plan(&a).unwrap();
        let yaml = manifest::to_yaml_stream(&plan.docs).unwrap();
        assert!(
            yaml.contains(if trainjob {
                "kind: TrainJob"
            } else {
                "kind: PyTorchJob"
            }),
            "{yaml}"
        );
        assert_eq!(manifest::parse_documents(&yaml).unwrap(), plan.docs);
        assert_eq!(
            plan.job.kind,
            if trainjob {
                JobKind::TrainJob
            } else {
                JobKind::PyTorchJob
            }
        );
        assert_eq!(
            (plan.job.namespace.as_str(), plan.job.name.as_str()),
            ("mlops-pipeline", "mnist-ddp")
        );
    }
}

#[test]
fn plan_from_a_manifest_finds_its_one_job() {
    let dir = std::env::temp_dir().join(format!("ferroflow-k8s-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("job.yaml");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  a: b\n";
    let job =
        std::fs::read_to_string(common::repo_root().join("k8s/training/trainjob.yaml")).unwrap();
    std::fs::write(&file, format!("{cm}---\n{job}")).unwrap();
    let a = SubmitArgs {
        manifest: Some(file.clone()),
        ..Default::default()
    };
    let plan = submit::plan(&a).unwrap();
    assert_eq!(plan.docs.len(), 2);
    assert_eq!(plan.job.kind, JobKind::TrainJob);

    // A job that breaks the operator's rules is refused before anything is created.
    let bad = job.replace("numProcPerNode: 1", "numProcPerNode: 4");
    std::fs::write(&file, bad).unwrap();
    let err = submit::plan(&a).unwrap_err().to_string();
    assert!(err.contains("numProcPerNode"), "{err}");

    std::fs::write(&file, cm).unwrap();
    let err = submit::plan(&a).unwrap_err().to_string();
    assert!(err.contains("no PyTorchJob"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn two_jobs_in_one_manifest_are_refused() {
    let docs = vec![common::pytorchjob_manifest(), common::trainjob_manifest()];
    let err = find_job(&docs, "x").unwrap_err().to_string();
    assert!(err.contains("2 training jobs"), "{err}");
}
