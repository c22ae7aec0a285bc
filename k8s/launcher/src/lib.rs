//! ferroflow's distributed MNIST job on Kubernetes.
//!
//! - [`crd`]: the Kubeflow kinds, typed with `#[derive(CustomResource)]`
//!   (`PyTorchJob` kubeflow.org/v1, `TrainJob` trainer.kubeflow.org/v1alpha1).
//!   The CRDs themselves belong to the operator: nothing here installs them.
//! - [`render`]: the job from [`render::JobOptions`] (what `k8s/training/*.yaml` hold).
//! - [`manifest`]: multi-document YAML in and out; arbitrary objects as `DynamicObject`.
//! - [`lint`]: the operator's rules the CRD schema does not enforce, and the
//!   cross-references between rendered objects (Secrets, ConfigMaps, Services,
//!   ports, env URLs).
//! - [`follow`]: watch a job's conditions to Succeeded/Failed while streaming
//!   the master pod's log.
//! - [`submit`]: the `submit` command (`ferroflow-k8s submit`, and
//!   `ferroflow-train submit` through [`submit::submit_main`]).

pub mod crd;
pub mod follow;
pub mod lint;
pub mod manifest;
pub mod render;
pub mod submit;

pub use follow::{JobKind, JobRef, Outcome, Phase};
pub use submit::{submit_main, SubmitArgs};
