//! `ferroflow-k8s`: submit and follow ferroflow's training job, render it,
//! or lint manifests offline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ferroflow_k8s::{lint, manifest, submit};

#[derive(Parser)]
#[command(
    name = "ferroflow-k8s",
    version,
    about = "ferroflow's distributed training job on Kubernetes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render (or read) the job, create it, follow it to Succeeded/Failed
    /// with the master's log; exit 0 / 1 by the job's outcome, 2 on errors.
    Submit(Box<submit::SubmitArgs>),
    /// Check manifests offline (`-` reads standard input, e.g. from
    /// `kubectl kustomize`): the operators' rules, the references between
    /// the objects, and that credentials come from Secrets.
    Lint {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Submit(args) => ExitCode::from(submit::submit_main(&args) as u8),
        Command::Lint { files } => {
            let mut docs = Vec::new();
            for f in &files {
                match manifest::load_file(f) {
                    Ok(d) => docs.extend(d),
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        return ExitCode::from(2);
                    }
                }
            }
            let findings = lint::lint(&docs);
            for f in &findings {
                println!("{f}");
            }
            println!("{} objects, {} findings", docs.len(), findings.len());
            if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
