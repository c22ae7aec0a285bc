//! The rendezvous contract a Kubeflow pod hands to its training process.
//!
//! Two contracts are understood, checked in this order:
//! - Kubeflow Trainer v2 (TrainJob, torchrun-style): `PET_NNODES`,
//!   `PET_NODE_RANK`, `PET_NPROC_PER_NODE`, `PET_MASTER_ADDR`,
//!   `PET_MASTER_PORT` (default 29500), plus `LOCAL_RANK` for one process of
//!   several on a node;
//! - Kubeflow v1 PyTorchJob: `MASTER_ADDR`, `MASTER_PORT` (default 23456),
//!   `RANK`, `WORLD_SIZE`.
//!
//! Without either, the process is a single rank.

use anyhow::{bail, Context, Result};

pub const PYTORCHJOB_DEFAULT_PORT: u16 = 23456;
pub const TRAINER_V2_DEFAULT_PORT: u16 = 29500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contract {
    PyTorchJob,
    TrainerV2,
    SingleProcess,
}

/// Where this process sits in the job and how to reach rank 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendezvous {
    pub contract: Contract,
    pub master_addr: String,
    pub master_port: u16,
    pub rank: usize,
    pub world_size: usize,
    /// Index among the processes of this node (device index on GPU nodes).
    pub local_rank: usize,
}

/// The node-level view of Trainer v2, used by `launch` to spawn local ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLayout {
    pub master_addr: String,
    pub master_port: u16,
    pub nnodes: usize,
    pub node_rank: usize,
    pub nproc_per_node: usize,
}

impl Rendezvous {
    /// Reads the contract from the process environment.
    pub fn from_process_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the contract through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        if is_trainer_v2(&get) {
            let node = NodeLayout::from_lookup(&get)?;
            let local_rank = match get("LOCAL_RANK") {
                Some(v) => parse_usize("LOCAL_RANK", &v)?,
                None if node.nproc_per_node == 1 => 0,
                None => bail!(
                    "PET_NPROC_PER_NODE={} but LOCAL_RANK is not set: start the node's \
                     processes with `ferroflow-train launch`",
                    node.nproc_per_node
                ),
            };
            if local_rank >= node.nproc_per_node {
                bail!(
                    "LOCAL_RANK={local_rank} is not below PET_NPROC_PER_NODE={}",
                    node.nproc_per_node
                );
            }
            return Ok(Rendezvous {
                contract: Contract::TrainerV2,
                master_addr: node.master_addr.clone(),
                master_port: node.master_port,
                rank: node.node_rank * node.nproc_per_node + local_rank,
                world_size: node.nnodes * node.nproc_per_node,
                local_rank,
            });
        }
        if get("MASTER_ADDR").is_some() || get("RANK").is_some() || get("WORLD_SIZE").is_some() {
            let world_size = match get("WORLD_SIZE") {
                Some(v) => parse_usize("WORLD_SIZE", &v)?,
                None => 1,
            };
            let rank = match get("RANK") {
                Some(v) => parse_usize("RANK", &v)?,
                None => 0,
            };
            if world_size == 0 {
                bail!("WORLD_SIZE must be at least 1");
            }
            if rank >= world_size {
                bail!("RANK={rank} is not below WORLD_SIZE={world_size}");
            }
            let local_rank = match get("LOCAL_RANK") {
                Some(v) => parse_usize("LOCAL_RANK", &v)?,
                None => 0,
            };
            return Ok(Rendezvous {
                contract: Contract::PyTorchJob,
                master_addr: get("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".to_owned()),
                master_port: match get("MASTER_PORT") {
                    Some(v) => parse_port("MASTER_PORT", &v)?,
                    None => PYTORCHJOB_DEFAULT_PORT,
                },
                rank,
                world_size,
                local_rank,
            });
        }
        Ok(Rendezvous {
            contract: Contract::SingleProcess,
            master_addr: "127.0.0.1".to_owned(),
            master_port: PYTORCHJOB_DEFAULT_PORT,
            rank: 0,
            world_size: 1,
            local_rank: 0,
        })
    }

    pub fn is_leader(&self) -> bool {
        self.rank == 0
    }
}

/// Whether the environment is Trainer v2's. The v1.7 Training Operator
/// also injects `PET_NNODES`, `PET_NODE_RANK` and `PET_NPROC_PER_NODE` into
/// PyTorchJob pods, next to `MASTER_ADDR`, but never `PET_MASTER_ADDR`,
/// which Trainer v2 always sets: so `PET_MASTER_ADDR` decides, and
/// `PET_NNODES` only counts when no PyTorchJob `MASTER_ADDR` is present.
fn is_trainer_v2(get: &dyn Fn(&str) -> Option<String>) -> bool {
    get("PET_MASTER_ADDR").is_some()
        || (get("PET_NNODES").is_some() && get("MASTER_ADDR").is_none())
}

impl NodeLayout {
    /// The Trainer v2 node layout, if the environment carries one.
    pub fn from_process_env() -> Result<Option<Self>> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if !is_trainer_v2(&get) {
            return Ok(None);
        }
        Self::from_lookup(&get).map(Some)
    }

    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let nnodes = match get("PET_NNODES") {
            Some(v) => parse_usize("PET_NNODES", &v)?,
            None => 1,
        };
        let node_rank = match get("PET_NODE_RANK") {
            Some(v) => parse_usize("PET_NODE_RANK", &v)?,
            None => 0,
        };
        // torchrun also accepts "auto"/"cpu"/"gpu" here; on a CPU pod those
        // mean one process.
        let nproc_per_node = match get("PET_NPROC_PER_NODE") {
            Some(v) if v.trim().parse::<usize>().is_ok() => parse_usize("PET_NPROC_PER_NODE", &v)?,
            _ => 1,
        };
        if nnodes == 0 || nproc_per_node == 0 {
            bail!("PET_NNODES and PET_NPROC_PER_NODE must be at least 1");
        }
        if node_rank >= nnodes {
            bail!("PET_NODE_RANK={node_rank} is not below PET_NNODES={nnodes}");
        }
        Ok(NodeLayout {
            master_addr: get("PET_MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".to_owned()),
            master_port: match get("PET_MASTER_PORT") {
                Some(v) => parse_port("PET_MASTER_PORT", &v)?,
                None => TRAINER_V2_DEFAULT_PORT,
            },
            nnodes,
            node_rank,
            nproc_per_node,
        })
    }
}

