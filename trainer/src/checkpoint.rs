//! Per-epoch checkpoints (model + optimizer + epoch) so a restarted job
//! (PyTorchJob `restartPolicy: OnFailure`) resumes where it stopped.
//!
//! Layout of the checkpoint directory:
//! - `epoch-NNNN.safetensors`: parameters by name plus `__adam.m`/`__adam.v`;
//! - `best-epoch-NNNN.safetensors`: the best model so far (by val_accuracy);
//! - `checkpoint.json`: the commit point, written last and atomically; it
//!   names the two files above, so a kill at any moment leaves either the
//!   previous or the new checkpoint, never a mix.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::model::ModelKind;

const META: &str = "checkpoint.json";
const ADAM_M: &str = "__adam.m";
const ADAM_V: &str = "__adam.v";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub samples_per_second: f64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub epochs_done: usize,
    pub adam_step: i64,
    pub model: ModelKind,
    pub dataset: String,
    pub world_size: usize,
    pub run_id: Option<String>,
    pub experiment_id: Option<String>,
    pub state_file: String,
    pub best_file: Option<String>,
    pub best_epoch: Option<usize>,
    pub best_val_accuracy: f64,
    pub history: Vec<EpochMetrics>,
}

pub struct Checkpoint {
    pub meta: Meta,
    pub params: Vec<(String, Tensor)>,
    pub adam_m: Tensor,
    pub adam_v: Tensor,
    pub best: Option<Vec<(String, Tensor)>>,
}

fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    write(&tmp)?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

