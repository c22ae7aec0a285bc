"""`ferroflow gc` (MLflow's `mlflow gc`) with the official mlflow 3.17.2 client.

The client creates runs, logged models and experiments with artifacts on a
live server, deletes some, then ``ferroflow gc`` (the binary of conftest's
``ferroflow_bin()``) collects them while the server keeps running; the client
then finds them gone (``RESOURCE_DOES_NOT_EXIST``), and so are their
artifacts, on disk and in an S3 bucket (s3s-fs; proxied and direct).

With ``COMPAT_TARGET=mlflow`` the database and artifacts are made by
``mlflow server`` 3.17.2 and collected by ``ferroflow gc`` all the same.

On SQLite, ``mlflow gc`` from ``.venvs/mlflow3`` runs on a copy of the same
database: both must refuse the same things with the same messages, select
the same runs, logged models and experiments, and leave the same rows; and
``mlflow server`` must serve a database ``ferroflow gc`` collected.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import mlflow
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from conftest import (
    BACKENDS,
    S3_BUCKET as BUCKET,
    TARGET,
    _stop,
    create_pg_database,
    ferroflow_bin,
    mlflow_bin,
    require_s3s_fs,
    s3_env,
    start_s3s_fs,
    start_server,
)

# The files the kept run and kept logged model hold, relative to their roots.
KEPT_FILES = {
    "live": ["outputs/sub/weights.bin", "outputs/top.txt"],
    "kept_model": ["sub/weights.bin", "top.txt"],
}

DELETED_LINE = re.compile(
    r"^(Run|Logged model|Experiment|Job) with ID (\S+) has been permanently deleted\.$")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_BACKEND_STORE_URI",
                 "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_WORKSPACE", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    env.update(extra or {})
    return env


def ferroflow_gc(db_uri: str, *args: str, destination: Path | str | None = None,
                 env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.CompletedProcess:
    exe = ferroflow_bin()
    if not exe.exists():
        pytest.fail(f"ferroflow binary not found: {exe} (build it or set FERROFLOW_BIN)")
    cmd = [str(exe), "gc", "--backend-store-uri", db_uri]
    if destination is not None:
        cmd += ["--artifacts-destination", str(destination)]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=clean_env(env), cwd=cwd)


def mlflow_gc(db_uri: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The reference ``mlflow gc``; it insists on a tracking URI being set
    (used only for proxied artifacts, which the comparisons here avoid)."""
    exe = mlflow_bin()
    if not exe.exists():
        pytest.fail(f"mlflow binary not found: {exe}")
    return subprocess.run([str(exe), "gc", "--backend-store-uri", db_uri, *args],
                          capture_output=True, text=True, timeout=600,
                          env=clean_env({"MLFLOW_TRACKING_URI": db_uri}), cwd=cwd)


def deleted_ids(stdout: str) -> set[tuple[str, str]]:
    return {m.groups() for m in map(DELETED_LINE.match, stdout.splitlines()) if m}


