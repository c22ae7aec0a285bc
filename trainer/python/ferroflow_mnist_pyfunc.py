"""MLflow ``python_function`` loader for models written by ferroflow-train.

Needs only numpy (and uses the ``safetensors`` package when it is installed;
otherwise a minimal reader of the same format).  No torch: the forward pass of
the two networks is a few lines of numpy.

Input: a numpy array, list or pandas DataFrame of pixel intensities in [0, 1]
with shape (n, 784), (n, 28, 28) or (n, 1, 28, 28); uint8 input (0..255) is
scaled by 1/255.  Output: the predicted class per row (int64), or the class
probabilities with ``params={"output": "probabilities"}``.
"""

import json
import os
import struct

import numpy as np

_DTYPES = {
    "F16": np.float16,
    "BF16": None,
    "F32": np.float32,
    "F64": np.float64,
    "I32": np.int32,
    "I64": np.int64,
    "U8": np.uint8,
}


def read_safetensors(path):
    """name -> numpy array for a .safetensors file."""
    try:
        from safetensors.numpy import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        return load_file(path)
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ValueError(f"unsupported safetensors dtype {info['dtype']} for {name}")
        start, end = info["data_offsets"]
        array = np.frombuffer(data[base + start : base + end], dtype=np.dtype(dtype).newbyteorder("<"))
        tensors[name] = array.reshape(info["shape"]).astype(dtype)
    return tensors


def _relu(x):
    return np.maximum(x, 0)


def _conv2d(x, weight, bias):
    """Valid, stride-1 convolution: x (n, c, h, w), weight (o, c, k, k)."""
    k = weight.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    out = np.einsum("nchwij,ocij->nohw", windows, weight, optimize=True)
    return out + bias[None, :, None, None]


def _max_pool2(x):
    n, c, h, w = x.shape
    return x[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


class MnistModel:
    def __init__(self, weights, config):
        self.weights = {k: v.astype(np.float32) for k, v in weights.items()}
        self.config = config
        self.mean = float(config["normalize"]["mean"])
        self.std = float(config["normalize"]["std"])
        self.model = config["model"]

    def _prepare(self, model_input):
        if hasattr(model_input, "to_numpy"):
            model_input = model_input.to_numpy()
        x = np.asarray(model_input)
        scale = 1.0 / 255.0 if x.dtype == np.uint8 else 1.0
        x = x.astype(np.float32).reshape(x.shape[0], -1) * scale
        if x.shape[1] != 784:
            raise ValueError(f"expected 784 pixels per row, got {x.shape[1]}")
        return (x - self.mean) / self.std

    def logits(self, model_input):
        x = self._prepare(model_input)
        w = self.weights
        if self.model == "mlp":
            h = _relu(x @ w["fc1.weight"].T + w["fc1.bias"])
            return h @ w["fc2.weight"].T + w["fc2.bias"]
        if self.model == "cnn":
            h = x.reshape(-1, 1, 28, 28)
            h = _max_pool2(_relu(_conv2d(h, w["conv1.weight"], w["conv1.bias"])))
            h = _max_pool2(_relu(_conv2d(h, w["conv2.weight"], w["conv2.bias"])))
            h = h.reshape(h.shape[0], -1)
            h = _relu(h @ w["fc1.weight"].T + w["fc1.bias"])
            return h @ w["fc2.weight"].T + w["fc2.bias"]
        raise ValueError(f"unknown model {self.model!r}")

    def predict(self, model_input, params=None):
        logits = self.logits(model_input)
        if params and params.get("output") == "probabilities":
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        return logits.argmax(axis=1).astype(np.int64)


def _load_pyfunc(data_path, model_config=None):
    with open(os.path.join(data_path, "config.json")) as f:
        config = json.load(f)
    weights = read_safetensors(os.path.join(data_path, "model.safetensors"))
    return MnistModel(weights, config)
