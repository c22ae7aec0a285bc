//! The two networks.  Variable names follow the PyTorch modules they mirror
//! (`fc1.weight`, `conv1.bias`, …) so a saved state dict loads into them with
//! `load_state_dict(strict=True)`.

use tch::nn;
use tch::Tensor;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The design doc's MLP: 784-128-10, ReLU, dropout.
    Mlp,
    /// The Kubeflow PyTorchJob MNIST CNN: conv(1→20, 5) → pool → conv(20→50, 5)
    /// → pool → fc(800→500) → fc(500→10).
    Cnn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Mlp => "mlp",
            ModelKind::Cnn => "cnn",
        }
    }
}

pub const HIDDEN: i64 = 128;
pub const CLASSES: i64 = 10;
pub const PIXELS: i64 = 784;

pub enum Net {
    Mlp {
        fc1: nn::Linear,
        fc2: nn::Linear,
        dropout: f64,
    },
    Cnn(Box<CnnLayers>),
}

pub struct CnnLayers {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

/// PyTorch's default init for Linear/Conv: U(-1/√fan_in, 1/√fan_in) for
/// weight and bias (kaiming_uniform with a=√5 reduces to this).
fn torch_default_init(fan_in: i64) -> nn::Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    nn::Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

fn linear(vs: &nn::Path, name: &str, input: i64, output: i64) -> nn::Linear {
    let init = torch_default_init(input);
    nn::linear(
        vs / name,
        input,
        output,
        nn::LinearConfig {
            ws_init: init,
            bs_init: Some(init),
            bias: true,
        },
    )
}

fn conv(vs: &nn::Path, name: &str, input: i64, output: i64, kernel: i64) -> nn::Conv2D {
    let init = torch_default_init(input * kernel * kernel);
    nn::conv2d(
        vs / name,
        input,
        output,
        kernel,
        nn::ConvConfig {
            ws_init: init,
            bs_init: init,
            ..Default::default()
        },
    )
}

impl Net {
    pub fn new(vs: &nn::Path, kind: ModelKind, dropout: f64) -> Net {
        match kind {
            ModelKind::Mlp => Net::Mlp {
                fc1: linear(vs, "fc1", PIXELS, HIDDEN),
                fc2: linear(vs, "fc2", HIDDEN, CLASSES),
                dropout,
            },
            ModelKind::Cnn => Net::Cnn(Box::new(CnnLayers {
                conv1: conv(vs, "conv1", 1, 20, 5),
                conv2: conv(vs, "conv2", 20, 50, 5),
                fc1: linear(vs, "fc1", 4 * 4 * 50, 500),
                fc2: linear(vs, "fc2", 500, CLASSES),
            })),
        }
    }

    /// Logits `[n, 10]` for normalized images `[n, 784]`.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            Net::Mlp { fc1, fc2, dropout } => {
                xs.apply(fc1).relu().dropout(*dropout, train).apply(fc2)
            }
            Net::Cnn(l) => xs
                .view([-1, 1, 28, 28])
                .apply(&l.conv1)
                .relu()
                .max_pool2d_default(2)
                .apply(&l.conv2)
                .relu()
                .max_pool2d_default(2)
                .view([-1, 4 * 4 * 50])
                .apply(&l.fc1)
                .relu()
                .apply(&l.fc2),
        }
    }

    pub fn forward(&self, xs: &Tensor) -> Tensor {
        self.forward_t(xs, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn state_dict_names_match_pytorch() {
        for (kind, expected) in [
            (
                ModelKind::Mlp,
                vec!["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"],
            ),
            (
                ModelKind::Cnn,
                vec![
                    "conv1.bias",
                    "conv1.weight",
                    "conv2.bias",
                    "conv2.weight",
                    "fc1.bias",
                    "fc1.weight",
                    "fc2.bias",
                    "fc2.weight",
                ],
            ),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let net = Net::new(&vs.root(), kind, 0.2);
            let mut names: Vec<String> = vs.variables().into_keys().collect();
            names.sort();
            assert_eq!(names, expected);
            let out = net.forward(&Tensor::zeros([3, 784], (Kind::Float, Device::Cpu)));
            assert_eq!(out.size(), vec![3, 10]);
        }
    }

    #[test]
    fn weights_use_pytorch_default_bounds() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _net = Net::new(&vs.root(), ModelKind::Mlp, 0.0);
        let vars = vs.variables();
        let w = &vars["fc1.weight"];
        assert_eq!(w.size(), vec![128, 784]);
        let bound = 1.0 / 784f64.sqrt();
        let max = w.abs().max().double_value(&[]);
        assert!(
            max <= bound && max > 0.9 * bound,
            "max |w| {max}, bound {bound}"
        );
    }
}
