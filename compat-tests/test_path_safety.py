"""Path and source safety: the shapes of MLflow's artifact-path CVEs.

MLflow's servers were owned through artifact paths and model-version
sources (CVE-2023-1177, -2356, -2780, -6909, -6730, -6831, CVE-2024-1560,
-1593, CVE-2026-2614): ``..`` in its encodings (``%2e%2e``, ``%252e%252e``,
backslashes, ``;`` parameters), absolute and ``//host`` paths, NUL bytes,
``file://`` and local-path sources, URL fragments, the prompt-tag bypass of
the source checks, and the same tricks in an experiment's
``artifact_location``. Each shape below is sent to a live server and must be
refused with ``INVALID_PARAMETER_VALUE`` (or answered without touching
anything); then the test compares a snapshot of the artifact store — the
local directory, or every bucket of the S3 server — and of a canary
directory beside it with the one taken before: nothing written, nothing
deleted, nothing read back.

Runs on SQLite + local disk and on PostgreSQL + S3 (s3s-fs). Shapes that
MLflow 3.17.2 itself accepts (ferroflow is stricter on purpose: local,
``file://`` and other-bucket experiment locations) are ``ferroflow_only``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
import requests

from conftest import BACKENDS, S3_BUCKET, server_variant

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
CANARY_TEXT = "canary: must never be read, written or deleted through the server\n"
# SQLite + local disk, PostgreSQL + S3.
VARIANTS = [v for v, b in (("sqlite", "sqlite"), ("postgres+s3", "postgres")) if b in BACKENDS]


@pytest.fixture(scope="module", params=VARIANTS)
def server(request):
    yield from server_variant(request, request.param)


@pytest.fixture(scope="module")
def site(server):
    """An experiment with one run and one artifact; a canary directory next
    to the store (and, on S3, a second bucket) that no request may reach."""
    canary = server.workdir / "canary"
    canary.mkdir(exist_ok=True)
    (canary / "secret.txt").write_text(CANARY_TEXT)
    if server.storage == "s3":
        other_bucket = server.workdir / "s3-data" / "other-bucket"
        other_bucket.mkdir(exist_ok=True)
        (other_bucket / "secret.txt").write_text(CANARY_TEXT)
        store_root = server.workdir / "s3-data"
    else:
        store_root = server.artifacts_dir
    s = requests.Session()
    r = s.post(server.url + f"{API}/experiments/create", json={"name": f"cve-{uuid.uuid4().hex[:8]}"})
    assert r.status_code == 200, r.text
    exp_id = r.json()["experiment_id"]
    r = s.post(server.url + f"{API}/runs/create", json={"experiment_id": exp_id})
    assert r.status_code == 200, r.text
    run_id = r.json()["run"]["info"]["run_id"]
    base = f"{exp_id}/{run_id}/artifacts"
    r = s.put(server.url + f"{PROXY}/{base}/model/MLmodel", data=b"flavors: {}\n")
    assert r.status_code == 200, r.text
    model = f"cve-model-{uuid.uuid4().hex[:8]}"
    assert s.post(server.url + f"{API}/registered-models/create", json={"name": model}).ok
    return dict(server=server, session=s, exp_id=exp_id, run_id=run_id, base=base,
                canary=canary, store_root=store_root, model=model)


def snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every file under the roots with its size and content hash."""
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[str(p)] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def raw(server, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """Sends ``path`` verbatim (urllib3 would resolve dot segments first)."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.fixture
def untouched(site):
    """Asserts after the test that the store and the canaries are as before."""
    roots = (site["store_root"], site["canary"])
    before = snapshot(*roots)
    yield
    assert snapshot(*roots) == before


def assert_refused(status: int, body: bytes, codes=("INVALID_PARAMETER_VALUE",)):
    assert 400 <= status < 500, (status, body[:300])
    assert CANARY_TEXT.encode() not in body
    err = json.loads(body)
    assert err["error_code"] in codes, err


# MLflow 3.17.2 stores these as plain names inside the run on Linux (a file
# literally called "..\\..\\canary\\escape.txt", "..;", or with a NUL
# cut): not an escape there, but ferroflow refuses them outright.
STRICTER = pytest.mark.ferroflow_only

# Artifact paths below <exp>/<run>/artifacts that try to leave it.
TRAVERSALS = [
    "../../../../canary/escape.txt",                      # plain dot segments
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/canary/escape.txt",      # percent-encoded
    "%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fcanary%2Fescape.txt",  # encoded slashes too
    "%252e%252e/%252e%252e/%252e%252e/%252e%252e/canary/escape.txt",  # double-encoded
    pytest.param("..%5c..%5c..%5c..%5ccanary%5cescape.txt", marks=STRICTER),  # backslashes
    pytest.param("a/..;/..;/..;/..;/..;/canary/escape.txt", marks=STRICTER),  # ;params
    pytest.param("%00/escape.txt", marks=STRICTER),       # NUL
]


def _secret(path):
    """The same traversal, aimed at the canary file to read or delete."""
    if isinstance(path, str):
        return path.replace("escape.txt", "secret.txt")
    return pytest.param(path.values[0].replace("escape.txt", "secret.txt"), marks=path.marks)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_proxy_upload_cannot_leave_the_run(site, untouched, path):
    status, body = raw(site["server"], "PUT", f"{PROXY}/{site['base']}/{path}", b"evil")
    assert_refused(status, body)


def test_proxy_upload_to_an_absolute_path(site, untouched):
    target = site["canary"] / "abs-escape.txt"
    status, body = raw(site["server"], "PUT", f"{PROXY}/" + quote(str(target), safe="/"), b"evil")
    assert_refused(status, body)
    assert not target.exists()


@pytest.mark.parametrize("path", [_secret(p) for p in TRAVERSALS])
def test_proxy_download_cannot_leave_the_run(site, untouched, path):
    status, body = raw(site["server"], "GET", f"{PROXY}/{site['base']}/{path}")
    assert_refused(status, body)


@pytest.mark.parametrize("path", [_secret(p) for p in TRAVERSALS[:5]])
def test_proxy_delete_cannot_leave_the_run(site, untouched, path):
    # The delete shape: a DELETE that walks out of the run removes nothing.
    status, body = raw(site["server"], "DELETE", f"{PROXY}/{site['base']}/{path}")
    assert_refused(status, body)
    assert (site["canary"] / "secret.txt").read_text() == CANARY_TEXT


@pytest.mark.parametrize("path", ["../../../../canary", "%2e%2e/%2e%2e",
                                  pytest.param("..%5c..", marks=STRICTER)])
def test_listings_cannot_leave_the_run(site, untouched, path):
    s, srv = site["session"], site["server"]
    r = s.get(srv.url + f"{API}/artifacts/list", params={"run_id": site["run_id"], "path": path})
    assert_refused(r.status_code, r.content)
    r = s.get(srv.url + PROXY, params={"path": f"{site['base']}/{path}"})
    assert_refused(r.status_code, r.content)


@pytest.mark.parametrize("path", ["../../../../canary/secret.txt", "%2e%2e/%2e%2e/x", "model/../../../x"])
def test_get_artifact_cannot_leave_the_run(site, untouched, path):
    r = site["session"].get(site["server"].url + "/get-artifact",
                            params={"run_uuid": site["run_id"], "path": path})
    assert_refused(r.status_code, r.content)


def _canary_uris(site) -> dict[str, str]:
    canary = site["canary"]
    return {
        "local path": str(canary),
        "file uri": f"file://{canary}",
        "file uri, other host": f"file://attacker{canary}",
        "scheme-less //host": f"//attacker{canary}",
        "dot segments in the run's root": f"mlflow-artifacts:/{site['base']}/../../../../canary",
        "encoded dot segments": f"mlflow-artifacts:/{site['base']}/%2e%2e/%2e%2e/%2e%2e",
        "double-encoded dot segments": f"mlflow-artifacts:/{site['base']}/%252e%252e/%252e%252e",
        "fragment": f"mlflow-artifacts:/{site['base']}/model#/../../../../canary",
        "other host": f"http://169.254.169.254/latest/meta-data/#{site['base']}",
    }


SOURCE_SHAPES = ["local path", "file uri", "scheme-less //host",
                 "dot segments in the run's root", "encoded dot segments",
                 "double-encoded dot segments", "fragment", "other host"]


# MLflow 3.17.2 takes `file://attacker/…` for a non-local URI and, with a
# run_id, registers it.
@pytest.mark.parametrize("shape", SOURCE_SHAPES + [
    pytest.param("file uri, other host", marks=STRICTER)])
def test_model_version_source_must_stay_in_the_store(site, untouched, shape):
    s, srv = site["session"], site["server"]
    source = _canary_uris(site)[shape]
    r = s.post(srv.url + f"{API}/model-versions/create",
               json={"name": site["model"], "source": source, "run_id": site["run_id"]})
    assert_refused(r.status_code, r.content)
    # Nothing was registered that a download could follow later.
    r = s.get(srv.url + f"{API}/model-versions/search",
              params={"filter": f"name = '{site['model']}'"})
    assert r.json().get("model_versions", []) == []


@pytest.mark.parametrize("shape", ["local path", "file uri"])
def test_prompt_tag_does_not_bypass_the_source_checks(site, untouched, shape):
    # Tagging a version as a prompt must not make any source acceptable.
    s, srv = site["session"], site["server"]
    source = _canary_uris(site)[shape]
    r = s.post(srv.url + f"{API}/model-versions/create",
               json={"name": site["model"], "source": source,
                     "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]})
    assert_refused(r.status_code, r.content)


EXPERIMENT_SHAPES_MLFLOW_REFUSES = ["fragment", "other host"]


@pytest.mark.parametrize("shape", SOURCE_SHAPES + ["file uri, other host", "other bucket",
                                   "relative path"])
def test_experiment_artifact_location_must_stay_in_the_store(site, untouched, shape, request):
    if shape not in EXPERIMENT_SHAPES_MLFLOW_REFUSES and site["server"].target != "ferroflow":
        pytest.skip("MLflow 3.17.2 accepts this location (ferroflow is stricter on purpose)")
    s, srv = site["session"], site["server"]
    uris = _canary_uris(site)
    uris["other bucket"] = "s3://other-bucket/x"
    uris["relative path"] = "canary/sub"
    name = f"cve-exp-{uuid.uuid4().hex[:8]}"
    r = s.post(srv.url + f"{API}/experiments/create",
               json={"name": name, "artifact_location": uris[shape]})
    assert_refused(r.status_code, r.content)
    r = s.get(srv.url + f"{API}/experiments/get-by-name", params={"experiment_name": name})
    assert r.status_code == 404, r.text


def test_experiment_locations_in_the_store_are_accepted(site, untouched):
    # The positive side: a location under the server's own root works.
    s, srv = site["session"], site["server"]
    name = f"cve-ok-{uuid.uuid4().hex[:8]}"
    location = f"mlflow-artifacts:/custom-{uuid.uuid4().hex[:6]}"
    r = s.post(srv.url + f"{API}/experiments/create", json={"name": name, "artifact_location": location})
    assert r.status_code == 200, r.text
    exp = s.get(srv.url + f"{API}/experiments/get-by-name", params={"experiment_name": name}).json()
    assert exp["experiment"]["artifact_location"] == location


def test_a_valid_upload_still_lands_in_the_store(site):
    # The snapshot is sensitive: a legitimate write shows up where expected.
    before = snapshot(site["store_root"])
    status, body = raw(site["server"], "PUT", f"{PROXY}/{site['base']}/ok/fine.txt", b"fine")
    assert status == 200, body
    after = snapshot(site["store_root"])
    # (s3s-fs also keeps a hidden metadata file per object at its root)
    added = [p for p in after if p not in before and not Path(p).name.startswith(".")]
    assert len(added) == 1 and added[0].endswith(f"{site['base']}/ok/fine.txt"), added
    if site["server"].storage == "s3":
        assert f"/{S3_BUCKET}/proxy/" in added[0]


# Uploaded documents must not be served as something a browser renders on
# the server's origin (stored XSS): text and raster images keep their type,
# everything else is bytes; always nosniff and an attachment.
SERVED_TYPES = [
    ("notes.txt", "text/plain"),
    ("conf.yaml", "text/plain"),
    ("plot.png", "image/png"),
    ("weights.bin", "application/octet-stream"),
    pytest.param("page.html", "application/octet-stream", marks=STRICTER),
    pytest.param("logo.svg", "application/octet-stream", marks=STRICTER),
    pytest.param("page.xhtml", "application/octet-stream", marks=STRICTER),
]


@pytest.mark.parametrize("name,content_type", SERVED_TYPES)
def test_artifacts_are_served_as_text_images_or_bytes(site, name, content_type):
    s, srv = site["session"], site["server"]
    body = b"<html><script>alert(document.domain)</script></html>"
    assert s.put(srv.url + f"{PROXY}/{site['base']}/served/{name}", data=body).ok
    for url, params in (
        (f"{PROXY}/{site['base']}/served/{name}", None),
        ("/get-artifact", {"run_uuid": site["run_id"], "path": f"served/{name}"}),
    ):
        r = s.get(srv.url + url, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].split(";")[0] == content_type, (url, r.headers)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.content == body
    r = s.get(srv.url + "/get-artifact", params={"run_uuid": site["run_id"], "path": f"served/{name}"})
    assert r.headers["Content-Disposition"].startswith("attachment"), r.headers
