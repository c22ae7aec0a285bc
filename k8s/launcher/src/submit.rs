//! `submit`: render (or read) the job, create it, follow it to the end.
//!
//! Used as `ferroflow-k8s submit …` and, through [`submit_main`], as
//! `ferroflow-train submit …`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use kube::api::{Api, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use kube::Client;
use serde_json::Value;

use crate::follow::{follow, FollowOptions, JobKind, JobRef, Outcome, Reporter, StdReporter};
use crate::lint;
use crate::manifest::{self, describe};
use crate::render::{self, JobOptions};

/// Submit ferroflow's distributed MNIST job to Kubernetes (the current
/// kubeconfig context, or the in-cluster ServiceAccount) and follow it.
///
/// Renders a PyTorchJob (kubeflow.org/v1: Master 1 + Worker N) or, with
/// --trainjob, a TrainJob (trainer.kubeflow.org/v1alpha1, torch-distributed
/// runtime), or reads the objects from --manifest; creates them; follows the
/// job's conditions to Succeeded or Failed while streaming the master pod's
/// log; exits 0 when it succeeded, 1 when it failed, 2 on any other error.
#[derive(clap::Args, Clone, Debug)]
pub struct SubmitArgs {
    /// Create the objects of this YAML file (`-`: standard input) instead of
    /// rendering the job from flags; it must hold exactly one PyTorchJob or
    /// TrainJob, the one followed.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// A Kubeflow Trainer v2 TrainJob instead of a Training Operator v1 PyTorchJob.
    #[arg(long, conflicts_with = "manifest")]
    pub trainjob: bool,
    /// Job name (DNS-1035 label); also FERROFLOW_JOB_ID, which a restarted
    /// pod uses to find its MLflow run again.
    #[arg(long, default_value = "mnist-ddp")]
    pub name: String,
    #[arg(
        short = 'n',
        long,
        env = "FERROFLOW_K8S_NAMESPACE",
        default_value = "mlops-pipeline"
    )]
    pub namespace: String,
    /// The trainer image (k8s/docker/trainer.Dockerfile).
    #[arg(
        long,
        env = "FERROFLOW_TRAINER_IMAGE",
        default_value = "ferroflow-trainer:0.1.0"
    )]
    pub image: String,
    #[arg(long, default_value = "IfNotPresent")]
    pub image_pull_policy: String,
    /// Worker pods besides the master (world size = workers + 1).
    #[arg(long, default_value_t = 2)]
    pub workers: i32,
    #[arg(long, default_value_t = 5)]
    pub epochs: u32,
    /// MLFLOW_EXPERIMENT_NAME of the run.
    #[arg(long, default_value = "mnist-distributed")]
    pub experiment: String,
    /// MLFLOW_TRACKING_URI as the pods see it (the ferroflow Service).
    #[arg(long, default_value = "http://ferroflow:5000")]
    pub tracking_uri: String,
    /// Register the best model under this name (empty: do not register).
    #[arg(long, default_value = "DistributedTrainingModel")]
    pub register_as: String,
    /// Secret with ferroflow's basic-auth login for the trainer (keys
    /// MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD); empty for a server without auth.
    #[arg(long, default_value = crate::render::CREDENTIALS_SECRET)]
    pub credentials_secret: String,
    /// ServiceAccount of the training pods (no API access).
    #[arg(long, default_value = "ferroflow-trainer")]
    pub service_account: String,
    /// CPU request and limit per pod.
    #[arg(long, default_value = "1")]
    pub cpu: String,
    #[arg(long, default_value = "1Gi")]
    pub memory_request: String,
    #[arg(long, default_value = "2Gi")]
    pub memory_limit: String,
    /// Size of the /dev/shm memory volume.
    #[arg(long, default_value = "1Gi")]
    pub shm_size: String,
    /// More container environment (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Print the YAML that would be created and exit; contacts no cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Create the job and exit without following it.
    #[arg(long)]
    pub detach: bool,
    /// Follow the conditions only, not the master's log.
    #[arg(long)]
    pub no_logs: bool,
    /// Stop following after this many seconds (exit 2; the job keeps running).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// More arguments for `ferroflow-train run` in the pods (after `--`).
    #[arg(last = true, value_name = "TRAIN_ARGS")]
    pub train_args: Vec<String>,
}

impl Default for SubmitArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: SubmitArgs,
        }
        Wrapper::parse_from(["submit"]).args
    }
}

/// What `submit` creates, and the job it follows.
#[derive(Clone, Debug)]
pub struct Plan {
    pub docs: Vec<Value>,
    pub job: JobRef,
}

/// The job options the flags describe.
pub fn job_options(args: &SubmitArgs) -> Result<JobOptions> {
    let mut extra_env = Vec::new();
    for pair in &args.env {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("--env {pair:?}: expected NAME=VALUE");
        };
        extra_env.push((name.to_string(), value.to_string()));
    }
    if args.workers < 0 {
        bail!("--workers must not be negative");
    }
    Ok(JobOptions {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        image: args.image.clone(),
        image_pull_policy: args.image_pull_policy.clone(),
        workers: args.workers,
        train_args: render::default_train_args(
            args.epochs,
            Some(args.register_as.as_str()),
            &args.train_args,
        ),
        tracking_uri: args.tracking_uri.clone(),
        experiment: args.experiment.clone(),
        data_dir: JobOptions::default().data_dir,
        service_account: args.service_account.clone(),
        cpu: args.cpu.clone(),
        memory_request: args.memory_request.clone(),
        memory_limit: args.memory_limit.clone(),
        shm_size: args.shm_size.clone(),
        extra_env,
        credentials_secret: (!args.credentials_secret.is_empty())
            .then(|| args.credentials_secret.clone()),
        backoff_limit: JobOptions::default().backoff_limit,
    })
}

