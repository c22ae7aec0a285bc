//! The training job from options: `JobOptions::default()` renders exactly
//! `k8s/training/pytorchjob.yaml` and `k8s/training/trainjob.yaml` (a test
//! holds them together).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::crd::{
    ContainerPatch, JobSetSpecPatch, JobSetTemplatePatch, JobSpecPatch, JobTemplatePatch,
    PodSpecPatch, PodTemplatePatch, PyTorchJob, PyTorchJobSpec, ReplicaSpec, ReplicatedJobPatch,
    RunPolicy, RuntimePatch, RuntimeRef, TrainJob, TrainJobSpec, Trainer, TrainingRuntimeSpecPatch,
};

/// The container the Training Operator v1 injects its variables into.
pub const PYTORCH_CONTAINER: &str = "pytorch";
/// The port the operator reads MASTER_PORT from (and its default, 23456).
pub const PYTORCHJOB_PORT_NAME: &str = "pytorchjob-port";
pub const PYTORCHJOB_DEFAULT_PORT: i32 = 23456;
/// Trainer v2: container and replicated job of the `torch-distributed` runtime.
pub const TRAINJOB_NODE: &str = "node";
pub const TRAINJOB_DEFAULT_PORT: i32 = 29500;
pub const TORCH_RUNTIME: &str = "torch-distributed";
/// `runtimePatches[].manager` of the patch ferroflow writes.
pub const PATCH_MANAGER: &str = "ferroflow.dev/launcher";
/// The Secret with ferroflow's admin login (k8s/base/ferroflow.yaml).
pub const CREDENTIALS_SECRET: &str = "ferroflow-auth";
/// Non-root uid/gid of the trainer image.
pub const TRAINER_UID: i64 = 65532;

/// Everything the rendered job depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct JobOptions {
    /// Job name (DNS-1035 label); also FERROFLOW_JOB_ID, which finds the
    /// MLflow run again after a restart.
    pub name: String,
    pub namespace: String,
    pub image: String,
    pub image_pull_policy: String,
    /// PyTorchJob: Worker replicas (plus one Master); TrainJob: nodes − 1.
    pub workers: i32,
    /// Arguments of `ferroflow-train` (starting with `run`).
    pub train_args: Vec<String>,
    pub tracking_uri: String,
    pub experiment: String,
    /// MNIST_DIR in the pod (an emptyDir; `--download` fills it).
    pub data_dir: String,
    pub service_account: String,
    /// CPU request = limit; keep `--threads` (default 1) ≤ this.
    pub cpu: String,
    pub memory_request: String,
    pub memory_limit: String,
    /// Size of the /dev/shm memory volume.
    pub shm_size: String,
    /// More container env (name, value), after the standard ones.
    pub extra_env: Vec<(String, String)>,
    /// The Secret holding ferroflow's admin credentials (keys
    /// `MLFLOW_AUTH_ADMIN_USERNAME`, `MLFLOW_AUTH_ADMIN_PASSWORD`), passed to
    /// the trainer as `MLFLOW_TRACKING_USERNAME`/`_PASSWORD` (basic auth);
    /// `None` for a server without auth.
    pub credentials_secret: Option<String>,
    pub backoff_limit: i32,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            name: "mnist-ddp".into(),
            namespace: "mlops-pipeline".into(),
            image: "ferroflow-trainer:0.1.0".into(),
            image_pull_policy: "IfNotPresent".into(),
            workers: 2,
            train_args: default_train_args(5, Some("DistributedTrainingModel"), &[]),
            tracking_uri: "http://ferroflow:5000".into(),
            experiment: "mnist-distributed".into(),
            data_dir: "/data/mnist".into(),
            service_account: "ferroflow-trainer".into(),
            cpu: "1".into(),
            memory_request: "1Gi".into(),
            memory_limit: "2Gi".into(),
            shm_size: "1Gi".into(),
            extra_env: Vec::new(),
            credentials_secret: Some(CREDENTIALS_SECRET.into()),
            backoff_limit: 3,
        }
    }
}

/// `run --epochs N --download --checkpoint-artifacts [--register-as NAME] EXTRA…`:
/// one rank per pod, data fetched into the pod, checkpoints kept with the
/// run's artifacts (so a restarted pod resumes without a shared volume).
pub fn default_train_args(epochs: u32, register_as: Option<&str>, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--epochs".into(),
        epochs.to_string(),
        "--download".into(),
        "--checkpoint-artifacts".into(),
    ];
    if let Some(name) = register_as.filter(|n| !n.is_empty()) {
        args.push("--register-as".into());
        args.push(name.into());
    }
    args.extend(extra.iter().cloned());
    args
}

fn labels(with_part_of: bool) -> BTreeMap<String, String> {
    let mut l = BTreeMap::from([
        (
            "app.kubernetes.io/name".to_string(),
            "ferroflow-trainer".to_string(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            "training".to_string(),
        ),
    ]);
    if with_part_of {
        l.insert("app.kubernetes.io/part-of".into(), "ferroflow".into());
    }
    l
}

fn env(opts: &JobOptions) -> Vec<EnvVar> {
    let mut vars = vec![
        ("MLFLOW_TRACKING_URI", opts.tracking_uri.clone()),
        ("MLFLOW_EXPERIMENT_NAME", opts.experiment.clone()),
        ("MNIST_DIR", opts.data_dir.clone()),
        ("FERROFLOW_JOB_ID", opts.name.clone()),
    ]
    .into_iter()
    .map(|(n, v)| EnvVar {
        name: n.into(),
        value: Some(v),
        ..Default::default()
    })
    .collect::<Vec<_>>();
    if let Some(secret) = &opts.credentials_secret {
        for (name, key) in [
            ("MLFLOW_TRACKING_USERNAME", "MLFLOW_AUTH_ADMIN_USERNAME"),
            ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD"),
        ] {
            vars.push(EnvVar {
                name: name.into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret.clone(),
                        key: key.into(),
                        optional: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    vars.extend(opts.extra_env.iter().map(|(n, v)| EnvVar {
        name: n.clone(),
        value: Some(v.clone()),
        ..Default::default()
    }));
    vars
}

fn resources(opts: &JobOptions) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(opts.cpu.clone())),
            ("memory".to_string(), Quantity(opts.memory_request.clone())),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity(opts.cpu.clone())),
            ("memory".to_string(), Quantity(opts.memory_limit.clone())),
        ])),
        ..Default::default()
    }
}