def assert_gone_run(client: MlflowClient, run_id: str) -> None:
    with pytest.raises(MlflowException) as e:
        client.get_run(run_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST", e.value


def assert_gone_experiment(client: MlflowClient, experiment_id: str) -> None:
    with pytest.raises(MlflowException) as e:
        client.get_experiment(experiment_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST", e.value


def files_under(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def artifact_tree(tmp: Path, name: str) -> Path:
    root = tmp / name
    (root / "sub").mkdir(parents=True)
    (root / "top.txt").write_text(f"{name}\n")
    (root / "sub" / "weights.bin").write_bytes(os.urandom(4096))
    return root


class Database:
    """A fresh database for ``backend``: (uri, drop)."""

    def __init__(self, backend: str, workdir: Path, prefix: str = "compat_gc"):
        self.backend = backend
        self._drop = None
        if backend == "sqlite":
            self.path = workdir / "mlflow.db"
            self.uri = f"sqlite:///{self.path}"
        else:
            self.name, self._drop, uri = create_pg_database(prefix)
            self.uri = uri(self.name, driver=(TARGET == "mlflow"))

    def drop(self) -> None:
        if self._drop is not None:
            try:
                self._drop(self.name)
            except Exception as e:  # pragma: no cover
                print(f"warning: could not drop database {self.name}: {e}", file=sys.stderr)


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix=f"compat-gc-{TARGET}-"))
    yield path
    if os.environ.get("COMPAT_KEEP_TMP") != "1":
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def served(request, workdir, monkeypatch):
    """Starts a server; ``served(backend, artifact_args=…, extra_env=…)``
    returns (Server, Database, MlflowClient). Stopped and dropped after the
    test."""
    started = []

    def start(backend: str, *, artifact_args=None, extra_env=None, storage="local"):
        db = Database(backend, workdir)
        started.append((None, db))
        srv = start_server(backend, workdir, db.uri, artifact_args=artifact_args,
                           extra_env=extra_env, storage=storage)
        started[-1] = (srv, db)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", srv.url)
        mlflow.set_tracking_uri(srv.url)
        return srv, db, MlflowClient(tracking_uri=srv.url)

    yield start
    while mlflow.active_run() is not None:
        mlflow.end_run()
    for srv, db in started:
        if srv is not None:
            _stop(srv.proc)
            if request.session.testsfailed:
                print(f"\n[{TARGET}/{srv.backend}] server log tail:\n{srv.log_tail(40)}",
                      file=sys.stderr)
        db.drop()


def populate(client: MlflowClient, tmp: Path, tag: str) -> dict[str, str]:
    """Two experiments: ``keep`` (a live run, a deleted run with a dataset
    input, a deleted logged model) and ``gone`` (deleted, with a run); every
    run and model has artifacts."""
    ids: dict[str, str] = {}
    ids["keep"] = client.create_experiment(f"gc-keep-{tag}")
    ids["gone"] = client.create_experiment(f"gc-gone-{tag}")
    for name, exp in (("live", "keep"), ("dead", "keep"), ("inner", "gone")):
        run = client.create_run(ids[exp], run_name=name)
        rid = run.info.run_id
        ids[name] = rid
        client.log_param(rid, "lr", "0.01")
        client.log_metric(rid, "loss", 0.5, step=0)
        client.log_metric(rid, "loss", 0.25, step=1)
        client.set_tag(rid, "team", name)
        client.log_artifacts(rid, str(artifact_tree(tmp, f"{tag}-{name}")), "outputs")
        client.set_terminated(rid)
    dataset = Dataset(name=f"ds-{tag}", digest="d1", source_type="local", source="{}")
    client.log_inputs(ids["dead"], [DatasetInput(dataset, [InputTag("mlflow.data.context",
                                                                    "training")])])
    model = client.create_logged_model(ids["keep"], name="m", source_run_id=ids["live"],
                                       params={"alpha": "0.1"}, tags={"t": "v"})
    ids["model"] = model.model_id
    client.log_model_artifacts(model.model_id, str(artifact_tree(tmp, f"{tag}-model")))
    kept_model = client.create_logged_model(ids["keep"], name="kept",
                                            source_run_id=ids["live"])
    ids["kept_model"] = kept_model.model_id
    client.log_model_artifacts(kept_model.model_id, str(artifact_tree(tmp, f"{tag}-kept")))
    client.delete_logged_model(model.model_id)
    client.delete_run(ids["dead"])
    client.delete_experiment(ids["gone"])
    return ids


def check_collected(client: MlflowClient, ids: dict[str, str], result) -> None:
    assert result.returncode == 0, result.stderr
    assert deleted_ids(result.stdout) == {
        ("Run", ids["dead"]), ("Run", ids["inner"]),
        ("Logged model", ids["model"]), ("Experiment", ids["gone"]),
    }, result.stdout
    assert_gone_run(client, ids["dead"])
    assert_gone_run(client, ids["inner"])
    assert_gone_experiment(client, ids["gone"])
    with pytest.raises(MlflowException) as e:
        client.get_logged_model(ids["model"])
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    live = client.get_run(ids["live"])
    assert live.data.params == {"lr": "0.01"}
    assert live.data.metrics == {"loss": 0.25}
    assert [m.value for m in client.get_metric_history(ids["live"], "loss")] == [0.5, 0.25]
    assert {f.path for f in client.list_artifacts(ids["live"], "outputs")} == {
        "outputs/sub", "outputs/top.txt"}
    assert client.get_logged_model(ids["kept_model"]).params == {}
    assert client.get_experiment(ids["keep"]).lifecycle_stage == "active"


def artifact_keys(tag_ids: dict[str, str]) -> dict[str, str]:
    """Where each entity's artifacts live, relative to the destination."""
    keep, gone = tag_ids["keep"], tag_ids["gone"]
    return {
        "live": f"{keep}/{tag_ids['live']}/artifacts",
        "dead": f"{keep}/{tag_ids['dead']}/artifacts",
        "inner": f"{gone}/{tag_ids['inner']}/artifacts",
        "model": f"{keep}/models/{tag_ids['model']}/artifacts",
        "kept_model": f"{keep}/models/{tag_ids['kept_model']}/artifacts",
    }


# ---------------------------------------------------------------------------
# proxied artifacts on a local directory
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_collects_runs_models_experiments_and_their_files(backend, served, tmp_path):
    srv, db, client = served(backend)
    ids = populate(client, tmp_path, backend)
    keys = artifact_keys(ids)
    for name, key in keys.items():
        assert files_under(srv.artifacts_dir / key), f"{name} has artifacts"

    # a dry run lists the same, deletes nothing
    dry = ferroflow_gc(srv.db_uri, "--dry-run", destination=srv.artifacts_dir)
    assert dry.returncode == 0, dry.stderr
    assert f"Run with ID {ids['dead']} would be permanently deleted." in dry.stdout
    assert f"Experiment with ID {ids['gone']} would be permanently deleted." in dry.stdout
    assert "Dry run: nothing was deleted." in dry.stdout
    assert client.get_run(ids["dead"]).info.lifecycle_stage == "deleted"
    assert files_under(srv.artifacts_dir / keys["dead"])

    # with the server still running
    result = ferroflow_gc(srv.db_uri, destination=srv.artifacts_dir)
    check_collected(client, ids, result)
    for name in ("dead", "inner", "model"):
        assert not (srv.artifacts_dir / keys[name]).exists(), f"{name}'s artifacts are gone"
    assert not (srv.artifacts_dir / ids["keep"] / ids["dead"]).exists()
    assert not (srv.artifacts_dir / ids["gone"]).exists()
    for name in ("live", "kept_model"):
        assert files_under(srv.artifacts_dir / keys[name]) == KEPT_FILES[name]
    # the server goes on serving what is left, and new runs
    with mlflow.start_run(experiment_id=ids["keep"]) as run:
        mlflow.log_param("after", "gc")
    assert client.get_run(run.info.run_id).data.params == {"after": "gc"}
    # nothing left to collect
    again = ferroflow_gc(srv.db_uri, destination=srv.artifacts_dir)
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr


# ---------------------------------------------------------------------------
# S3 (s3s-fs): proxied to s3://bucket/proxy, and direct s3://bucket/mlruns
# ---------------------------------------------------------------------------


@pytest.fixture
def s3(tmp_path_factory):
    require_s3s_fs()
    data = tmp_path_factory.mktemp("s3s-gc")
    endpoint, proc = start_s3s_fs(data)
    try:
        yield {"endpoint": endpoint, "data": data}
    finally:
        _stop(proc)


def bucket_keys(s3, prefix: str) -> list[str]:
    root = s3["data"] / BUCKET / prefix
    return files_under(root)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_deletes_proxied_s3_artifacts(backend, served, s3, tmp_path, monkeypatch):
    for name in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    srv, db, client = served(backend, artifact_args=["--artifacts-destination",
                                                     f"s3://{BUCKET}/proxy"],
                             extra_env=s3_env(s3["endpoint"]), storage="s3")
    ids = populate(client, tmp_path, f"s3-{backend}")
    keys = artifact_keys(ids)
    for name, key in keys.items():
        assert bucket_keys(s3, f"proxy/{key}"), f"{name} is in the bucket"
    result = ferroflow_gc(srv.db_uri, destination=f"s3://{BUCKET}/proxy",
                          env=s3_env(s3["endpoint"]))
    check_collected(client, ids, result)
    for name in ("dead", "inner", "model"):
        assert bucket_keys(s3, f"proxy/{keys[name]}") == [], f"{name}'s objects are gone"
    for name in ("live", "kept_model"):
        assert bucket_keys(s3, f"proxy/{keys[name]}") == KEPT_FILES[name]


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_deletes_direct_s3_artifacts(backend, served, s3, tmp_path, monkeypatch):
    for name, value in s3_env(s3["endpoint"]).items():
        monkeypatch.setenv(name, value)
    root = f"mlruns-gc-{backend}"
    srv, db, client = served(backend, artifact_args=[
        "--no-serve-artifacts", "--default-artifact-root", f"s3://{BUCKET}/{root}"],
        extra_env=s3_env(s3["endpoint"]), storage="s3")
    ids = populate(client, tmp_path, f"direct-{backend}")
    keys = artifact_keys(ids)
    for name, key in keys.items():
        assert bucket_keys(s3, f"{root}/{key}"), f"{name} is in the bucket"
    # no --artifacts-destination: s3:// URIs need none
    result = ferroflow_gc(srv.db_uri, env=s3_env(s3["endpoint"]), cwd=srv.workdir)
    check_collected(client, ids, result)
    for name in ("dead", "inner", "model"):
        assert bucket_keys(s3, f"{root}/{keys[name]}") == [], f"{name}'s objects are gone"
    for name in ("live", "kept_model"):
        assert bucket_keys(s3, f"{root}/{keys[name]}") == KEPT_FILES[name]


# ---------------------------------------------------------------------------
# against mlflow gc, on copies of one SQLite database with local artifacts
# ---------------------------------------------------------------------------

needs_sqlite = pytest.mark.skipif("sqlite" not in BACKENDS, reason="COMPAT_BACKENDS has no sqlite")


@pytest.fixture
def local_store(served, workdir, tmp_path):
    """A SQLite database with artifacts under a local --default-artifact-root
    (the client writes them itself), so that ``mlflow gc`` deletes files
    without a tracking server. The server is stopped: (db file, ids, client
    factory)."""
    mlruns = workdir / "mlruns"
    srv, db, client = served("sqlite", artifact_args=[
        "--no-serve-artifacts", "--default-artifact-root", str(mlruns)])
    ids = populate(client, tmp_path, "cmp")
    # a deleted experiment that is recent, and runs deleted at other times
    old = client.create_run(ids["keep"], run_name="old")
    ids["old"] = old.info.run_id
    client.delete_run(ids["old"])
    _stop(srv.proc)
    conn = sqlite3.connect(db.path)
    with conn:
        conn.execute("UPDATE runs SET deleted_time = deleted_time - 3 * 86400000 "
                     "WHERE run_uuid = ?", (ids["old"],))
        conn.execute("UPDATE experiments SET last_update_time = last_update_time - 3 * 86400000 "
                     "WHERE experiment_id = ?", (int(ids["gone"]),))
        conn.execute("UPDATE runs SET deleted_time = deleted_time - 3 * 86400000 "
                     "WHERE experiment_id = ?", (int(ids["gone"]),))
    conn.close()
    return db.path, ids


def copy_db(src: Path, dest_dir: Path, name: str) -> tuple[Path, str]:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{name}.db"
    shutil.copyfile(src, dest)
    return dest, f"sqlite:///{dest}"


def table_rows(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'alembic_version'")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        conn.close()


def mlflow_error(stderr: str) -> str:
    """The message of the MlflowException a failed ``mlflow gc`` printed."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("mlflow.exceptions.MlflowException: "):
            return line.split(": ", 1)[1]
    raise AssertionError(f"no MlflowException in:\n{stderr}")


def ferroflow_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("ferroflow: ")]
    assert lines, stderr
    return lines[-1].split(": ", 1)[1]


@needs_sqlite
@pytest.mark.parametrize("scenario", [
    [],
    ["--older-than", "2d"],
    ["--experiment-ids", "GONE"],
    ["--run-ids", "DEAD"],
    ["--logged-model-ids", "MODEL", "--older-than", "0s"],
], ids=["all", "older-than", "experiment-ids", "run-ids", "model-ids"])
def test_same_selection_and_rows_as_mlflow_gc(local_store, workdir, scenario):
    src, ids = local_store
    args = [a.replace("GONE", ids["gone"]).replace("DEAD", ids["dead"])
            .replace("MODEL", ids["model"]) for a in scenario]
    ref_path, ref_uri = copy_db(src, workdir / "ref", "mlflow")
    ours_path, ours_uri = copy_db(src, workdir / "ours", "ferroflow")
    ref = mlflow_gc(ref_uri, *args, cwd=workdir)
    assert ref.returncode == 0, ref.stderr[-3000:]
    ours = ferroflow_gc(ours_uri, *args, cwd=workdir)
    assert ours.returncode == 0, ours.stderr
    assert deleted_ids(ours.stdout) == deleted_ids(ref.stdout), (ours.stdout, ref.stdout)
    assert deleted_ids(ours.stdout), "the scenario deletes something"
    ref_rows, our_rows = table_rows(ref_path), table_rows(ours_path)
    # MLflow leaves the inputs of collected runs behind; ferroflow removes them
    gone_runs = {i for kind, i in deleted_ids(ref.stdout) if kind == "Run"}
    conn = sqlite3.connect(ref_path)
    orphans = set()
    for input_uuid, source_id, destination_id in conn.execute(
            "SELECT input_uuid, source_id, destination_id FROM inputs"):
        if source_id in gone_runs or destination_id in gone_runs:
            orphans.add(input_uuid)
    conn.close()
    for table in ("inputs", "input_tags"):
        ref_rows[table] = [r for r in ref_rows[table]
                           if not any(repr(o) in r for o in orphans)]
    assert our_rows == ref_rows
    # nothing but the collected runs' files went
    for kind, i in deleted_ids(ours.stdout):
        if kind == "Run":
            assert not list(workdir.glob(f"mlruns/*/{i}/artifacts/*"))
    assert list(workdir.glob(f"mlruns/{ids['keep']}/{ids['live']}/artifacts/outputs/top.txt"))


@needs_sqlite
def test_refusals_match_mlflow_gc(local_store, workdir):
    src, ids = local_store
    _, uri = copy_db(src, workdir / "refusals", "ferroflow")
    cases = [
        ["--run-ids", ids["live"]],
        ["--run-ids", "0123456789abcdef0123456789abcdef"],
        ["--run-ids", ids["dead"], "--older-than", "1d"],
        ["--experiment-ids", ids["keep"]],
        ["--experiment-ids", ids["gone"], "--older-than", "30d"],
        ["--logged-model-ids", ids["kept_model"]],
        ["--older-than", "1 week"],
    ]
    before = table_rows(src)
    for n, args in enumerate(cases):
        # mlflow gc checks runs while deleting them, so it may delete some
        # before it refuses one: a fresh copy for each of its calls
        _, ref_uri = copy_db(src, workdir / "refusals", f"mlflow-{n}")
        ref = mlflow_gc(ref_uri, *args, cwd=workdir)
        ours = ferroflow_gc(uri, *args, cwd=workdir)
        assert ref.returncode != 0 and ours.returncode != 0, (args, ref.stdout, ours.stdout)
        assert ours.stdout == "", (args, ours.stdout)
        assert ferroflow_error(ours.stderr) == mlflow_error(ref.stderr), args
        # ferroflow checks everything first: nothing was deleted
        assert table_rows(Path(uri.removeprefix("sqlite:///"))) == before, args


@needs_sqlite
def test_mlflow_server_serves_a_database_ferroflow_collected(local_store, workdir, monkeypatch):
    src, ids = local_store
    result = ferroflow_gc(f"sqlite:///{src}", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert ("Run", ids["dead"]) in deleted_ids(result.stdout)
    ref_dir = workdir / "ref-server"
    ref_dir.mkdir()
    srv = start_server("sqlite", ref_dir, f"sqlite:///{src}", target="mlflow",
                       artifact_args=["--no-serve-artifacts", "--default-artifact-root",
                                      str(workdir / "mlruns")],
                       log_name="mlflow-server.log")
    try:
        client = MlflowClient(tracking_uri=srv.url)
        assert_gone_run(client, ids["dead"])
        assert_gone_experiment(client, ids["gone"])
        live = client.get_run(ids["live"])
        assert live.data.params == {"lr": "0.01"}
        runs = client.search_runs([ids["keep"]], run_view_type=3)
        assert {r.info.run_id for r in runs} == {ids["live"]}
        assert client.search_experiments(view_type=3, filter_string=f"name = 'gc-gone-cmp'") == []
        run = client.create_run(ids["keep"])
        client.log_metric(run.info.run_id, "m", 1.0)
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    finally:
        _stop(srv.proc)
