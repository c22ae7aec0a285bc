//! One rank of data-parallel training.
//!
//! The collective sequence is identical on every rank (gloo aborts a process
//! whose peers disagree): the start broadcasts, one gradient all-reduce per
//! step (equal step counts from the sampler), two metric all-reduces per
//! epoch, one at the end.  Only rank 0 talks to the tracking server and
//! writes checkpoints; decisions that depend on metrics are taken from
//! all-reduced values, so every rank takes the same ones.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::json;
use tch::{nn, Device, Kind, Tensor};

use crate::checkpoint::{self, Checkpoint, EpochMetrics, Meta};
use crate::data::{self, DatasetKind, Split};
use crate::dist::{Backend, ProcessGroup};
use crate::env::Rendezvous;
use crate::mlmodel::{self, ModelDescription};
use crate::model::{ModelKind, Net};
use crate::sampler::DistributedSampler;
use crate::tracking::{self, Metric, RunInfo, TrackingClient};

#[derive(Clone, Debug, clap::Args)]
pub struct TrainArgs {
    /// Epochs to train (an epoch is one pass over the training split).
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Batch size per rank (the global batch is this × world size).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,
    /// Dropout of the MLP's hidden layer.
    #[arg(long, default_value_t = 0.2)]
    pub dropout: f64,
    #[arg(long, value_enum, default_value_t = DatasetKind::Mnist)]
    pub dataset: DatasetKind,
    /// IDX files (gz or raw); default $MNIST_DIR (mnist),
    /// $FASHION_MNIST_DIR or /usr/share/datasets/fashion-mnist (fashion-mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Download missing files (md5-verified) into the data directory.
    #[arg(long)]
    pub download: bool,
    /// Base URL to download from instead of the canonical mirrors (repeatable).
    #[arg(long = "mirror")]
    pub mirrors: Vec<String>,
    /// Intra-op threads per process.  More than one per core slows training
    /// down many times over, so keep threads × local ranks ≤ cores.
    #[arg(long, default_value_t = 1)]
    pub threads: i32,
    #[arg(long, value_enum, default_value_t = Backend::Gloo)]
    pub backend: Backend,
    /// Seconds a rank waits for its peers (rendezvous and each collective)
    /// before failing.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Directory for per-epoch checkpoints; a restarted job resumes from it.
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Also store each checkpoint in the run's artifacts (`checkpoints/`); a
    /// restarted job without a local checkpoint resumes from there (finding
    /// its run by --job-id).
    #[arg(long)]
    pub checkpoint_artifacts: bool,
    /// Identity of this training job across restarts, tagged on its run as
    /// `ferroflow.job_id` (e.g. the PyTorchJob's name).
    #[arg(long, env = "FERROFLOW_JOB_ID")]
    pub job_id: Option<String>,
    /// Ignore an existing checkpoint and start over.
    #[arg(long)]
    pub no_resume: bool,
    /// Register the best model under this name in the model registry.
    #[arg(long)]
    pub register_as: Option<String>,
    /// Name of the MLflow run (default: ferroflow-<model>-<world>x).
    #[arg(long)]
    pub run_name: Option<String>,
    /// Use only the first N training samples (tests, quick trials).
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Do not shuffle (sampler order 0, 1, 2, …).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Write each rank's final flattened parameters to DIR/rank<r>.f32.
    #[arg(long, hide = true)]
    pub dump_params: Option<PathBuf>,
    /// Write rank 0's summary (metrics, timings) as JSON here.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// SIGKILL this process after this many optimizer steps (of this
    /// launch): simulates a crashed pod in tests.
    #[arg(long, hide = true)]
    pub crash_after_steps: Option<usize>,
    /// Only this rank obeys --crash-after-steps (default: every rank).
    #[arg(long, hide = true)]
    pub crash_rank: Option<usize>,
}

/// Parameters by name in a fixed (sorted) order: the layout of every
/// flattened buffer exchanged between ranks.
struct Params {
    named: Vec<(String, Tensor)>,
    numel: Vec<i64>,
    total: i64,
}

impl Params {
    fn of(vs: &nn::VarStore) -> Self {
        let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let numel: Vec<i64> = named.iter().map(|(_, t)| t.numel() as i64).collect();
        let total = numel.iter().sum();
        Params {
            named,
            numel,
            total,
        }
    }

    fn flat(&self) -> Tensor {
        let views: Vec<Tensor> = self
            .named
            .iter()
            .map(|(_, t)| t.detach().reshape([-1]))
            .collect();
        Tensor::cat(&views, 0)
    }

    fn flat_grad(&self) -> Tensor {
        let views: Vec<Tensor> = self
            .named
            .iter()
            .map(|(_, t)| {
                let g = t.grad();
                if g.defined() {
                    g.reshape([-1])
                } else {
                    t.zeros_like().reshape([-1])
                }
            })
            .collect();
        Tensor::cat(&views, 0)
    }

