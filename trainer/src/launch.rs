//! `launch`: runs this node's ranks as child processes with the PyTorchJob
//! env contract (like torchrun), prefixes their output with the rank, and
//! fails if any rank fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::env::NodeLayout;

/// After the first rank fails, how long the others get to notice (a dead
/// peer fails their next collective at once) before they are terminated.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, clap::Args)]
pub struct LaunchOptions {
    /// Local ranks to start (default: $PET_NPROC_PER_NODE, else 1).
    #[arg(long)]
    pub nproc: Option<usize>,
    /// Address of rank 0 (default: $PET_MASTER_ADDR, $MASTER_ADDR, 127.0.0.1).
    #[arg(long)]
    pub master_addr: Option<String>,
    /// Port of rank 0's store (default: $PET_MASTER_PORT, $MASTER_PORT, else a free port).
    #[arg(long)]
    pub master_port: Option<u16>,
}

/// The child's command line: `run` plus the launch arguments minus the
/// launch-only options.
pub fn child_args(launch_args: &[String]) -> Vec<String> {
    let launch_only = ["--nproc", "--master-addr", "--master-port"];
    let mut out = vec!["run".to_owned()];
    let mut skip_value = false;
    for arg in launch_args {
        if skip_value {
            skip_value = false;
            continue;
        }
        if launch_only.contains(&arg.as_str()) {
            skip_value = true;
            continue;
        }
        if launch_only
            .iter()
            .any(|o| arg.starts_with(&format!("{o}=")))
        {
            continue;
        }
        out.push(arg.clone());
    }
    out
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn forward(
    stream: impl Read + Send + 'static,
    rank: usize,
    to_stderr: bool,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if to_stderr {
                let _ = writeln!(std::io::stderr().lock(), "[rank {rank}] {line}");
            } else {
                let _ = writeln!(std::io::stdout().lock(), "[rank {rank}] {line}");
            }
        }
    })
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// Where this node's ranks find each other and which ranks they are.
struct NodePlan {
    nproc: usize,
    node_rank: usize,
    world: usize,
    master_addr: String,
    master_port: u16,
}

impl NodePlan {
    /// Options first, then the node-level (Trainer v2) variables, then the
    /// flat MASTER_* contract, then single-node defaults.
    fn resolve(options: &LaunchOptions) -> Result<Self> {
        let node = NodeLayout::from_process_env()?;
        let nproc = options
            .nproc
            .or(node.as_ref().map(|n| n.nproc_per_node))
            .unwrap_or(1);
        if nproc == 0 {
            bail!("--nproc must be at least 1");
        }
        let (nnodes, node_rank) = node.as_ref().map_or((1, 0), |n| (n.nnodes, n.node_rank));
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let master_addr = options
            .master_addr
            .clone()
            .or(node.as_ref().map(|n| n.master_addr.clone()))
            .or_else(|| env("MASTER_ADDR"))
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let master_port = match options.master_port {
            Some(port) => port,
            None => match (&node, env("MASTER_PORT")) {
                (Some(n), _) => n.master_port,
                (None, Some(port)) => port.parse().context("MASTER_PORT is not a port")?,
                (None, None) => free_port()?,
            },
        };
        Ok(NodePlan {
            nproc,
            node_rank,
            world: nnodes * nproc,
            master_addr,
            master_port,
        })
    }

    /// The command of local rank `local_rank`, with the flat PyTorchJob
    /// contract in its environment and its output piped.
    fn rank_command(&self, exe: &Path, args: &[String], local_rank: usize) -> Command {
        let rank = self.node_rank * self.nproc + local_rank;
        let mut command = Command::new(exe);
        command
            .args(args)
            .env("MASTER_ADDR", &self.master_addr)
            .env("MASTER_PORT", self.master_port.to_string())
            .env("RANK", rank.to_string())
            .env("WORLD_SIZE", self.world.to_string())
            .env("LOCAL_RANK", local_rank.to_string())
            .env("LOCAL_WORLD_SIZE", self.nproc.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The children get the flat PyTorchJob contract; the node-level
        // Trainer v2 variables would be read first otherwise.
        for var in [
            "PET_NNODES",
            "PET_NODE_RANK",
            "PET_NPROC_PER_NODE",
            "PET_MASTER_ADDR",
            "PET_MASTER_PORT",
        ] {
            command.env_remove(var);
        }
        // SAFETY: prctl is async-signal-safe; ranks must not outlive the
        // launcher (a killed launcher would leave them waiting on peers).
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command
    }
}

pub fn launch(options: &LaunchOptions, launch_args: &[String]) -> Result<()> {
    let plan = NodePlan::resolve(options)?;
    let exe = std::env::current_exe().context("locating ferroflow-train")?;
    let args = child_args(launch_args);

    let mut children: Vec<(usize, Child)> = Vec::new();
    let mut forwarders = Vec::new();
    for local_rank in 0..plan.nproc {
        let rank = plan.node_rank * plan.nproc + local_rank;
        let mut child = plan
            .rank_command(&exe, &args, local_rank)
            .spawn()
            .with_context(|| format!("starting rank {rank}"))?;
        println!("[launch] rank {rank} pid {}", child.id());
        if let Some(out) = child.stdout.take() {
            forwarders.push(forward(out, rank, false));
        }
        if let Some(err) = child.stderr.take() {
            forwarders.push(forward(err, rank, true));
        }
        children.push((rank, child));
    }
    println!(
        "[launch] {} local ranks of {}, master {}:{}",
        plan.nproc, plan.world, plan.master_addr, plan.master_port
    );

    let failures = supervise(children)?;
    for f in forwarders {
        let _ = f.join();
    }
    if let Some(RankFailures {
        first: (rank, status),
        all,
    }) = failures
    {
        bail!(
            "rank {rank} failed first ({}); all failures: {}",
            describe(status),
            all.join(", ")
        );
    }
    Ok(())
}

/// The ranks that failed: the first one, and all of them described.
struct RankFailures {
    first: (usize, ExitStatus),
    all: Vec<String>,
}

/// Waits for every rank; once one has failed, the others get [`GRACE`] to
/// fail on their own before they are killed.
fn supervise(children: Vec<(usize, Child)>) -> Result<Option<RankFailures>> {
    let mut first_failure: Option<(usize, ExitStatus)> = None;
    let mut failed_at: Option<Instant> = None;
    let mut running: Vec<(usize, Child)> = children;
    let mut failures = Vec::new();
    while !running.is_empty() {
        let mut still = Vec::new();
        for (rank, mut child) in running {
            match child.try_wait()? {
                Some(status) if status.success() => {}
                Some(status) => {
                    failures.push(format!("rank {rank}: {}", describe(status)));
                    if first_failure.is_none() {
                        first_failure = Some((rank, status));
                        failed_at = Some(Instant::now());
                    }
                }
                None => still.push((rank, child)),
            }
        }
        running = still;
        if let Some(at) = failed_at {
            if at.elapsed() > GRACE {
                for (rank, child) in running.iter_mut() {
                    eprintln!("[launch] terminating rank {rank}");
                    let _ = child.kill();
                }
            }
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(first_failure.map(|first| RankFailures {
        first,
        all: failures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_launch_only_options() {
        let args: Vec<String> = [
            "--nproc",
            "3",
            "--epochs",
            "2",
            "--master-port=1234",
            "--master-addr",
            "h",
            "--lr",
            "0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(child_args(&args), ["run", "--epochs", "2", "--lr", "0.1"]);
    }
}
