"""Local rehearsal of the training job's pods (no cluster runs here).

Takes the job exactly as ``k8s/training/*.yaml`` renders it (the launcher's
default render; a cargo test in k8s/launcher keeps the two identical), and
starts one ``ferroflow-train`` process per pod with

* the container's env from the manifest, plus
* exactly the variables the operator would inject into that pod:
  - PyTorchJob, Training Operator v1.7 (``setPodEnv``): PYTHONUNBUFFERED=0,
    MASTER_PORT (the ``pytorchjob-port`` of container ``pytorch``),
    MASTER_ADDR=<job>-master-0, WORLD_SIZE, RANK (master 0, workers
    index+1), PET_NPROC_PER_NODE (nprocPerNode), PET_NODE_RANK (= RANK) and,
    with no elasticPolicy, PET_NNODES (the replica count);
  - TrainJob, Kubeflow Trainer v2.3 (torch plugin): PET_NNODES,
    PET_NPROC_PER_NODE, PET_NODE_RANK (completion index),
    PET_MASTER_ADDR=<job>-node-0-0.<job>, PET_MASTER_PORT=29500.

What stands in for the cluster: the pods' host names (MASTER_ADDR and the
tracking Service's name) resolve to 127.0.0.1 through a marked /etc/hosts
line, removed afterwards (root, as in CI; skipped otherwise); a ferroflow
server (FERROFLOW_BIN; SQLite, local artifacts instead of PostgreSQL/MinIO)
listens on the tracking URI's port when free; MNIST_DIR points at the local
MNIST set (the pod's data volume); and the job's args are run with
``--epochs 1`` and without ``--download`` (no network).  Checked: every rank
exits 0 (the operator's success = the master's exit 0), rank 0 rendezvoused
at exactly MASTER_ADDR:MASTER_PORT (it listened there during the run, and
says so), and the run, its metrics and the registered model are in ferroflow
per the official client.

Skipped, with the reason, when the trainer binary (FERROFLOW_TRAIN_BIN, else
target/debug or target/trainer/debug) or the MNIST files are missing — but
a failure, not a skip, when FERROFLOW_TRAIN_BIN or MNIST_DIR is set and
points at nothing (scripts/test-all.sh sets both).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from conftest import (
    _stop,
    free_port,
    mnist_dir,
    needs_trainer_and_mnist,
    start_server,
    trainer_bin,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUN_TIMEOUT_S = float(os.environ.get("K8S_REHEARSAL_TIMEOUT", "600"))
HOSTS_MARK = "# ferroflow-k8s-rehearsal"
TRAINER = trainer_bin()
MNIST = mnist_dir()
pytestmark = needs_trainer_and_mnist()


# --------------------------------------------------------------------------
# The manifests and what the operators inject
# --------------------------------------------------------------------------


def load_job(name: str) -> dict:
    with open(REPO / "k8s" / "training" / name) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    assert len(docs) == 1, name
    return docs[0]


def local_secrets() -> dict[str, dict[str, str]]:
    """The literal Secrets of the local overlay's secretGenerator: what
    secretKeyRef resolves to on the local cluster."""
    with open(REPO / "k8s" / "overlays" / "local" / "kustomization.yaml") as f:
        kustomization = yaml.safe_load(f)
    secrets = {}
    for generator in kustomization.get("secretGenerator") or []:
        pairs = (literal.split("=", 1) for literal in generator.get("literals") or [])
        secrets[generator["name"]] = dict(pairs)
    return secrets


def server_config(key: str) -> str:
    """A value of ConfigMap ferroflow-config (k8s/base/ferroflow.yaml)."""
    with open(REPO / "k8s" / "base" / "ferroflow.yaml") as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "ferroflow-config":
                return doc["data"][key]
    raise KeyError(key)


def container_env(container: dict, labels: dict[str, str]) -> dict[str, str]:
    """The container's own env (literal values; downward-API labels; Secret
    keys of the local overlay)."""
    env: dict[str, str] = {}
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        secret = (e.get("valueFrom") or {}).get("secretKeyRef")
        if secret:
            values = local_secrets().get(secret["name"])
            if values is None or secret["key"] not in values:
                pytest.fail(f"env {e['name']}: Secret {secret['name']} has no key {secret['key']} "
                            "in the local overlay")
            env[e["name"]] = values[secret["key"]]
            continue
        field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
        if field.startswith("metadata.labels['") and field[17:-2] in labels:
            env[e["name"]] = labels[field[17:-2]]
            continue
        pytest.fail(f"env {e['name']}: the rehearsal cannot reproduce {e.get('valueFrom')}")
    return env


def pytorchjob_pods(job: dict) -> list[dict]:
    """One entry per pod: name, rank, env (container env, then what the
    Training Operator v1.7 appends), command line."""
    name = job["metadata"]["name"]
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert "Master" in specs, "without a Master the operator injects no rendezvous at all"
    total = sum(int(rs.get("replicas", 1)) for rs in specs.values())
    nproc = job["spec"].get("nprocPerNode", "auto")  # the v1.7 defaulter sets "auto"
    nproc_int = int(nproc) if str(nproc).isdigit() else 1
    master = next(c for c in specs["Master"]["template"]["spec"]["containers"] if c["name"] == "pytorch")
    port = next((p["containerPort"] for p in master.get("ports") or []
                 if p.get("name") == "pytorchjob-port"), 23456)
    pods = []
    for rtype in ("Master", "Worker"):
        rs = specs.get(rtype)
        if rs is None:
            continue
        for index in range(int(rs.get("replicas", 1))):
            rank = index if rtype == "Master" else index + 1
            labels = {"training.kubeflow.org/job-name": name,
                      "training.kubeflow.org/replica-type": rtype.lower(),
                      "training.kubeflow.org/replica-index": str(index)}
            c = next(c for c in rs["template"]["spec"]["containers"] if c["name"] == "pytorch")
            env = container_env(c, labels)
            env.update({
                "PYTHONUNBUFFERED": "0",
                "MASTER_PORT": str(port),
                "MASTER_ADDR": f"{name}-master-0",
                "WORLD_SIZE": str(total * nproc_int),
                "RANK": str(rank),
                "PET_NPROC_PER_NODE": str(nproc),
                "PET_NODE_RANK": str(rank),
            })
            if job["spec"].get("elasticPolicy") is None:
                env["PET_NNODES"] = str(total)
            pods.append({"name": f"{name}-{rtype.lower()}-{index}", "rank": rank, "env": env,
                         "argv": list(c.get("command") or []) + list(c.get("args") or [])})
    return pods


def trainjob_pods(job: dict) -> list[dict]:
    """One entry per node of the torch-distributed runtime (Trainer v2.3)."""
    name = job["metadata"]["name"]
    trainer = job["spec"]["trainer"]
    nodes = int(trainer.get("numNodes", 1))
    nproc = trainer.get("numProcPerNode", "auto")
    pods = []
    for index in range(nodes):
        labels = {"jobset.sigs.k8s.io/jobset-name": name}
        env = container_env(trainer, labels)
        env.update({
            "PET_NNODES": str(nodes),
            "PET_NPROC_PER_NODE": str(nproc),
            "PET_NODE_RANK": str(index),
            "PET_MASTER_ADDR": f"{name}-node-0-0.{name}",
            "PET_MASTER_PORT": "29500",
        })
        pods.append({"name": f"{name}-node-0-{index}", "rank": index, "env": env,
                     "argv": list(trainer.get("command") or []) + list(trainer.get("args") or [])})
    return pods


def rehearsal_argv(argv: list[str]) -> list[str]:
    """The pod's command line, short: one epoch, no download (no network here)."""
    assert argv and argv[0] == "ferroflow-train", argv
    out = [str(TRAINER)]
    args = argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--download":
            i += 1
            continue
        if args[i] == "--epochs":
            out += ["--epochs", "1"]
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


