//! `selftest`: exercises the collectives between real processes (used by the
//! integration tests and handy on a new cluster): all-reduce and broadcast
//! over odd sizes and dtypes, then optionally all-reduces until a peer dies.

use std::time::Duration;

use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

use crate::dist::{Backend, ProcessGroup};
use crate::env::Rendezvous;

#[derive(Clone, Debug, clap::Args)]
pub struct SelftestArgs {
    /// Tensor sizes to exchange.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 7, 1000, 65_537])]
    pub sizes: Vec<usize>,
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[arg(long, value_enum, default_value_t = Backend::Gloo)]
    pub backend: Backend,
    /// Afterwards, keep all-reducing every this many ms until a collective
    /// fails (tests kill a peer and expect an error, not a hang).
    #[arg(long)]
    pub loop_ms: Option<u64>,
}

pub fn run(args: &SelftestArgs) -> Result<()> {
    let rendezvous = Rendezvous::from_process_env()?;
    let (rank, world) = (rendezvous.rank, rendezvous.world_size);
    let device = match args.backend {
        Backend::Gloo => Device::Cpu,
        Backend::Nccl => Device::Cuda(rendezvous.local_rank),
    };
    let mut group = ProcessGroup::connect(
        &rendezvous,
        args.backend,
        device,
        Duration::from_secs(args.timeout),
    )?;
    let expected_sum = (world * (world + 1) / 2) as f64;
    for &size in &args.sizes {
        for kind in [Kind::Float, Kind::Double, Kind::Int64] {
            let mut t = Tensor::full([size as i64], (rank + 1) as f64, (kind, device));
            group.all_reduce_sum(&mut t)?;
            let min = t.min().to_kind(Kind::Double).double_value(&[]);
            let max = t.max().to_kind(Kind::Double).double_value(&[]);
            ensure!(
                min == expected_sum && max == expected_sum,
                "all_reduce of {size} {kind:?}: got [{min}, {max}], want {expected_sum}"
            );
        }
        let root = size % world;
        let mut t = if rank == root {
            Tensor::arange(size as i64, (Kind::Float, device)) + 1000.0 * root as f64
        } else {
            Tensor::full([size as i64], -1.0, (Kind::Float, device))
        };
        group.broadcast(&mut t, root)?;
        let want = Tensor::arange(size as i64, (Kind::Float, device)) + 1000.0 * root as f64;
        ensure!(
            t.equal(&want),
            "broadcast of {size} from rank {root} differs on rank {rank}"
        );
    }
    group.barrier()?;
    println!(
        "selftest ok: rank {rank} of {world}, sizes {:?}",
        args.sizes
    );
    if let Some(ms) = args.loop_ms {
        let mut round = 0u64;
        loop {
            let mut t = Tensor::ones([1024], (Kind::Float, device));
            group.all_reduce_sum(&mut t)?;
            round += 1;
            if round.is_multiple_of(20) {
                println!("rank {rank}: {round} rounds");
            }
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
    Ok(())
}
