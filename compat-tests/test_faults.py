"""Durability and fault tests against a live ferroflow binary.

Each case breaks something real and checks what a client sees:

* ``kill -9`` under concurrent write load (SQLite WAL and PostgreSQL): every
  write that was answered 200 is there after a restart on the same database;
* a private PostgreSQL cluster (``initdb`` in a temporary directory, never the
  machine's shared server) stopped under load: requests answer quickly with
  ``503 TEMPORARILY_UNAVAILABLE`` in MLflow's error shape, ``/ready`` is 503,
  and everything works again once PostgreSQL is back, without restarting
  ferroflow;
* the S3 endpoint (s3s-fs) killed before and in the middle of uploads: a
  clear 503, and no partial object after it is back; a client that hangs up
  in the middle of a local upload leaves no file behind;
* SIGTERM while an upload is in flight: it completes, new connections are
  refused, the process exits within its shutdown timeout;
* 200 slowloris connections and huge request heads: the server keeps answering
  and closes the slow connections itself.

The 620 KB log-batch (100 params of 6000 characters) is covered on both
databases by ``server/tests/it/api.rs::large_log_batch``.

Bounds are generous ("answered within 15 s"): they prove the absence of
hangs, never a speed. Only ferroflow is targeted (the cases restart and kill
the server, and check ferroflow's own error mapping).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import (
    S3_ACCESS_KEY,
    S3_BUCKET,
    S3_SECRET_KEY,
    TARGET,
    _stop,
    create_pg_database,
    free_port,
    require_s3s_fs,
    s3_env,
    start_s3s_fs,
    start_server,
)

pytestmark = pytest.mark.skipif(
    TARGET != "ferroflow", reason="fault tests drive the ferroflow binary itself")

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
# Every request of this module must be answered (or refused) within this.
NO_HANG_S = 15.0
MIB = 1024 * 1024

# Words of driver internals that must never reach a client.
DRIVER_WORDS = ("sqlx", "error returned from database", "error communicating with database",
                "pool timed out", "os error", "PgDatabaseError", "dispatch failure",
                "DispatchFailure", "hyper", "connector error")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="compat-faults-"))
    yield path
    if os.environ.get("COMPAT_KEEP_TMP") != "1":
        shutil.rmtree(path, ignore_errors=True)


def post(session, url: str, route: str, body: dict, timeout: float = NO_HANG_S):
    return session.post(f"{url}{API}/{route}", json=body, timeout=timeout)


def get(session, url: str, route: str, params: dict, timeout: float = NO_HANG_S):
    return session.get(f"{url}{API}/{route}", params=params, timeout=timeout)


def ok(resp) -> dict:
    assert resp.status_code == 200, (resp.status_code, resp.text[:500])
    return resp.json() if resp.content else {}


def new_run(url: str, name: str) -> tuple[str, str]:
    s = requests.Session()
    exp = ok(post(s, url, "experiments/create", {"name": f"{name}-{uuid.uuid4().hex[:8]}"}))
    run = ok(post(s, url, "runs/create", {"experiment_id": exp["experiment_id"],
                                         "start_time": int(time.time() * 1000)}))
    return exp["experiment_id"], run["run"]["info"]["run_id"]


def metric_history(url: str, run_id: str, key: str) -> list[dict]:
    s = requests.Session()
    out: list[dict] = []
    token = None
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 10000}
        if token:
            params["page_token"] = token
        body = ok(get(s, url, "metrics/get-history", params))
        out += body.get("metrics", [])
        token = body.get("next_page_token")
        if not token:
            return out


def run_data(url: str, run_id: str) -> tuple[dict, dict]:
    data = ok(get(requests.Session(), url, "runs/get", {"run_id": run_id}))["run"]["data"]
    params = {p["key"]: p["value"] for p in data.get("params", [])}
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    return params, tags


def assert_unavailable(resp, what: str) -> None:
    """503 with MLflow's error shape and a message free of driver internals."""
    assert resp.status_code == 503, (what, resp.status_code, resp.text[:500])
    body = resp.json()
    assert body.get("error_code") == "TEMPORARILY_UNAVAILABLE", (what, body)
    message = body.get("message") or ""
    assert message, (what, body)
    for word in DRIVER_WORDS:
        assert word.lower() not in message.lower(), (what, word, message)


