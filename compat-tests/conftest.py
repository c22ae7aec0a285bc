"""Fixtures for the ferroflow compatibility suite.

The suite drives the official ``mlflow`` Python client (and raw HTTP) against a
live tracking server.  The server is either ferroflow (default) or the real
Python ``mlflow server`` 3.17.2, so the tests themselves can be validated
against the reference implementation:

    COMPAT_TARGET=ferroflow   $FERROFLOW_BIN server ...   (default; FERROFLOW_BIN
                              defaults to <repo>/target/debug/ferroflow)
    COMPAT_TARGET=mlflow      <repo>/.venvs/mlflow3/bin/mlflow server ... --workers 1
                              (always the 3.17.2 server, whichever venv runs pytest;
                              override the venv with COMPAT_MLFLOW_VENV)

Backends: every test that uses ``server`` runs once per backend (``sqlite``,
``postgres``); restrict with e.g. ``COMPAT_BACKENDS=sqlite``.  PostgreSQL is
expected at 127.0.0.1:5432, user ``root``, trust auth (override host/port/user
with FERROFLOW_PG_HOST / _PORT / _USER as pgutil does; COMPAT_PG_* take precedence
in the private fallback used when pgutil cannot be imported, e.g. in the mlflow 2.22
venv, which has no psycopg2).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# Fail fast instead of hanging through the client's retry/backoff loop when the
# server answers 5xx.  Set before any mlflow call; the client reads these at
# request time.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "30"

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

TARGET = os.environ.get("COMPAT_TARGET", "ferroflow").strip().lower()
if TARGET not in ("ferroflow", "mlflow"):
    raise RuntimeError(f"COMPAT_TARGET must be 'ferroflow' or 'mlflow', got {TARGET!r}")

BACKENDS = [
    b.strip()
    for b in os.environ.get("COMPAT_BACKENDS", "sqlite,postgres").split(",")
    if b.strip()
]

STARTUP_TIMEOUT_S = float(os.environ.get("COMPAT_STARTUP_TIMEOUT", "180"))


def ferroflow_bin() -> Path:
    return Path(os.environ.get("FERROFLOW_BIN") or REPO / "target" / "debug" / "ferroflow")


def mlflow_bin() -> Path:
    venv = Path(os.environ.get("COMPAT_MLFLOW_VENV") or REPO / ".venvs" / "mlflow3")
    return venv / "bin" / "mlflow"


# --------------------------------------------------------------------------
# PostgreSQL helpers: prefer the shared pgutil module, fall back to a private
# implementation (psycopg2 if importable, else the psql CLI -- the mlflow 2.22
# venv has no psycopg2).
# --------------------------------------------------------------------------

PG_HOST = os.environ.get("COMPAT_PG_HOST") or os.environ.get("FERROFLOW_PG_HOST", "127.0.0.1")
PG_PORT = os.environ.get("COMPAT_PG_PORT") or os.environ.get("FERROFLOW_PG_PORT", "5432")
PG_USER = os.environ.get("COMPAT_PG_USER") or os.environ.get("FERROFLOW_PG_USER", "root")


def _pg_exec_admin(sql: str) -> None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        psycopg2 = None
    if psycopg2 is not None:
        conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()
        return
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("neither psycopg2 nor psql is available to manage PostgreSQL databases")
    subprocess.run(
        [psql, "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", "postgres",
         "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True, capture_output=True, text=True,
    )


def _own_create_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}".lower()
    _pg_exec_admin(f'CREATE DATABASE "{name}"')
    return name


def _own_drop_database(name: str) -> None:
    _pg_exec_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _own_pg_uri(name: str, driver: bool = False) -> str:
    scheme = "postgresql+psycopg2" if driver else "postgresql"
    return f"{scheme}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _pg_functions():
    """(create, drop, uri) from pgutil when usable, else the private fallback."""
    try:
        sys.path.insert(0, str(HERE))
        import pgutil  # type: ignore

        funcs = (pgutil.create_database, pgutil.drop_database, pgutil.pg_uri)
    except Exception:
        return _own_create_database, _own_drop_database, _own_pg_uri
    finally:
        if sys.path and sys.path[0] == str(HERE):
            sys.path.pop(0)
    return funcs


def create_pg_database(prefix: str) -> tuple[str, object, object]:
    create, drop, uri = _pg_functions()
    try:
        name = create(prefix)
    except Exception:
        if create is _own_create_database:
            raise
        # pgutil present but unusable in this venv (e.g. no psycopg2): fall back.
        create, drop, uri = _own_create_database, _own_drop_database, _own_pg_uri
        name = create(prefix)
    return name, drop, uri


# --------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    backend: str
    db_uri: str
    artifacts_dir: Path
    workdir: Path
    log_path: Path
    target: str
    proc: subprocess.Popen | None = None
    # "local" (artifacts proxied to artifacts_dir) or "s3" (proxied to
    # s3://S3_BUCKET/proxy on an s3s-fs server).
    storage: str = "local"

    def log_tail(self, n: int = 80) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no log>"
        return "\n".join(lines[-n:])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    # The server was started in its own session/process group (uvicorn / gunicorn
    # workers are children): signal that group only.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=15)


def start_server(backend: str, workdir: Path, db_uri: str, *,
                 artifact_args: list[str] | None = None,
                 extra_env: dict[str, str] | None = None,
                 storage: str = "local",
                 target: str | None = None,
                 port: int | None = None,
                 log_name: str = "server.log",
                 extra_args: list[str] | None = None) -> Server:
    """Starts a server and waits for /health: the one everything in this
    suite starts (fixtures, the S3, trainer, cross-server and k8s modules).

    ``target`` is ``ferroflow`` or ``mlflow`` (default: COMPAT_TARGET);
    ``artifact_args`` replaces the default ``--artifacts-destination
    <workdir>/artifacts``; ``extra_env`` is added to the server's environment
    (S3 endpoint and credentials); ``port`` defaults to a free one;
    ``extra_args`` is appended to the command line for both targets (e.g.
    ``["--app-name", "basic-auth"]``, ``["--x-frame-options", "DENY"]``)."""
    target = target or TARGET
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    if artifact_args is None:
        artifact_args = ["--artifacts-destination", str(artifacts)]
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / log_name
    env = dict(os.environ)
    env.update(extra_env or {})
    if target == "mlflow":
        exe = mlflow_bin()
        if not exe.exists():
            pytest.fail(f"mlflow server binary not found: {exe}")
        cmd = [str(exe), "server", "--workers", "1"]
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        # Do not let the test process's venv leak into the reference server.
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
    else:
        exe = ferroflow_bin()
        if not exe.exists():
            pytest.fail(f"ferroflow binary not found: {exe} (build it or set FERROFLOW_BIN)")
        cmd = [str(exe), "server"]
    cmd += ["--backend-store-uri", db_uri, "--host", "127.0.0.1", "--port", str(port)]
    cmd += artifact_args
    cmd += extra_args or []
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(workdir), env=env,
        start_new_session=True,
    )
    log.close()
    srv = Server(url=url, backend=backend, db_uri=db_uri, artifacts_dir=artifacts,
                 workdir=workdir, log_path=log_path, target=target, proc=proc,
                 storage=storage)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            msg = (f"{target} server exited with {proc.returncode} during startup\n"
                   f"cmd: {' '.join(cmd)}\n--- log tail ---\n{srv.log_tail()}")
            print(msg, file=sys.stderr)
            pytest.fail(msg)
        try:
            r = requests.get(url + "/health", timeout=2)
            if r.status_code == 200:
                return srv
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            msg = (f"{target} server did not become healthy within {STARTUP_TIMEOUT_S}s\n"
                   f"cmd: {' '.join(cmd)}\n--- log tail ---\n{srv.log_tail()}")
            print(msg, file=sys.stderr)
            pytest.fail(msg)
        time.sleep(0.25)


# --------------------------------------------------------------------------
# The trainer binary and the MNIST files (test_trainer.py, the k8s rehearsal)
# --------------------------------------------------------------------------


def trainer_bin() -> Path | None:
    """FERROFLOW_TRAIN_BIN (which must exist when set), else a local build."""
    if os.environ.get("FERROFLOW_TRAIN_BIN"):
        path = Path(os.environ["FERROFLOW_TRAIN_BIN"])
        assert path.is_file(), f"FERROFLOW_TRAIN_BIN={path} does not exist"
        return path
    for candidate in (REPO / "target" / "debug" / "ferroflow-train",
                      REPO / "target" / "trainer" / "debug" / "ferroflow-train"):
        if candidate.is_file():
            return candidate
    return None


def mnist_dir() -> Path | None:
    """MNIST_DIR (which must hold the test set when set), else
    ../shared/data/mnist beside the checkout when it is there."""
    shared = Path(os.environ.get("FERROFLOW_SHARED_DIR") or REPO.parent / "shared")
    path = Path(os.environ.get("MNIST_DIR") or shared / "data" / "mnist")
    has_set = (path / "t10k-images-idx3-ubyte.gz").is_file()
    if os.environ.get("MNIST_DIR"):
        assert has_set, f"MNIST_DIR={path} holds no MNIST test set"
    return path if has_set else None


def needs_trainer_and_mnist() -> list:
    """Skip marks for modules that run ferroflow-train on MNIST. Under
    scripts/test-all.sh both are set, so a missing one fails instead."""
    return [
        pytest.mark.skipif(
            trainer_bin() is None,
            reason="ferroflow-train is not built (set FERROFLOW_TRAIN_BIN or build it: "
            "eval \"$(scripts/setup-libtorch.sh --env)\" && cargo build -p ferroflow-trainer)",
        ),
        pytest.mark.skipif(mnist_dir() is None,
                           reason="no MNIST files (MNIST_DIR, default ../shared/data/mnist)"),
    ]


# --------------------------------------------------------------------------
# A real S3 server: s3s-fs (scripts/setup-s3s.sh installs it into .tools/bin;
# S3S_FS_BIN overrides) with SigV4 credentials.
# --------------------------------------------------------------------------

S3_BUCKET = "ferroflow-compat"
S3_ACCESS_KEY = "compat-access"
S3_SECRET_KEY = "compat-secret-key-0123456789"


def s3s_fs_bin() -> Path | None:
    path = Path(os.environ.get("S3S_FS_BIN") or REPO / ".tools" / "bin" / "s3s-fs")
    return path if path.is_file() else None


def require_s3s_fs() -> Path:
    """The s3s-fs binary; skips the caller without it, unless
    FERROFLOW_REQUIRE_S3 is set (scripts/test-all.sh sets it): then fails."""
    exe = s3s_fs_bin()
    if exe is None:
        if os.environ.get("FERROFLOW_REQUIRE_S3"):
            pytest.fail("s3s-fs is not installed: run scripts/setup-s3s.sh")
        pytest.skip("s3s-fs is not installed (run scripts/setup-s3s.sh)")
    return exe


def s3_env(endpoint: str) -> dict[str, str]:
    """The variables an `mlflow server` user sets for MinIO."""
    return {
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def start_s3s_fs(data: Path) -> tuple[str, subprocess.Popen]:
    """Serves ``data`` (one directory per bucket; S3_BUCKET is created) and
    returns (endpoint, process)."""
    exe = require_s3s_fs()
    (data / S3_BUCKET).mkdir(parents=True, exist_ok=True)
    log_path = data.parent / f"{data.name}.log"
    for _ in range(5):
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [str(exe), "--host", "127.0.0.1", "--port", str(port),
                 "--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY, str(data)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                return f"http://127.0.0.1:{port}", proc
            except requests.RequestException:
                time.sleep(0.05)
        _stop(proc)
    pytest.fail(f"s3s-fs did not start:\n{log_path.read_text(errors='replace')}")


def server_variant(request, variant: str):
    """Generator behind the ``server`` fixtures: a fresh database, artifact
    store and server for ``variant`` = ``<backend>[+s3]`` (``sqlite``,
    ``postgres``, ``postgres+s3`` …)."""
    backend, _, storage = variant.partition("+")
    storage = storage or "local"
    workdir = Path(tempfile.mkdtemp(prefix=f"compat-{TARGET}-{backend}-{storage}-"))
    drop = None
    dbname = None
    s3s_proc = None
    if backend == "sqlite":
        db_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    elif backend == "postgres":
        try:
            dbname, drop, uri = create_pg_database("compat")
        except Exception as e:  # pragma: no cover - environment problem
            pytest.fail(f"cannot create PostgreSQL database: {e}")
        db_uri = uri(dbname, driver=(TARGET == "mlflow"))
    else:
        raise ValueError(f"unknown backend {backend!r}")
    srv = None
    try:
        if storage == "s3":
            endpoint, s3s_proc = start_s3s_fs(workdir / "s3-data")
            srv = start_server(
                backend, workdir, db_uri,
                artifact_args=["--artifacts-destination", f"s3://{S3_BUCKET}/proxy"],
                extra_env=s3_env(endpoint), storage="s3")
            # Where the objects land (s3s-fs keeps one file per key).
            srv.artifacts_dir = workdir / "s3-data" / S3_BUCKET / "proxy"
        elif storage == "local":
            srv = start_server(backend, workdir, db_uri)
        else:
            raise ValueError(f"unknown artifact storage {storage!r}")
        yield srv
    finally:
        if srv is not None and srv.proc is not None:
            _stop(srv.proc)
            if request.session.testsfailed:
                print(f"\n[{TARGET}/{variant}] server log tail ({srv.log_path}):\n"
                      f"{srv.log_tail(40)}", file=sys.stderr)
        if s3s_proc is not None:
            _stop(s3s_proc)
        if drop is not None and dbname is not None:
            try:
                drop(dbname)
            except Exception as e:  # pragma: no cover
                print(f"warning: could not drop database {dbname}: {e}", file=sys.stderr)
        if os.environ.get("COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request):
    """A fresh server (fresh DB + local artifacts dir) per test module and
    backend. A module that also needs S3 overrides this fixture with more
    variants (see test_registry_flow.py)."""
    yield from server_variant(request, request.param)


def _point_mlflow_at(server, mp: pytest.MonkeyPatch):
    import mlflow
    from mlflow.tracking import MlflowClient

    mp.setenv("MLFLOW_TRACKING_URI", server.url)
    mp.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mp.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(server.url)
    follow_tracking_uri_for_registry(mp)
    return MlflowClient(tracking_uri=server.url)


def follow_tracking_uri_for_registry(mp: pytest.MonkeyPatch | None = None):
    """Makes the model registry follow the tracking URI again. MLflow keeps a
    registry URI set by ``set_registry_uri`` in a global and in
    MLFLOW_REGISTRY_URI, so a module that set one (the trainer's) would send
    every later module's registrations to its stopped server."""
    import mlflow

    if mp is not None:
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
    else:
        os.environ.pop("MLFLOW_REGISTRY_URI", None)
    # "" (not None) stops MLflow from reading the variable again.
    mlflow.set_registry_uri("")


def _end_active_runs():
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def client(server, monkeypatch):
    """MlflowClient bound to the server; fluent API pointed at it too."""
    yield _point_mlflow_at(server, monkeypatch)
    _end_active_runs()


@pytest.fixture(scope="module")
def module_client(server):
    """Like ``client`` but module-scoped, for module-level setup fixtures."""
    with pytest.MonkeyPatch.context() as mp:
        yield _point_mlflow_at(server, mp)
        _end_active_runs()


def pytest_configure(config):
    # protobuf deprecation noise from the 2.22 client
    config.addinivalue_line("filterwarnings", "ignore:label\\(\\) is deprecated:DeprecationWarning")
    config.addinivalue_line(
        "markers",
        "ferroflow_only: checks a deliberate difference from MLflow (e.g. an MLflow bug "
        "ferroflow must not copy); skipped with COMPAT_TARGET=mlflow",
    )


def pytest_collection_modifyitems(config, items):
    if TARGET != "ferroflow":
        skip = pytest.mark.skip(reason="ferroflow-only check (deliberate difference from MLflow)")
        for item in items:
            if "ferroflow_only" in item.keywords:
                item.add_marker(skip)


def pytest_report_header(config):
    exe = mlflow_bin() if TARGET == "mlflow" else ferroflow_bin()
    return f"compat target: {TARGET} ({exe}); backends: {', '.join(BACKENDS)}"
