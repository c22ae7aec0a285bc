use anyhow::Result;
use clap::{Parser, Subcommand};

use ferroflow_trainer::{dist, launch, selftest, train};

/// Data-parallel MNIST training (tch + libtorch c10d) that logs to an
/// MLflow-compatible tracking server (MLFLOW_TRACKING_URI).
#[derive(Parser)]
#[command(name = "ferroflow-train", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one rank (what a Kubeflow pod runs); rank and rendezvous come from
    /// the PyTorchJob (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE) or
    /// Trainer v2 (PET_*) environment.
    Run(train::TrainArgs),
    /// Start this node's ranks as child processes (like torchrun).
    Launch {
        #[command(flatten)]
        launch: launch::LaunchOptions,
        #[command(flatten)]
        train: train::TrainArgs,
    },
    /// Submit the training job to Kubernetes (Kubeflow PyTorchJob, or
    /// `--trainjob` for Trainer v2), follow it to Succeeded or Failed with
    /// the master's log, and exit with its outcome; `--dry-run` prints YAML.
    Submit(Box<ferroflow_k8s::SubmitArgs>),
    /// Check the collectives between the ranks of the environment's contract.
    #[command(hide = true)]
    Selftest(selftest::SelftestArgs),
}

fn main() {
    let cli = Cli::parse();
    // `submit` only talks to the cluster and needs no libtorch setup.
    if !matches!(cli.command, Command::Submit(_)) {
        // Registers CUDA kernels when the CUDA libraries exist (see dist.rs).
        let _ = dist::load_cuda_kernels();
    }
    if let Err(e) = dispatch(cli) {
        // One line per cause, no backtrace: this is what an operator reads
        // in the pod log.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => train::run(&args),
        Command::Launch { launch, train: _ } => {
            // Everything after `launch` is forwarded to each rank's `run`;
            // parsing it above only validates it.
            let raw: Vec<String> = std::env::args()
                .skip_while(|a| a != "launch")
                .skip(1)
                .collect();
            launch::launch(&launch, &raw)
        }
        Command::Selftest(args) => selftest::run(&args),
        // The job's outcome is the exit status: 0 succeeded, 1 failed,
        // 2 when it could not be submitted or followed.
        Command::Submit(args) => std::process::exit(ferroflow_k8s::submit_main(&args)),
    }
}