    /// Copies a flat buffer back into the parameters.
    fn assign(&mut self, flat: &Tensor) {
        tch::no_grad(|| {
            let mut offset = 0;
            for ((_, p), &n) in self.named.iter_mut().zip(&self.numel) {
                let src = flat.narrow(0, offset, n).view_as(p);
                p.copy_(&src);
                offset += n;
            }
        });
    }

    fn assign_named(&mut self, source: &[(String, Tensor)]) -> Result<()> {
        ensure!(
            source.len() == self.named.len(),
            "checkpoint has {} tensors, the model {}",
            source.len(),
            self.named.len()
        );
        tch::no_grad(|| -> Result<()> {
            for ((name, p), (src_name, src)) in self.named.iter_mut().zip(source) {
                ensure!(
                    name == src_name,
                    "checkpoint tensor {src_name} where the model has {name}"
                );
                ensure!(
                    p.size() == src.size(),
                    "checkpoint {name} has shape {:?}",
                    src.size()
                );
                p.copy_(src);
            }
            Ok(())
        })
    }

    fn snapshot(&self) -> Vec<(String, Tensor)> {
        self.named
            .iter()
            .map(|(n, t)| (n.clone(), t.detach().copy()))
            .collect()
    }

    fn zero_grad(&mut self) {
        for (_, p) in self.named.iter_mut() {
            p.zero_grad();
        }
    }
}

/// Adam on the flattened parameters, exactly as `torch.optim.Adam`'s
/// single-tensor path computes it (lerp for m, addcmul for v, bias
/// corrections); state kept here so checkpoints can carry it.
struct FlatAdam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    step: i64,
    m: Tensor,
    v: Tensor,
}

impl FlatAdam {
    fn new(lr: f64, numel: i64, device: Device) -> Self {
        FlatAdam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 0,
            m: Tensor::zeros([numel], (Kind::Float, device)),
            v: Tensor::zeros([numel], (Kind::Float, device)),
        }
    }

    /// Applies one update from the (averaged) flat gradient.
    fn step(&mut self, params: &mut Params, grad: &Tensor) {
        tch::no_grad(|| {
            self.step += 1;
            let _ = self.m.lerp_(grad, 1.0 - self.beta1);
            self.v *= self.beta2;
            let _ = self.v.addcmul_(&(grad * (1.0 - self.beta2)), grad);
            let bias1 = 1.0 - self.beta1.powi(self.step as i32);
            let bias2 = 1.0 - self.beta2.powi(self.step as i32);
            let denom = self.v.sqrt() / bias2.sqrt() + self.eps;
            let update = &self.m / denom * (self.lr / bias1);
            let mut offset = 0;
            for ((_, p), &n) in params.named.iter_mut().zip(&params.numel) {
                *p -= update.narrow(0, offset, n).view_as(p);
                offset += n;
            }
        });
    }
}

/// The parameters of the epoch with the highest validation accuracy.
struct BestModel {
    epoch: usize,
    val_accuracy: f64,
    params: Vec<(String, Tensor)>,
}

/// Process CPU time (user + system) in seconds.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

/// Sums small f64 statistics over all ranks (identity without a group).
fn all_reduce_stats(group: &mut Option<ProcessGroup>, values: &[f64]) -> Result<Vec<f64>> {
    match group {
        Some(group) => group.all_reduce_f64(values),
        None => Ok(values.to_vec()),
    }
}

/// (loss sum, correct, count) of `net` over `indices` of `split`.
fn evaluate(
    net: &Net,
    split: &Split,
    indices: &[usize],
    device: Device,
) -> Result<(f64, f64, f64)> {
    let (mut loss_sum, mut correct) = (0.0, 0.0);
    tch::no_grad(|| -> Result<()> {
        for chunk in indices.chunks(1000) {
            let (x, y) = split.select(chunk);
            let (x, y) = (x.to_device(device), y.to_device(device));
            let logits = net.forward_t(&x, false);
            loss_sum += f64::try_from(logits.cross_entropy_for_logits(&y))? * chunk.len() as f64;
            correct += f64::try_from(logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Float))?;
        }
        Ok(())
    })?;
    Ok((loss_sum, correct, indices.len() as f64))
}

/// Rank 0's connection to the tracking server, if configured.
struct Tracker {
    client: TrackingClient,
    run: RunInfo,
}

impl Tracker {
    /// Logs without failing training: errors (after the client's retries)
    /// are reported and dropped.
    fn log_metrics(&self, metrics: &[Metric]) {
        if let Err(e) = self.client.log_batch(&self.run.run_id, metrics, &[], &[]) {
            eprintln!("tracking: metrics not logged: {e:#}");
        }
    }
}

struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(leader: bool, steps: usize, epoch: usize, epochs: usize) -> Self {
        let bar = (leader && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(steps as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "epoch {msg} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta}",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(format!("{epoch}/{epochs}"));
            bar
        });
        Progress { bar }
    }

    fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn run(args: &TrainArgs) -> Result<()> {
    check_args(args)?;
    let rendezvous = Rendezvous::from_process_env()?;
    let rank = rendezvous.rank;
    let world = rendezvous.world_size;
    let leader = rendezvous.is_leader();
    tch::set_num_threads(args.threads);
    tch::set_num_interop_threads(1);
    let device = device_for(args, &rendezvous)?;

    // Data first: a missing dataset fails fast, before peers wait on us.
    let sets = load_data(args, leader)?;
    let group = connect_group(args, &rendezvous, device)?;

    // Same seed everywhere, but rank 0's parameters are broadcast anyway so
    // that replicas are identical by construction, as DDP does.
    tch::manual_seed(args.seed as i64);
    let vs = nn::VarStore::new(device);
    let mut replica = Replica::new(&vs, args, group, &rendezvous, device);

    let client = if leader {
        TrackingClient::from_env()?
    } else {
        None
    };
    ensure!(
        !args.checkpoint_artifacts || client.is_some() || !leader,
        "--checkpoint-artifacts needs MLFLOW_TRACKING_URI"
    );
    let checkpoint_dir = checkpoint_dir_for(args, leader)?;

    // Resume: rank 0 reads the checkpoint and tells the others.
    let mut resumed = match (&checkpoint_dir, leader && !args.no_resume) {
        (Some(dir), true) => find_checkpoint(args, dir, client.as_ref())?,
        _ => None,
    };
    if let Some(ckpt) = &resumed {
        replica.restore(ckpt, args.model)?;
    }
    let start_epoch = replica.sync_start(resumed.as_ref())?;
    // Dropout masks differ per rank (as in DDP with per-process RNG streams).
    tch::manual_seed(args.seed as i64 + 1 + rank as i64);
    let mut record = Record::resumed_from(resumed.as_mut());

    let tracker = if leader {
        start_tracking(client, args, world, resumed.as_ref().map(|c| &c.meta))?
    } else {
        None
    };
    if let Some(t) = &tracker {
        println!("run: {}", t.client.run_url(&t.run));
    }
    if start_epoch > 0 && leader {
        println!("resumed from checkpoint after epoch {start_epoch}");
    }

    let mut training = Training {
        args,
        sets: &sets,
        replica: &mut replica,
        record: &mut record,
        tracker: tracker.as_ref(),
        checkpoint_dir: checkpoint_dir.as_deref(),
    };
    let totals = match training.train_epochs(start_epoch) {
        Ok(totals) => totals,
        Err(e) => {
            if let Some(t) = &tracker {
                let _ = t.client.update_run(&t.run.run_id, "FAILED", true);
            }
            return Err(e);
        }
    };

    if let Some(dir) = &args.dump_params {
        dump_params(&replica.params, dir, rank)?;
    }
    if leader {
        finish_leader(args, world, &record, totals, tracker.as_ref())?;
    }
    if let (None, Some(scratch)) = (&args.checkpoint_dir, &checkpoint_dir) {
        let _ = std::fs::remove_dir_all(scratch);
    }
    Ok(())
}

fn check_args(args: &TrainArgs) -> Result<()> {
    ensure!(args.batch_size > 0, "--batch-size must be positive");
    ensure!(args.threads > 0, "--threads must be positive");
    ensure!(
        (0.0..1.0).contains(&args.dropout),
        "--dropout must be in [0, 1)"
    );
    Ok(())
}

fn device_for(args: &TrainArgs, rendezvous: &Rendezvous) -> Result<Device> {
    Ok(match args.backend {
        Backend::Gloo => Device::Cpu,
        Backend::Nccl => {
            ensure!(
                tch::Cuda::is_available(),
                "--backend nccl needs CUDA, which is not available"
            );
            Device::Cuda(rendezvous.local_rank)
        }
    })
}

/// The dataset (downloaded first with --download), cut to --limit-train.
fn load_data(args: &TrainArgs, leader: bool) -> Result<data::Datasets> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| args.dataset.default_dir());
    if args.download {
        let mirrors: Vec<String> = if args.mirrors.is_empty() {
            args.dataset
                .default_mirrors()
                .iter()
                .map(|m| m.to_string())
                .collect()
        } else {
            args.mirrors.clone()
        };
        data::download(&data_dir, args.dataset.remote_files(), &mirrors)?;
    }
    let mut sets = data::load(&data_dir, args.dataset)?;
    if let Some(limit) = args.limit_train {
        ensure!(limit > 0, "--limit-train must be positive");
        sets.train = sets.train.narrow(0, limit.min(sets.train.len()));
    }
    if leader {
        println!(
            "data: {} (train {}, validation {})",
            sets.description,
            sets.train.len(),
            sets.validation.len()
        );
    }
    Ok(sets)
}

