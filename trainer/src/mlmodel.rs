//! Writes an MLflow model directory the official client can load with
//! `mlflow.pyfunc.load_model`:
//!
//! ```text
//! MLmodel                 python_function flavor, loader in code/
//! code/ferroflow_mnist_pyfunc.py
//! data/model.safetensors  PyTorch state-dict names (fc1.weight, …)
//! data/config.json        model kind, normalization, input/output contract
//! requirements.txt, python_env.yaml, conda.yaml
//! ```
//!
//! A pytorch flavor is deliberately absent: MLflow 3.17 refuses to load a
//! non-pt2 pytorch model without `MLFLOW_ALLOW_PICKLE_DESERIALIZATION`, and
//! the numpy loader needs no torch at all.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use tch::Tensor;

use crate::model::ModelKind;

pub const LOADER_MODULE: &str = "ferroflow_mnist_pyfunc";
const LOADER_SOURCE: &str = include_str!("../python/ferroflow_mnist_pyfunc.py");

pub struct ModelDescription<'a> {
    pub kind: ModelKind,
    pub dataset: &'a str,
    pub mean: f64,
    pub std: f64,
    pub run_id: Option<&'a str>,
    pub artifact_path: &'a str,
    pub epoch: usize,
    pub val_accuracy: f64,
}

/// Writes the model directory at `dir` (created; must not hold another model).
pub fn write_model_dir(
    dir: &Path,
    named: &[(String, Tensor)],
    desc: &ModelDescription,
) -> Result<()> {
    let data = dir.join("data");
    let code = dir.join("code");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    std::fs::create_dir_all(&code)?;

    let tensors: Vec<(&str, Tensor)> = named
        .iter()
        .map(|(name, t)| (name.as_str(), t.detach().contiguous()))
        .collect();
    Tensor::write_safetensors(&tensors, data.join("model.safetensors"))
        .context("writing model.safetensors")?;

    let config = json!({
        "model": desc.kind.name(),
        "dataset": desc.dataset,
        "normalize": { "mean": desc.mean, "std": desc.std },
        "input": "pixel intensities in [0, 1], shape (n, 784), (n, 28, 28) or (n, 1, 28, 28); uint8 is scaled by 1/255",
        "output": "predicted class (int64); params={\"output\": \"probabilities\"} for softmax rows",
        "classes": 10,
        "epoch": desc.epoch,
        "val_accuracy": desc.val_accuracy,
        "framework": "tch",
    });
    std::fs::write(
        data.join("config.json"),
        serde_json::to_vec_pretty(&config)?,
    )?;
    std::fs::write(code.join(format!("{LOADER_MODULE}.py")), LOADER_SOURCE)?;

    std::fs::write(dir.join("requirements.txt"), "numpy\nsafetensors\n")?;
    std::fs::write(
        dir.join("python_env.yaml"),
        "python: '3.11'\nbuild_dependencies:\n- pip\ndependencies:\n- -r requirements.txt\n",
    )?;
    std::fs::write(
        dir.join("conda.yaml"),
        "channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip\n- pip:\n  - numpy\n  - safetensors\nname: mlflow-env\n",
    )?;

    let mut mlmodel = String::new();
    mlmodel.push_str(&format!("artifact_path: {}\n", desc.artifact_path));
    mlmodel.push_str("flavors:\n  python_function:\n");
    mlmodel.push_str("    code: code\n    data: data\n");
    mlmodel.push_str("    env:\n      conda: conda.yaml\n      virtualenv: python_env.yaml\n");
    mlmodel.push_str(&format!("    loader_module: {LOADER_MODULE}\n"));
    mlmodel.push_str("    python_version: '3.11'\n");
    mlmodel.push_str("metadata:\n  framework: tch\n");
    mlmodel.push_str(&format!(
        "  model: {}\n  dataset: {}\n",
        desc.kind.name(),
        desc.dataset
    ));
    mlmodel.push_str(&format!("model_uuid: {}\n", pseudo_uuid()));
    if let Some(run_id) = desc.run_id {
        mlmodel.push_str(&format!("run_id: {run_id}\n"));
    }
    mlmodel.push_str(&format!(
        "utc_time_created: '{}'\n",
        ferroflow_common::civil::python_utc_now()
    ));
    std::fs::write(dir.join("MLmodel"), mlmodel)?;
    Ok(())
}

/// A random-enough 32-hex-digit id (uniqueness only matters per run).
fn pseudo_uuid() -> String {
    let seed = crate::tracking::now_ms() as u64 ^ ((std::process::id() as u64) << 32);
    let mut rng = crate::sampler::SplitMix64::new(seed);
    format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Net;
    use tch::{nn, Device};

    #[test]
    fn writes_a_loadable_layout() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _net = Net::new(&vs.root(), ModelKind::Mlp, 0.2);
        let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let dir = tempfile::tempdir().unwrap();
        let desc = ModelDescription {
            kind: ModelKind::Mlp,
            dataset: "mnist",
            mean: 0.1307,
            std: 0.3081,
            run_id: Some("abc"),
            artifact_path: "model",
            epoch: 3,
            val_accuracy: 0.95,
        };
        write_model_dir(dir.path(), &named, &desc).unwrap();
        let mlmodel = std::fs::read_to_string(dir.path().join("MLmodel")).unwrap();
        assert!(mlmodel.contains("loader_module: ferroflow_mnist_pyfunc"));
        assert!(mlmodel.contains("run_id: abc"));
        let loaded = Tensor::read_safetensors(dir.path().join("data/model.safetensors")).unwrap();
        let mut names: Vec<_> = loaded.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(names, ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]);
        assert!(dir.path().join("code/ferroflow_mnist_pyfunc.py").is_file());
    }
}
