"""Cross-server test: ferroflow and the Python ``mlflow server`` 3.17.2 on ONE database.

Direction ``ferroflow->mlflow``: ferroflow creates the schema on a fresh database and
the official client writes a realistic data set through it; ferroflow is stopped and
the Python server, started on the same database and artifacts directory, must serve
everything back unchanged.  Direction ``mlflow->ferroflow`` is the mirror image (the
Python server creates the schema through alembic).  Each direction runs on SQLite and
on PostgreSQL.

Three layers of checks, all failures collected and reported together:

1. *expected*: what the reader returns (via ``MlflowClient``) equals what the test
   wrote (experiment fields and tags, run info, params, tags, latest metrics incl.
   NaN/+-inf, full metric histories, dataset inputs, searches with filters and
   ordering, artifact listings and bytes);
2. *writer vs reader*: the same client-level description taken from the writer before
   it was stopped equals the one taken from the reader;
3. *raw JSON*: with both servers running on the database, a set of read calls
   (runs/get, experiments/get[-by-name], experiments/search, runs/search,
   metrics/get-history[-bulk-interval], artifacts/list, proxied artifact list and
   downloads, logged-models/search, second pages via next_page_token) is issued with
   ``requests`` to each and the responses must be equal (see ``normalise``).

The servers are started by private helpers (conftest's ``server`` fixture starts one
server of one kind per module; this test needs both kinds on one database).

Developing without a ferroflow binary: ``COMPAT_CROSS_SELF_TEST=1`` runs a second
Python server in ferroflow's place, which proves the test logic itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# Fail fast instead of retrying 5xx answers for minutes (conftest sets these too).
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")

import mlflow  # noqa: E402
import mlflow.data  # noqa: E402
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import pgutil  # noqa: E402
from conftest import _stop, start_server  # noqa: E402

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
DOUBLE_MAX = sys.float_info.max  # what the SQL store keeps for +inf
T0 = 1_700_000_000_000  # fixed epoch millis: every timestamp the test writes is known
STARTUP_TIMEOUT_S = float(os.environ.get("COMPAT_STARTUP_TIMEOUT", "180"))
SELF_TEST = os.environ.get("COMPAT_CROSS_SELF_TEST") == "1"

BACKENDS = [
    b.strip()
    for b in os.environ.get("COMPAT_BACKENDS", "sqlite,postgres").split(",")
    if b.strip()
]
DIRECTIONS = [("ferroflow", "mlflow"), ("mlflow", "ferroflow")]


# ---------------------------------------------------------------------------
# servers and databases
# ---------------------------------------------------------------------------


@dataclass
class Database:
    backend: str
    sqlite_path: Path | None = None
    pg_name: str | None = None

    def uri(self, kind: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.sqlite_path}"  # absolute path -> sqlite:////abs.db
        # SQLAlchemy 2.x maps a bare postgresql:// to psycopg 3, which is not installed.
        return pgutil.pg_uri(self.pg_name, driver=(kind == "mlflow"))


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path):
    if backend == "sqlite":
        yield Database("sqlite", sqlite_path=tmp_path / "cross.db")
        return
    name = pgutil.create_database("cross")
    try:
        yield Database("postgres", pg_name=name)
    finally:
        try:
            pgutil.drop_database(name)
        except Exception as e:  # pragma: no cover - cleanup only
            print(f"warning: could not drop database {name}: {e}", file=sys.stderr)


@contextlib.contextmanager
def server(kind: str, db: Database, artifacts: Path, workdir: Path, label: str):
    """Run ``kind`` ('ferroflow' or 'mlflow') on ``db``/``artifacts`` until the block ends."""
    target = "mlflow" if (kind == "mlflow" or SELF_TEST) else "ferroflow"
    srv = start_server(db.backend, workdir, db.uri(target),
                       artifact_args=["--artifacts-destination", str(artifacts)],
                       target=target, log_name=f"{label}.log")
    try:
        yield srv
    finally:
        _stop(srv.proc)


@contextlib.contextmanager
def client_for(url: str):
    """MlflowClient on ``url``; the global tracking URI follows so that proxied
    ``mlflow-artifacts:/`` URIs resolve to the same server."""
    old_env = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = url
    mlflow.set_tracking_uri(url)
    try:
        yield MlflowClient(tracking_uri=url)
    finally:
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env


# ---------------------------------------------------------------------------
# the data set written through the writer
# ---------------------------------------------------------------------------


def num(v):
    """Comparable form of a metric value as the SQL store returns it."""
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if v == math.inf:
        return DOUBLE_MAX
    if v == -math.inf:
        return -DOUBLE_MAX
    return v


def short(v, n: int = 200) -> str:
    r = repr(v)
    return r if len(r) <= n else f"{r[:n]}...<{len(r)} chars>"


def fingerprint(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()[:16]


def _latest(points):
    """MLflow's latest-metric rule: max by (step, timestamp, value)."""
    return max(points, key=lambda p: (p[0], p[1], p[2]))


