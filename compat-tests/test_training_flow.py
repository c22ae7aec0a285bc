"""End-to-end training flow with the official mlflow client, as a user sees it.

Runs with the 3.17.2 client (mlflow3 venv) and the 2.22 client (mlflow2 venv);
only APIs present in both are used.  Every assertion must hold against the real
``mlflow server`` 3.17.2 (COMPAT_TARGET=mlflow) as well as against ferroflow.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

import mlflow
from mlflow.entities import RunStatus, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])
EPOCHS = 5
BIG_FILE_SIZE = 50 * 1024 * 1024
DOUBLE_MAX = sys.float_info.max  # what the SQL store returns for +Inf

# key -> spec; runs are created in this order (distinct start_time)
RUNS = {
    "A": dict(name="baseline-mlp", lr="0.01", model_type="mlp", final_acc=0.80, loss0=1.00),
    "B": dict(name="mlp-fast", lr="0.1", model_type="mlp", final_acc=0.65, loss0=1.50),
    "C": dict(name="cnn-slow", lr="0.001", model_type="cnn", final_acc=0.92, loss0=0.90),
    "D": dict(name="Linear-Probe", lr="0.05", model_type="linear", final_acc=0.40, loss0=2.00),
}


def val_acc(spec, epoch):
    return round(spec["final_acc"] - 0.04 * (EPOCHS - 1 - epoch), 4)


def train_loss(spec, epoch):
    return round(spec["loss0"] / (epoch + 1), 4)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------
# The training flow (once per backend)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(module_client, server, tmp_path_factory):
    client: MlflowClient = module_client
    work = tmp_path_factory.mktemp("train")

    # local artifacts
    notes = work / "notes.txt"
    notes.write_text("training notes\nline 2\n")
    folder = work / "outputs"
    (folder / "plots" / "deep").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "summary.json").write_text('{"acc": 0.8}\n')
    (folder / "plots" / "loss.csv").write_text("epoch,loss\n0,1.0\n1,0.5\n")
    (folder / "plots" / "deep" / "nested.txt").write_text("deeply nested\n")
    (folder / "data" / "weights.bin").write_bytes(os.urandom(4096))
    big = work / "big.bin"
    with open(big, "wb") as f:
        remaining = BIG_FILE_SIZE
        while remaining:
            n = min(remaining, 8 << 20)
            f.write(os.urandom(n))
            remaining -= n

    exp_name = unique("compat-train")
    exp = mlflow.set_experiment(exp_name)
    exp_id = exp.experiment_id

    run_ids = {}
    for key, spec in RUNS.items():
        tags = {"model_type": spec["model_type"], "team": "vision"}
        with mlflow.start_run(run_name=spec["name"], tags=tags) as run:
            run_ids[key] = run.info.run_id
            mlflow.log_param("lr", spec["lr"])
            mlflow.log_params({"batch_size": 32, "optimizer": "adam", "epochs": EPOCHS})
            for epoch in range(EPOCHS):
                mlflow.log_metric("train_loss", train_loss(spec, epoch), step=epoch)
                mlflow.log_metric("val_accuracy", val_acc(spec, epoch), step=epoch)
            mlflow.set_tags({"stage": "dev", "framework": "numpy"})
            if key == "A":
                mlflow.log_metrics({"final_f1": 0.77, "final_precision": 0.81}, step=EPOCHS - 1)
                mlflow.log_artifact(str(notes))
                mlflow.log_artifacts(str(folder), artifact_path="outputs")
                mlflow.log_artifact(str(big), artifact_path="big")
                mlflow.log_metric("m_nan", float("nan"))
                mlflow.log_metric("m_inf", float("inf"))
                mlflow.log_metric("m_ninf", float("-inf"))
        time.sleep(0.05)  # distinct start_time values for ordering checks

    return dict(
        client=client,
        exp_name=exp_name,
        exp_id=exp_id,
        run_ids=run_ids,
        notes=notes,
        folder=folder,
        big=big,
        big_sha=sha256(big),
        work=work,
    )


# ---------------------------------------------------------------------------
# get_run / get_metric_history
# ---------------------------------------------------------------------------


def test_experiment_created(trained):
    client = trained["client"]
    exp = client.get_experiment_by_name(trained["exp_name"])
    assert exp is not None
    assert exp.experiment_id == trained["exp_id"]
    assert exp.lifecycle_stage == "active"
    assert exp.artifact_location == f"mlflow-artifacts:/{trained['exp_id']}"
    assert client.get_experiment(trained["exp_id"]).name == trained["exp_name"]


def test_get_run_info(trained):
    client = trained["client"]
    rid = trained["run_ids"]["A"]
    run = client.get_run(rid)
    info = run.info
    assert info.run_id == rid
    assert info.experiment_id == trained["exp_id"]
    assert info.run_name == "baseline-mlp"
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "active"
    assert isinstance(info.start_time, int) and info.start_time > 0
    assert isinstance(info.end_time, int) and info.end_time >= info.start_time
    assert info.artifact_uri == f"mlflow-artifacts:/{trained['exp_id']}/{rid}/artifacts"


def test_get_run_params_and_tags(trained):
    client = trained["client"]
    run = client.get_run(trained["run_ids"]["A"])
    assert run.data.params == {"lr": "0.01", "batch_size": "32", "optimizer": "adam", "epochs": "5"}
    tags = run.data.tags
    assert tags["model_type"] == "mlp"
    assert tags["team"] == "vision"
    assert tags["stage"] == "dev"
    assert tags["framework"] == "numpy"
    assert tags["mlflow.runName"] == "baseline-mlp"
    assert tags.get("mlflow.user")
    assert run.info.user_id == tags["mlflow.user"]
    assert "mlflow.source.name" in tags
    assert tags.get("mlflow.source.type") == "LOCAL"


def test_get_run_latest_metrics(trained):
    client = trained["client"]
    spec = RUNS["A"]
    m = client.get_run(trained["run_ids"]["A"]).data.metrics
    assert m["train_loss"] == pytest.approx(train_loss(spec, EPOCHS - 1))
    assert m["val_accuracy"] == pytest.approx(val_acc(spec, EPOCHS - 1))
    assert m["final_f1"] == pytest.approx(0.77)
    assert m["final_precision"] == pytest.approx(0.81)
    other = client.get_run(trained["run_ids"]["C"]).data.metrics
    assert set(other) == {"train_loss", "val_accuracy"}
    assert other["val_accuracy"] == pytest.approx(RUNS["C"]["final_acc"])


@pytest.mark.parametrize("key,fn", [("train_loss", train_loss), ("val_accuracy", val_acc)])
def test_metric_history(trained, key, fn):
    client = trained["client"]
    for rk in ("A", "D"):
        hist = client.get_metric_history(trained["run_ids"][rk], key)
        assert [h.step for h in hist] == list(range(EPOCHS))
        assert [h.value for h in hist] == pytest.approx([fn(RUNS[rk], e) for e in range(EPOCHS)])
        assert all(h.key == key for h in hist)
        ts = [h.timestamp for h in hist]
        assert all(isinstance(t, int) and t > 0 for t in ts)
        assert ts == sorted(ts)


def test_metric_history_unknown_key(trained):
    assert trained["client"].get_metric_history(trained["run_ids"]["A"], "no_such_metric") == []


def test_nan_and_infinity_metrics(trained):
    client = trained["client"]
    rid = trained["run_ids"]["A"]
    m = client.get_run(rid).data.metrics
    assert math.isnan(m["m_nan"])
    # The SQL store clamps +-Inf to +-DBL_MAX; that is what the client sees.
    assert m["m_inf"] == DOUBLE_MAX
    assert m["m_ninf"] == -DOUBLE_MAX
    (h,) = client.get_metric_history(rid, "m_nan")
    assert math.isnan(h.value) and h.step == 0
    (h,) = client.get_metric_history(rid, "m_inf")
    assert h.value == DOUBLE_MAX
    (h,) = client.get_metric_history(rid, "m_ninf")
    assert h.value == -DOUBLE_MAX


# ---------------------------------------------------------------------------
# search_runs
# ---------------------------------------------------------------------------


def _keys_by_id(trained):
    return {v: k for k, v in trained["run_ids"].items()}


def _search(trained, filter_string="", order_by=None, **kw):
    client = trained["client"]
    runs = client.search_runs(
        [trained["exp_id"]], filter_string=filter_string, order_by=order_by, **kw
    )
    ids = _keys_by_id(trained)
    return [ids[r.info.run_id] for r in runs]


@pytest.mark.parametrize(
    "filter_string,expected",
    [
        ("", {"A", "B", "C", "D"}),
        ("metrics.val_accuracy > 0.5", {"A", "B", "C"}),
        ("metrics.val_accuracy <= 0.65", {"B", "D"}),
        ("metrics.train_loss < 0.3 and metrics.val_accuracy >= 0.8", {"A", "C"}),
        ("params.lr = '0.01'", {"A"}),
        ("params.lr != '0.01'", {"B", "C", "D"}),
        ("tags.model_type = 'mlp'", {"A", "B"}),
        ("tags.model_type = 'mlp' AND metrics.val_accuracy > 0.7", {"A"}),
        ("tags.`mlflow.runName` = 'cnn-slow'", {"C"}),
        ("attributes.status = 'FINISHED'", {"A", "B", "C", "D"}),
        ("attributes.status = 'RUNNING'", set()),
        ("attributes.run_name LIKE 'mlp-%'", {"B"}),
        ("attributes.run_name LIKE '%mlp%'", {"A", "B"}),
        ("attributes.run_name LIKE 'linear%'", set()),
        ("attributes.run_name ILIKE 'linear%'", {"D"}),
        ("params.optimizer LIKE 'ad%'", {"A", "B", "C", "D"}),
        ("tags.model_type ILIKE 'ML%'", {"A", "B"}),
        ("params.missing IS NULL", {"A", "B", "C", "D"}),
        ("metrics.final_f1 > 0", {"A"}),
    ],
)
def test_search_runs_filter(trained, filter_string, expected):
    assert set(_search(trained, filter_string)) == expected


def test_search_runs_run_id_in(trained):
    ids = trained["run_ids"]
    f = f"attributes.run_id IN ('{ids['A']}', '{ids['C']}', 'ffffffffffffffffffffffffffffffff')"
    assert set(_search(trained, f)) == {"A", "C"}


@pytest.mark.parametrize(
    "order_by,expected",
    [
        (["metrics.val_accuracy DESC"], ["C", "A", "B", "D"]),
        (["metrics.val_accuracy ASC"], ["D", "B", "A", "C"]),
        (["params.lr ASC"], ["C", "A", "D", "B"]),
        (["params.lr DESC"], ["B", "D", "A", "C"]),
        (["start_time DESC"], ["D", "C", "B", "A"]),
        (["attributes.start_time ASC"], ["A", "B", "C", "D"]),
        (["tags.model_type ASC", "metrics.val_accuracy DESC"], ["C", "D", "A", "B"]),
        (["tags.model_type DESC", "params.lr ASC"], ["A", "B", "D", "C"]),
        (None, ["D", "C", "B", "A"]),  # default: start_time DESC
    ],
)
def test_search_runs_order_by(trained, order_by, expected):
    assert _search(trained, "", order_by=order_by) == expected


def test_search_runs_filter_and_order(trained):
    assert _search(trained, "metrics.val_accuracy > 0.5", ["params.lr DESC"]) == ["B", "A", "C"]


def test_search_runs_paging(trained):
    client = trained["client"]
    seen = []
    token = None
    pages = 0
    while True:
        page = client.search_runs(
            [trained["exp_id"]], order_by=["metrics.val_accuracy DESC"], max_results=3,
            page_token=token,
        )
        pages += 1
        assert len(page) <= 3
        seen.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            break
        assert pages < 10
    ids = _keys_by_id(trained)
    assert [ids[r] for r in seen] == ["C", "A", "B", "D"]
    first = client.search_runs([trained["exp_id"]], order_by=["start_time DESC"], max_results=2)
    assert len(first) == 2 and first.token
    second = client.search_runs(
        [trained["exp_id"]], order_by=["start_time DESC"], max_results=2, page_token=first.token
    )
    assert [ids[r.info.run_id] for r in list(first) + list(second)] == ["D", "C", "B", "A"]


def test_search_runs_max_results_exact(trained):
    client = trained["client"]
    page = client.search_runs([trained["exp_id"]], max_results=4)
    assert len(page) == 4


def test_search_runs_returns_full_runs(trained):
    (run,) = trained["client"].search_runs([trained["exp_id"]], "params.lr = '0.001'")
    assert run.info.run_name == "cnn-slow"
    assert run.info.status == "FINISHED"
    assert run.data.params["lr"] == "0.001"
    assert run.data.tags["model_type"] == "cnn"
    assert run.data.metrics["val_accuracy"] == pytest.approx(0.92)


def test_fluent_search_runs_dataframe(trained):
    df = mlflow.search_runs(experiment_names=[trained["exp_name"]])
    assert len(df) == 4
    for col in ("run_id", "experiment_id", "status", "start_time", "end_time", "artifact_uri",
                "metrics.val_accuracy", "metrics.train_loss", "params.lr", "params.batch_size",
                "tags.model_type", "tags.mlflow.runName"):
        assert col in df.columns, col
    assert set(df["run_id"]) == set(trained["run_ids"].values())
    assert set(df["status"]) == {"FINISHED"}
    row = df[df["run_id"] == trained["run_ids"]["C"]].iloc[0]
    assert row["params.lr"] == "0.001"
    assert row["tags.model_type"] == "cnn"
    assert row["metrics.val_accuracy"] == pytest.approx(0.92)
    # default order: newest first
    assert list(df["run_id"]) == [trained["run_ids"][k] for k in ("D", "C", "B", "A")]
    filtered = mlflow.search_runs(
        experiment_names=[trained["exp_name"]],
        filter_string="metrics.val_accuracy > 0.5",
        order_by=["metrics.val_accuracy DESC"],
    )
    assert list(filtered["run_id"]) == [trained["run_ids"][k] for k in ("C", "A", "B")]


# ---------------------------------------------------------------------------
# Artifacts
# ---------------------------------------------------------------------------


def test_list_artifacts_root(trained):
    client = trained["client"]
    files = {f.path: f for f in client.list_artifacts(trained["run_ids"]["A"])}
    assert set(files) == {"notes.txt", "outputs", "big"}
    assert files["outputs"].is_dir and files["big"].is_dir
    assert not files["notes.txt"].is_dir
    assert files["notes.txt"].file_size == trained["notes"].stat().st_size


def test_list_artifacts_nested(trained):
    client = trained["client"]
    rid = trained["run_ids"]["A"]
    outputs = {f.path: f for f in client.list_artifacts(rid, "outputs")}
    assert set(outputs) == {"outputs/summary.json", "outputs/plots", "outputs/data"}
    assert outputs["outputs/plots"].is_dir and outputs["outputs/data"].is_dir
    assert outputs["outputs/summary.json"].file_size == (trained["folder"] / "summary.json").stat().st_size
    deep = {f.path: f for f in client.list_artifacts(rid, "outputs/plots/deep")}
    assert set(deep) == {"outputs/plots/deep/nested.txt"}
    big = client.list_artifacts(rid, "big")
    assert [(f.path, f.is_dir, f.file_size) for f in big] == [("big/big.bin", False, BIG_FILE_SIZE)]
    assert client.list_artifacts(rid, "does-not-exist") == []


def test_list_artifacts_empty_run(trained):
    assert trained["client"].list_artifacts(trained["run_ids"]["B"]) == []


def test_download_artifact_folder(trained, tmp_path):
    client = trained["client"]
    local = client.download_artifacts(trained["run_ids"]["A"], "outputs", str(tmp_path))
    assert tree_files(Path(local)) == tree_files(trained["folder"])


def test_download_artifacts_fluent(trained, tmp_path):
    local = mlflow.artifacts.download_artifacts(
        run_id=trained["run_ids"]["A"], artifact_path="notes.txt", dst_path=str(tmp_path)
    )
    assert Path(local).read_bytes() == trained["notes"].read_bytes()


def test_download_big_artifact(trained, tmp_path):
    client = trained["client"]
    local = Path(client.download_artifacts(trained["run_ids"]["A"], "big/big.bin", str(tmp_path)))
    assert local.stat().st_size == BIG_FILE_SIZE
    assert sha256(local) == trained["big_sha"]


def test_artifacts_on_disk_layout(trained, server):
    """The proxied store keeps the <exp>/<run>/artifacts/<path> layout on disk."""
    rid = trained["run_ids"]["A"]
    root = server.artifacts_dir / trained["exp_id"] / rid / "artifacts"
    assert (root / "notes.txt").read_bytes() == trained["notes"].read_bytes()
    assert (root / "outputs" / "plots" / "deep" / "nested.txt").is_file()
    assert (root / "big" / "big.bin").stat().st_size == BIG_FILE_SIZE


# ---------------------------------------------------------------------------
# Lifecycle: delete / restore runs and experiments
# ---------------------------------------------------------------------------


def test_delete_restore_run(client):
    exp_id = mlflow.set_experiment(unique("compat-lifecycle")).experiment_id
    with mlflow.start_run(run_name="keep") as r1:
        mlflow.log_metric("x", 1.0)
    with mlflow.start_run(run_name="drop") as r2:
        mlflow.log_metric("x", 2.0)
    keep, drop = r1.info.run_id, r2.info.run_id

    def ids(view):
        return {r.info.run_id for r in client.search_runs([exp_id], run_view_type=view)}

    client.delete_run(drop)
    assert client.get_run(drop).info.lifecycle_stage == "deleted"
    assert ids(ViewType.ACTIVE_ONLY) == {keep}
    assert ids(ViewType.DELETED_ONLY) == {drop}
    assert ids(ViewType.ALL) == {keep, drop}
    with pytest.raises(MlflowException, match="must be in the 'active' state"):
        client.log_metric(drop, "y", 1.0)
    client.restore_run(drop)
    assert client.get_run(drop).info.lifecycle_stage == "active"
    assert ids(ViewType.ACTIVE_ONLY) == {keep, drop}
    assert ids(ViewType.DELETED_ONLY) == set()
    client.log_metric(drop, "y", 1.0)
    assert client.get_run(drop).data.metrics["y"] == 1.0


def test_delete_restore_experiment(client):
    name = unique("compat-exp-lifecycle")
    exp_id = client.create_experiment(name, tags={"owner": "compat"})
    run = client.create_run(exp_id, run_name="inside")
    client.set_terminated(run.info.run_id)

    client.delete_experiment(exp_id)
    exp = client.get_experiment(exp_id)
    assert exp.lifecycle_stage == "deleted"
    assert exp.tags.get("owner") == "compat"
    # get-by-name still finds it, flagged deleted
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    # its runs are deleted with it
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"

    active = {e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)}
    deleted = {e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)}
    assert exp_id not in active and exp_id in deleted

    with pytest.raises(MlflowException):
        client.create_run(exp_id)
    with pytest.raises(MlflowException):
        client.create_experiment(name)  # names stay reserved while deleted
    with pytest.raises(MlflowException):
        mlflow.set_experiment(name)

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    assert exp_id in {e.experiment_id for e in client.search_experiments()}
    assert mlflow.set_experiment(name).experiment_id == exp_id


def test_search_experiments(client):
    prefix = unique("compat-se")
    ids = [client.create_experiment(f"{prefix}-{i}", tags={"idx": str(i)}) for i in range(3)]
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [e.experiment_id for e in found] == ids[::-1]
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%' AND tags.idx = '1'")
    assert [e.experiment_id for e in found] == [ids[1]]
    page = client.search_experiments(
        filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"], max_results=2
    )
    assert [e.experiment_id for e in page] == ids[:2] and page.token
    page2 = client.search_experiments(
        filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"], max_results=2,
        page_token=page.token,
    )
    assert [e.experiment_id for e in page2] == ids[2:] and not page2.token


# ---------------------------------------------------------------------------
# Resuming a run from a second client
# ---------------------------------------------------------------------------


def test_resume_run_from_second_client(client, server):
    mlflow.set_experiment(unique("compat-resume"))
    with mlflow.start_run(run_name="first-rank") as run:
        mlflow.log_param("lr", "0.01")
        mlflow.log_metric("loss", 1.0, step=0)
    rid = run.info.run_id
    first = client.get_run(rid)
    assert first.info.status == "FINISHED"

    # second process/rank: fresh client objects, resume by id
    other = MlflowClient(tracking_uri=server.url)
    with mlflow.start_run(run_id=rid) as resumed:
        assert resumed.info.run_id == rid
        assert other.get_run(rid).info.status == "RUNNING"
        mlflow.log_metric("loss", 0.5, step=1)
        other.log_metric(rid, "loss", 0.25, step=2)
        other.set_tag(rid, "resumed", "yes")
    final = other.get_run(rid)
    assert final.info.status == "FINISHED"
    assert final.info.end_time is not None and final.info.end_time >= final.info.start_time
    assert final.info.run_name == "first-rank"
    assert final.data.params == {"lr": "0.01"}
    assert final.data.tags["resumed"] == "yes"
    assert final.data.metrics["loss"] == 0.25
    hist = other.get_metric_history(rid, "loss")
    assert [(h.step, h.value) for h in hist] == [(0, 1.0), (1, 0.5), (2, 0.25)]


def test_set_terminated_and_status(client):
    exp_id = client.create_experiment(unique("compat-status"))
    run = client.create_run(exp_id, run_name="will-fail", tags={"k": "v"})
    rid = run.info.run_id
    assert run.info.status == "RUNNING"
    assert run.data.tags["mlflow.runName"] == "will-fail"
    client.set_terminated(rid, status="FAILED")
    got = client.get_run(rid)
    assert got.info.status == RunStatus.to_string(RunStatus.FAILED) == "FAILED"
    assert got.info.end_time is not None


def test_log_batch_via_client(client):
    from mlflow.entities import Metric, Param, RunTag

    exp_id = client.create_experiment(unique("compat-batch"))
    rid = client.create_run(exp_id).info.run_id
    ts = int(time.time() * 1000)
    client.log_batch(
        rid,
        metrics=[Metric("acc", 0.1 * i, ts + i, i) for i in range(10)],
        params=[Param(f"p{i}", str(i)) for i in range(5)],
        tags=[RunTag("batch", "yes")],
    )
    run = client.get_run(rid)
    assert run.data.metrics["acc"] == pytest.approx(0.9)
    assert run.data.params == {f"p{i}": str(i) for i in range(5)}
    assert run.data.tags["batch"] == "yes"
    assert len(client.get_metric_history(rid, "acc")) == 10


def test_param_overwrite_rejected(client):
    exp_id = client.create_experiment(unique("compat-param"))
    rid = client.create_run(exp_id).info.run_id
    client.log_param(rid, "lr", "0.01")
    client.log_param(rid, "lr", "0.01")  # same value: fine
    with pytest.raises(MlflowException, match="Changing param values is not allowed"):
        client.log_param(rid, "lr", "0.02")
    assert client.get_run(rid).data.params == {"lr": "0.01"}


def test_set_experiment_existing_name(client):
    name = unique("compat-existing")
    exp_id = client.create_experiment(name)
    assert mlflow.set_experiment(name).experiment_id == exp_id
    assert client.get_experiment_by_name(unique("compat-nope")) is None


@pytest.mark.skipif(MLFLOW_MAJOR < 3, reason="3.x client only")
def test_client_version_3x_download_uses_server_info(trained, tmp_path):
    """3.x download_artifacts consults server-info / logged-models; must still work."""
    local = mlflow.artifacts.download_artifacts(
        run_id=trained["run_ids"]["A"], artifact_path="outputs/plots", dst_path=str(tmp_path)
    )
    assert tree_files(Path(local)) == tree_files(trained["folder"] / "plots")