/// The process group of all ranks; none when this is the only one.
fn connect_group(
    args: &TrainArgs,
    rendezvous: &Rendezvous,
    device: Device,
) -> Result<Option<ProcessGroup>> {
    if rendezvous.world_size <= 1 {
        return Ok(None);
    }
    let group = ProcessGroup::connect(
        rendezvous,
        args.backend,
        device,
        Duration::from_secs(args.timeout),
    )?;
    if rendezvous.is_leader() {
        println!(
            "process group: {} ranks over {} at {}:{}",
            rendezvous.world_size,
            args.backend.name(),
            rendezvous.master_addr,
            rendezvous.master_port
        );
    }
    Ok(Some(group))
}

/// Checkpoints go to --checkpoint-dir, or to a scratch directory when
/// they are only kept in the artifact store.
fn checkpoint_dir_for(args: &TrainArgs, leader: bool) -> Result<Option<PathBuf>> {
    Ok(
        match (&args.checkpoint_dir, args.checkpoint_artifacts && leader) {
            (Some(dir), _) => Some(dir.clone()),
            (None, true) => Some(tempdir_for("ferroflow-checkpoint")?),
            (None, false) => None,
        },
    )
}

/// The checkpoint in `dir`, else (with --checkpoint-artifacts) the one
/// stored in the run of this job, fetched into `dir`.
fn find_checkpoint(
    args: &TrainArgs,
    dir: &Path,
    client: Option<&TrackingClient>,
) -> Result<Option<Checkpoint>> {
    let mut resumed = checkpoint::load(dir)?;
    if resumed.is_none() && args.checkpoint_artifacts {
        if let (Some(client), Some(job_id)) = (client, &args.job_id) {
            if restore_from_artifacts(client, job_id, dir)? {
                resumed = checkpoint::load(dir)?;
            }
        }
    }
    Ok(resumed)
}

/// Writes this rank's flattened parameters to DIR/rank<r>.f32 and prints
/// their checksum (tests compare the ranks' replicas).
fn dump_params(params: &Params, dir: &Path, rank: usize) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let flat = params.flat().to_device(Device::Cpu);
    let values = Vec::<f32>::try_from(&flat)?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join(format!("rank{rank}.f32")), bytes)?;
    println!(
        "param-checksum rank={rank} sum={:.9e}",
        values.iter().map(|&v| v as f64).sum::<f64>()
    );
    Ok(())
}

/// This rank's replica of the model and what a training step changes.
struct Replica {
    net: Net,
    params: Params,
    adam: FlatAdam,
    /// The other ranks; none when training alone.
    group: Option<ProcessGroup>,
    device: Device,
    rank: usize,
    world: usize,
}

impl Replica {
    fn new(
        vs: &nn::VarStore,
        args: &TrainArgs,
        group: Option<ProcessGroup>,
        rendezvous: &Rendezvous,
        device: Device,
    ) -> Self {
        let net = Net::new(&vs.root(), args.model, args.dropout);
        let params = Params::of(vs);
        let adam = FlatAdam::new(args.lr, params.total, device);
        Replica {
            net,
            params,
            adam,
            group,
            device,
            rank: rendezvous.rank,
            world: rendezvous.world_size,
        }
    }

    /// Takes the parameters and optimizer state of rank 0's checkpoint.
    fn restore(&mut self, ckpt: &Checkpoint, model: ModelKind) -> Result<()> {
        ensure!(
            ckpt.meta.model == model,
            "checkpoint is for model {}, not {}",
            ckpt.meta.model.name(),
            model.name()
        );
        self.params.assign_named(&ckpt.params)?;
        self.adam.m = ckpt.adam_m.to_device(self.device);
        self.adam.v = ckpt.adam_v.to_device(self.device);
        self.adam.step = ckpt.meta.adam_step;
        Ok(())
    }

    /// Gives every rank rank 0's parameters (and optimizer state when it
    /// resumes); returns the epoch to start from.
    fn sync_start(&mut self, resumed: Option<&Checkpoint>) -> Result<usize> {
        // [resuming?, epochs done, adam step], rank 0's values everywhere.
        let mut header = vec![
            i64::from(resumed.is_some()),
            resumed.map_or(0, |c| c.meta.epochs_done as i64),
            self.adam.step,
        ];
        if let Some(group) = &mut self.group {
            header = group.broadcast_i64(&header, 0)?;
            let mut flat = self.params.flat().to_device(self.device);
            group.broadcast(&mut flat, 0)?;
            self.params.assign(&flat);
            if header[0] == 1 {
                group.broadcast(&mut self.adam.m, 0)?;
                group.broadcast(&mut self.adam.v, 0)?;
                self.adam.step = header[2];
            }
        }
        Ok(header[1] as usize)
    }