def write_everything(client: MlflowClient, work: Path) -> dict:
    """Write the data set; return what a correct server must give back."""
    import numpy as np
    import pandas as pd

    suffix = uuid.uuid4().hex[:8]
    exp_name = f"xs-main-{suffix}"
    exp_tags = {"team": "ml", "note": "ünïcødé ✓ 数据", "multi": "line1\nline2"}
    exp_id = client.create_experiment(exp_name, tags=exp_tags)
    client.set_experiment_tag(exp_id, "mlflow.note.content", "# Cross test\nmarkdown")
    client.set_experiment_tag(exp_id, "to-delete", "x")
    client.delete_experiment_tag(exp_id, "to-delete")
    exp_tags["mlflow.note.content"] = "# Cross test\nmarkdown"

    # a second experiment, renamed and then deleted together with its run
    exp2_id = client.create_experiment(f"xs-old-{suffix}")
    exp2_name = f"xs-gone-{suffix}"
    client.rename_experiment(exp2_id, exp2_name)
    run_d = client.create_run(exp2_id, start_time=T0 + 40, run_name="delta").info.run_id
    client.log_param(run_d, "p", "d")
    client.delete_experiment(exp2_id)

    # datasets
    features = np.arange(24, dtype=np.float64).reshape(8, 3)
    np_ds = mlflow.data.from_numpy(features, source=str(work / "train.npy"), name="train-np")
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"], "y": [0, 1, 0]})
    pd_ds = mlflow.data.from_pandas(df, source=str(work / "eval.csv"), name="eval-df",
                                    targets="y")

    runs = {}

    # --- run A: params, tags, many metrics, two datasets, artifacts, FINISHED
    a = client.create_run(exp_id, start_time=T0 + 10, run_name="alpha",
                          tags={"stage": "train", "owner": "Zoë"}).info.run_id
    long_param = "v" * 500
    params_a = {"lr": "0.01", "layers": "3", "optimizer": "adam", "long": long_param,
                "unicode": "ß∂ƒ"}
    metrics_a = {
        "loss": [(s, T0 + 1000 * s, round(1.0 / (s + 1), 6)) for s in range(5)],
        "acc": [(s, T0 + 1000 * s, 0.5 + 0.1 * s) for s in range(5)],
        # non-finite values; the last (latest) one is NaN
        "weird": [(0, T0, math.inf), (1, T0 + 1, -math.inf), (2, T0 + 2, math.nan)],
        "ends_inf": [(0, T0, 1.5), (1, T0 + 1, math.inf)],
        # several values at one step: the latest timestamp wins, then the larger value
        "dup": [(3, T0 + 5, 7.0), (3, T0 + 9, 1.0), (3, T0 + 9, 2.0), (2, T0 + 99, 100.0)],
        "big_step": [(0, T0, 1.0), (10**12, T0 + 7, -2.5)],
    }
    client.log_batch(
        a,
        params=[Param(k, v) for k, v in params_a.items()],
        tags=[RunTag("multi", "a\nb\tc"), RunTag("long_tag", "t" * 5000)],
    )
    for key, points in metrics_a.items():
        for step, ts, value in points:
            client.log_metric(a, key, value, timestamp=ts, step=step)
    client.set_tag(a, "temp", "gone soon")
    client.delete_tag(a, "temp")
    tags_a = {"stage": "train", "owner": "Zoë", "multi": "a\nb\tc", "long_tag": "t" * 5000,
              "mlflow.runName": "alpha"}
    client.log_inputs(a, datasets=[
        DatasetInput(np_ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")]),
        DatasetInput(pd_ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "eval"),
                                                      InputTag("extra", "yes")]),
    ])
    (work / "notes.txt").write_text("training notes\nline 2 ✓\n", encoding="utf-8")
    blob = bytes((i * 7919 + 13) % 256 for i in range(100_000))
    (work / "data.bin").write_bytes(blob)
    client.log_artifact(a, str(work / "notes.txt"))
    client.log_artifact(a, str(work / "data.bin"), artifact_path="sub/deeper")
    client.log_text(a, "hello from alpha", "sub/hello.txt")
    client.set_terminated(a, status="FINISHED", end_time=T0 + 100_000)
    runs["A"] = dict(
        run_id=a, run_name="alpha", status="FINISHED", end_time=T0 + 100_000,
        start_time=T0 + 10, lifecycle_stage="active", params=params_a, tags=tags_a,
        metrics=metrics_a,
        inputs={("train-np", np_ds.digest): {"mlflow.data.context": "training"},
                ("eval-df", pd_ds.digest): {"mlflow.data.context": "eval", "extra": "yes"}},
        files={"notes.txt": fingerprint((work / "notes.txt").read_bytes()),
               "sub/deeper/data.bin": fingerprint(blob),
               "sub/hello.txt": fingerprint(b"hello from alpha")},
        experiment_id=exp_id,
    )

    # --- run B: renamed, FAILED, shares the numpy dataset with run A
    b = client.create_run(exp_id, start_time=T0 + 20, run_name="beta",
                          tags={"stage": "tune"}).info.run_id
    params_b = {"lr": "0.1", "layers": "2", "optimizer": "sgd"}
    metrics_b = {
        "loss": [(s, T0 + 2000 * s, 2.0 - 0.3 * s) for s in range(4)],
        "acc": [(s, T0 + 2000 * s, 0.3 + 0.05 * s) for s in range(4)],
    }
    client.log_batch(
        b,
        metrics=[Metric(k, v, ts, s) for k, pts in metrics_b.items() for s, ts, v in pts],
        params=[Param(k, v) for k, v in params_b.items()],
    )
    client.log_inputs(b, datasets=[
        DatasetInput(np_ds._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", "training")])
    ])
    client.log_text(b, '{"k": 1}', "result.json")
    client.update_run(b, name="beta-renamed")
    client.set_terminated(b, status="FAILED", end_time=T0 + 200_000)
    runs["B"] = dict(
        run_id=b, run_name="beta-renamed", status="FAILED", end_time=T0 + 200_000,
        start_time=T0 + 20, lifecycle_stage="active", params=params_b,
        tags={"stage": "tune", "mlflow.runName": "beta-renamed"}, metrics=metrics_b,
        inputs={("train-np", np_ds.digest): {"mlflow.data.context": "training"}},
        files={"result.json": fingerprint(b'{"k": 1}')}, experiment_id=exp_id,
    )

    # --- run C: still RUNNING, then deleted
    c = client.create_run(exp_id, start_time=T0 + 30, run_name="gamma").info.run_id
    client.log_metric(c, "loss", 9.0, timestamp=T0, step=0)
    client.log_param(c, "lr", "0.5")
    client.delete_run(c)
    runs["C"] = dict(
        run_id=c, run_name="gamma", status="RUNNING", end_time=None, start_time=T0 + 30,
        lifecycle_stage="deleted", params={"lr": "0.5"}, tags={"mlflow.runName": "gamma"},
        metrics={"loss": [(0, T0, 9.0)]}, inputs={}, files={}, experiment_id=exp_id,
    )

    runs["D"] = dict(
        run_id=run_d, run_name="delta", status="RUNNING", end_time=None, start_time=T0 + 40,
        lifecycle_stage="deleted", params={"p": "d"}, tags={"mlflow.runName": "delta"},
        metrics={}, inputs={}, files={}, experiment_id=exp2_id,
    )

    return dict(
        exp_id=exp_id, exp_name=exp_name, exp_tags=exp_tags,
        exp2_id=exp2_id, exp2_name=exp2_name, runs=runs, suffix=suffix,
        datasets={"train-np": np_ds._to_mlflow_entity(), "eval-df": pd_ds._to_mlflow_entity()},
    )


# ---------------------------------------------------------------------------
# client-level description of what a server serves
# ---------------------------------------------------------------------------

# (label, filter, view type, order_by); expected run ids in order: _expected_search
RUN_SEARCHES = [
    ("params.lr", "params.lr = '0.01'", ViewType.ACTIVE_ONLY, None),
    ("metric<, acc desc", "metrics.loss < 1.5", ViewType.ACTIVE_ONLY, ["metrics.acc DESC"]),
    ("all, start asc", "", ViewType.ALL, ["start_time ASC"]),
    ("deleted only", "", ViewType.DELETED_ONLY, None),
    ("default order", "", ViewType.ACTIVE_ONLY, None),
    ("tags/name", "tags.stage LIKE 't%'", ViewType.ACTIVE_ONLY, ["attributes.run_name ASC"]),
    ("status", "attributes.status = 'FAILED'", ViewType.ACTIVE_ONLY, None),
    ("run_name like", "attributes.run_name ILIKE 'BETA%'", ViewType.ALL, None),
    ("param order", "", ViewType.ALL, ["params.optimizer ASC", "start_time DESC"]),
    ("dataset", "datasets.name = 'eval-df'", ViewType.ACTIVE_ONLY, None),
    ("weird metric", "metrics.ends_inf > 1e300", ViewType.ACTIVE_ONLY, None),
]


def _expected_search(label, exp) -> list[str]:
    r = exp["runs"]
    return {
        "params.lr": [r["A"]["run_id"]],
        "metric<, acc desc": [r["A"]["run_id"], r["B"]["run_id"]],  # latest loss 0.2 / 1.1
        "all, start asc": [r["A"]["run_id"], r["B"]["run_id"], r["C"]["run_id"]],
        "deleted only": [r["C"]["run_id"]],
        "default order": [r["B"]["run_id"], r["A"]["run_id"]],
        "tags/name": [r["A"]["run_id"], r["B"]["run_id"]],
        "status": [r["B"]["run_id"]],
        "run_name like": [r["B"]["run_id"]],
        "param order": [r["A"]["run_id"], r["B"]["run_id"], r["C"]["run_id"]],
        "dataset": [r["A"]["run_id"]],
        "weird metric": [r["A"]["run_id"]],
    }[label]


@dataclass(frozen=True)
class Failed:
    """A read call that raised: kept as the value so one unsupported call does not hide
    the rest of the comparison."""

    error: str

    def __repr__(self):
        return f"<call failed: {self.error}>"


def attempt(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - recorded and reported as a discrepancy
        return Failed(f"{type(e).__name__}: {str(e)[:300]}")


def _run_data(client: MlflowClient, run_id: str) -> dict:
    run = client.get_run(run_id)
    i = run.info
    info = dict(run_id=i.run_id, run_name=i.run_name, experiment_id=i.experiment_id,
                user_id=i.user_id, status=i.status, start_time=i.start_time,
                end_time=i.end_time, artifact_uri=i.artifact_uri,
                lifecycle_stage=i.lifecycle_stage)
    inputs = sorted(
        (
            d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
            d.dataset.schema, d.dataset.profile,
            tuple(sorted((t.key, t.value) for t in d.tags)),
        )
        for d in (run.inputs.dataset_inputs if run.inputs else [])
    )
    return dict(
        info=info, params=dict(run.data.params), tags=dict(run.data.tags),
        metrics={k: num(v) for k, v in run.data.metrics.items()}, inputs=inputs,
    )


def _run_artifacts(client: MlflowClient, run_id: str, dl: Path) -> dict:
    listing, files = [], {}

    def walk(path):
        # one failing call is recorded in place (and named) instead of ending the walk
        entries = attempt(lambda: client.list_artifacts(run_id, path))
        if isinstance(entries, Failed):
            listing.append((f"list_artifacts(run, {path!r})", entries))
            return
        for f in entries:
            listing.append((f.path, f.is_dir, f.file_size))
            if f.is_dir:
                walk(f.path)
            else:
                files[f.path] = attempt(lambda: fingerprint(
                    Path(client.download_artifacts(run_id, f.path, str(dl))).read_bytes()))

    dl.mkdir(parents=True, exist_ok=True)
    walk(None)
    return dict(listing=listing, files=files)


def _experiment(client: MlflowClient, eid: str) -> dict:
    e = client.get_experiment(eid)
    return dict(
        experiment_id=e.experiment_id, name=e.name, artifact_location=e.artifact_location,
        lifecycle_stage=e.lifecycle_stage, tags=dict(e.tags),
        creation_time=e.creation_time, last_update_time=e.last_update_time,
    )


def describe(client: MlflowClient, exp: dict, dl: Path) -> dict:
    """Everything the client reads back, one entry per call (a Failed value if it raised)."""
    view = {}
    for eid in ("0", exp["exp_id"], exp["exp2_id"]):
        view[f"experiment {eid}"] = attempt(lambda: _experiment(client, eid))
    view["experiment by name"] = attempt(
        lambda: client.get_experiment_by_name(exp["exp_name"]).experiment_id)
    view["experiments search"] = attempt(lambda: [
        (e.experiment_id, e.name, e.lifecycle_stage)
        for e in client.search_experiments(
            view_type=ViewType.ALL, filter_string=f"name LIKE 'xs-%{exp['suffix']}'",
            order_by=["name ASC"])
    ])
    view["experiments search tags"] = attempt(lambda: [
        e.experiment_id for e in client.search_experiments(filter_string="tags.team = 'ml'")
    ])
    for key, spec in exp["runs"].items():
        rid = spec["run_id"]
        view[f"run {key}"] = attempt(lambda: _run_data(client, rid))
        for mkey in spec["metrics"]:
            view[f"run {key} history {mkey}"] = attempt(lambda: sorted(
                (m.step, m.timestamp, num(m.value))
                for m in client.get_metric_history(rid, mkey)))
        view[f"run {key} artifacts"] = attempt(lambda: _run_artifacts(client, rid, dl / key))
    for label, flt, vt, order in RUN_SEARCHES:
        view[f"search {label}"] = attempt(lambda: [
            r.info.run_id
            for r in client.search_runs([exp["exp_id"]], filter_string=flt, run_view_type=vt,
                                        order_by=order)
        ])
    return view


def check_expected(view: dict, exp: dict, errors: list[str], who: str) -> None:
    """``view`` (from server ``who``) against what the test wrote."""

    def err(where, expected, actual):
        errors.append(f"[{who}] {where}: expected {short(expected)}, got {short(actual)}")

    def eq(where, expected, actual):
        if expected == actual:
            return
        if isinstance(expected, dict) and isinstance(actual, dict):
            for k in sorted(expected.keys() | actual.keys(), key=repr):
                if expected.get(k, "<absent>") != actual.get(k, "<absent>"):
                    err(f"{where} [{k!r}]", expected.get(k, "<absent>"),
                        actual.get(k, "<absent>"))
        else:
            err(where, expected, actual)

    def part(key):
        v = view[key]
        if isinstance(v, Failed):
            errors.append(f"[{who}] {key}: {v!r}")
            return None
        return v

    if e0 := part("experiment 0"):
        eq("experiment 0 name", "Default", e0["name"])
        eq("experiment 0 artifact_location", "mlflow-artifacts:/0", e0["artifact_location"])
        eq("experiment 0 lifecycle_stage", "active", e0["lifecycle_stage"])
    if e1 := part(f"experiment {exp['exp_id']}"):
        eq("experiment name", exp["exp_name"], e1["name"])
        eq("experiment tags", exp["exp_tags"], e1["tags"])
        eq("experiment lifecycle_stage", "active", e1["lifecycle_stage"])
        eq("experiment artifact_location", f"mlflow-artifacts:/{exp['exp_id']}",
           e1["artifact_location"])
    if e2 := part(f"experiment {exp['exp2_id']}"):
        eq("deleted experiment name", exp["exp2_name"], e2["name"])
        eq("deleted experiment lifecycle_stage", "deleted", e2["lifecycle_stage"])
    if (v := part("experiment by name")) is not None:
        eq("experiment by name", exp["exp_id"], v)
    if (v := part("experiments search")) is not None:
        eq("experiments search",
           sorted([(exp["exp2_id"], exp["exp2_name"], "deleted"),
                   (exp["exp_id"], exp["exp_name"], "active")], key=lambda t: t[1]), v)
    if (v := part("experiments search tags")) is not None:
        eq("experiments search by tag", [exp["exp_id"]], v)

    for key, spec in exp["runs"].items():
        where = f"run {key}"
        for mkey, pts in spec["metrics"].items():
            if (v := part(f"{where} history {mkey}")) is not None:
                eq(f"{where} metric history {mkey!r}",
                   sorted((s, ts, num(val)) for s, ts, val in pts), v)
        if (arts := part(f"{where} artifacts")) is not None:
            eq(f"{where} artifact files (size, sha256)", spec["files"], arts["files"])
            for entry in arts["listing"]:
                if isinstance(entry[-1], Failed):
                    errors.append(f"[{who}] {where} {entry[0]}: {entry[-1]!r}")
            sizes = {e[0]: e[2] for e in arts["listing"] if len(e) == 3 and not e[1]}
            eq(f"{where} artifact sizes in listing",
               {p: n for p, (n, _) in spec["files"].items()}, sizes)
        rv = part(where)
        if rv is None:
            continue
        info = rv["info"]
        for field in ("run_id", "run_name", "status", "start_time", "end_time",
                      "lifecycle_stage", "experiment_id"):
            eq(f"{where} info.{field}", spec[field], info[field])
        eq(f"{where} info.artifact_uri",
           f"mlflow-artifacts:/{spec['experiment_id']}/{spec['run_id']}/artifacts",
           info["artifact_uri"])
        eq(f"{where} params", spec["params"], rv["params"])
        for k, v in spec["tags"].items():
            eq(f"{where} tag {k!r}", v, rv["tags"].get(k))
        if "temp" in rv["tags"]:
            err(f"{where} deleted tag 'temp'", None, rv["tags"]["temp"])
        latest = {k: num(_latest(pts)[2]) for k, pts in spec["metrics"].items()}
        eq(f"{where} latest metrics", latest, rv["metrics"])
        inputs = {(n, d): dict(tags) for n, d, *_rest, tags in rv["inputs"]}
        eq(f"{where} dataset inputs", spec["inputs"], inputs)
        for n, d, stype, source, schema, profile, _tags in rv["inputs"]:
            ds = exp["datasets"].get(n)
            if ds is not None:
                eq(f"{where} dataset {n} (digest, source_type, source, schema, profile)",
                   (ds.digest, ds.source_type, ds.source, ds.schema, ds.profile),
                   (d, stype, source, schema, profile))

    for label, *_ in RUN_SEARCHES:
        if (v := part(f"search {label}")) is not None:
            eq(f"search_runs {label}", _expected_search(label, exp), v)


# ---------------------------------------------------------------------------
# raw JSON of read calls
# ---------------------------------------------------------------------------


def raw_calls(exp: dict) -> list[tuple[str, str, str, dict]]:
    """(label, method, path, params-or-body)."""
    r = exp["runs"]
    a, b = r["A"]["run_id"], r["B"]["run_id"]
    a_root = f"{exp['exp_id']}/{a}/artifacts"
    calls = [
        ("experiments/get 0", "GET", f"{API}/experiments/get", {"experiment_id": "0"}),
        ("experiments/get main", "GET", f"{API}/experiments/get",
         {"experiment_id": exp["exp_id"]}),
        ("experiments/get deleted", "GET", f"{API}/experiments/get",
         {"experiment_id": exp["exp2_id"]}),
        ("experiments/get-by-name", "GET", f"{API}/experiments/get-by-name",
         {"experiment_name": exp["exp_name"]}),
        ("experiments/search all", "POST", f"{API}/experiments/search",
         {"max_results": 100, "view_type": "ALL"}),
        ("experiments/search default", "POST", f"{API}/experiments/search", {"max_results": 100}),
        ("experiments/search filter", "POST", f"{API}/experiments/search",
         {"max_results": 10, "view_type": "ALL", "filter": "name LIKE 'xs-%'",
          "order_by": ["name DESC"]}),
        ("experiments/search page 1", "POST", f"{API}/experiments/search",
         {"max_results": 1, "view_type": "ALL"}),
        ("ajax experiments/search", "POST", f"{AJAX}/experiments/search",
         {"max_results": 25, "view_type": "ACTIVE_ONLY", "order_by": ["last_update_time DESC"]}),
        ("runs/search all", "POST", f"{API}/runs/search",
         {"experiment_ids": [exp["exp_id"], exp["exp2_id"]], "run_view_type": "ALL",
          "max_results": 100}),
        ("runs/search filter+order", "POST", f"{API}/runs/search",
         {"experiment_ids": [exp["exp_id"]], "max_results": 10,
          "filter": "metrics.loss < 1.5 and params.layers != '9'",
          "order_by": ["metrics.acc DESC"]}),
        ("runs/search page 1", "POST", f"{API}/runs/search",
         {"experiment_ids": [exp["exp_id"]], "max_results": 1, "order_by": ["start_time ASC"]}),
        ("ajax runs/search", "POST", f"{AJAX}/runs/search",
         {"experiment_ids": [exp["exp_id"]], "run_view_type": "ACTIVE_ONLY",
          "max_results": 100, "order_by": ["attributes.start_time DESC"]}),
        ("artifacts/list root", "GET", f"{API}/artifacts/list", {"run_id": a}),
        ("artifacts/list sub", "GET", f"{API}/artifacts/list", {"run_id": a, "path": "sub"}),
        ("artifacts/list run B", "GET", f"{API}/artifacts/list", {"run_id": b}),
        ("mlflow-artifacts list", "GET", ARTIFACTS, {"path": a_root}),
        ("mlflow-artifacts list sub", "GET", ARTIFACTS, {"path": f"{a_root}/sub"}),
        ("mlflow-artifacts download", "GET", f"{ARTIFACTS}/{a_root}/notes.txt", {}),
        ("mlflow-artifacts download bin", "GET", f"{ARTIFACTS}/{a_root}/sub/deeper/data.bin", {}),
        ("get-artifact (UI)", "GET", "/get-artifact", {"run_uuid": a, "path": "sub/hello.txt"}),
        ("metrics/get-history page 1", "GET", f"{API}/metrics/get-history",
         {"run_id": a, "metric_key": "loss", "max_results": 2}),
        ("get-history-bulk-interval", "GET", f"{AJAX}/metrics/get-history-bulk-interval",
         {"run_ids": [a, b], "metric_key": "loss", "max_results": 100}),
        # the 3.x client's list_artifacts(run_id, "sub/...") and runs:/ downloads look for a
        # logged model named after the first path component with exactly this call
        ("logged-models/search", "POST", f"{API}/logged-models/search",
         {"experiment_ids": [exp["exp_id"]], "filter": "name = 'sub'"}),
    ]
    for key, spec in r.items():
        calls.append((f"runs/get {key}", "GET", f"{API}/runs/get", {"run_id": spec["run_id"]}))
        for mkey in spec["metrics"]:
            calls.append((f"metrics/get-history {key}.{mkey}", "GET", f"{API}/metrics/get-history",
                          {"run_id": spec["run_id"], "metric_key": mkey}))
    return calls


def _call(session: requests.Session, base: str, method: str, path: str, args: dict):
    if method == "GET":
        resp = session.get(base + path, params=args, timeout=60)
    else:
        resp = session.post(base + path, json=args, timeout=60)
    ctype = resp.headers.get("Content-Type", "")
    if "json" in ctype:
        try:
            return resp.status_code, resp.json()
        except ValueError:
            pass
    return resp.status_code, resp.content


def _next_page(session, base, method, path, args, first):
    """Follow the server's own next_page_token once (tokens are opaque, so a server is
    only ever handed back a token it issued)."""
    status, body = first
    if status != 200 or not isinstance(body, dict) or "next_page_token" not in body:
        return None
    return _call(session, base, method, path, {**args, "page_token": body["next_page_token"]})


def _sorted_by(items, key):
    return sorted(items, key=lambda x: repr(key(x)))


def normalise(body, parent: str | None = None):
    """The only normalisation (JSON object key order and whitespace never matter, the
    bodies are compared parsed): MLflow's SQL store loads a run's params, tags and latest
    metrics (``run.data``), an experiment's tags, a run's dataset inputs and each input's
    tags without ORDER BY (SQLAlchemy relationships / an unordered join), so the order of
    those lists is whatever the database returns and may differ legitimately.  Those
    lists are sorted by key (dataset inputs by name+digest).  Everything else -- the
    order of experiments, runs, metric-history points, artifact files -- is specified
    and compared as is."""
    if isinstance(body, list):
        return [normalise(x, parent) for x in body]
    if not isinstance(body, dict):
        return body
    out = {k: normalise(v, k) for k, v in body.items()}
    unordered = ["tags"] + (["params", "metrics"] if parent == "data" else [])
    for k in unordered:
        if isinstance(out.get(k), list) and all(isinstance(x, dict) for x in out[k]):
            out[k] = _sorted_by(out[k], lambda x: (x.get("key"), x.get("value")))
    if isinstance(out.get("dataset_inputs"), list):
        out["dataset_inputs"] = _sorted_by(
            out["dataset_inputs"],
            lambda x: (x.get("dataset", {}).get("name"), x.get("dataset", {}).get("digest")))
    return out


def json_diff(expected, actual, path="$") -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        diffs = []
        for k in expected.keys() | actual.keys():
            if k not in actual:
                diffs.append(f"{path}.{k}: missing (expected {short(expected[k], 300)})")
            elif k not in expected:
                diffs.append(f"{path}.{k}: unexpected {short(actual[k], 300)}")
            else:
                diffs += json_diff(expected[k], actual[k], f"{path}.{k}")
        return sorted(diffs)
    if isinstance(expected, list) and isinstance(actual, list):
        diffs = []
        if len(expected) != len(actual):
            diffs.append(f"{path}: {len(expected)} items expected, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual)):
            diffs += json_diff(e, a, f"{path}[{i}]")
        return diffs
    same = type(expected) is type(actual) and expected == actual
    if isinstance(expected, float) and isinstance(actual, float):
        same = expected == actual or (math.isnan(expected) and math.isnan(actual))
    if not same:
        return [f"{path}: expected {short(expected, 300)}, got {short(actual, 300)}"]
    return []


def compare_raw(ref_url: str, ref_kind: str, other_url: str, other_kind: str, exp: dict,
                errors: list[str]) -> int:
    """Every read call against both servers; differences go to ``errors``."""
    s_ref, s_other = requests.Session(), requests.Session()
    n = 0
    for label, method, path, args in raw_calls(exp):
        ref = _call(s_ref, ref_url, method, path, args)
        other = _call(s_other, other_url, method, path, args)
        pairs = [(label, ref, other)]
        if "page 1" in label:
            pairs.append((label.replace("page 1", "page 2"),
                          _next_page(s_ref, ref_url, method, path, args, ref),
                          _next_page(s_other, other_url, method, path, args, other)))
        for lab, r, o in pairs:
            n += 1
            if r is None and o is None:
                continue
            if r is None or o is None:
                errors.append(f"[raw {lab}] second page: {ref_kind} {short(r, 300)}, "
                              f"{other_kind} {short(o, 300)}")
                continue
            if r[0] != 200:
                errors.append(f"[raw {lab}] reference {ref_kind} answered {r[0]}: "
                              f"{short(r[1], 300)}")
            if r[0] != o[0]:
                errors.append(f"[raw {method} {path} ({lab})] HTTP {r[0]} from {ref_kind}, "
                              f"{o[0]} from {other_kind}: {short(o[1], 300)}")
                continue
            diffs = json_diff(normalise(r[1]), normalise(o[1]))
            if diffs:
                errors.append(f"[raw {method} {path} ({lab})] {ref_kind} (expected) vs "
                              f"{other_kind} (got):\n      " + "\n      ".join(diffs[:40]))
    return n


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------


def _view_diff(a: dict, b: dict) -> list[str]:
    diffs = []
    for k in a.keys() | b.keys():
        if a.get(k) != b.get(k):
            if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
                for kk in a[k].keys() | b[k].keys():
                    if a[k].get(kk) != b[k].get(kk):
                        diffs.append(f"{k} / {kk}: writer {short(a[k].get(kk), 400)}, "
                                     f"reader {short(b[k].get(kk), 400)}")
            else:
                diffs.append(f"{k}: writer {short(a.get(k), 400)}, reader {short(b.get(k), 400)}")
    return sorted(diffs)


@pytest.mark.filterwarnings("ignore::UserWarning")  # mlflow.data schema/source hints
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("writer,reader", DIRECTIONS,
                         ids=["ferroflow_to_mlflow", "mlflow_to_ferroflow"])
def test_cross_server(backend, writer, reader, tmp_path):
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    errors: list[str] = []
    with fresh_database(backend, tmp_path) as db:
        # 1. the writer creates the schema and takes every write
        with server(writer, db, artifacts, tmp_path, f"1-{writer}-writes") as w:
            with client_for(w.url) as client:
                exp = write_everything(client, work)
                writer_view = describe(client, exp, tmp_path / "dl-writer")
        check_expected(writer_view, exp, errors, f"{writer} reading its own writes")

        # 2. the other server on the same database and artifacts; the writer again beside it
        with server(reader, db, artifacts, tmp_path, f"2-{reader}-reads") as r, \
                server(writer, db, artifacts, tmp_path, f"3-{writer}-again") as w2:
            with client_for(r.url) as client:
                reader_view = describe(client, exp, tmp_path / "dl-reader")
            check_expected(reader_view, exp, errors, f"{reader} reading {writer}'s writes")
            errors += [f"[{writer} vs {reader} client view] {d}"
                       for d in _view_diff(writer_view, reader_view)]
            # raw JSON: the Python server is the reference
            ref, other = (r, w2) if reader == "mlflow" else (w2, r)
            n = compare_raw(ref.url, "mlflow", other.url, "ferroflow", exp, errors)
            assert n > 30

    if errors:
        pytest.fail(f"{len(errors)} cross-server discrepancies ({backend}, {writer} wrote, "
                    f"{reader} read):\n  " + "\n  ".join(errors), pytrace=False)
