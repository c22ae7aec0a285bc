"""End to end: ``ferroflow-train launch --nproc 3`` logging into a tracking server,
checked with the official mlflow client.

Needs the trainer binary (env FERROFLOW_TRAIN_BIN, default
<repo>/target/debug/ferroflow-train or <repo>/target/trainer/debug/ferroflow-train)
and the MNIST test set (env MNIST_DIR with t10k-*.gz, default ../shared/data/mnist);
skipped without them, failed when either variable is set but points at nothing.  The
server is ferroflow (FERROFLOW_BIN) on a temporary SQLite database, or the
reference ``mlflow server`` with COMPAT_TARGET=mlflow, like the rest of the suite.

The training run is shared by the module: 3 ranks, 5 epochs, on the 8k/2k
train/validation split of the 10k test set.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (
    TARGET,
    follow_tracking_uri_for_registry,
    Server,
    _stop,
    mnist_dir,
    needs_trainer_and_mnist,
    start_server,
    trainer_bin,
)

EXPERIMENT = "ferroflow-trainer-e2e"
MODEL_NAME = "DistributedTrainingModel"
EPOCHS = 5
METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
TRAIN_TIMEOUT_S = float(os.environ.get("TRAINER_TIMEOUT", "600"))
TRAINER = trainer_bin()
MNIST = mnist_dir()
pytestmark = needs_trainer_and_mnist()


# --------------------------------------------------------------------------
# A tracking server of our own (SQLite, local artifacts).
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tracking_server():
    workdir = Path(tempfile.mkdtemp(prefix=f"trainer-{TARGET}-"))
    server = start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}")
    try:
        yield server
    finally:
        _stop(server.proc)
        if os.environ.get("COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


def run_trainer(server: Server, experiment: str, args: list[str],
                timeout: float = TRAIN_TIMEOUT_S) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_EXPERIMENT_NAME=experiment)
    env.pop("RUST_BACKTRACE", None)
    for var in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "PET_NNODES"):
        env.pop(var, None)
    started = time.monotonic()
    proc = subprocess.run([str(TRAINER), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    print(f"$ ferroflow-train {' '.join(args)}  ({time.monotonic() - started:.1f} s, "
          f"exit {proc.returncode})\n{proc.stdout}\n{proc.stderr}", file=sys.stderr)
    return proc


@pytest.fixture(scope="module")
def client(tracking_server, monkeypatch_module):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch_module.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
    mlflow.set_tracking_uri(tracking_server.url)
    mlflow.set_registry_uri(tracking_server.url)
    yield MlflowClient(tracking_uri=tracking_server.url, registry_uri=tracking_server.url)
    follow_tracking_uri_for_registry()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def trained(tracking_server, tmp_path_factory):
    """One 3-rank, 5-epoch run, registered as DistributedTrainingModel."""
    checkpoints = tmp_path_factory.mktemp("checkpoints")
    proc = run_trainer(tracking_server, EXPERIMENT, [
        "launch", "--nproc", "3",
        "--epochs", str(EPOCHS),
        "--data-dir", str(MNIST),
        "--checkpoint-dir", str(checkpoints),
        "--register-as", MODEL_NAME,
    ])
    return proc


def validation_split():
    """The last 2000 digits of t10k (the trainer's validation split), as
    float pixels in [0, 1] and int labels."""
    import numpy as np

    with gzip.open(MNIST / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
    return images[8000:].astype(np.float32) / 255.0, labels[8000:]


def the_run(client):
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None, "the trainer did not create its experiment"
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, f"expected one run, got {[r.info.run_id for r in runs]}"
    return runs[0]


def test_run_has_params_tags_and_one_point_per_epoch(trained, client):
    # Registration is checked (and reported) by its own test below.
    registry_failure = "could not register the model" in trained.stderr
    assert trained.returncode == 0 or registry_failure, trained.stderr[-3000:]
    run = the_run(client)
    assert run.info.status == "FINISHED"
    params = run.data.params
    expected = {"epochs": str(EPOCHS), "batch_size": "64", "lr": "0.001", "world_size": "3",
                "backend": "gloo", "model": "mlp", "seed": "42", "dataset": "mnist"}
    assert {k: params.get(k) for k in expected} == expected
    tags = run.data.tags
    assert tags.get("model_type") == "mlp"
    assert tags.get("training_type") == "distributed"
    assert tags.get("framework") == "tch"
    for key in METRICS:
        history = client.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, EPOCHS + 1)), key
    val = sorted(client.get_metric_history(run.info.run_id, "val_accuracy"), key=lambda m: m.step)
    assert val[-1].value >= 0.92, f"val_accuracy after {EPOCHS} epochs: {val[-1].value}"
    assert "samples_per_second" in run.data.metrics


def test_run_has_the_model_artifacts(trained, client):
    run = the_run(client)
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "model"} <= top, top
    model = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"model/MLmodel", "model/data", "model/code"} <= model, model
    data = {a.path for a in client.list_artifacts(run.info.run_id, "model/data")}
    assert {"model/data/model.safetensors", "model/data/config.json"} <= data, data


def test_logged_model_reproduces_the_reported_accuracy(trained, client):
    import mlflow
    import numpy as np

    run = the_run(client)
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    images, labels = validation_split()
    predicted = np.asarray(model.predict(images))
    accuracy = float((predicted == labels).mean())
    best = max(m.value for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
    # Same weights, numpy instead of libtorch: at most a borderline digit apart.
    assert abs(accuracy - best) <= 1.5 / len(labels), (accuracy, best)


def test_model_is_registered_and_loads_from_the_registry(trained, client):
    import mlflow
    import numpy as np

    run = the_run(client)
    if "could not register the model" in trained.stderr:
        line = next(l for l in trained.stderr.splitlines() if "registration failed" in l)
        pytest.fail(f"the server refused the registration: {line}")
    version = client.get_model_version(MODEL_NAME, "1")
    assert version.run_id == run.info.run_id
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    images, labels = validation_split()
    accuracy = float((np.asarray(model.predict(images)) == labels).mean())
    best = max(m.value for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
    assert abs(accuracy - best) <= 1.5 / len(labels), (accuracy, best)


@pytest.mark.parametrize("store", ["local-dir", "artifact-store"])
def test_restart_resumes_from_the_checkpoint(tracking_server, client, tmp_path, store):
    """A rank dies mid-epoch 2; the relaunch continues the same run from the
    checkpoint of epoch 1 and finishes it, one metric point per epoch.  The
    checkpoint lives in a local directory, or only in the run's artifacts
    (the relaunch finds its run by --job-id)."""
    experiment = f"ferroflow-trainer-restart-{store}"
    common = ["launch", "--nproc", "3", "--epochs", "3", "--data-dir", str(MNIST), "--timeout", "60"]
    if store == "local-dir":
        common += ["--checkpoint-dir", str(tmp_path / "ckpt")]
    else:
        common += ["--checkpoint-artifacts", "--job-id", f"mnist-{tmp_path.name}"]
    # 8000 / 3 ranks / 64 = 42 steps per epoch: rank 1 dies in epoch 2.
    crashed = run_trainer(tracking_server, experiment,
                          common + ["--crash-rank", "1", "--crash-after-steps", "50"])
    assert crashed.returncode != 0
    assert "rank 1: signal 9" in crashed.stderr, crashed.stderr[-2000:]
    assert "epoch 1/3" in crashed.stdout and "epoch 2/3" not in crashed.stdout

    resumed = run_trainer(tracking_server, experiment, common)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from checkpoint after epoch 1" in resumed.stdout

    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, "the relaunch must continue the run, not start another"
    run = runs[0]
    assert run.info.status == "FINISHED"
    for key in METRICS:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert sorted(steps) == [1, 2, 3], (key, steps)
    assert re.search(r"epoch 3/3: .*val_accuracy=0\.9", resumed.stdout), resumed.stdout