# --------------------------------------------------------------------------
# Stand-ins for the cluster: host names, the tracking server
# --------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class HostNames:
    """Resolves the pods' host names to 127.0.0.1: one marked line appended
    to /etc/hosts, removed again afterwards (and any stale one first).
    nss_wrapper (LD_PRELOAD) would avoid touching /etc/hosts, but libtorch's
    c10d then cannot connect even to 127.0.0.1, so it is not an option."""

    def __init__(self, names: list[str]):
        hosts = Path("/etc/hosts")
        if not os.access(hosts, os.W_OK):
            pytest.skip("the rehearsal maps the pods' host names to 127.0.0.1 in /etc/hosts, "
                        "which this user cannot write (run as root, as CI does)")
        self.cleanup()
        self.line = f"127.0.0.1 {' '.join(dict.fromkeys(names))} {HOSTS_MARK}\n"
        with open(hosts, "a") as f:
            f.write(self.line)
        for name in names:
            assert socket.gethostbyname(name) == "127.0.0.1", name

    @staticmethod
    def cleanup() -> None:
        hosts = Path("/etc/hosts")
        lines = hosts.read_text().splitlines(keepends=True)
        kept = [line for line in lines if HOSTS_MARK not in line]
        if kept != lines:
            hosts.write_text("".join(kept))

    def close(self) -> None:
        self.cleanup()


