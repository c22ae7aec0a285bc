"""ferroflow next to `mlflow server` 3.17.2, in one run, on the same workloads.

Each server gets a fresh database (SQLite file or PostgreSQL database) and
artifact directory on this machine, is started, measured, and stopped; then
the other. The client is the same `requests` session for both (keep-alive,
one connection per thread), so the figures compare server time plus the same
client overhead. The machine is shared and noisy: read the medians and the
ratios, not single numbers, and run it twice before believing a small
difference.

    cargo build --release -p ferroflow-server
    .venvs/mlflow3/bin/python bench/compare.py [--backend sqlite|postgresql|both]
        [--rest sqlite|postgresql|both|none] [--runs 10000] [--scale 1.0]
        [--pg-url postgresql://root@127.0.0.1:5432] [--ferroflow target/release/ferroflow]

REST workload (on the --rest databases, SQLite by default):
  start-up      seconds from spawn to the first 200 from /health
  idle RSS      resident memory of the server's processes (all of its
                process group: the mlflow server runs a uvicorn parent and
                worker), after start-up
  create run    latency of runs/create                (sequential)
  log metric    latency of runs/log-metric            (sequential)
  log batch     latency of runs/log-batch, 100 metrics + 10 params + 5 tags
  get run       latency of runs/get of a run with 100 metrics and 10 params
  search runs   latency of runs/search with a metric filter and order_by
                over the runs created above, 100 results a page
  history       latency of metrics/get-history of a 1000-point metric
  artifact      latency of a 1 MiB upload and download through the proxy
  concurrent    log-metric calls/s from 8 threads
  peak RSS      the highest RSS sampled during the whole workload

UI workload (on the --backend databases, both by default), the requests the
MLflow 3.17.2 web UI sends, with a browser's headers:
  GET /             the index page
  index assets      what index.html references (favicon, manifest, main
                    js and css: ~5.3 MB), fetched one after the other, read
                    as sent (compressed or not, never decoded)
  server-info       GET /ajax-api/3.0/mlflow/server-info (every page)
  experiments list  GET experiments/search, the experiments page's call
  first page        all of the above, one after the other, per page load
  runs table        POST runs/search of the runs table, 100 of an
                    experiment of --runs runs ordered by start time, and the
                    same request for the next page (its page token)
  GetRun            POST /graphql, the run page's query (Apollo's text,
                    with the __typename fields Apollo adds)
A path a server answers with 404 or 501 (not built yet) is reported as n/a.
The big experiment's runs are written straight into the database (same
rows on both servers, as MLflow's SQL store writes them: 5 tags, 5 params,
3 metrics a run) so that seeding takes seconds; the two servers' pages are
then compared run by run (same runs, same order, same page token).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
NA = "n/a"  # a path the server does not answer yet (404/501)

# What Chromium sends; the UI adds the JSON content type even on GETs.
BROWSER_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/156.0.0.0 Safari/537.36",
}
UI_JSON = {"Content-Type": "application/json; charset=utf-8"}

# The UI's GraphQL operations, shared with the server's tests
# (server/tests/it/graphql.rs reads the same files).
GRAPHQL_DIR = REPO / "server" / "tests" / "it" / "graphql"


def with_typename(query: str) -> str:
    """`query` as Apollo sends it: `__typename` added to every selection set
    but the operation's own (addTypename is on in MLflow's bundle)."""
    out = []
    depth = 0
    in_string = False
    for i, ch in enumerate(query):
        if ch == '"' and (i == 0 or query[i - 1] != "\\"):
            in_string = not in_string
        elif not in_string and ch == "{":
            depth += 1
        elif not in_string and ch == "}":
            if depth >= 2:
                line_start = query.rfind("\n", 0, i) + 1
                before = query[line_start:i]
                if before.strip():
                    out.append("__typename " if query[i - 1].isspace() else " __typename ")
                else:
                    # `}` alone on its line: the field on a line of its own,
                    # one level deeper than the brace.
                    out[len(out) - len(before):] = []
                    out.append(before + "  __typename\n" + before)
            depth -= 1
        out.append(ch)
    return "".join(out)


# The run page's query as MLflow 3.17.2's bundle holds it (chunk 3254).
GET_RUN_QUERY = with_typename((GRAPHQL_DIR / "GetRun.graphql").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_pids(pgid: int) -> list[int]:
    """The processes of one process group (a server and its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid:
                pids.append(int(entry))
        except (OSError, ProcessLookupError):
            continue
    return pids


def group_rss_bytes(pgid: int) -> int:
    """Sum of VmRSS over the processes of one process group."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class RssSampler:
    def __init__(self, pgid: int):
        self.pgid, self.peak, self._stop = pgid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, group_rss_bytes(self.pgid))
            time.sleep(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class Database:
    """A fresh database for one server: a SQLite file or a PostgreSQL database."""

    def __init__(self, backend: str, kind: str, workdir: Path, pg_url: str):
        self.backend = backend
        if backend == "sqlite":
            self.path = workdir / "mlflow.db"
            self.uri = f"sqlite:///{self.path}"
        else:
            self.name = f"ffbench_{kind}_{os.getpid()}"
            self.admin_url = pg_url.rstrip("/") + "/postgres"
            self.dsn = pg_url.rstrip("/") + "/" + self.name
            # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3, which the
            # venv lacks; ferroflow reads both spellings.
            self.uri = self.dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
            conn = self._admin()
            try:
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS {self.name}")
                    cur.execute(f"CREATE DATABASE {self.name}")
            finally:
                conn.close()

    def _admin(self):
        import psycopg2  # in the venv: mlflow server needs it for PostgreSQL

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        return conn

    def connect(self):
        if self.backend == "sqlite":
            return sqlite3.connect(self.path, timeout=60)
        import psycopg2

        return psycopg2.connect(self.dsn)

    def drop(self):
        if self.backend == "postgresql":
            conn = self._admin()
            try:
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            finally:
                conn.close()


def ui_build_dir() -> Path | None:
    """The MLflow UI bundle for ferroflow: scripts/setup-ui.sh's folder, else
    the one inside the mlflow wheel the reference server serves."""
    for candidate in [REPO / ".ui" / "mlflow-3.17.2" / "build",
                      *sorted((REPO / ".venvs" / "mlflow3" / "lib").glob(
                          "python*/site-packages/mlflow/server/js/build"))]:
        if (candidate / "index.html").is_file():
            return candidate
    return None


class Server:
    def __init__(self, kind: str, ferroflow_bin: Path, workdir: Path, db: Database,
                 extra_args: list[str] | None = None, extra_env: dict[str, str] | None = None):
        self.kind = kind
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        artifacts = workdir / "artifacts"
        env = dict(os.environ)
        env.update(extra_env or {})
        if kind == "mlflow":
            cmd = [str(REPO / ".venvs" / "mlflow3" / "bin" / "mlflow"), "server", "--workers", "1"]
            env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        else:
            cmd = [str(ferroflow_bin), "server"]
            ui = ui_build_dir()
            if ui is not None:
                env.setdefault("FERROFLOW_UI_DIR", str(ui))
        cmd += list(extra_args or [])
        cmd += ["--backend-store-uri", db.uri, "--artifacts-destination", str(artifacts),
                "--host", "127.0.0.1", "--port", str(self.port)]
        self.log = open(workdir / f"{kind}.log", "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=workdir, env=env, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                self.log.close()
                tail = (workdir / f"{kind}.log").read_text(errors="replace")[-3000:]
                sys.exit(f"{kind} exited during start-up:\n{tail}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.02)
        self.startup_s = time.monotonic() - started
        time.sleep(1.0)  # let lazy initialisation settle before the idle reading
        self.idle_rss = group_rss_bytes(self.proc.pid)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def ok(resp: requests.Response) -> dict:
    if resp.status_code != 200:
        sys.exit(f"{resp.request.method} {resp.url}: {resp.status_code} {resp.text[:300]}")
    return resp.json() if resp.content else {}


def workload(srv: Server, scale: float) -> dict:
    n = lambda base: max(5, int(base * scale))  # noqa: E731
    s = requests.Session()
    post = lambda path, body: ok(s.post(srv.url + API + path, json=body, timeout=120))  # noqa: E731
    get = lambda path, params: ok(s.get(srv.url + API + path, params=params, timeout=120))  # noqa: E731
    results: dict[str, object] = {}
    sampler = RssSampler(srv.proc.pid)
    exp_id = post("/experiments/create", {"name": "bench"})["experiment_id"]
    now = int(time.time() * 1000)
    run_ids: list[str] = []

    def create_run(i):
        run_ids.append(post("/runs/create", {"experiment_id": exp_id, "start_time": now + i})
                       ["run"]["info"]["run_id"])
    results["create run"] = timed(create_run, n(300))

    target = run_ids[0]
    results["log metric"] = timed(lambda i: post("/runs/log-metric", {
        "run_id": target, "key": "loss", "value": 1.0 / (i + 1), "timestamp": now + i,
        "step": i}), n(1000))

    def log_batch(i):
        run = run_ids[i % len(run_ids)]
        post("/runs/log-batch", {
            "run_id": run,
            "metrics": [{"key": f"m{k}", "value": (i * 7 + k) % 100 / 100.0,
                         "timestamp": now + i, "step": i} for k in range(100)],
            "params": [{"key": f"p{k}-{i}", "value": str(k)} for k in range(10)],
            "tags": [{"key": f"t{k}", "value": f"v{i}"} for k in range(5)],
        })
    results["log batch"] = timed(log_batch, n(300))

    rich = run_ids[1 % len(run_ids)]
    results["get run"] = timed(lambda i: get("/runs/get", {"run_id": rich}), n(300))

    def search(i):
        got = post("/runs/search", {
            "experiment_ids": [exp_id], "filter": "metrics.m3 > 0.2 and attributes.status = 'RUNNING'",
            "order_by": ["metrics.m3 DESC", "attributes.start_time ASC"], "max_results": 100})
        if not got.get("runs"):
            sys.exit("search returned nothing: the workload is wrong")
    results["search runs"] = timed(search, n(100))

    results["history"] = timed(lambda i: get("/metrics/get-history",
                                             {"run_id": target, "metric_key": "loss"}), n(100))

    blob = os.urandom(1024 * 1024)
    path = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{target}/artifacts/blob"

    def artifact(i):
        r = s.put(srv.url + f"{path}-{i}.bin", data=blob, timeout=120)
        assert r.status_code == 200, r.text
        r = s.get(srv.url + f"{path}-{i}.bin", timeout=120)
        assert r.content == blob
    results["artifact 1 MiB"] = timed(artifact, n(50))

    threads, per_thread = 8, n(200)
    errors: list[str] = []

    def hammer(t):
        session = requests.Session()
        run = run_ids[t % len(run_ids)]
        for i in range(per_thread):
            r = session.post(srv.url + API + "/runs/log-metric", json={
                "run_id": run, "key": f"c{t}", "value": float(i), "timestamp": now + i, "step": i},
                timeout=120)
            if r.status_code != 200:
                errors.append(r.text[:200])
    started = time.perf_counter()
    pool = [threading.Thread(target=hammer, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - started
    if errors:
        sys.exit(f"{srv.kind}: {len(errors)} concurrent writes failed, e.g. {errors[0]}")
    results["concurrent log-metric/s"] = threads * per_thread / elapsed
    results["peak RSS"] = sampler.stop()
    return results


# --- the UI workload -------------------------------------------------------

class Missing(Exception):
    """The server answers 404/501 on a path: that figure is n/a."""


def fetch(s: requests.Session, method: str, url: str, **kw) -> tuple[int, bytes, requests.Response]:
    """One request, the body read as sent (a browser's decoding is not the
    server's time)."""
    r = s.request(method, url, stream=True, timeout=120, **kw)
    body = r.raw.read(decode_content=False)
    r.close()
    return r.status_code, body, r


def must(status: int, body: bytes, what: str) -> None:
    if status in (404, 501):
        raise Missing(what)
    if status != 200:
        raise RuntimeError(f"{what}: HTTP {status} {body[:200]!r}")


def timed_or_na(fn, n: int, warmup: int = 2):
    """Latencies of `fn`, or NA when the server lacks the path."""
    try:
        for i in range(warmup):
            fn(-1 - i)
        return timed(fn, n)
    except Missing:
        return NA


def seed_runs(db: Database, exp_id: str, artifact_root: str, count: int) -> None:
    """`count` finished runs in `exp_id`, written straight into MLflow's
    tables as its SQL store writes them. Deterministic (the same ids and
    times on both servers); start times repeat in pairs so that the
    `run_uuid` tie-break decides the order within a pair."""
    rng = random.Random(9)
    base = 1_700_000_000_000
    runs, tags, params, metrics = [], [], [], []
    for i in range(count):
        run_id = "%032x" % rng.getrandbits(128)
        start = base + (i // 2) * 1000
        name = f"run-{i}"
        runs.append((run_id, name, "UNKNOWN", "", "", "bench", "FINISHED", start, start + 500, "",
                     "active", f"{artifact_root.rstrip('/')}/{run_id}/artifacts", int(exp_id)))
        tags += [("mlflow.runName", name, run_id), ("mlflow.user", "bench", run_id),
                 ("mlflow.source.name", "train.py", run_id), ("mlflow.source.type", "LOCAL", run_id),
                 ("mlflow.source.git.commit", "%040x" % rng.getrandbits(160), run_id)]
        params += [("lr", str(rng.choice([0.1, 0.01, 0.001])), run_id),
                   ("batch_size", str(rng.choice([32, 64, 128])), run_id), ("epochs", "10", run_id),
                   ("optimizer", rng.choice(["adam", "sgd"]), run_id), ("seed", str(i), run_id)]
        for key in ("loss", "accuracy", "val_loss"):
            metrics.append((key, rng.random(), start + 400, 9, False, run_id))
    conn = db.connect()
    try:
        cur = conn.cursor()
        run_sql = ("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
                   "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
                   "artifact_uri, experiment_id) VALUES %s")
        tag_sql = "INSERT INTO tags (key, value, run_uuid) VALUES %s"
        param_sql = "INSERT INTO params (key, value, run_uuid) VALUES %s"
        metric_sql = "INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES %s"
        latest_sql = ("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                      "VALUES %s")
        if db.backend == "sqlite":
            def rows(sql, data):
                marks = "(" + ", ".join("?" * len(data[0])) + ")"
                cur.executemany(sql % marks, data)
        else:
            from psycopg2.extras import execute_values

            def rows(sql, data):
                execute_values(cur, sql, data, page_size=2000)
        rows(run_sql, runs)
        rows(tag_sql, tags)
        rows(param_sql, params)
        rows(metric_sql, metrics)
        rows(latest_sql, metrics)
        conn.commit()
        if db.backend == "postgresql":
            # As autovacuum would soon after a bulk load: the planner's
            # statistics, for both servers alike.
            conn.autocommit = True
            cur.execute("ANALYZE")
    finally:
        conn.close()


def ui_workload(srv: Server, scale: float, runs: int) -> dict:
    n = lambda base: max(5, int(base * scale))  # noqa: E731
    s = requests.Session()  # the browser, for the timed requests
    s.headers.update(BROWSER_HEADERS)
    plain = requests.Session()  # set-up and checks, bodies decoded
    post = lambda path, body: ok(plain.post(srv.url + API + path, json=body, timeout=120))  # noqa: E731
    results: dict[str, object] = {}

    # The experiments page's data and a run for the run page, through the API.
    for i in range(5):
        post("/experiments/create", {"name": f"ui-exp-{i}", "tags": [{"key": "team", "value": "x"}]})
    run_exp = post("/experiments/create", {"name": "ui-run-page"})["experiment_id"]
    now = int(time.time() * 1000)
    rich = post("/runs/create", {"experiment_id": run_exp, "start_time": now, "run_name": "rich"})[
        "run"]["info"]["run_id"]
    post("/runs/log-batch", {
        "run_id": rich,
        "metrics": [{"key": f"m{k}", "value": k / 10, "timestamp": now + st, "step": st}
                    for k in range(20) for st in range(10)],
        "params": [{"key": f"p{k}", "value": str(k)} for k in range(20)],
        "tags": [{"key": f"t{k}", "value": f"v{k}"} for k in range(5)]})

    # --- first page: index, its assets, its first data calls
    index_assets: list[str] = []

    def get_index(i):
        status, body, r = fetch(s, "GET", srv.url + "/")
        must(status, body, "/")
        if not r.headers.get("Content-Type", "").startswith("text/html"):
            raise Missing("/ (no UI build: not the index page)")
        if not index_assets:
            index = plain.get(srv.url + "/", timeout=30).text
            for ref in re.findall(r'(?:href|src)="(?:\./)?(static-files/[^"]+)"', index):
                index_assets.append("/" + ref)
    results["GET /"] = timed_or_na(get_index, n(50))

    asset_bytes = {}

    def get_assets(i):
        if not index_assets:
            raise Missing("index assets")
        for path in index_assets:
            status, body, _ = fetch(s, "GET", srv.url + path)
            must(status, body, path)
            asset_bytes[path] = len(body)
    results["index assets"] = timed_or_na(get_assets, n(20))
    results["asset bytes"] = sum(asset_bytes.values()) if asset_bytes else NA

    def server_info(i):
        status, body, _ = fetch(s, "GET", srv.url + "/ajax-api/3.0/mlflow/server-info",
                                headers=UI_JSON)
        must(status, body, "server-info")
    results["server-info"] = timed_or_na(server_info, n(100))

    exp_params = {"max_results": "25", "order_by": "last_update_time DESC",
                  "filter": "tags.`mlflow.experiment.isGateway` IS NULL"}

    def experiments_list(i):
        status, body, _ = fetch(s, "GET", srv.url + AJAX + "/experiments/search",
                                params=exp_params, headers=UI_JSON)
        must(status, body, "experiments/search")
    results["experiments list"] = timed_or_na(experiments_list, n(100))

    def first_page(i):
        get_index(i)
        get_assets(i)
        server_info(i)
        experiments_list(i)
    results["first page"] = timed_or_na(first_page, n(10), warmup=0)

    # --- runs table of a big experiment
    big = post("/experiments/create", {"name": "runs-table"})["experiment_id"]
    root = ok(plain.get(srv.url + API + "/experiments/get", params={"experiment_id": big},
                    timeout=60))["experiment"]["artifact_location"]
    t = time.perf_counter()
    seed_runs(srv.db, big, root, runs)
    print(f"  {srv.kind}: seeded {runs} runs in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    table = {"experiment_ids": [big], "order_by": ["attributes.start_time DESC"],
             "run_view_type": "ACTIVE_ONLY", "filter": "", "max_results": 100}
    pages: list[list[str]] = []

    def runs_table(i, token=None):
        body = dict(table, page_token=token) if token else table
        status, raw, _ = fetch(s, "POST", srv.url + AJAX + "/runs/search", json=body)
        must(status, raw, "runs/search")

    def first(i):
        runs_table(i)

    def second(i):
        runs_table(i, pages[1])

    # The pages themselves, decoded by a plain client (the timed requests
    # read them as sent), to compare the servers run by run.
    got = plain.post(srv.url + AJAX + "/runs/search", json=table, timeout=120)
    if got.status_code == 200:
        got = got.json()
        pages += [[r["info"]["run_id"] for r in got["runs"]], got.get("next_page_token")]
        got = ok(plain.post(srv.url + AJAX + "/runs/search",
                            json=dict(table, page_token=pages[1]), timeout=120))
        pages.append([r["info"]["run_id"] for r in got["runs"]])
    results["runs table"] = timed_or_na(first, n(50))
    results["runs table page 2"] = timed_or_na(second, n(50)) if pages else NA
    results["pages"] = pages

    # --- the run page's GraphQL query
    gql = {"operationName": "GetRun", "variables": {"data": {"runId": rich}},
           "query": GET_RUN_QUERY}

    def get_run(i):
        status, raw, _ = fetch(s, "POST", srv.url + "/graphql", json=gql,
                               headers={"Content-Type": "application/json"})
        must(status, raw, "/graphql")

    got = plain.post(srv.url + "/graphql", json=gql, timeout=120)
    if got.status_code not in (404, 501):
        body = got.json() if got.status_code == 200 else {}
        run = ((body.get("data") or {}).get("mlflowGetRun") or {}).get("run") or {}
        if (run.get("info") or {}).get("runUuid") != rich:
            sys.exit(f"{srv.kind}: GetRun answered {got.status_code} {got.text[:300]}")
    results["GetRun"] = timed_or_na(get_run, n(100))
    return results


# --- report ----------------------------------------------------------------

def fmt_ms(xs) -> str:
    if xs == NA:
        return NA
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    return f"{statistics.median(xs) * 1000:7.2f} / {p95 * 1000:7.2f} ms"


def ratio(m, f) -> str:
    if m == NA or f == NA:
        return NA
    return f"{statistics.median(m) / statistics.median(f):.1f}x"


def print_rest(m: dict, f: dict, backend: str) -> None:
    print(f"\nREST workload, {backend}")
    print(f"{'':26} {'mlflow server 3.17.2':>24} {'ferroflow':>24} {'ratio':>8}")
    print(f"{'start-up':26} {m['start-up']:22.2f} s {f['start-up']:22.2f} s "
          f"{m['start-up'] / f['start-up']:7.1f}x")
    for key in ("idle RSS", "peak RSS"):
        print(f"{key:26} {m[key] / 2**20:21.1f} MB {f[key] / 2**20:21.1f} MB "
              f"{m[key] / f[key]:7.1f}x")
    for key in ("create run", "log metric", "log batch", "get run", "search runs", "history",
                "artifact 1 MiB"):
        print(f"{key + ' p50/p95':26} {fmt_ms(m[key]):>24} {fmt_ms(f[key]):>24} "
              f"{ratio(m[key], f[key]):>8}")
    key = "concurrent log-metric/s"
    print(f"{key:26} {m[key]:22.0f}/s {f[key]:22.0f}/s {f[key] / m[key]:7.1f}x")


def print_ui(m: dict, f: dict, backend: str, runs: int) -> None:
    print(f"\nUI workload, {backend}")
    print(f"{'':34} {'mlflow server 3.17.2':>20} {'ferroflow':>20} {'ratio':>8}")
    labels = [("GET /", "GET /"), ("index assets", "index assets"),
              ("server-info", "server-info"), ("experiments list", "experiments list"),
              ("first page", "first page (all above)"),
              ("runs table", f"runs table 100 of {runs // 1000}k"),
              ("runs table page 2", "runs table, next page"), ("GetRun", "GraphQL GetRun")]
    for key, label in labels:
        print(f"{label + ' p50/p95':34} {fmt_ms(m[key]):>20} {fmt_ms(f[key]):>20} "
              f"{ratio(m[key], f[key]):>8}")
    mb = lambda b: NA if b == NA else f"{b / 2**20:.2f} MB"  # noqa: E731
    print(f"{'index assets on the wire':34} {mb(m['asset bytes']):>20} "
          f"{mb(f['asset bytes']):>20}")
    same = m["pages"] == f["pages"] and len(m["pages"]) == 3
    if not f["pages"] or not m["pages"]:
        verdict = NA
    elif same:
        verdict = "same runs, order and page token on both pages"
    else:
        verdict = "DIFFERENT pages (see below)"
    print(f"{'runs table pages':34} {verdict}")
    if not same and f["pages"] and m["pages"]:
        for i, (a, b) in enumerate(zip(m["pages"], f["pages"])):
            if a != b:
                print(f"  part {i}: mlflow {str(a)[:200]}\n          ferroflow {str(b)[:200]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferroflow", type=Path, default=REPO / "target" / "release" / "ferroflow")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every request count")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                    help="databases for the UI workload")
    ap.add_argument("--rest", choices=("sqlite", "postgresql", "both", "none"), default="sqlite",
                    help="databases for the REST workload")
    ap.add_argument("--runs", type=int, default=10_000, help="runs in the runs-table experiment")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL",
                                                       "postgresql://root@127.0.0.1:5432"),
                    help="PostgreSQL server (a database per server is created and dropped)")
    args = ap.parse_args()
    args.ferroflow = args.ferroflow.resolve()
    if not args.ferroflow.is_file():
        sys.exit(f"{args.ferroflow} not found: cargo build --release -p ferroflow-server")
    expand = lambda b: [] if b == "none" else (["sqlite", "postgresql"] if b == "both" else [b])  # noqa: E731
    ui_on, rest_on = expand(args.backend), expand(args.rest)
    figures: dict[str, dict[str, dict]] = {}
    for backend in [b for b in ("sqlite", "postgresql") if b in ui_on or b in rest_on]:
        for kind in ("mlflow", "ferroflow"):
            workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
            db = Database(backend, kind, workdir, args.pg_url)
            srv = None
            try:
                srv = Server(kind, args.ferroflow, workdir, db)
                got = {"start-up": srv.startup_s, "idle RSS": srv.idle_rss}
                if backend in rest_on:
                    got.update(workload(srv, args.scale))
                if backend in ui_on:
                    got["ui"] = ui_workload(srv, args.scale, args.runs)
                figures.setdefault(backend, {})[kind] = got
            finally:
                if srv is not None:
                    srv.stop()
                db.drop()
                shutil.rmtree(workdir, ignore_errors=True)
            print(f"measured {kind} on {backend}", file=sys.stderr)

    for backend, by_kind in figures.items():
        m, f = by_kind["mlflow"], by_kind["ferroflow"]
        if backend in rest_on:
            print_rest(m, f, backend)
        if backend in ui_on:
            print_ui(m["ui"], f["ui"], backend, args.runs)
    print("\nratio: how many times faster / smaller ferroflow is (medians for latencies); "
          "n/a: the server answers 404/501 there")


if __name__ == "__main__":
    main()