    /// One optimizer step on `batch` of `train`, with the gradient averaged
    /// over the ranks; returns the batch's mean loss and correct count.
    fn train_step(&mut self, train: &Split, batch: &[usize]) -> Result<(f64, f64)> {
        let (x, y) = train.select(batch);
        let (x, y) = (x.to_device(self.device), y.to_device(self.device));
        self.params.zero_grad();
        let logits = self.net.forward_t(&x, true);
        let loss = logits.cross_entropy_for_logits(&y);
        loss.backward();
        let mut grad = self.params.flat_grad();
        if let Some(group) = self.group.as_mut() {
            group.all_reduce_sum(&mut grad)?;
            grad /= self.world as f64;
        }
        self.adam.step(&mut self.params, &grad);
        let loss = f64::try_from(&loss)?;
        let correct = f64::try_from(logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Float))?;
        Ok((loss, correct))
    }
}

/// What the epochs produced so far (a resumed job starts with its
/// checkpoint's).
struct Record {
    history: Vec<EpochMetrics>,
    best: Option<BestModel>,
}

impl Record {
    fn resumed_from(resumed: Option<&mut Checkpoint>) -> Self {
        let history = resumed
            .as_ref()
            .map(|c| c.meta.history.clone())
            .unwrap_or_default();
        let best = resumed.and_then(|c| {
            Some(BestModel {
                epoch: c.meta.best_epoch?,
                val_accuracy: c.meta.best_val_accuracy,
                params: c.best.take()?,
            })
        });
        Record { history, best }
    }

    /// Adds an epoch; returns whether it is the best so far (its parameters
    /// are kept on rank 0 only, the one that exports the model).
    fn add_epoch(&mut self, metrics: &EpochMetrics, params: &Params, leader: bool) -> bool {
        let improved = self
            .best
            .as_ref()
            .is_none_or(|b| metrics.val_accuracy > b.val_accuracy);
        if improved && leader {
            self.best = Some(BestModel {
                epoch: metrics.epoch,
                val_accuracy: metrics.val_accuracy,
                params: params.snapshot(),
            });
        }
        self.history.push(metrics.clone());
        improved
    }
}

/// Samples and CPU seconds summed over ranks, and this rank's training
/// wall time.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    samples: f64,
    cpu_seconds: f64,
    wall_seconds: f64,
}

/// The epoch loop and what it works on.
struct Training<'a> {
    args: &'a TrainArgs,
    sets: &'a data::Datasets,
    replica: &'a mut Replica,
    record: &'a mut Record,
    /// Rank 0's run, if there is a tracking server.
    tracker: Option<&'a Tracker>,
    /// Rank 0's checkpoint directory, if it writes checkpoints.
    checkpoint_dir: Option<&'a Path>,
}