/// Writes the checkpoint of `meta.epochs_done`.  `best` is written only
/// when it changed (otherwise the previous best file stays referenced).
pub fn save(
    dir: &Path,
    meta: &mut Meta,
    params: &[(String, Tensor)],
    adam_m: &Tensor,
    adam_v: &Tensor,
    best: Option<&[(String, Tensor)]>,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let state_file = format!("epoch-{:04}.safetensors", meta.epochs_done);
    let mut tensors: Vec<(&str, &Tensor)> = params.iter().map(|(n, t)| (n.as_str(), t)).collect();
    tensors.push((ADAM_M, adam_m));
    tensors.push((ADAM_V, adam_v));
    write_atomically(&dir.join(&state_file), |tmp| {
        Tensor::write_safetensors(&tensors, tmp).context("writing the checkpoint tensors")
    })?;
    if let Some(best) = best {
        let best_file = format!("best-epoch-{:04}.safetensors", meta.epochs_done);
        let tensors: Vec<(&str, &Tensor)> = best.iter().map(|(n, t)| (n.as_str(), t)).collect();
        write_atomically(&dir.join(&best_file), |tmp| {
            Tensor::write_safetensors(&tensors, tmp).context("writing the best model")
        })?;
        meta.best_file = Some(best_file);
    }
    meta.state_file = state_file;
    let json = serde_json::to_vec_pretty(meta)?;
    write_atomically(&dir.join(META), |tmp| Ok(std::fs::write(tmp, &json)?))?;

    // Only now are older files unreferenced.
    let keep: Vec<&str> = [Some(meta.state_file.as_str()), meta.best_file.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".safetensors") && !keep.contains(&name.as_str()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// The files of the committed checkpoint, `checkpoint.json` last (the order
/// to copy them in so that a copy interrupted midway is never loaded).
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let meta: Meta = serde_json::from_slice(&std::fs::read(dir.join(META))?)?;
    let mut files = vec![dir.join(&meta.state_file)];
    if let Some(best) = &meta.best_file {
        files.push(dir.join(best));
    }
    files.push(dir.join(META));
    Ok(files)
}

/// Fills `dir` with a checkpoint fetched by `fetch(name)` (e.g. from the
/// artifact store); false if there is none.
pub fn restore(dir: &Path, fetch: impl Fn(&str) -> Result<Option<Vec<u8>>>) -> Result<bool> {
    let Some(meta_bytes) = fetch(META)? else {
        return Ok(false);
    };
    let meta: Meta =
        serde_json::from_slice(&meta_bytes).context("parsing the stored checkpoint.json")?;
    std::fs::create_dir_all(dir)?;
    for name in std::iter::once(&meta.state_file).chain(meta.best_file.as_ref()) {
        let bytes = fetch(name)?.with_context(|| format!("stored checkpoint lacks {name}"))?;
        std::fs::write(dir.join(name), bytes)?;
    }
    write_atomically(&dir.join(META), |tmp| Ok(std::fs::write(tmp, &meta_bytes)?))?;
    Ok(true)
}

/// The best-model file the committed checkpoint references, if any.
pub fn best_file_name(dir: &Path) -> Option<String> {
    let meta: Meta = serde_json::from_slice(&std::fs::read(dir.join(META)).ok()?).ok()?;
    meta.best_file
}

/// Loads the last committed checkpoint, if any.
pub fn load(dir: &Path) -> Result<Option<Checkpoint>> {
    let meta_path = dir.join(META);
    if !meta_path.is_file() {
        return Ok(None);
    }
    let meta: Meta = serde_json::from_slice(&std::fs::read(&meta_path)?)
        .with_context(|| format!("parsing {}", meta_path.display()))?;
    let state: PathBuf = dir.join(&meta.state_file);
    let mut params = Vec::new();
    let (mut adam_m, mut adam_v) = (None, None);
    for (name, tensor) in
        Tensor::read_safetensors(&state).with_context(|| format!("reading {}", state.display()))?
    {
        match name.as_str() {
            ADAM_M => adam_m = Some(tensor),
            ADAM_V => adam_v = Some(tensor),
            _ => params.push((name, tensor)),
        }
    }
    let (Some(adam_m), Some(adam_v)) = (adam_m, adam_v) else {
        bail!("{} has no optimizer state", state.display());
    };
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let best = match &meta.best_file {
        Some(file) => {
            let mut best = Tensor::read_safetensors(dir.join(file))
                .with_context(|| format!("reading {file}"))?;
            best.sort_by(|a, b| a.0.cmp(&b.0));
            Some(best)
        }
        None => None,
    };
    Ok(Some(Checkpoint {
        meta,
        params,
        adam_m,
        adam_v,
        best,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn meta(epochs_done: usize) -> Meta {
        Meta {
            epochs_done,
            adam_step: 10 * epochs_done as i64,
            model: ModelKind::Mlp,
            dataset: "mnist".into(),
            world_size: 3,
            run_id: Some("r1".into()),
            experiment_id: Some("1".into()),
            state_file: String::new(),
            best_file: None,
            best_epoch: None,
            best_val_accuracy: 0.0,
            history: vec![EpochMetrics {
                epoch: 1,
                val_accuracy: 0.9,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn round_trip_and_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        let params = vec![
            (
                "fc1.weight".to_string(),
                Tensor::ones([2, 3], (Kind::Float, Device::Cpu)),
            ),
            (
                "fc1.bias".to_string(),
                Tensor::zeros([2], (Kind::Float, Device::Cpu)),
            ),
        ];
        let m = Tensor::full([8], 0.5, (Kind::Float, Device::Cpu));
        let v = Tensor::full([8], 0.25, (Kind::Float, Device::Cpu));
        let mut first = meta(1);
        save(dir.path(), &mut first, &params, &m, &v, Some(&params)).unwrap();
        let mut second = meta(2);
        second.best_file = first.best_file.clone();
        save(dir.path(), &mut second, &params, &(&m * 2.0), &v, None).unwrap();

        let loaded = load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.meta.epochs_done, 2);
        assert_eq!(loaded.meta.adam_step, 20);
        assert_eq!(loaded.meta.history, first.history);
        assert_eq!(loaded.params[0].0, "fc1.bias");
        assert_eq!(loaded.adam_m.double_value(&[0]), 1.0);
        assert!(loaded.best.is_some(), "best of epoch 1 still referenced");
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "best-epoch-0001.safetensors",
                "checkpoint.json",
                "epoch-0002.safetensors"
            ]
        );
    }
}