def kill9(srv) -> None:
    os.killpg(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait(timeout=15)


# ---------------------------------------------------------------------------
# write load: threads logging params, metrics and tags, recording every 200
# ---------------------------------------------------------------------------


class WriteLoad:
    """Threads that each log into their own run, in a loop, three kinds of
    write (log-batch with a param, a metric and a tag; log-metric; set-tag),
    and remember every write answered 200. Any other answer is kept in
    ``failures`` with its latency; a connection error ends the thread (the
    server is gone) unless ``keep_going``."""

    def __init__(self, url: str, run_ids: list[str], keep_going: bool = False):
        self.url = url
        self.run_ids = run_ids
        self.keep_going = keep_going
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[tuple[int, str, int]] = []  # (thread, kind, i)
        self.answers: list[tuple[float, float, int, str]] = []  # (sent, latency, status, body)
        self.conn_errors = 0
        self.threads = [threading.Thread(target=self._work, args=(t,), daemon=True)
                        for t in range(len(run_ids))]

    def start(self) -> "WriteLoad":
        for th in self.threads:
            th.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=NO_HANG_S * 2)
            assert not th.is_alive(), "a load thread hangs"

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def _work(self, t: int) -> None:
        s = requests.Session()
        run_id = self.run_ids[t]
        i = 0
        while not self.stop.is_set():
            kind = ("batch", "metric", "tag")[i % 3]
            if kind == "batch":
                route, body = "runs/log-batch", {
                    "run_id": run_id,
                    "params": [{"key": f"p{i}", "value": f"v{t}-{i}"}],
                    "metrics": [{"key": "batch_m", "value": float(i),
                                 "timestamp": 1_700_000_000_000 + i, "step": i}],
                    "tags": [{"key": f"bt{i}", "value": f"bt{t}-{i}"}],
                }
            elif kind == "metric":
                route, body = "runs/log-metric", {
                    "run_id": run_id, "key": "m", "value": float(i),
                    "timestamp": 1_700_000_000_000 + i, "step": i}
            else:
                route, body = "runs/set-tag", {"run_id": run_id, "key": f"t{i}",
                                               "value": f"t{t}-{i}"}
            sent = time.monotonic()
            try:
                r = post(s, self.url, route, body)
            except requests.RequestException:
                with self.lock:
                    self.conn_errors += 1
                if not self.keep_going:
                    return
                time.sleep(0.05)
                i += 1
                continue
            latency = time.monotonic() - sent
            with self.lock:
                self.answers.append((sent, latency, r.status_code, r.text[:300]))
                if r.status_code == 200:
                    self.acked.append((t, kind, i))
            i += 1

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < deadline, f"only {self.count()} writes acknowledged"
            time.sleep(0.02)

    def check_stored(self, url: str) -> int:
        """Every acknowledged write is readable at ``url``; returns how many."""
        for t, run_id in enumerate(self.run_ids):
            mine = [(kind, i) for (tt, kind, i) in self.acked if tt == t]
            params, tags = run_data(url, run_id)
            m_steps = {int(m["step"]): m["value"] for m in metric_history(url, run_id, "m")}
            b_steps = {int(m["step"]): m["value"] for m in metric_history(url, run_id, "batch_m")}
            for kind, i in mine:
                if kind == "batch":
                    assert params.get(f"p{i}") == f"v{t}-{i}", (run_id, i, "param")
                    assert tags.get(f"bt{i}") == f"bt{t}-{i}", (run_id, i, "batch tag")
                    assert b_steps.get(i) == float(i), (run_id, i, "batch metric")
                elif kind == "metric":
                    assert m_steps.get(i) == float(i), (run_id, i, "metric")
                else:
                    assert tags.get(f"t{i}") == f"t{t}-{i}", (run_id, i, "tag")
        return len(self.acked)


# ---------------------------------------------------------------------------
# 1. kill -9 under load
# ---------------------------------------------------------------------------