impl Training<'_> {
    fn train_epochs(&mut self, start_epoch: usize) -> Result<Totals> {
        let args = self.args;
        let (rank, world) = (self.replica.rank, self.replica.world);
        let leader = rank == 0;
        let sampler = DistributedSampler::new(
            self.sets.train.len(),
            world,
            rank,
            !args.no_shuffle,
            args.seed,
        );
        let steps = sampler.steps_per_epoch(args.batch_size);
        let val_indices: Vec<usize> = (rank..self.sets.validation.len()).step_by(world).collect();
        let mut steps_done = 0usize;
        let cpu_start = cpu_seconds();
        let wall_start = Instant::now();
        let mut samples = 0.0;

        for epoch in start_epoch..args.epochs {
            let epoch_no = epoch + 1;
            let started = Instant::now();
            let progress = Progress::new(leader, steps, epoch_no, args.epochs);
            let local = self.train_epoch(&sampler, epoch, &progress, &mut steps_done)?;
            progress.finish();
            let (metrics, epoch_samples) =
                self.measure_epoch(epoch_no, local, &val_indices, started)?;
            samples += epoch_samples;
            let improved = self
                .record
                .add_epoch(&metrics, &self.replica.params, leader);
            if leader {
                self.publish_epoch(&metrics, improved)?;
            }
        }

        let cpu = cpu_seconds() - cpu_start;
        let wall = wall_start.elapsed().as_secs_f64();
        let sums = all_reduce_stats(&mut self.replica.group, &[cpu])?;
        Ok(Totals {
            samples,
            cpu_seconds: sums[0],
            wall_seconds: wall,
        })
    }

    /// One pass over this rank's share of the training split; returns this
    /// rank's [loss sum, correct, count].
    fn train_epoch(
        &mut self,
        sampler: &DistributedSampler,
        epoch: usize,
        progress: &Progress,
        steps_done: &mut usize,
    ) -> Result<[f64; 3]> {
        let (mut loss_sum, mut correct, mut count) = (0.0, 0.0, 0.0);
        for batch in sampler.batches(epoch as u64, self.args.batch_size) {
            let (loss, batch_correct) = self.replica.train_step(&self.sets.train, &batch)?;
            let n = batch.len() as f64;
            loss_sum += loss * n;
            correct += batch_correct;
            count += n;
            progress.tick();
            *steps_done += 1;
            crash_if_asked(self.args, self.replica.rank, *steps_done);
        }
        Ok([loss_sum, correct, count])
    }

    /// The epoch's metrics over all ranks (the same on every rank) and the
    /// number of samples trained on.
    fn measure_epoch(
        &mut self,
        epoch_no: usize,
        local_train: [f64; 3],
        val_indices: &[usize],
        started: Instant,
    ) -> Result<(EpochMetrics, f64)> {
        let replica = &mut *self.replica;
        let train = all_reduce_stats(&mut replica.group, &local_train)?;
        let (vl, vc, vn) = evaluate(
            &replica.net,
            &self.sets.validation,
            val_indices,
            replica.device,
        )?;
        let val = all_reduce_stats(&mut replica.group, &[vl, vc, vn])?;
        let seconds = started.elapsed().as_secs_f64();
        let metrics = EpochMetrics {
            epoch: epoch_no,
            train_loss: train[0] / train[2],
            train_accuracy: train[1] / train[2],
            val_loss: val[0] / val[2].max(1.0),
            val_accuracy: val[1] / val[2].max(1.0),
            samples_per_second: train[2] / seconds,
            seconds,
        };
        Ok((metrics, train[2]))
    }

    /// Rank 0's part of an epoch: its line, its checkpoint, its metrics.
    fn publish_epoch(&self, metrics: &EpochMetrics, improved: bool) -> Result<()> {
        println!(
            "epoch {}/{}: train_loss={:.4} train_accuracy={:.4} val_loss={:.4} val_accuracy={:.4} \
             samples/s={:.0} ({:.1}s)",
            metrics.epoch,
            self.args.epochs,
            metrics.train_loss,
            metrics.train_accuracy,
            metrics.val_loss,
            metrics.val_accuracy,
            metrics.samples_per_second,
            metrics.seconds
        );
        if let Some(dir) = self.checkpoint_dir {
            self.save_checkpoint(dir, metrics.epoch, improved)?;
        }
        if let Some(t) = self.tracker {
            t.log_metrics(&epoch_metrics(metrics));
        }
        Ok(())
    }

    /// Writes the checkpoint of epoch `epoch_no` (the best model's file
    /// only when it changed) and, with --checkpoint-artifacts, stores it in
    /// the run.
    fn save_checkpoint(&self, dir: &Path, epoch_no: usize, improved: bool) -> Result<()> {
        let (args, replica, record) = (self.args, &*self.replica, &*self.record);
        let best = record.best.as_ref();
        let mut meta = Meta {
            epochs_done: epoch_no,
            adam_step: replica.adam.step,
            model: args.model,
            dataset: args.dataset.name().to_owned(),
            world_size: replica.world,
            run_id: self.tracker.map(|t| t.run.run_id.clone()),
            experiment_id: self.tracker.map(|t| t.run.experiment_id.clone()),
            state_file: String::new(),
            best_file: checkpoint::best_file_name(dir),
            best_epoch: best.map(|b| b.epoch),
            best_val_accuracy: best.map_or(0.0, |b| b.val_accuracy),
            history: record.history.clone(),
        };
        let best_params = if improved {
            best.map(|b| b.params.as_slice())
        } else {
            None
        };
        checkpoint::save(
            dir,
            &mut meta,
            &replica.params.named,
            &replica.adam.m,
            &replica.adam.v,
            best_params,
        )
        .context("writing the checkpoint")?;
        if let (true, Some(t)) = (args.checkpoint_artifacts, self.tracker) {
            if let Err(e) = upload_checkpoint(t, dir) {
                eprintln!("tracking: checkpoint of epoch {epoch_no} not stored: {e:#}");
            }
        }
        Ok(())
    }
}

