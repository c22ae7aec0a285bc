"""Artifacts on S3 with the official mlflow 3.17.2 client.

A real S3 server (``s3s-fs``, installed by ``scripts/setup-s3s.sh`` into
``.tools/bin``, or named by ``S3S_FS_BIN``) runs with SigV4 credentials; the
tracking server gets the variables ``mlflow server`` users set
(``MLFLOW_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` …) and either

* ``--artifacts-destination s3://bucket/proxy`` (proxied, the default mode):
  the client talks only to the tracking server, except for what
  ``server-info`` advertises (presigned multipart downloads, and multipart
  uploads when ``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true``); or
* ``--no-serve-artifacts --default-artifact-root s3://bucket/mlruns``: the
  client writes S3 itself with boto3; the server lists and serves the run's
  files from S3 (``artifacts/list``, ``/get-artifact``).

Every module runs per backend (``COMPAT_BACKENDS``, SQLite and PostgreSQL),
and the assertions hold against ``mlflow server`` 3.17.2 too
(``COMPAT_TARGET=mlflow``). Skipped with a message when s3s-fs is missing,
unless ``FERROFLOW_REQUIRE_S3`` is set. The s3s-fs helpers live in conftest,
which also runs the registry flow on PostgreSQL + S3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

import mlflow
from mlflow.tracking import MlflowClient

from conftest import (
    BACKENDS,
    S3_BUCKET as BUCKET,
    TARGET,
    _stop,
    create_pg_database,
    require_s3s_fs,
    s3_env,
    start_s3s_fs,
    start_server,
)

MIB = 1024 * 1024


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bucket_files(s3) -> list[str]:
    """Object keys, as s3s-fs stores them (one file per key)."""
    root = s3["data"] / BUCKET
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A running s3s-fs with one bucket."""
    require_s3s_fs()
    data = tmp_path_factory.mktemp("s3s-data")
    endpoint, proc = start_s3s_fs(data)
    try:
        yield {"endpoint": endpoint, "data": data}
    finally:
        _stop(proc)


def start_tracking_server(backend: str, s3, extra_args: list[str]):
    """ferroflow (or the reference server) with S3 settings; returns
    (Server, cleanup)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"compat-s3-{TARGET}-{backend}-"))
    drop = dbname = None
    if backend == "sqlite":
        db_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    else:
        dbname, drop, uri = create_pg_database("compat_s3")
        db_uri = uri(dbname, driver=(TARGET == "mlflow"))

    def cleanup(srv=None):
        if srv is not None:
            _stop(srv.proc)
        if drop is not None:
            try:
                drop(dbname)
            except Exception as e:  # pragma: no cover
                print(f"warning: could not drop database {dbname}: {e}", file=sys.stderr)
        if os.environ.get("COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)

    try:
        srv = start_server(backend, workdir, db_uri, artifact_args=extra_args,
                           extra_env=s3_env(s3["endpoint"]), storage="s3")
    except BaseException:
        cleanup()
        raise
    return srv, lambda: cleanup(srv)


@pytest.fixture(scope="module", params=BACKENDS)
def proxied(request, s3):
    """Artifacts proxied to s3://BUCKET/proxy."""
    srv, cleanup = start_tracking_server(
        request.param, s3, ["--artifacts-destination", f"s3://{BUCKET}/proxy"])
    try:
        yield srv
    finally:
        if request.session.testsfailed:
            print(f"\n[{TARGET}/{srv.backend}] server log tail:\n{srv.log_tail(40)}",
                  file=sys.stderr)
        cleanup()


@pytest.fixture(scope="module", params=BACKENDS)
def direct(request, s3):
    """No proxy: runs live under s3://BUCKET/mlruns-<backend>; the client
    writes S3 itself."""
    srv, cleanup = start_tracking_server(
        request.param, s3,
        ["--no-serve-artifacts", "--default-artifact-root",
         f"s3://{BUCKET}/mlruns-{request.param}"])
    try:
        yield srv
    finally:
        cleanup()


def point_client_at(srv, monkeypatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", srv.url)
    mlflow.set_tracking_uri(srv.url)
    return MlflowClient(tracking_uri=srv.url)


@pytest.fixture
def proxied_client(proxied, monkeypatch):
    # The client of a proxied server needs no S3 credentials.
    for name in ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    client = point_client_at(proxied, monkeypatch)
    yield client
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def direct_client(direct, s3, monkeypatch):
    for name, value in s3_env(s3["endpoint"]).items():
        monkeypatch.setenv(name, value)
    client = point_client_at(direct, monkeypatch)
    yield client
    while mlflow.active_run() is not None:
        mlflow.end_run()


def nested_tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.txt").write_text("top level\n")
    (root / "sub" / "config.yaml").write_text("lr: 0.01\nepochs: 3\n")
    (root / "sub" / "deeper" / "weights.bin").write_bytes(os.urandom(300_000))
    (root / "sub" / "deeper" / "empty.txt").write_bytes(b"")
    return root


# ---------------------------------------------------------------------------
# proxied: --artifacts-destination s3://…
# ---------------------------------------------------------------------------


def test_server_info_advertises_multipart(proxied):
    info = requests.get(f"{proxied.url}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is True


def test_log_list_download_nested(proxied_client, s3, tmp_path):
    client = proxied_client
    mlflow.set_experiment(f"s3-nested-{uuid.uuid4().hex[:8]}")
    src = nested_tree(tmp_path / "src")
    (tmp_path / "single.json").write_text('{"k": 1}')
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(src), artifact_path="outputs")
        mlflow.log_artifact(str(tmp_path / "single.json"))
    run_id = run.info.run_id
    exp_id = run.info.experiment_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("outputs", True), ("single.json", False)]
    sub = client.list_artifacts(run_id, "outputs/sub")
    assert [(f.path, f.is_dir, f.file_size) for f in sub] == [
        ("outputs/sub/config.yaml", False, 19),
        ("outputs/sub/deeper", True, None),
    ]

    # The objects are in the bucket, under the destination prefix.
    prefix = f"proxy/{exp_id}/{run_id}/artifacts/"
    assert sorted(k for k in bucket_files(s3) if k.startswith(prefix)) == [
        prefix + "outputs/sub/config.yaml",
        prefix + "outputs/sub/deeper/empty.txt",
        prefix + "outputs/sub/deeper/weights.bin",
        prefix + "outputs/top.txt",
        prefix + "single.json",
    ]

    dst = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="outputs",
                                                   dst_path=str(tmp_path / "dl")))
    assert tree_files(dst) == tree_files(src)
    one = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="single.json",
                                              dst_path=str(tmp_path / "one"))
    assert Path(one).read_text() == '{"k": 1}'