# Writes acknowledged before the kill (the load goes on while it lands).
KILL_AFTER_WRITES = 600


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill9_under_load_keeps_every_acknowledged_write(backend, workdir):
    drop = dbname = None
    if backend == "sqlite":
        db_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    else:
        dbname, drop, uri = create_pg_database("faults_kill9")
        db_uri = uri(dbname)
    srv = restarted = None
    try:
        srv = start_server(backend, workdir, db_uri)
        run_ids = [new_run(srv.url, "kill9")[1] for _ in range(6)]
        load = WriteLoad(srv.url, run_ids).start()
        load.wait_for(KILL_AFTER_WRITES)
        kill9(srv)  # in the middle of the load: threads are sending
        load.join()
        assert load.conn_errors > 0, "the load had ended before the kill"
        bad = [a for a in load.answers if a[2] != 200]
        assert not bad, bad[:5]

        restarted = start_server(backend, workdir, db_uri, log_name="restarted.log")
        checked = load.check_stored(restarted.url)
        print(f"\n[kill9/{backend}] {checked} acknowledged writes found after kill -9")
        assert checked >= KILL_AFTER_WRITES
    finally:
        for s in (srv, restarted):
            if s is not None:
                _stop(s.proc)
        if drop is not None:
            drop(dbname)