/// --crash-after-steps: SIGKILL this process once it has made that many
/// steps (on --crash-rank only, if given).
fn crash_if_asked(args: &TrainArgs, rank: usize, steps_done: usize) {
    if args.crash_after_steps == Some(steps_done) && args.crash_rank.is_none_or(|r| r == rank) {
        eprintln!("rank {rank}: --crash-after-steps {steps_done} reached, killing myself");
        // SAFETY: plain signal to our own pid.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

fn epoch_metrics(m: &EpochMetrics) -> Vec<Metric> {
    let step = m.epoch as i64;
    vec![
        Metric::now("train_loss", m.train_loss, step),
        Metric::now("train_accuracy", m.train_accuracy, step),
        Metric::now("val_loss", m.val_loss, step),
        Metric::now("val_accuracy", m.val_accuracy, step),
        Metric::now("samples_per_second", m.samples_per_second, step),
    ]
}

fn experiment_name() -> String {
    std::env::var("MLFLOW_EXPERIMENT_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "Default".to_owned())
}

const JOB_ID_TAG: &str = "ferroflow.job_id";
const CHECKPOINT_ARTIFACTS: &str = "checkpoints";

/// Copies the committed checkpoint to the run's artifacts (json last).
fn upload_checkpoint(tracker: &Tracker, dir: &Path) -> Result<()> {
    for file in checkpoint::files(dir)? {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracker.client.log_artifact(
            &tracker.run,
            &file,
            &format!("{CHECKPOINT_ARTIFACTS}/{name}"),
        )?;
    }
    Ok(())
}

/// Fetches the checkpoint of job `job_id`'s unfinished run into `dir`.
fn restore_from_artifacts(client: &TrackingClient, job_id: &str, dir: &Path) -> Result<bool> {
    let experiment_id = client.get_or_create_experiment(&experiment_name())?;
    let runs = client.search_runs_by_tag(&experiment_id, JOB_ID_TAG, job_id)?;
    let Some(run) = runs.into_iter().find(|r| r.status != "FINISHED") else {
        return Ok(false);
    };
    let restored = checkpoint::restore(dir, |name| {
        client.download_artifact(&run, &format!("{CHECKPOINT_ARTIFACTS}/{name}"))
    })?;
    if restored {
        println!(
            "checkpoint restored from run {} of job {job_id}",
            run.run_id
        );
    }
    Ok(restored)
}

fn start_tracking(
    client: Option<TrackingClient>,
    args: &TrainArgs,
    world: usize,
    resumed: Option<&Meta>,
) -> Result<Option<Tracker>> {
    let Some(client) = client else {
        return Ok(None);
    };
    // A restarted job continues its run.
    if let Some(run_id) = resumed.and_then(|m| m.run_id.as_deref()) {
        let run = client
            .get_run(run_id)
            .context("resuming the checkpoint's run")?;
        client.update_run(&run.run_id, "RUNNING", false)?;
        let tracker = Tracker { client, run };
        // Epochs the checkpoint holds but the run lacks (a crash between
        // checkpoint and logging) are logged now.
        let logged = tracker
            .client
            .metric_steps(&tracker.run.run_id, "val_accuracy")
            .unwrap_or_default();
        for m in resumed.map(|m| m.history.as_slice()).unwrap_or_default() {
            if !logged.contains(&(m.epoch as i64)) {
                tracker.log_metrics(&epoch_metrics(m));
            }
        }
        return Ok(Some(tracker));
    }
    let experiment = experiment_name();
    let experiment_id = client.get_or_create_experiment(&experiment)?;
    let run_name = args
        .run_name
        .clone()
        .unwrap_or_else(|| format!("ferroflow-{}-{}x", args.model.name(), world));
    let mut tags = vec![
        ("model_type", args.model.name().to_owned()),
        ("training_type", "distributed".to_owned()),
        ("framework", "tch".to_owned()),
        ("mlflow.source.name", "ferroflow-train".to_owned()),
        ("mlflow.source.type", "JOB".to_owned()),
    ];
    if let Some(job_id) = &args.job_id {
        tags.push((JOB_ID_TAG, job_id.clone()));
    }
    let run = client.create_run(&experiment_id, &run_name, &tags)?;
    let params = [
        ("epochs", args.epochs.to_string()),
        ("batch_size", args.batch_size.to_string()),
        ("lr", args.lr.to_string()),
        ("world_size", world.to_string()),
        ("backend", args.backend.name().to_owned()),
        ("model", args.model.name().to_owned()),
        ("seed", args.seed.to_string()),
        ("dataset", args.dataset.name().to_owned()),
        ("threads", args.threads.to_string()),
        ("dropout", args.dropout.to_string()),
        ("optimizer", "adam".to_owned()),
    ];
    client.log_batch(&run.run_id, &[], &params, &[])?;
    Ok(Some(Tracker { client, run }))
}

/// Rank 0's end of training: the summary (printed, --summary-json, the
/// run's metrics.json), the best model in the run, its registration.
fn finish_leader(
    args: &TrainArgs,
    world: usize,
    record: &Record,
    totals: Totals,
    tracker: Option<&Tracker>,
) -> Result<()> {
    let summary = summary(args, world, record, totals, tracker);
    println!("summary: {summary}");
    if let Some(path) = &args.summary_json {
        std::fs::write(path, serde_json::to_vec_pretty(&summary)?)?;
    }
    let Some(t) = tracker else {
        return Ok(());
    };
    let work = tempdir_for("ferroflow-train")?;
    let metrics_path = work.join("metrics.json");
    std::fs::write(&metrics_path, serde_json::to_vec_pretty(&summary)?)?;
    t.client
        .log_artifact(&t.run, &metrics_path, "metrics.json")?;
    if let Some(best) = &record.best {
        log_best_model(args, best, totals, t, &work)?;
        if let Some(name) = &args.register_as {
            register_best_model(t, name, &work)?;
        }
    }
    t.client.update_run(&t.run.run_id, "FINISHED", true)?;
    let _ = std::fs::remove_dir_all(&work);
    println!("run finished: {}", t.client.run_url(&t.run));
    Ok(())
}

fn summary(
    args: &TrainArgs,
    world: usize,
    record: &Record,
    totals: Totals,
    tracker: Option<&Tracker>,
) -> serde_json::Value {
    let best = record.best.as_ref();
    json!({
        "world_size": world,
        "model": args.model.name(),
        "dataset": args.dataset.name(),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "final": record.history.last(),
        "best_epoch": best.map(|b| b.epoch),
        "best_val_accuracy": best.map(|b| b.val_accuracy),
        "history": record.history,
        "samples": totals.samples,
        "train_seconds": totals.wall_seconds,
        "cpu_seconds": totals.cpu_seconds,
        "samples_per_second": totals.samples / totals.wall_seconds.max(1e-9),
        "samples_per_cpu_second": totals.samples / totals.cpu_seconds.max(1e-9),
        "run_id": tracker.map(|t| t.run.run_id.clone()),
    })
}

/// The best model as the run's `model` artifact (an MLflow pytorch
/// flavour directory written under `work`), with its metrics.
fn log_best_model(
    args: &TrainArgs,
    best: &BestModel,
    totals: Totals,
    t: &Tracker,
    work: &Path,
) -> Result<()> {
    let BestModel {
        epoch,
        val_accuracy: accuracy,
        params: named,
    } = best;
    let (mean, std) = args.dataset.normalization();
    let model_dir = work.join("model");
    mlmodel::write_model_dir(
        &model_dir,
        named,
        &ModelDescription {
            kind: args.model,
            dataset: args.dataset.name(),
            mean,
            std,
            run_id: Some(&t.run.run_id),
            artifact_path: "model",
            epoch: *epoch,
            val_accuracy: *accuracy,
        },
    )?;
    t.client.log_artifacts(&t.run, &model_dir, "model")?;
    t.client.log_batch(
        &t.run.run_id,
        &[
            Metric::now("best_val_accuracy", *accuracy, *epoch as i64),
            Metric::now(
                "samples_per_cpu_second",
                totals.samples / totals.cpu_seconds.max(1e-9),
                0,
            ),
        ],
        &[],
        &[("best_epoch", epoch.to_string())],
    )?;
    Ok(())
}

/// Registers the run's `model` artifact as a version of `name`.  On failure
/// the run is still finished (training succeeded) before the error.
fn register_best_model(t: &Tracker, name: &str, work: &Path) -> Result<()> {
    let source = format!("{}/model", t.run.artifact_uri.trim_end_matches('/'));
    match register(&t.client, name, &source, &t.run.run_id) {
        Ok(version) => println!("registered model {name} version {version}"),
        Err(e) => {
            let status = tracking::api_status(&e).map(|s| s.as_u16());
            // The run itself succeeded; a registry the server lacks
            // is reported, not a training failure.
            eprintln!("model registration failed (HTTP status {status:?}): {e:#}");
            t.client.update_run(&t.run.run_id, "FINISHED", true)?;
            let _ = std::fs::remove_dir_all(work);
            bail!("could not register the model as {name}: {e:#}");
        }
    }
    Ok(())
}

fn register(client: &TrackingClient, name: &str, source: &str, run_id: &str) -> Result<String> {
    client.create_registered_model(name)?;
    client.create_model_version(name, source, run_id)
}

fn tempdir_for(prefix: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        tracking::now_ms()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: usize, val_accuracy: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            val_accuracy,
            ..EpochMetrics::default()
        }
    }

    fn params_of(value: f64) -> Params {
        let vs = nn::VarStore::new(Device::Cpu);
        let _ = vs.root().var("w", &[2], nn::Init::Const(value));
        Params::of(&vs)
    }

    #[test]
    fn the_leader_keeps_the_parameters_of_the_best_epoch() {
        let mut record = Record {
            history: Vec::new(),
            best: None,
        };
        assert!(record.add_epoch(&epoch(1, 0.5), &params_of(1.0), true));
        assert!(record.add_epoch(&epoch(2, 0.7), &params_of(2.0), true));
        assert!(!record.add_epoch(&epoch(3, 0.6), &params_of(3.0), true));
        let best = record.best.as_ref().map(|b| (b.epoch, b.val_accuracy));
        assert_eq!(best, Some((2, 0.7)));
        let kept = record.best.as_ref().map(|b| b.params[0].1.sum(Kind::Float));
        assert_eq!(
            kept.map(|t| f64::try_from(&t).unwrap_or_default()),
            Some(4.0)
        );
        let epochs: Vec<usize> = record.history.iter().map(|m| m.epoch).collect();
        assert_eq!(epochs, [1, 2, 3]);
    }

    #[test]
    fn other_ranks_record_the_history_but_no_best_model() {
        let mut record = Record {
            history: Vec::new(),
            best: None,
        };
        assert!(record.add_epoch(&epoch(1, 0.5), &params_of(1.0), false));
        assert!(record.best.is_none());
        assert_eq!(record.history.len(), 1);
    }
}