@pytest.mark.parametrize("multipart_download", ["presigned", "proxied"])
def test_50mb_round_trip(proxied_client, monkeypatch, tmp_path, multipart_download):
    # "presigned": the client follows server-info and downloads ranges straight
    # from S3 with the presigned URL; "proxied": forced through the server.
    if multipart_download == "proxied":
        monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(MIB))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="data")
    files = proxied_client.list_artifacts(run.info.run_id, "data")
    assert [(f.path, f.file_size) for f in files] == [("data/big.bin", 50 * MIB)]
    got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                              artifact_path="data/big.bin",
                                              dst_path=str(tmp_path / "dl"))
    assert sha256(Path(got)) == sha256(big)


def test_multipart_upload_through_the_client(proxied_client, monkeypatch, s3, tmp_path):
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MIB))
    calls = {"create": 0, "complete": 0, "abort": 0}
    for name in calls:
        original = getattr(HttpArtifactRepository, f"{name}_multipart_upload")

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(HttpArtifactRepository, f"{name}_multipart_upload", counted)

    model = tmp_path / "model.safetensors"
    model.write_bytes(os.urandom(12 * MIB + 1234))  # 3 parts of 5 MiB at most
    small = tmp_path / "small.txt"
    small.write_text("x" * 2000)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(model), artifact_path="ckpt")
        mlflow.log_artifact(str(small), artifact_path="ckpt")
    assert calls == {"create": 2, "complete": 2, "abort": 0}

    run_id, exp_id = run.info.run_id, run.info.experiment_id
    key = f"proxy/{exp_id}/{run_id}/artifacts/ckpt/model.safetensors"
    assert key in bucket_files(s3)
    assert (s3["data"] / BUCKET / key).read_bytes() == model.read_bytes()
    got = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="ckpt",
                                              dst_path=str(tmp_path / "dl"))
    assert sha256(Path(got) / "model.safetensors") == sha256(model)
    assert (Path(got) / "small.txt").read_text() == "x" * 2000


def test_pyfunc_model_round_trip(proxied_client, tmp_path):
    class AddN(mlflow.pyfunc.PythonModel):
        def __init__(self, n):
            self.n = n

        def predict(self, context, model_input, params=None):
            return [x + self.n for x in model_input]

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN(5))
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict([1, 2])) == [6, 7]
    files = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri,
                                                dst_path=str(tmp_path / "m"))
    assert (Path(files) / "MLmodel").is_file()


# ---------------------------------------------------------------------------
# direct: --no-serve-artifacts --default-artifact-root s3://…
# ---------------------------------------------------------------------------


def test_client_writes_s3_and_server_serves_it(direct_client, direct, s3, tmp_path):
    client = direct_client
    info = requests.get(f"{direct.url}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_uploads_enabled"] is False
    root = f"s3://{BUCKET}/mlruns-{direct.backend}"

    exp_id = client.create_experiment(f"direct-{direct.backend}")
    assert client.get_experiment(exp_id).artifact_location == f"{root}/{exp_id}"
    src = nested_tree(tmp_path / "src")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * MIB))  # boto3 uploads it in parts
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_artifacts(str(src), artifact_path="outputs")
        mlflow.log_artifact(str(big))
    run_id = run.info.run_id
    assert run.info.artifact_uri == f"{root}/{exp_id}/{run_id}/artifacts"
    prefix = f"mlruns-{direct.backend}/{exp_id}/{run_id}/artifacts/"
    assert prefix + "outputs/sub/deeper/weights.bin" in bucket_files(s3)

    # The client lists and downloads from S3 itself …
    assert [f.path for f in client.list_artifacts(run_id)] == ["big.bin", "outputs"]
    dst = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="outputs",
                                                   dst_path=str(tmp_path / "dl")))
    assert tree_files(dst) == tree_files(src)

    # … and the server reads the same bucket for the UI and the REST listing.
    resp = requests.get(f"{direct.url}/api/2.0/mlflow/artifacts/list",
                        params={"run_id": run_id, "path": "outputs/sub"}, timeout=30)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["root_uri"] == run.info.artifact_uri
    assert body["files"] == [
        {"path": "outputs/sub/config.yaml", "is_dir": False, "file_size": 19},
        {"path": "outputs/sub/deeper", "is_dir": True},
    ]
    resp = requests.get(f"{direct.url}/get-artifact",
                        params={"run_uuid": run_id, "path": "outputs/sub/config.yaml"},
                        timeout=30)
    assert resp.status_code == 200
    assert resp.text == "lr: 0.01\nepochs: 3\n"
    h = hashlib.sha256()
    with requests.get(f"{direct.url}/get-artifact",
                      params={"run_uuid": run_id, "path": "big.bin"},
                      stream=True, timeout=60) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_content(MIB):
            h.update(chunk)
    assert h.hexdigest() == sha256(big)
