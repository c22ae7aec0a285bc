//! ferroflow-train: data-parallel MNIST training with tch and libtorch's own
//! c10d collectives, logging to an MLflow-compatible tracking server.

pub mod checkpoint;
pub mod data;
pub mod dist;
pub mod env;
pub mod launch;
pub mod mlmodel;
pub mod model;
pub mod sampler;
pub mod selftest;
pub mod tracking;
pub mod train;