fn container_security() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(TRAINER_UID),
        run_as_group: Some(TRAINER_UID),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// No runAsNonRoot at pod level: the operator's init container runs as root.
fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        fs_group: Some(TRAINER_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mounts() -> Vec<VolumeMount> {
    [("dshm", "/dev/shm"), ("data", "/data"), ("tmp", "/tmp")]
        .into_iter()
        .map(|(n, p)| VolumeMount {
            name: n.into(),
            mount_path: p.into(),
            ..Default::default()
        })
        .collect()
}

fn volumes(opts: &JobOptions) -> Vec<Volume> {
    vec![
        Volume {
            name: "dshm".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: Some(Quantity(opts.shm_size.clone())),
            }),
            ..Default::default()
        },
        Volume {
            name: "data".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        },
    ]
}

fn pod_template(opts: &JobOptions) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(false)),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(opts.service_account.clone()),
            automount_service_account_token: Some(false),
            security_context: Some(pod_security()),
            containers: vec![Container {
                name: PYTORCH_CONTAINER.into(),
                image: Some(opts.image.clone()),
                image_pull_policy: Some(opts.image_pull_policy.clone()),
                command: Some(vec!["ferroflow-train".into()]),
                args: Some(opts.train_args.clone()),
                ports: Some(vec![ContainerPort {
                    name: Some(PYTORCHJOB_PORT_NAME.into()),
                    container_port: PYTORCHJOB_DEFAULT_PORT,
                    ..Default::default()
                }]),
                env: Some(env(opts)),
                resources: Some(resources(opts)),
                security_context: Some(container_security()),
                volume_mounts: Some(mounts()),
                ..Default::default()
            }],
            volumes: Some(volumes(opts)),
            ..Default::default()
        }),
    }
}

fn metadata(opts: &JobOptions) -> ObjectMeta {
    ObjectMeta {
        name: Some(opts.name.clone()),
        namespace: Some(opts.namespace.clone()),
        labels: Some(labels(true)),
        ..Default::default()
    }
}

/// Master 1 + Worker `workers`, restartPolicy OnFailure, cleanPodPolicy Running.
pub fn pytorchjob(opts: &JobOptions) -> PyTorchJob {
    let replica = |replicas: i32| ReplicaSpec {
        replicas: Some(replicas),
        restart_policy: Some("OnFailure".into()),
        template: pod_template(opts),
    };
    let mut specs = BTreeMap::from([("Master".to_string(), replica(1))]);
    if opts.workers > 0 {
        specs.insert("Worker".into(), replica(opts.workers));
    }
    let mut job = PyTorchJob::new(
        &opts.name,
        PyTorchJobSpec {
            nproc_per_node: Some("1".into()),
            run_policy: Some(RunPolicy {
                clean_pod_policy: Some("Running".into()),
                backoff_limit: Some(opts.backoff_limit),
                ..Default::default()
            }),
            pytorch_replica_specs: specs,
        },
    );
    job.metadata = metadata(opts);
    job
}

/// `torch-distributed` runtime, `workers + 1` nodes × 1 process; the pod
/// settings a TrainJob has no field for go in through a runtime patch.
pub fn trainjob(opts: &JobOptions) -> TrainJob {
    let pod = PodSpecPatch {
        service_account_name: Some(opts.service_account.clone()),
        security_context: Some(pod_security()),
        containers: vec![ContainerPatch {
            name: TRAINJOB_NODE.into(),
            security_context: Some(container_security()),
            volume_mounts: mounts(),
            ..Default::default()
        }],
        volumes: volumes(opts),
    };
    let patch = RuntimePatch {
        manager: PATCH_MANAGER.into(),
        training_runtime_spec: Some(TrainingRuntimeSpecPatch {
            template: Some(JobSetTemplatePatch {
                spec: Some(JobSetSpecPatch {
                    replicated_jobs: vec![ReplicatedJobPatch {
                        name: TRAINJOB_NODE.into(),
                        template: Some(JobTemplatePatch {
                            spec: Some(JobSpecPatch {
                                template: Some(PodTemplatePatch { spec: Some(pod) }),
                            }),
                        }),
                    }],
                }),
            }),
        }),
    };
    let mut job = TrainJob::new(
        &opts.name,
        TrainJobSpec {
            runtime_ref: RuntimeRef {
                api_group: Some("trainer.kubeflow.org".into()),
                kind: Some("ClusterTrainingRuntime".into()),
                name: TORCH_RUNTIME.into(),
            },
            trainer: Some(Trainer {
                image: Some(opts.image.clone()),
                command: vec!["ferroflow-train".into()],
                args: opts.train_args.clone(),
                num_nodes: Some(opts.workers + 1),
                num_proc_per_node: Some(1),
                env: env(opts),
                resources_per_node: Some(resources(opts)),
            }),
            runtime_patches: vec![patch],
            suspend: None,
        },
    );
    job.metadata = metadata(opts);
    job
}