def listening(port: int) -> bool:
    """A LISTEN socket on `port` (any address) per /proc/net/tcp{,6}."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


# --------------------------------------------------------------------------
# The rehearsal
# --------------------------------------------------------------------------

RENDEZVOUS_VARS = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK",
                   "PET_NNODES", "PET_NODE_RANK", "PET_NPROC_PER_NODE", "PET_MASTER_ADDR",
                   "PET_MASTER_PORT", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME",
                   "FERROFLOW_JOB_ID", "MNIST_DIR", "GLOO_SOCKET_IFNAME")


@contextlib.contextmanager
def rehearse(pods: list[dict], master_host: str, master_port: int, tmp_path: Path):
    """Starts ferroflow and one process per pod, waits for them; yields
    (server, [(pod, exit code, log)], whether MASTER_PORT was listened on);
    the server lives until the block ends."""
    tracking = urlsplit(pods[0]["env"]["MLFLOW_TRACKING_URI"])
    service_port = tracking.port or 80
    port = service_port if port_free(service_port) else free_port()
    if port != service_port:
        print(f"note: port {service_port} is taken here; ferroflow listens on {port} and the "
              "tracking URI's port is rewritten accordingly", file=sys.stderr)
    if not port_free(master_port):
        pytest.fail(f"port {master_port} (the job's rendezvous port) is in use on this machine")
    hosts = HostNames([master_host, tracking.hostname])
    server = None
    procs = []
    seen_listening = threading.Event()
    stop_watch = threading.Event()

    def watch_port():
        while not stop_watch.is_set():
            if listening(master_port):
                seen_listening.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch_port, daemon=True)
    try:
        server_dir = tmp_path / "server"
        server_dir.mkdir()
        # Always ferroflow (the job's tracking Service), whatever COMPAT_TARGET says,
        # with the stack's basic auth (the admin of Secret ferroflow-auth; the auth
        # database a SQLite file here) and its allowed hosts (the Service's name).
        auth_ini = server_dir / "basic_auth.ini"
        auth_ini.write_text("[mlflow]\ndefault_permission = READ\n"
                            f"database_uri = sqlite:///{server_dir / 'basic_auth.db'}\n"
                            "admin_username = admin\n")
        server = start_server(
            "sqlite", server_dir, f"sqlite:///{server_dir / 'mlflow.db'}",
            target="ferroflow", port=port,
            extra_args=["--app-name", "basic-auth",
                        "--allowed-hosts", server_config("MLFLOW_SERVER_ALLOWED_HOSTS")],
            extra_env={"MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
                       **local_secrets()["ferroflow-auth"]})
        watcher.start()
        for pod in pods:
            env = {k: v for k, v in os.environ.items() if k not in RENDEZVOUS_VARS}
            env.pop("RUST_BACKTRACE", None)
            env.update(pod["env"])
            if port != service_port:
                env["MLFLOW_TRACKING_URI"] = urlunsplit(
                    tracking._replace(netloc=f"{tracking.hostname}:{port}"))
            env["MNIST_DIR"] = str(MNIST)  # the pod's data volume
            workdir = tmp_path / pod["name"]
            workdir.mkdir()
            out = open(workdir / "log", "wb")
            procs.append((pod, subprocess.Popen(rehearsal_argv(pod["argv"]), env=env, cwd=workdir,
                                                stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True), workdir / "log"))
            out.close()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        results = []
        for pod, proc, log in procs:
            try:
                code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            results.append((pod, code, log.read_text(errors="replace")))
        stop_watch.set()
        yield server, results, seen_listening.is_set()
    finally:
        stop_watch.set()
        for _, proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        if server is not None:
            _stop(server.proc)
        hosts.close()


def report(results) -> str:
    return "\n".join(f"--- {pod['name']} (rank {pod['rank']}, exit {code})\n{text[-3000:]}"
                     for pod, code, text in results)


def check_run(server, job_env: dict, world: int):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    experiment = client.get_experiment_by_name(job_env["MLFLOW_EXPERIMENT_NAME"])
    assert experiment is not None, "rank 0 did not create the job's experiment"
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.params.get("world_size") == str(world)
    assert run.data.params.get("epochs") == "1"
    for key in ("train_loss", "val_accuracy"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1], key
    top = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "model" in top, top
    return client, run


def login_as_stack_admin(monkeypatch) -> None:
    """The official client logs in as the trainer does: the stack's admin."""
    admin = local_secrets()["ferroflow-auth"]
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", admin["MLFLOW_AUTH_ADMIN_USERNAME"])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", admin["MLFLOW_AUTH_ADMIN_PASSWORD"])


