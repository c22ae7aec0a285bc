"""A bounded soak: mixed writes and reads against one ferroflow for a fixed
time, watching its memory and counting every error.

    cargo build --release -p ferroflow-server
    .venvs/mlflow3/bin/python bench/soak.py [--minutes 20] [--threads 8]
        [--backend postgresql|sqlite] [--pg-url postgresql://root@127.0.0.1:5432]
        [--ferroflow target/release/ferroflow] [--sample-s 5]

Each thread loops over a weighted mix of what training jobs and the UI
send: log-batch (10 metrics, 2 params, 1 tag), log-metric, set-tag, runs/get,
runs/search with a filter and order_by, metrics/get-history, a small
artifact upload and its download, artifact listing, experiments/search,
and, now and then, a new run, a finished run, a registered model version
and a deleted run. Every non-2xx answer and every exception counts as an
error (the run must end with zero). The server's resident memory is sampled
every --sample-s seconds; after warm-up (the first fifth of the run, at
least one minute) the report gives its lowest and highest value and the
growth between the first and last minute of that window. The server logs
one access line per request to its log file, as in production.

Loopback only; not part of CI (it runs for minutes by design).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare import REPO, Database, Server, group_rss_bytes  # noqa: E402

API = "/api/2.0/mlflow"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.first_errors: list[str] = []

    def record(self, op: str, seconds: float, error: str | None):
        with self.lock:
            self.latencies[op].append(seconds)
            if error is not None:
                self.errors[op] += 1
                if len(self.first_errors) < 10:
                    self.first_errors.append(f"{op}: {error}")


class Worker(threading.Thread):
    def __init__(self, url: str, exp_id: str, model: str, deadline: float, stats: Stats,
                 seed: int):
        super().__init__(daemon=True)
        self.url, self.exp_id, self.model = url, exp_id, model
        self.deadline, self.stats = deadline, stats
        self.rng = random.Random(seed)
        self.http = requests.Session()
        self.runs: list[str] = []
        self.step = 0

    def call(self, op: str, method: str, path: str, **kw):
        started = time.perf_counter()
        error = None
        body = None
        try:
            resp = self.http.request(method, self.url + path, timeout=60, **kw)
            if resp.status_code // 100 != 2:
                error = f"{resp.status_code} {resp.text[:200]}"
            else:
                body = resp.json() if "json" in resp.headers.get("content-type", "") else resp.content
        except requests.RequestException as e:
            error = repr(e)
        self.stats.record(op, time.perf_counter() - started, error)
        return body

    def new_run(self):
        body = self.call("runs/create", "POST", f"{API}/runs/create",
                         json={"experiment_id": self.exp_id, "start_time": int(time.time() * 1000),
                               "run_name": f"soak-{uuid.uuid4().hex[:6]}"})
        if isinstance(body, dict):
            self.runs.append(body["run"]["info"]["run_id"])
            # Keep each thread's working set bounded: old runs are finished.
            if len(self.runs) > 20:
                old = self.runs.pop(0)
                self.call("runs/update", "POST", f"{API}/runs/update",
                          json={"run_id": old, "status": "FINISHED",
                                "end_time": int(time.time() * 1000)})

    def run(self):
        self.new_run()
        ops = [
            (30, self.log_batch), (15, self.log_metric), (5, self.set_tag), (15, self.get_run),
            (8, self.search_runs), (8, self.history), (5, self.artifact), (4, self.list_artifacts),
            (4, self.search_experiments), (3, self.new_run), (1, self.register), (1, self.delete_run),
        ]
        weights = [w for w, _ in ops]
        while time.monotonic() < self.deadline:
            if not self.runs:
                self.new_run()
                continue
            self.rng.choices(ops, weights)[0][1]()

    def run_id(self) -> str:
        return self.rng.choice(self.runs)

    def log_batch(self):
        self.step += 1
        now = int(time.time() * 1000)
        self.call("runs/log-batch", "POST", f"{API}/runs/log-batch", json={
            "run_id": self.run_id(),
            "metrics": [{"key": f"m{i}", "value": self.rng.random(), "timestamp": now,
                         "step": self.step} for i in range(10)],
            "params": [{"key": f"p{self.step}-{i}-{uuid.uuid4().hex[:4]}", "value": "v" * 50}
                       for i in range(2)],
            "tags": [{"key": "phase", "value": f"step-{self.step}"}],
        })

    def log_metric(self):
        self.step += 1
        self.call("runs/log-metric", "POST", f"{API}/runs/log-metric", json={
            "run_id": self.run_id(), "key": "loss", "value": self.rng.random(),
            "timestamp": int(time.time() * 1000), "step": self.step})

    def set_tag(self):
        self.call("runs/set-tag", "POST", f"{API}/runs/set-tag", json={
            "run_id": self.run_id(), "key": "note", "value": uuid.uuid4().hex})

    def get_run(self):
        self.call("runs/get", "GET", f"{API}/runs/get", params={"run_id": self.run_id()})

    def search_runs(self):
        self.call("runs/search", "POST", f"{API}/runs/search", json={
            "experiment_ids": [self.exp_id], "filter": "metrics.loss < 0.9",
            "order_by": ["start_time DESC"], "max_results": 50})

    def history(self):
        self.call("metrics/get-history", "GET", f"{API}/metrics/get-history",
                  params={"run_id": self.run_id(), "metric_key": "loss", "max_results": 1000})

    def artifact(self):
        run_id = self.run_id()
        path = (f"/api/2.0/mlflow-artifacts/artifacts/{self.exp_id}/{run_id}/artifacts/"
                f"blob-{self.rng.randrange(4)}.bin")
        data = os.urandom(self.rng.randrange(1_000, 20_000))
        self.call("artifact upload", "PUT", path, data=data)
        self.call("artifact download", "GET", path)

    def list_artifacts(self):
        self.call("artifacts/list", "GET", f"{API}/artifacts/list", params={"run_id": self.run_id()})

    def search_experiments(self):
        self.call("experiments/search", "POST", f"{API}/experiments/search",
                  json={"max_results": 100})

    def register(self):
        run_id = self.run_id()
        self.call("model-versions/create", "POST", f"{API}/model-versions/create", json={
            "name": self.model, "source": f"mlflow-artifacts:/{self.exp_id}/{run_id}/artifacts",
            "run_id": run_id})

    def delete_run(self):
        if len(self.runs) < 5:
            return
        run_id = self.runs.pop(0)
        self.call("runs/delete", "POST", f"{API}/runs/delete", json={"run_id": run_id})


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferroflow", type=Path, default=REPO / "target" / "release" / "ferroflow")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql://root@127.0.0.1:5432"))
    ap.add_argument("--sample-s", type=float, default=5.0)
    args = ap.parse_args()
    args.ferroflow = args.ferroflow.resolve()  # the server runs in a temp dir
    if not args.ferroflow.is_file():
        sys.exit(f"{args.ferroflow} not found: cargo build --release -p ferroflow-server")

    workdir = Path(tempfile.mkdtemp(prefix="ferroflow-soak-"))
    db = Database(args.backend, "soak", workdir, args.pg_url)
    srv = Server("ferroflow", args.ferroflow, workdir, db)
    try:
        http = requests.Session()
        exp_id = http.post(f"{srv.url}{API}/experiments/create",
                           json={"name": f"soak-{uuid.uuid4().hex[:8]}"}).json()["experiment_id"]
        model = f"soak-model-{uuid.uuid4().hex[:6]}"
        http.post(f"{srv.url}{API}/registered-models/create", json={"name": model}).raise_for_status()
        duration = args.minutes * 60
        started = time.monotonic()
        deadline = started + duration
        stats = Stats()
        workers = [Worker(srv.url, exp_id, model, deadline, stats, seed=i)
                   for i in range(args.threads)]
        for w in workers:
            w.start()
        samples: list[tuple[float, int]] = []
        while any(w.is_alive() for w in workers):
            samples.append((time.monotonic() - started, group_rss_bytes(srv.proc.pid)))
            elapsed = samples[-1][0]
            done = sum(len(v) for v in stats.latencies.values())
            errors = sum(stats.errors.values())
            print(f"  {elapsed:7.0f} s  rss {samples[-1][1] / 2**20:7.1f} MiB  "
                  f"requests {done:9d}  errors {errors}", flush=True)
            time.sleep(args.sample_s)
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        alive = srv.proc.poll() is None
    finally:
        srv.stop()
        db.drop()

    warmup = max(60.0, duration / 5)
    window = [(t, r) for t, r in samples if t >= warmup]
    total = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values())
    print()
    print(f"ferroflow soak on {args.backend}: {args.minutes:g} min, {args.threads} threads, "
          f"{total} requests ({total / elapsed:.0f}/s), errors {errors}, "
          f"server {'alive' if alive else 'DIED'}")
    print(f"  RSS: start-up {srv.idle_rss / 2**20:.1f} MiB", end="")
    if window:
        rss = [r for _, r in window]
        first = [r for t, r in window if t < window[0][0] + 60]
        last = [r for t, r in window if t > window[-1][0] - 60]
        growth = statistics.median(last) - statistics.median(first)
        print(f"; after {warmup:.0f} s warm-up min {min(rss) / 2**20:.1f} MiB, "
              f"max {max(rss) / 2**20:.1f} MiB, growth first→last minute "
              f"{growth / 2**20:+.1f} MiB ({100 * growth / statistics.median(first):+.1f}%)")
    else:
        print(" (run too short for a post-warm-up window)")
    print(f"  {'operation':22} {'count':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for op in sorted(stats.latencies):
        xs = stats.latencies[op]
        print(f"  {op:22} {len(xs):8d} {pct(xs, .5):8.2f} {pct(xs, .99):8.2f} "
              f"{stats.errors.get(op, 0):7d}")
    for line in stats.first_errors:
        print(f"  error: {line}")
    if os.environ.get("SOAK_KEEP_TMP") != "1":
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if errors == 0 and alive else 1)


if __name__ == "__main__":
    main()