/// The objects to create: the manifest's, or the job rendered from the
/// flags.  Refuses a job that breaks the operator's rules (see [`lint`]).
pub fn plan(args: &SubmitArgs) -> Result<Plan> {
    let docs = match &args.manifest {
        Some(path) => manifest::load_file(path)?,
        None => {
            let opts = job_options(args)?;
            let doc = if args.trainjob {
                serde_json::to_value(render::trainjob(&opts))?
            } else {
                serde_json::to_value(render::pytorchjob(&opts))?
            };
            vec![doc]
        }
    };
    let job = manifest::find_job(&docs, &args.namespace)?;
    let problems: Vec<String> = docs
        .iter()
        .flat_map(lint::operator_rules)
        .map(|f| f.to_string())
        .collect();
    if !problems.is_empty() {
        bail!(
            "the job breaks rules the operator relies on:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(Plan { docs, job })
}

/// Creates `docs` in order (namespaced ones in their namespace, else
/// `default_namespace`).  Kinds other than the two job kinds are resolved
/// through API discovery.
pub async fn create_all(
    client: &Client,
    docs: &[Value],
    default_namespace: &str,
    reporter: &mut dyn Reporter,
) -> Result<()> {
    for doc in docs {
        let obj = manifest::to_dynamic(doc)?;
        let types = obj.types.clone().unwrap_or_default();
        let (resource, namespaced) = match JobKind::from_type(&types.api_version, &types.kind) {
            Some(kind) => (kind.api_resource(), true),
            None => {
                let (group, version) = match types.api_version.split_once('/') {
                    Some((g, v)) => (g.to_string(), v.to_string()),
                    None => (String::new(), types.api_version.clone()),
                };
                let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
                let (ar, caps) = kube::discovery::pinned_kind(client, &gvk)
                    .await
                    .with_context(|| format!("looking up {} in the cluster", types.kind))?;
                (ar, caps.scope == Scope::Namespaced)
            }
        };
        let api: Api<kube::core::DynamicObject> = if namespaced {
            let ns = obj
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_string());
            Api::namespaced_with(client.clone(), &ns, &resource)
        } else {
            Api::all_with(client.clone(), &resource)
        };
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => reporter.status(&format!("created {}", describe(doc))),
            Err(kube::Error::Api(s)) if s.code == 409 => bail!(
                "{} already exists: delete it first (kubectl delete {} {} -n {}) or choose another --name",
                describe(doc),
                types.kind.to_ascii_lowercase(),
                obj.metadata.name.clone().unwrap_or_default(),
                obj.metadata.namespace.clone().unwrap_or_else(|| default_namespace.to_string()),
            ),
            Err(e) => return Err(e).with_context(|| format!("creating {}", describe(doc))),
        }
    }
    Ok(())
}

/// `submit` against `client`.  `None` for --dry-run (the YAML went to the
/// reporter's log) and --detach.
pub async fn run_with_client(
    client: Client,
    args: &SubmitArgs,
    reporter: &mut dyn Reporter,
) -> Result<Option<Outcome>> {
    let plan = plan(args)?;
    create_all(&client, &plan.docs, &args.namespace, reporter).await?;
    if args.detach {
        return Ok(None);
    }
    let opts = FollowOptions {
        logs: !args.no_logs,
        timeout: args.timeout.map(Duration::from_secs),
        ..Default::default()
    };
    follow(client, &plan.job, &opts, reporter).await.map(Some)
}

/// `submit` with the default client (kubeconfig or in-cluster).
pub async fn run(args: &SubmitArgs, reporter: &mut dyn Reporter) -> Result<Option<Outcome>> {
    if args.dry_run {
        let plan = plan(args)?;
        for line in manifest::to_yaml_stream(&plan.docs)?.lines() {
            reporter.log(line);
        }
        return Ok(None);
    }
    let client = Client::try_default()
        .await
        .context("connecting to Kubernetes (kubeconfig or in-cluster ServiceAccount)")?;
    run_with_client(client, args, reporter).await
}

/// The whole command for a `main`: runs `submit` on its own Tokio runtime,
/// prints progress and errors, and returns the process exit code (0 job
/// succeeded / dry run / detached, 1 job failed, 2 error).
///
/// In `ferroflow-train`: `Command::Submit(args) => std::process::exit(ferroflow_k8s::submit_main(&args))`.
pub fn submit_main(args: &SubmitArgs) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return 2;
        }
    };
    let mut reporter = StdReporter;
    match runtime.block_on(run(args, &mut reporter)) {
        Ok(Some(outcome)) => outcome.exit_code(),
        Ok(None) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    }
}