def test_pytorchjob_pods_train_and_log_to_ferroflow(tmp_path, monkeypatch):
    login_as_stack_admin(monkeypatch)
    job = load_job("pytorchjob.yaml")
    pods = pytorchjob_pods(job)
    assert [p["rank"] for p in pods] == [0, 1, 2]
    master = pods[0]["env"]
    assert (master["MASTER_ADDR"], master["MASTER_PORT"], master["WORLD_SIZE"]) == \
        ("mnist-ddp-master-0", "23456", "3")
    with rehearse(pods, master["MASTER_ADDR"], int(master["MASTER_PORT"]), tmp_path) as (server, results, listened):
        check_pytorchjob(pods, master, server, results, listened)


def check_pytorchjob(pods, master, server, results, listened):
    assert all(code == 0 for _, code, _ in results), report(results)
    master_log = results[0][2]
    rendezvous = f"at {master['MASTER_ADDR']}:{master['MASTER_PORT']}"
    assert rendezvous in master_log, (
        f"rank 0 did not rendezvous {rendezvous} (MASTER_ADDR/MASTER_PORT as the operator "
        f"injects them, next to PET_NNODES/PET_NODE_RANK/PET_NPROC_PER_NODE):\n{report(results)}")
    assert listened, f"nothing listened on MASTER_PORT {master['MASTER_PORT']} during the run"
    client, run = check_run(server, master, 3)
    register = pods[0]["argv"][pods[0]["argv"].index("--register-as") + 1]
    version = client.get_model_version(register, "1")
    assert version.run_id == run.info.run_id


def test_trainjob_pods_train_and_log_to_ferroflow(tmp_path, monkeypatch):
    login_as_stack_admin(monkeypatch)
    job = load_job("trainjob.yaml")
    pods = trainjob_pods(job)
    assert [p["rank"] for p in pods] == [0, 1, 2]
    env = pods[0]["env"]
    with rehearse(pods, env["PET_MASTER_ADDR"], int(env["PET_MASTER_PORT"]), tmp_path) as (server, results, listened):
        check_trainjob(env, server, results, listened)


def check_trainjob(env, server, results, listened):
    assert all(code == 0 for _, code, _ in results), report(results)
    rendezvous = f"at {env['PET_MASTER_ADDR']}:{env['PET_MASTER_PORT']}"
    assert rendezvous in results[0][2], f"rank 0 did not rendezvous {rendezvous}:\n{report(results)}"
    assert listened, f"nothing listened on PET_MASTER_PORT {env['PET_MASTER_PORT']} during the run"
    check_run(server, env, 3)