fn parse_usize(name: &str, value: &str) -> Result<usize> {
    value
        .trim()
        .parse()
        .with_context(|| format!("{name}={value:?} is not a non-negative integer"))
}

fn parse_port(name: &str, value: &str) -> Result<u16> {
    value
        .trim()
        .parse()
        .with_context(|| format!("{name}={value:?} is not a TCP port"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rendezvous(pairs: &[(&str, &str)]) -> Result<Rendezvous> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rendezvous::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn no_contract_is_a_single_process() {
        let r = rendezvous(&[]).unwrap();
        assert_eq!(r.contract, Contract::SingleProcess);
        assert_eq!((r.rank, r.world_size), (0, 1));
        assert!(r.is_leader());
    }

    #[test]
    fn pytorchjob_master_and_worker() {
        let master = rendezvous(&[
            ("MASTER_ADDR", "mnist-master-0"),
            ("MASTER_PORT", "23456"),
            ("RANK", "0"),
            ("WORLD_SIZE", "3"),
        ])
        .unwrap();
        assert_eq!(master.contract, Contract::PyTorchJob);
        assert_eq!(master.master_addr, "mnist-master-0");
        assert_eq!(
            (master.rank, master.world_size, master.master_port),
            (0, 3, 23456)
        );

        let worker = rendezvous(&[
            ("MASTER_ADDR", "mnist-master-0"),
            ("RANK", "2"),
            ("WORLD_SIZE", "3"),
        ])
        .unwrap();
        assert_eq!(
            (worker.rank, worker.master_port),
            (2, PYTORCHJOB_DEFAULT_PORT)
        );
        assert!(!worker.is_leader());
    }

    #[test]
    fn pytorchjob_rejects_bad_values() {
        assert!(rendezvous(&[("MASTER_ADDR", "m"), ("RANK", "3"), ("WORLD_SIZE", "3")]).is_err());
        assert!(rendezvous(&[("MASTER_ADDR", "m"), ("RANK", "x"), ("WORLD_SIZE", "3")]).is_err());
        assert!(rendezvous(&[("MASTER_ADDR", "m"), ("MASTER_PORT", "70000")]).is_err());
        assert!(rendezvous(&[("WORLD_SIZE", "0")]).is_err());
    }

    #[test]
    fn trainer_v2_one_process_per_node() {
        let r = rendezvous(&[
            ("PET_NNODES", "3"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "1"),
            ("PET_MASTER_ADDR", "mnist-node-0-0.mnist"),
        ])
        .unwrap();
        assert_eq!(r.contract, Contract::TrainerV2);
        assert_eq!(r.master_addr, "mnist-node-0-0.mnist");
        assert_eq!(
            (r.rank, r.world_size, r.master_port),
            (1, 3, TRAINER_V2_DEFAULT_PORT)
        );
    }

    #[test]
    fn trainer_v2_several_processes_per_node() {
        let r = rendezvous(&[
            ("PET_NNODES", "2"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "4"),
            ("PET_MASTER_ADDR", "node-0"),
            ("PET_MASTER_PORT", "29400"),
            ("LOCAL_RANK", "3"),
        ])
        .unwrap();
        assert_eq!(
            (r.rank, r.world_size, r.local_rank, r.master_port),
            (7, 8, 3, 29400)
        );
        // Several processes per node need LOCAL_RANK (set by `launch`).
        assert!(rendezvous(&[("PET_NNODES", "1"), ("PET_NPROC_PER_NODE", "2")]).is_err());
        assert!(rendezvous(&[("PET_NNODES", "2"), ("PET_NODE_RANK", "2")]).is_err());
    }

    #[test]
    fn trainer_v2_takes_precedence_over_pytorchjob() {
        let r = rendezvous(&[
            ("PET_NNODES", "1"),
            ("PET_NPROC_PER_NODE", "auto"),
            ("PET_MASTER_ADDR", "node-0"),
            ("MASTER_ADDR", "ignored"),
            ("RANK", "5"),
            ("WORLD_SIZE", "9"),
        ])
        .unwrap();
        assert_eq!(r.contract, Contract::TrainerV2);
        assert_eq!((r.rank, r.world_size), (0, 1));
    }

    #[test]
    fn pytorchjob_pods_of_the_v1_7_operator_carry_pet_variables_too() {
        // Training Operator v1.7 injects these into every PyTorchJob pod.
        let r = rendezvous(&[
            ("MASTER_ADDR", "mnist-ddp-master-0"),
            ("MASTER_PORT", "23456"),
            ("WORLD_SIZE", "3"),
            ("RANK", "2"),
            ("PET_NNODES", "3"),
            ("PET_NODE_RANK", "2"),
            ("PET_NPROC_PER_NODE", "1"),
        ])
        .unwrap();
        assert_ne!(r.contract, Contract::TrainerV2);
        assert_eq!(r.master_addr, "mnist-ddp-master-0");
        assert_eq!((r.rank, r.world_size, r.master_port), (2, 3, 23456));
    }
}