# ---------------------------------------------------------------------------
# 2. PostgreSQL stopped and started under load (a private cluster)
# ---------------------------------------------------------------------------


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throw-away cluster: ``initdb`` in a temporary directory, trust auth,
    listening on 127.0.0.1 at a free port (run as ``postgres`` when we are
    root: initdb refuses root)."""

    def __init__(self, bindir: Path, base: Path):
        self.bindir = bindir
        self.base = base
        self.data = base / "data"
        self.log = base / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def _run(self, *args: str, timeout: float = 120) -> None:
        r = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:], self.log_tail())

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def init(self) -> None:
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "root",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} "
                "-c fsync=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def createdb(self, name: str) -> None:
        r = subprocess.run([str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p",
                            str(self.port), "-U", "root", name],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    def uri(self, name: str) -> str:
        return f"postgresql://root@127.0.0.1:{self.port}/{name}"


@pytest.fixture
def private_pg():
    bindir = pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").is_file():
        if os.environ.get("FERROFLOW_REQUIRE_PG_CLUSTER") == "1":
            pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl in /usr/lib/postgresql/*/bin) "
                    "are not installed")
    base = Path(tempfile.mkdtemp(prefix="compat-faults-pg-"))
    pg = PrivatePostgres(bindir, base)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        if (pg.data / "postmaster.pid").exists():
            subprocess.run(pg._cmd("pg_ctl", "-D", str(pg.data), "-m", "immediate", "-w",
                                   "stop"), capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def probe(url: str, path: str) -> tuple[int, float, str]:
    sent = time.monotonic()
    r = requests.get(url + path, timeout=NO_HANG_S)
    return r.status_code, time.monotonic() - sent, r.text


def down_checks(url: str, exp_id: str, run_id: str) -> dict[str, tuple[float, object]]:
    """Reads and writes of several handlers, sent at once while the
    database is down: {name: (latency, response)}."""
    calls = {
        "runs/get": ("GET", "runs/get", {"run_id": run_id}),
        "log-metric": ("POST", "runs/log-metric", {
            "run_id": run_id, "key": "down", "value": 1.0, "timestamp": 1, "step": 0}),
        "log-batch": ("POST", "runs/log-batch", {
            "run_id": run_id, "params": [{"key": "down", "value": "1"}]}),
        "runs/search": ("POST", "runs/search", {"experiment_ids": [exp_id]}),
        "experiments/search": ("POST", "experiments/search", {"max_results": 10}),
        "registered-models/create": ("POST", "registered-models/create",
                                     {"name": f"down-{uuid.uuid4().hex[:6]}"}),
    }
    out: dict[str, tuple[float, object]] = {}

    def one(name, method, route, body):
        sent = time.monotonic()
        s = requests.Session()
        r = (get(s, url, route, body) if method == "GET" else post(s, url, route, body))
        out[name] = (time.monotonic() - sent, r)

    threads = [threading.Thread(target=one, args=(name, *call)) for name, call in calls.items()]
    for th in threads:
        th.start()
    for th in threads:
        th.join(NO_HANG_S * 2)
    assert set(out) == set(calls), f"unanswered: {set(calls) - set(out)}"
    return out


def test_postgres_restart_under_load(private_pg, workdir):
    """Two outages under a write load: ``pg_ctl stop -m fast`` (sessions
    ended with 57P01) and ``-m immediate`` (connections cut, crash recovery on
    the next start); ferroflow keeps running through both."""
    pg = private_pg
    pg.createdb("ferroflow")
    srv = start_server("postgres", workdir, pg.uri("ferroflow"))
    try:
        exp_id, run_id = new_run(srv.url, "pg-restart")
        run_ids = [new_run(srv.url, "pg-restart")[1] for _ in range(4)]
        load = WriteLoad(srv.url, run_ids, keep_going=True).start()
        load.wait_for(100)
        s = requests.Session()
        outages = []  # (mode, stop began, back up, recovered after, 503 latencies)
        ready_route = None
        for mode in ("fast", "immediate"):
            stop_began = time.monotonic()
            pg.stop(mode)

            # While down: a quick 503 with MLflow's shape from every handler
            # (never a hang, never a 500), and /ready is 503.
            results = down_checks(srv.url, exp_id, run_id)
            for what, (latency, r) in results.items():
                assert latency < NO_HANG_S, (mode, what, latency)
                assert_unavailable(r, f"{mode}: {what}")
            ready = probe(srv.url, "/ready")
            health = probe(srv.url, "/health")
            ready_route = ready[0] != 404
            if ready_route:
                # Readiness pings the database; liveness does not.
                assert ready[0] == 503 and ready[1] < NO_HANG_S, ready
                assert health[0] == 200, health
            else:
                # No /ready in this build: /health is the database check.
                assert health[0] == 503, health

            pg.start()
            up = time.monotonic()
            deadline = up + 30
            while True:
                r = get(s, srv.url, "runs/get", {"run_id": run_id})
                if r.status_code == 200:
                    break
                assert_unavailable(r, f"{mode}: while PostgreSQL starts")
                assert time.monotonic() < deadline, "ferroflow did not recover within 30 s"
                time.sleep(0.1)
            recovered = time.monotonic() - up
            outages.append((mode, stop_began, up, recovered,
                            sorted(latency for latency, _ in results.values())))
            load.wait_for(load.count() + 100)
            if ready_route:
                assert probe(srv.url, "/ready")[0] == 200
            assert probe(srv.url, "/health")[0] == 200
        load.join()
        ok(post(s, srv.url, "runs/log-metric", {
            "run_id": run_id, "key": "after", "value": 2.0, "timestamp": 2, "step": 0}))

        # What the load saw: no 500s, no hangs, no dropped connections; 503s
        # only during an outage; everything sent after a recovery (plus a
        # margin) and before the next outage succeeded.
        windows = [(began, up + recovered + 1.0) for _, began, up, recovered, _ in outages]
        for sent, latency, status, body in load.answers:
            assert latency < NO_HANG_S, (latency, status, body)
            assert status in (200, 503), (status, body)
            in_outage = any(lo - 0.1 <= sent <= hi for lo, hi in windows)
            if status == 503:
                assert in_outage, ("503 outside an outage", sent, windows, body)
            elif not in_outage:
                assert status == 200, (status, body)
        assert load.conn_errors == 0, "the server dropped connections"
        unavailable = [a for a in load.answers if a[2] == 503]
        assert unavailable, "no load request saw an outage"
        checked = load.check_stored(srv.url)
        for mode, began, up, recovered, latencies in outages:
            print(f"\n[pg-restart/{mode}] {len(latencies)} requests sent while down: 503 in "
                  f"{latencies[0]:.1f}-{latencies[-1]:.1f}s; ferroflow served again "
                  f"{recovered:.1f}s after PostgreSQL was back")
        print(f"[pg-restart] /ready {'present' if ready_route else 'absent (checked /health)'}; "
              f"{len(unavailable)} load 503s (slowest {max(a[1] for a in unavailable):.1f}s), "
              f"no 500, {checked} acknowledged writes all stored")
    finally:
        _stop(srv.proc)


# ---------------------------------------------------------------------------
# 3. S3 unreachable; client hang-up in a local upload
# ---------------------------------------------------------------------------


def start_s3s_fs_on(data: Path, port: int) -> subprocess.Popen:
    """s3s-fs again on the same port and data (the endpoint ferroflow has)."""
    exe = require_s3s_fs()
    log = open(data.parent / f"{data.name}-again.log", "wb")
    proc = subprocess.Popen(
        [str(exe), "--host", "127.0.0.1", "--port", str(port), "--access-key", S3_ACCESS_KEY,
         "--secret-key", S3_SECRET_KEY, str(data)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except requests.RequestException:
            assert proc.poll() is None and time.monotonic() < deadline, "s3s-fs did not restart"
            time.sleep(0.05)


def slow_body(chunks: int, size: int, pause: float, sent: threading.Event | None = None,
              after: int = 1, hook=None):
    """A generator body (chunked upload) of ``chunks`` × ``size`` bytes; sets
    ``sent`` / calls ``hook`` once ``after`` chunks are out."""
    for n in range(chunks):
        yield bytes([65 + n % 26]) * size
        if n + 1 == after:
            if sent is not None:
                sent.set()
            if hook is not None:
                hook()
        time.sleep(pause)


def expected_slow_body(chunks: int, size: int) -> bytes:
    return b"".join(bytes([65 + n % 26]) * size for n in range(chunks))


def bucket_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_s3_unreachable_gives_clear_errors_and_no_partial_objects(workdir, tmp_path):
    require_s3s_fs()
    data = workdir / "s3-data"
    endpoint, s3proc = start_s3s_fs(data)
    port = int(endpoint.rsplit(":", 1)[1])
    srv = start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}",
                       artifact_args=["--artifacts-destination", f"s3://{S3_BUCKET}/proxy"],
                       extra_env=s3_env(endpoint), storage="s3")
    try:
        exp_id, run_id = new_run(srv.url, "s3-down")
        base = f"{exp_id}/{run_id}/artifacts"
        s = requests.Session()
        assert s.put(f"{srv.url}{PROXY}/{base}/ok.txt", data=b"fine\n",
                     timeout=NO_HANG_S).status_code == 200

        # S3 dies in the middle of a multipart upload (24 MiB in parts of
        # 8 MiB): once s3s-fs holds the first part (a `.upload_id-*.part-1`
        # file), it is killed.
        killed = threading.Event()

        def kill_s3():
            deadline = time.monotonic() + NO_HANG_S
            while not list(data.glob(".upload_id-*.part-1")):
                assert time.monotonic() < deadline, "no part reached s3s-fs"
                time.sleep(0.01)
            os.killpg(s3proc.pid, signal.SIGKILL)
            s3proc.wait(timeout=15)
            killed.set()

        sent = time.monotonic()
        r = s.put(f"{srv.url}{PROXY}/{base}/mid-upload.bin",
                  data=slow_body(24, MIB, 0.01, after=17, hook=kill_s3), timeout=NO_HANG_S * 2)
        mid_latency = time.monotonic() - sent
        assert killed.is_set()
        assert_unavailable(r, "upload cut by S3 going away")

        # S3 down from the start: uploads (raw and through the client), a
        # listing and a download answer a clear 503 quickly. They reuse the
        # keep-alive connection of the cut upload, which must not stall.
        timings = []
        for what, call in [
            ("upload", lambda: s.put(f"{srv.url}{PROXY}/{base}/small.txt",
                                     data=b"x" * 65536, timeout=NO_HANG_S)),
            ("list", lambda: s.get(f"{srv.url}{PROXY}", params={"path": base},
                                   timeout=NO_HANG_S)),
            ("download", lambda: s.get(f"{srv.url}{PROXY}/{base}/ok.txt", timeout=NO_HANG_S)),
            ("artifacts/list", lambda: get(s, srv.url, "artifacts/list", {"run_id": run_id})),
        ]:
            t0 = time.monotonic()
            r = call()
            timings.append(time.monotonic() - t0)
            assert_unavailable(r, what)

        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        local = tmp_path / "client.txt"
        local.write_text("from the client\n")
        client = MlflowClient(tracking_uri=srv.url)
        t0 = time.monotonic()
        with pytest.raises((MlflowException, requests.HTTPError)) as err:
            client.log_artifact(run_id, str(local))
        timings.append(time.monotonic() - t0)
        assert "TEMPORARILY_UNAVAILABLE" in str(err.value) or "503" in str(err.value), err.value
        assert max(timings) < NO_HANG_S

        # S3 back: the failed uploads left no object; writes work again
        # without restarting ferroflow.
        s3proc = start_s3s_fs_on(data, port)
        listed = ok(get(s, srv.url, "artifacts/list", {"run_id": run_id}))
        assert [f["path"] for f in listed.get("files", [])] == ["ok.txt"], listed
        # On disk: the one object; the parts of the cut upload (its abort
        # failed with S3 down) lie outside the bucket, as no object.
        prefix = f"proxy/{exp_id}/{run_id}/artifacts"
        assert bucket_files(data / S3_BUCKET) == [f"{prefix}/ok.txt"], bucket_files(data)
        leftover_parts = len(list(data.glob(".upload_id-*.part-*")))
        assert s.put(f"{srv.url}{PROXY}/{base}/again.txt", data=b"again\n",
                     timeout=NO_HANG_S).status_code == 200
        client.log_artifact(run_id, str(local))
        assert sorted(f.path for f in client.list_artifacts(run_id)) == [
            "again.txt", "client.txt", "ok.txt"]
        print(f"\n[s3-down] multipart upload cut after its first part answered in "
              f"{mid_latency:.1f}s ({leftover_parts} orphan part file(s), no object); with S3 "
              f"down every call answered 503 within {max(timings):.1f}s")
    finally:
        _stop(srv.proc)
        _stop(s3proc)


def test_client_hangup_mid_upload_leaves_no_local_file(workdir):
    srv = start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}")
    try:
        exp_id, run_id = new_run(srv.url, "hangup")
        base = f"{exp_id}/{run_id}/artifacts"
        s = requests.Session()
        assert s.put(f"{srv.url}{PROXY}/{base}/kept.txt", data=b"kept\n",
                     timeout=NO_HANG_S).status_code == 200
        run_dir = srv.artifacts_dir / exp_id / run_id / "artifacts"

        for framing in ("content-length", "chunked"):
            name = f"cut-{framing}.bin"
            sock = socket.create_connection(("127.0.0.1", int(srv.url.rsplit(":", 1)[1])),
                                            timeout=NO_HANG_S)
            head = f"PUT {PROXY}/{base}/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            head += ("Content-Length: 52428800\r\n\r\n" if framing == "content-length"
                     else "Transfer-Encoding: chunked\r\n\r\n")
            sock.sendall(head.encode())
            chunk = b"z" * MIB
            for _ in range(4):
                sock.sendall(chunk if framing == "content-length"
                             else b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            # The upload is under way: a temporary file, never the final name.
            deadline = time.monotonic() + NO_HANG_S
            while not any(p.name.startswith(".artifact.uploading.") for p in run_dir.iterdir()):
                assert time.monotonic() < deadline, sorted(os.listdir(run_dir))
                time.sleep(0.02)
            assert not (run_dir / name).exists()
            # SO_LINGER on, 0 s: close() sends a reset.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # hang up with a reset, 4 MiB into 50

            deadline = time.monotonic() + NO_HANG_S
            while sorted(os.listdir(run_dir)) != ["kept.txt"]:
                assert time.monotonic() < deadline, (framing, sorted(os.listdir(run_dir)))
                time.sleep(0.05)
            listed = ok(get(s, srv.url, "artifacts/list", {"run_id": run_id}))
            assert [f["path"] for f in listed["files"]] == ["kept.txt"], (framing, listed)
        assert requests.get(srv.url + "/health", timeout=NO_HANG_S).status_code == 200
    finally:
        _stop(srv.proc)


# ---------------------------------------------------------------------------
# 4. SIGTERM drains in-flight requests
# ---------------------------------------------------------------------------

# startup.rs: HttpServer::shutdown_timeout.
SHUTDOWN_TIMEOUT_S = 10


def test_sigterm_drains_in_flight_upload(workdir):
    srv = start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}")
    port = int(srv.url.rsplit(":", 1)[1])
    try:
        exp_id, run_id = new_run(srv.url, "drain")
        base = f"{exp_id}/{run_id}/artifacts"
        started = threading.Event()
        result: dict = {}
        chunks, size = 12, 256 * 1024

        def upload():
            try:
                r = requests.put(f"{srv.url}{PROXY}/{base}/slow.bin",
                                 data=slow_body(chunks, size, 0.25, sent=started),
                                 timeout=NO_HANG_S * 2)
                result["status"], result["body"] = r.status_code, r.text
            except requests.RequestException as e:
                result["error"] = repr(e)

        # An idle keep-alive connection, as a client's pool holds, must not
        # hold the shutdown up.
        idle = requests.Session()
        assert idle.get(srv.url + "/health", timeout=NO_HANG_S).status_code == 200
        th = threading.Thread(target=upload, daemon=True)
        th.start()
        assert started.wait(NO_HANG_S)
        time.sleep(0.3)
        term = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)

        # New connections are refused once the listener is closed (give the
        # signal a moment to arrive); the upload keeps going meanwhile.
        time.sleep(0.5)
        refused = None
        try:
            r = requests.get(srv.url + "/health", timeout=5)
            refused = f"answered {r.status_code}"
        except requests.ConnectionError as e:
            refused = e
        assert isinstance(refused, requests.ConnectionError), refused
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert th.is_alive(), "the upload finished before the check"

        th.join(timeout=NO_HANG_S * 2)
        assert not th.is_alive()
        assert result.get("status") == 200, result
        srv.proc.wait(timeout=SHUTDOWN_TIMEOUT_S + 10)
        exited = time.monotonic() - term
        assert srv.proc.returncode == 0, srv.log_tail()
        assert exited < SHUTDOWN_TIMEOUT_S + 5, exited
        stored = srv.artifacts_dir / exp_id / run_id / "artifacts" / "slow.bin"
        assert stored.read_bytes() == expected_slow_body(chunks, size)
        print(f"\n[sigterm] in-flight upload completed; process exited {exited:.1f}s "
              "after SIGTERM")
    finally:
        _stop(srv.proc)


# ---------------------------------------------------------------------------
# 5. slow clients and huge headers
# ---------------------------------------------------------------------------

SLOW_CONNECTIONS = 200


def test_slowloris_and_huge_headers(workdir):
    srv = start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}")
    port = int(srv.url.rsplit(":", 1)[1])
    socks: list[socket.socket] = []
    try:
        request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
        for _ in range(SLOW_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=NO_HANG_S)
            sock.setblocking(False)
            socks.append(sock)
        opened = time.monotonic()
        closed: dict[int, float] = {}

        # Byte by byte, every 0.2 s, on every connection; a normal request
        # between rounds still answers.
        normal = []
        offset = 0
        while len(closed) < len(socks):
            assert time.monotonic() - opened < 60, f"{len(socks) - len(closed)} still open"
            for n, sock in enumerate(socks):
                if n in closed:
                    continue
                try:
                    data = sock.recv(4096)
                    if data == b"" or data.startswith(b"HTTP/1.1 408"):
                        closed[n] = time.monotonic() - opened
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    closed[n] = time.monotonic() - opened
                    continue
                try:
                    sock.send(request[offset % len(request):offset % len(request) + 1])
                except BlockingIOError:
                    pass
                except OSError:
                    closed[n] = time.monotonic() - opened
            offset += 1
            if offset % 5 == 0:
                t0 = time.monotonic()
                r = requests.get(srv.url + "/health", timeout=NO_HANG_S)
                normal.append(time.monotonic() - t0)
                assert r.status_code == 200
            time.sleep(0.2)
        # Closed by the server's header timeout, not by running out of bytes.
        assert offset < len(request)
        assert normal, "no normal request was made while the slow ones were open"

        # Huge heads. actix-http buffers at most 128 KiB of request head and
        # 96 headers: beyond either, 431 (or a closed connection), at once.
        # A 100 KB header is within the bound: answered normally, at once.
        cases = [
            ("100 KB header", b"X-Huge: " + b"h" * 100_000, False),
            ("200 KB header", b"X-Huge: " + b"h" * 200_000, True),
            ("1 MB header", b"X-Huge: " + b"h" * 1_000_000, True),
            ("500 headers", b"\r\n".join(b"X-Many-%d: v" % i for i in range(500)), True),
        ]
        for what, header, refused in cases:
            sock = socket.create_connection(("127.0.0.1", port), timeout=NO_HANG_S)
            t0 = time.monotonic()
            try:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header +
                             b"\r\n\r\n")
                reply = sock.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                reply = b""
            finally:
                sock.close()
            assert time.monotonic() - t0 < NO_HANG_S, what
            status = int(reply.split(b" ", 2)[1]) if reply else None
            if refused:
                assert status is None or status == 431 or 400 <= status < 500, (what, reply[:200])
            else:
                assert status == 200, (what, reply[:200])
            print(f"\n[headers] {what}: {status or 'connection closed'}")
        assert requests.get(srv.url + "/health", timeout=NO_HANG_S).status_code == 200
        print(f"[slowloris] {len(socks)} slow connections closed by the server after "
              f"{min(closed.values()):.1f}-{max(closed.values()):.1f}s; normal requests "
              f"meanwhile answered in at most {max(normal):.2f}s")
    finally:
        for sock in socks:
            sock.close()
        _stop(srv.proc)
