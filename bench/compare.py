"""ferroflow next to `mlflow server` 3.17.2, in one run, on the same workload.

Each server gets a fresh SQLite database and artifact directory on this
machine, is started, measured, and stopped; then the other. The client is
the same `requests` session for both (keep-alive, one connection per
thread), so the figures compare server time plus the same client overhead.
The machine is shared and noisy: read the ratios, not the absolute numbers,
and run it twice before believing a small difference.

    cargo build --release -p ferroflow-server
    .venvs/mlflow3/bin/python bench/compare.py [--ferroflow target/release/ferroflow] [--scale 1.0]

Measured per server:
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
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_rss_bytes(pgid: int) -> int:
    """Sum of VmRSS over the processes of one process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pgid:
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ProcessLookupError):
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


class Server:
    def __init__(self, kind: str, ferroflow_bin: Path, workdir: Path):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        db = f"sqlite:///{workdir / 'mlflow.db'}"
        artifacts = workdir / "artifacts"
        env = dict(os.environ)
        if kind == "mlflow":
            cmd = [str(REPO / ".venvs" / "mlflow3" / "bin" / "mlflow"), "server", "--workers", "1"]
            env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        else:
            cmd = [str(ferroflow_bin), "server"]
        cmd += ["--backend-store-uri", db, "--artifacts-destination", str(artifacts),
                "--host", "127.0.0.1", "--port", str(self.port)]
        self.log = open(workdir / f"{kind}.log", "wb")
        started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=workdir, env=env, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"{kind} exited during start-up; see {workdir / (kind + '.log')}")
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


def fmt_ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    return f"{statistics.median(xs) * 1000:7.2f} / {p95 * 1000:7.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ferroflow", type=Path, default=REPO / "target" / "release" / "ferroflow")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every request count")
    args = ap.parse_args()
    args.ferroflow = args.ferroflow.resolve()
    if not args.ferroflow.is_file():
        sys.exit(f"{args.ferroflow} not found: cargo build --release -p ferroflow-server")
    figures = {}
    for kind in ("mlflow", "ferroflow"):
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        srv = Server(kind, args.ferroflow, workdir)
        try:
            figures[kind] = {"start-up": srv.startup_s, "idle RSS": srv.idle_rss,
                             **workload(srv, args.scale)}
        finally:
            srv.stop()
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"measured {kind}", file=sys.stderr)

    m, f = figures["mlflow"], figures["ferroflow"]
    print(f"{'':26} {'mlflow server 3.17.2':>24} {'ferroflow':>24} {'ratio':>8}")
    print(f"{'start-up':26} {m['start-up']:22.2f} s {f['start-up']:22.2f} s "
          f"{m['start-up'] / f['start-up']:7.1f}x")
    for key in ("idle RSS", "peak RSS"):
        print(f"{key:26} {m[key] / 2**20:21.1f} MB {f[key] / 2**20:21.1f} MB "
              f"{m[key] / f[key]:7.1f}x")
    for key in ("create run", "log metric", "log batch", "get run", "search runs", "history",
                "artifact 1 MiB"):
        ratio = statistics.median(m[key]) / statistics.median(f[key])
        print(f"{key + ' p50/p95':26} {fmt_ms(m[key]):>24} {fmt_ms(f[key]):>24} {ratio:7.1f}x")
    key = "concurrent log-metric/s"
    print(f"{key:26} {m[key]:22.0f}/s {f[key]:22.0f}/s {f[key] / m[key]:7.1f}x")
    print("ratio: how many times faster / smaller ferroflow is (medians for latencies)")


if __name__ == "__main__":
    main()
