"""What basic auth costs per request: ferroflow and `mlflow server` 3.17.2,
each without and with `--app-name basic-auth`, in one run, on SQLite.

For each of the four servers: a fresh database, an experiment with one run,
then N sequential keep-alive `runs/get` calls of that run, each series after
one warm-up call: as the admin, and with auth also as a plain user (READ by
default, so each call is checked against the user's grants). Printed per
server and caller: the median latency and the server's CPU time per call
(utime + stime of its whole process group from /proc, before and after),
and per product the difference auth makes.
The machine is shared and noisy: read the CPU figures and the ratios.

    cargo build --release -p ferroflow-server
    .venvs/mlflow3/bin/python bench/auth_overhead.py [--requests 2000]
        [--mlflow-auth-requests 50] [--ferroflow target/release/ferroflow]

`mlflow server --app-name basic-auth` checks the password (scrypt, ~0.15 s)
on every request with its default configuration (credential cache off), so
it gets fewer requests (--mlflow-auth-requests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the servers and databases of the main benchmark)

ADMIN_PASSWORD = "bench-admin-password"
READER_PASSWORD = "bench-reader-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """utime + stime of every process in the group (children that exited are
    counted by their parent's cutime/cstime)."""
    total = 0
    for pid in compare.group_pids(pgid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError):
            continue
    return total / CLK_TCK


def start(kind: str, auth: bool, ferroflow: Path, workdir: Path) -> compare.Server:
    workdir.mkdir(parents=True)
    db = compare.Database("sqlite", kind, workdir, "")
    if not auth:
        return compare.Server(kind, ferroflow, workdir, db)
    ini = workdir / "auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{workdir / 'basic_auth.db'}\nadmin_username = admin\n"
    )
    env = {
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "bench",
    }
    return compare.Server(kind, ferroflow, workdir, db,
                          extra_args=["--app-name", "basic-auth"], extra_env=env)


def measure(srv: compare.Server, auth: bool, n: int) -> dict:
    """N runs/get as the admin and, with auth, N more as a plain user (whose
    requests are checked against their grants)."""
    admin = requests.Session()
    if auth:
        admin.auth = ("admin", ADMIN_PASSWORD)
    api = srv.url + compare.API
    exp = compare.ok(admin.post(api + "/experiments/create", json={"name": "auth-bench"}))["experiment_id"]
    run = compare.ok(admin.post(api + "/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
    url = f"{api}/runs/get?run_id={run}"
    result = {"n": n, "admin": timed_calls(srv, admin, url, n)}
    if auth:
        compare.ok(admin.post(api + "/users/create",
                              json={"username": "reader", "password": READER_PASSWORD}))
        reader = requests.Session()
        reader.auth = ("reader", READER_PASSWORD)
        result["user"] = timed_calls(srv, reader, url, n)
    return result


def timed_calls(srv: compare.Server, s: requests.Session, url: str, n: int) -> dict:
    compare.ok(s.get(url))  # the first authenticated call fills ferroflow's cache
    cpu0 = group_cpu_seconds(srv.proc.pid)
    latencies = compare.timed(lambda _: compare.ok(s.get(url)), n)
    cpu = group_cpu_seconds(srv.proc.pid) - cpu0
    return {"p50_ms": statistics.median(latencies) * 1000, "cpu_ms": cpu / n * 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--mlflow-auth-requests", type=int, default=50)
    ap.add_argument("--ferroflow", default=str(compare.REPO / "target" / "release" / "ferroflow"))
    args = ap.parse_args()
    ferroflow = Path(args.ferroflow)
    if not ferroflow.exists():
        sys.exit(f"{ferroflow} not found: cargo build --release -p ferroflow-server")
    results = {}
    with tempfile.TemporaryDirectory(prefix="ff-auth-bench-") as tmp:
        for kind in ("ferroflow", "mlflow"):
            for auth in (False, True):
                n = args.mlflow_auth_requests if (kind, auth) == ("mlflow", True) else args.requests
                srv = start(kind, auth, ferroflow, Path(tmp) / f"{kind}-{auth}")
                try:
                    results[(kind, auth)] = measure(srv, auth, n)
                finally:
                    srv.stop()
                time.sleep(0.5)
    print(f"\nruns/get, sequential keep-alive, SQLite ({os.cpu_count()} cores)")
    print(f"{'server':<26}{'caller':<8}{'requests':>9}{'p50 ms':>10}{'CPU ms/call':>13}")
    for (kind, auth), r in results.items():
        label = f"{kind}{' basic-auth' if auth else ''}"
        for caller in ("admin", "user"):
            if caller in r:
                m = r[caller]
                who = caller if auth else "-"
                print(f"{label:<26}{who:<8}{r['n']:>9}{m['p50_ms']:>10.3f}{m['cpu_ms']:>13.3f}")
    print("\nauth overhead per call (with auth − without)")
    for kind in ("ferroflow", "mlflow"):
        plain, auth = results[(kind, False)]["admin"], results[(kind, True)]
        for caller in ("admin", "user"):
            m = auth[caller]
            print(f"{kind:<10}{caller:<7}latency {m['p50_ms'] - plain['p50_ms']:+.3f} ms, "
                  f"CPU {m['cpu_ms'] - plain['cpu_ms']:+.3f} ms")
    f, m = results[("ferroflow", True)]["user"], results[("mlflow", True)]["user"]
    print(f"\nwith auth, a plain user, mlflow / ferroflow: latency {m['p50_ms'] / f['p50_ms']:.0f}x, "
          f"CPU {m['cpu_ms'] / max(f['cpu_ms'], 1e-6):.0f}x")


if __name__ == "__main__":
    main()
