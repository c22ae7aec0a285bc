"""The access log and the Prometheus endpoint, seen from outside: the
official client (sending credentials, as it does when
MLFLOW_TRACKING_USERNAME/PASSWORD are set) talks to a ferroflow started
with JSON logs and --expose-prometheus; every request it made is one access
line with the documented fields, no line holds a credential or a logged
value, and /metrics counts exactly the requests the log shows.

ferroflow only: `mlflow server` logs through gunicorn/uvicorn in its own
format, and its Prometheus exporter is an optional extra not installed here.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

import conftest

pytestmark = pytest.mark.skipif(conftest.TARGET != "ferroflow",
                                reason="ferroflow's own log format and metrics")

USERNAME = "observer"
PASSWORD = "pw-" + uuid.uuid4().hex
SECRET_VALUE = "value-" + uuid.uuid4().hex
FIELDS = {"method", "route", "path", "status", "duration_ms", "bytes", "request_id",
          "complete", "remote"}


@pytest.fixture(scope="module")
def observed():
    workdir = Path(tempfile.mkdtemp(prefix="compat-observe-"))
    artifacts = workdir / "artifacts"
    srv = conftest.start_server(
        "sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}",
        artifact_args=["--artifacts-destination", str(artifacts),
                       "--expose-prometheus", str(workdir / "prometheus")],
        extra_env={"FERROFLOW_LOG_JSON": "1", "RUST_LOG": "info"},
        target="ferroflow")
    try:
        yield srv
    finally:
        conftest._stop(srv.proc)
        shutil.rmtree(workdir, ignore_errors=True)


def access_lines(srv) -> list[dict]:
    lines = []
    for raw in srv.log_path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if event.get("target") == "ferroflow::access":
            lines.append(event)
    return lines


def samples(text: str, name: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        # Label values may hold braces (route patterns such as {path:.*}).
        m = re.match(rf"^{name}(\{{.*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def test_access_log_and_metrics_cover_every_client_request(observed, monkeypatch, tmp_path):
    import mlflow
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USERNAME)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", observed.url)
    client = MlflowClient(tracking_uri=observed.url)
    exp_id = client.create_experiment(f"observe-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(exp_id).info.run_id
    client.log_param(run_id, "api_key", SECRET_VALUE)
    client.log_metric(run_id, "loss", 0.25, step=1)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("x" * 5000)
    client.log_artifact(run_id, str(artifact))
    assert [f.path for f in client.list_artifacts(run_id)] == ["notes.txt"]
    client.set_terminated(run_id)
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_run("0" * 32)
    # A proxy's request id is kept.
    r = requests.get(f"{observed.url}/api/2.0/mlflow/experiments/get",
                     params={"experiment_id": exp_id},
                     headers={"X-Request-Id": "edge-7f3a"}, timeout=10)
    assert r.status_code == 200 and r.headers["X-Request-Id"] == "edge-7f3a"

    lines = access_lines(observed)
    assert lines, observed.log_tail()
    for line in lines:
        assert FIELDS <= line.keys(), line
        assert isinstance(line["status"], int) and isinstance(line["bytes"], int), line
        assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
        assert line["level"] == "INFO"
    by_route = {}
    for line in lines:
        by_route.setdefault((line["method"], line["route"]), []).append(line)
    assert [l["status"] for l in by_route[("POST", "/api/2.0/mlflow/runs/log-parameter")]] == [200]
    assert [l["status"] for l in by_route[("GET", "/api/2.0/mlflow/runs/get")]][-1] == 404
    upload = by_route[("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path:.*}")]
    assert upload[0]["status"] == 200 and upload[0]["complete"] is True
    edge = [l for l in lines if l["request_id"] == "edge-7f3a"]
    assert len(edge) == 1 and edge[0]["route"] == "/api/2.0/mlflow/experiments/get"
    generated = [l["request_id"] for l in lines if l["request_id"] != "edge-7f3a"]
    assert len(set(generated)) == len(generated), "request ids are unique"
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in generated)

    # Nothing secret reaches the log: not the password, not the header the
    # client built from it, not a logged value.
    log = observed.log_path.read_text(errors="replace")
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, token, SECRET_VALUE, "Authorization", "authorization"):
        assert secret not in log, secret

    # /metrics counts exactly the requests the log shows (probes and the
    # scrape itself are left out of both).
    text = requests.get(f"{observed.url}/metrics", timeout=10).text
    per_route = samples(text, "ferroflow_http_requests_total")
    logged = [l for l in lines if l["route"] != "/metrics"]
    assert sum(per_route.values()) == len(logged), (per_route, [(l["method"], l["route"]) for l in logged])
    key = '{method="POST",route="/api/2.0/mlflow/runs/log-parameter",status="200"}'
    assert per_route[key] == 1
    mlflow_total = samples(text, "mlflow_http_request_total")
    assert sum(mlflow_total.values()) == len(logged)
    assert samples(text, "ferroflow_artifact_bytes_total")['{direction="in"}'] >= 5000
    runs = samples(text, "ferroflow_runs")
    assert runs.get('{lifecycle_stage="active",status="FINISHED"}') == 1, runs
