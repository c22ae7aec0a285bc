"""MLflow's security middleware (``mlflow server`` 3.17.2, no auth app).

Source: ``mlflow/server/fastapi_security.py``, ``security.py``, ``security_utils.py`` and
the ``--allowed-hosts`` / ``--cors-allowed-origins`` / ``--x-frame-options`` /
``--disable-security-middleware`` options (``utils/cli_args.py``; each also reads
``MLFLOW_SERVER_ALLOWED_HOSTS`` / ``_CORS_ALLOWED_ORIGINS`` / ``_X_FRAME_OPTIONS`` /
``_DISABLE_SECURITY_MIDDLEWARE``). Every status, body and header asserted below was
measured on the reference first (the constants say so where it matters).

Four servers, started together, module scope, SQLite only (the middleware does not touch
the database):

* ``default``: no options;
* ``custom``: ``--allowed-hosts mlflow.example.com,*.internal.example,127.0.0.1:*``,
  ``--cors-allowed-origins https://app.example.com``, ``--x-frame-options deny``;
* ``wildcard``: the same settings through environment variables,
  ``MLFLOW_SERVER_ALLOWED_HOSTS=*``, ``MLFLOW_SERVER_CORS_ALLOWED_ORIGINS=*``,
  ``MLFLOW_SERVER_X_FRAME_OPTIONS=NONE``;
* ``disabled``: ``--disable-security-middleware``.

Order, outside in (reference): host check, then CORS (preflights answered here), then the
cross-origin write block, then the handler; security headers are added to what the
handler returns (not to the host-check 403, a CORS-answered preflight or the block 403).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import TARGET, _stop, start_server  # noqa: E402

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"
SEARCH = f"{API}/experiments/search?max_results=1"
CREATE = f"{API}/experiments/create"

# --- observed on mlflow 3.17.2 -------------------------------------------------------
# Host not allowed: 403, "content-type: text/plain", this body, no security headers.
INVALID_HOST = (403, "Invalid Host header - possible DNS rebinding attack detected")
# Cross-origin POST/PUT/PATCH/DELETE on /api/, /ajax-api/ (and the artifact proxy) from an
# Origin that is neither local (hostname localhost, 127.0.0.1, ::1; any scheme and port)
# nor allowed: 403 text/plain, whatever the Content-Type, before any handler runs.
CORS_BLOCKED = (403, "Cross-origin request blocked")
# Preflight (OPTIONS + Origin + Access-Control-Request-Method) from an allowed origin:
# 200 "OK", Access-Control-Allow-Origin = the origin, -Allow-Credentials: true,
# -Allow-Methods: "GET, POST, PUT, DELETE, OPTIONS, PATCH", -Allow-Headers = the requested
# headers, -Max-Age: 600. From any other origin: 400 "Disallowed CORS origin", no
# Access-Control-Allow-Origin.
PREFLIGHT_OK = (200, "OK")
PREFLIGHT_REFUSED = (400, "Disallowed CORS origin")
CORS_METHODS = {"GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}
# OPTIONS without Origin on an API path: the handler's automatic OPTIONS, turned into 204
# with an empty body.
PLAIN_OPTIONS_STATUS = 204
# POST to a JSON endpoint with a non-JSON Content-Type and no Origin (reaches the handler).
WRONG_CONTENT_TYPE = (400, "INVALID_PARAMETER_VALUE")
DEFAULT_X_FRAME_OPTIONS = "SAMEORIGIN"
# X-Frame-Options is left off this prefix so notebooks can embed the trace renderer.
NOTEBOOK_RENDERER = "/static-files/lib/notebook-trace-renderer/index.html"
# Exempt from the host check (only these two exact paths).
HOST_CHECK_EXEMPT = ["/health", "/version"]

# Default allowed hosts (security_utils.get_default_allowed_hosts): localhost, 127.0.0.1,
# [::1], 0.0.0.0, each bare or with any port, and the private ranges as fnmatch patterns
# 192.168.*, 10.*, 172.16.* .. 172.31.*, fc00:*, fd00:*. Matching is case-sensitive.
DEFAULT_ALLOWED_HOSTS = [
    "localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:5000",
    "0.0.0.0:5000", "10.1.2.3", "10.0.0.1:443", "192.168.1.1:80", "172.16.0.1",
    "172.31.255.255:8080",
]
DEFAULT_REFUSED_HOSTS = [
    "evil.example.com", "evil.example.com:5000", "localhost.evil.com", "127.0.0.1.evil.com",
    "172.32.0.1", "172.15.0.1", "11.0.0.1", "192.169.0.1", "8.8.8.8:80",
]
LOCAL_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:5000",
                 "http://localhost"]
EVIL = "http://evil.example.com"

CUSTOM_HOSTS = "mlflow.example.com,*.internal.example,127.0.0.1:*"
CUSTOM_ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def servers(request):
    root = Path(tempfile.mkdtemp(prefix=f"compat-secmw-{TARGET}-"))
    configs = {
        "default": ([], {}),
        "custom": (["--allowed-hosts", CUSTOM_HOSTS, "--cors-allowed-origins", CUSTOM_ORIGIN,
                    "--x-frame-options", "deny"], {}),
        "wildcard": ([], {"MLFLOW_SERVER_ALLOWED_HOSTS": "*",
                          "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": "*",
                          "MLFLOW_SERVER_X_FRAME_OPTIONS": "NONE"}),
        "disabled": (["--disable-security-middleware"], {}),
    }
    started: dict = {}
    try:
        def start(name):
            args, env = configs[name]
            workdir = root / name
            workdir.mkdir()
            return start_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}",
                                extra_args=args, extra_env=env)

        with concurrent.futures.ThreadPoolExecutor(len(configs)) as ex:
            futures = {name: ex.submit(start, name) for name in configs}
            errors = []
            for name, f in futures.items():
                try:
                    started[name] = f.result()
                except BaseException as e:  # pytest.fail raises a BaseException
                    errors.append(f"{name}: {e}")
            if errors:
                pytest.fail("\n".join(errors))
        yield {name: srv.url for name, srv in started.items()}
    finally:
        with concurrent.futures.ThreadPoolExecutor(max(1, len(started))) as ex:
            list(ex.map(lambda srv: _stop(srv.proc), started.values()))
        for name, srv in started.items():
            if request.session.testsfailed:
                print(f"\n[{TARGET}/{name}] server log tail:\n{srv.log_tail(30)}",
                      file=sys.stderr)
        if os.environ.get("COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(root, ignore_errors=True)


def get(url, path, **kw):
    return requests.get(url + path, timeout=30, **kw)


def preflight(url, path, origin, method="POST"):
    return requests.options(url + path, timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type"})


def status_body(r):
    return r.status_code, r.text


def experiment_names(url) -> set[str]:
    r = requests.post(url + f"{API}/experiments/search", json={"max_results": 1000}, timeout=30)
    assert r.status_code == 200, r.text
    return {e["name"] for e in r.json().get("experiments", [])}


# ---------------------------------------------------------------------------
# host header (DNS rebinding)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", DEFAULT_ALLOWED_HOSTS)
def test_default_allowed_hosts(servers, host):
    r = get(servers["default"], SEARCH, headers={"Host": host})
    assert r.status_code == 200, (host, r.status_code, r.text)


@pytest.mark.parametrize("host", DEFAULT_REFUSED_HOSTS)
def test_default_refused_hosts(servers, host):
    r = get(servers["default"], SEARCH, headers={"Host": host})
    assert status_body(r) == INVALID_HOST, host
    assert r.headers["Content-Type"].startswith("text/plain")


def test_host_check_covers_everything_but_health_and_version(servers):
    url = servers["default"]
    evil = {"Host": "evil.example.com"}
    for path in HOST_CHECK_EXEMPT:
        assert get(url, path, headers=evil).status_code == 200, path
    for path in ("/", "/static-files/index.html", "/api/3.0/mlflow/server-info", "/graphql",
                 f"{AJAX}/experiments/search?max_results=1", ART, "/v1/traces",
                 "/no/such/path", "/health/", "/healthz"):
        assert status_body(get(url, path, headers=evil)) == INVALID_HOST, path
    # the host check answers before CORS: even a local origin's preflight is refused
    r = requests.options(url + CREATE, timeout=30, headers={
        **evil, "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert status_body(r) == INVALID_HOST


def test_missing_host_header_is_refused(servers):
    # HTTP/1.0 without Host (an empty Host header cannot be sent with requests)
    import socket
    from urllib.parse import urlparse

    u = urlparse(servers["default"])
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(f"GET {SEARCH} HTTP/1.0\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"403", head
    assert body.decode() == INVALID_HOST[1]


def test_allowed_hosts_option_replaces_the_default(servers):
    url = servers["custom"]
    for host in ("mlflow.example.com", "a.internal.example", "x.y.internal.example"):
        assert get(url, SEARCH, headers={"Host": host}).status_code == 200, host
    for host in ("localhost:5000", "localhost", "10.0.0.1", "mlflow.example.com:5000",
                 "evil.example.com"):
        assert status_body(get(url, SEARCH, headers={"Host": host})) == INVALID_HOST, host


def test_wildcard_allowed_hosts(servers):
    r = get(servers["wildcard"], SEARCH, headers={"Host": "evil.example.com"})
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------------------
# CORS
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("origin", LOCAL_ORIGINS)
def test_preflight_from_local_origins(servers, origin):
    r = preflight(servers["default"], CREATE, origin)
    assert status_body(r) == PREFLIGHT_OK
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    methods = {m.strip() for m in r.headers.get("Access-Control-Allow-Methods", "").split(",")}
    assert methods == CORS_METHODS, methods
    assert "content-type" in r.headers.get("Access-Control-Allow-Headers", "").lower()


@pytest.mark.parametrize("origin", [EVIL, "https://localhost:3000", "null",
                                    "http://localhost.evil.com", CUSTOM_ORIGIN])
def test_preflight_from_other_origins(servers, origin):
    r = preflight(servers["default"], CREATE, origin)
    assert status_body(r) == PREFLIGHT_REFUSED, origin
    assert "Access-Control-Allow-Origin" not in r.headers


def test_options_without_origin(servers):
    r = requests.options(servers["default"] + CREATE, timeout=30)
    assert r.status_code == PLAIN_OPTIONS_STATUS and r.content == b"", (r.status_code, r.text)


def test_simple_requests_get_cors_headers_only_for_allowed_origins(servers):
    url = servers["default"]
    r = get(url, SEARCH, headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200
    assert r.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    # a cross-origin read is served (the browser withholds it: no Allow-Origin)
    r = get(url, SEARCH, headers={"Origin": EVIL})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("content_type,data", [
    ("text/plain", '{"name": "%s"}'),
    ("application/x-www-form-urlencoded", "name=%s"),
    ("multipart/form-data; boundary=xyz",
     '--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\n%s\r\n--xyz--\r\n'),
    ("application/json", '{"name": "%s"}'),
])
def test_cross_site_writes_are_blocked(servers, content_type, data):
    """A page on another site can send these without a preflight (except JSON): the
    server must refuse them before any handler runs."""
    url = servers["default"]
    name = f"csrf-{uuid.uuid4().hex[:8]}"
    body = data % name
    for origin in (EVIL, "null"):
        r = requests.post(url + CREATE, data=body, timeout=30,
                          headers={"Origin": origin, "Content-Type": content_type})
        assert status_body(r) == CORS_BLOCKED, (origin, content_type)
        r = requests.post(url + f"{AJAX}/experiments/create", data=body, timeout=30,
                          headers={"Origin": origin, "Content-Type": content_type})
        assert status_body(r) == CORS_BLOCKED, (origin, content_type, "ajax")
    # no Origin at all (not a browser): the handler refuses anything but JSON
    if content_type != "application/json":
        r = requests.post(url + CREATE, data=body, timeout=30,
                          headers={"Content-Type": content_type})
        assert r.status_code == WRONG_CONTENT_TYPE[0], r.text
        assert r.json()["error_code"] == WRONG_CONTENT_TYPE[1]
    assert name not in experiment_names(url)


def test_cross_site_block_covers_every_write_method_and_the_artifact_proxy(servers):
    url = servers["default"]
    h = {"Origin": EVIL}
    for method, path in (("PUT", f"{ART}/0/x.txt"), ("DELETE", f"{ART}/0/x.txt"),
                         ("PATCH", f"{API}/registered-models/update"),
                         ("DELETE", f"{API}/registered-models/delete"),
                         ("POST", f"{API}/runs/log-metric"),
                         ("POST", "/ajax-api/3.0/mlflow/traces")):
        r = requests.request(method, url + path, data=b"x", headers=h, timeout=30)
        assert status_body(r) == CORS_BLOCKED, (method, path)
    # reads are not blocked
    assert get(url, f"{AJAX}/experiments/search?max_results=1", headers=h).status_code == 200


def test_local_origin_writes_pass(servers):
    url = servers["default"]
    name = f"local-{uuid.uuid4().hex[:8]}"
    r = requests.post(url + CREATE, json={"name": name}, timeout=30,
                      headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200, r.text
    assert r.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert name in experiment_names(url)


def test_cors_allowed_origins_option(servers):
    url = servers["custom"]
    r = preflight(url, CREATE, CUSTOM_ORIGIN)
    assert status_body(r) == PREFLIGHT_OK
    assert r.headers.get("Access-Control-Allow-Origin") == CUSTOM_ORIGIN
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    name = f"allowed-{uuid.uuid4().hex[:8]}"
    r = requests.post(url + CREATE, json={"name": name}, timeout=30,
                      headers={"Origin": CUSTOM_ORIGIN})
    assert r.status_code == 200, r.text
    assert r.headers.get("Access-Control-Allow-Origin") == CUSTOM_ORIGIN
    # the local origins stay allowed next to the configured ones
    assert status_body(preflight(url, CREATE, "http://localhost:3000")) == PREFLIGHT_OK
    r = requests.post(url + CREATE, json={"name": name + "-local"}, timeout=30,
                      headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200, r.text
    # everything else is still refused
    assert status_body(preflight(url, CREATE, EVIL)) == PREFLIGHT_REFUSED
    r = requests.post(url + CREATE, json={"name": name + "-evil"}, timeout=30,
                      headers={"Origin": EVIL})
    assert status_body(r) == CORS_BLOCKED
    r = requests.post(url + CREATE, json={"name": name + "-sub"}, timeout=30,
                      headers={"Origin": "https://evil.app.example.com"})
    assert status_body(r) == CORS_BLOCKED


def test_wildcard_origins_allow_everything_without_credentials(servers):
    url = servers["wildcard"]
    r = preflight(url, CREATE, EVIL)
    assert status_body(r) == PREFLIGHT_OK
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    assert "POST" in r.headers.get("Access-Control-Allow-Methods", "")
    name = f"wild-{uuid.uuid4().hex[:8]}"
    r = requests.post(url + CREATE, json={"name": name}, timeout=30, headers={"Origin": EVIL})
    assert r.status_code == 200, r.text  # the write block is off in wildcard mode
    assert r.headers.get("Access-Control-Allow-Origin") == "*"


# ---------------------------------------------------------------------------
# security headers
# ---------------------------------------------------------------------------


def test_default_security_headers(servers):
    url = servers["default"]
    for path in ("/", "/health", "/version", SEARCH, "/api/3.0/mlflow/server-info",
                 "/no/such/path"):
        r = get(url, path)
        assert r.headers.get("X-Frame-Options") == DEFAULT_X_FRAME_OPTIONS, path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
    r = get(url, NOTEBOOK_RENDERER)
    assert "X-Frame-Options" not in r.headers, r.status_code
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def test_x_frame_options_option(servers):
    # "--x-frame-options deny" is sent upper-cased
    for path in ("/", SEARCH):
        r = get(servers["custom"], path)
        assert r.headers.get("X-Frame-Options") == "DENY", path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
    # NONE drops the header
    r = get(servers["wildcard"], "/")
    assert "X-Frame-Options" not in r.headers
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


# ---------------------------------------------------------------------------
# --disable-security-middleware
# ---------------------------------------------------------------------------


def test_disable_security_middleware(servers):
    url = servers["disabled"]
    r = get(url, SEARCH, headers={"Host": "evil.example.com"})
    assert r.status_code == 200, r.text
    assert "X-Frame-Options" not in r.headers
    assert "X-Content-Type-Options" not in r.headers
    r = preflight(url, CREATE, EVIL)
    assert "Access-Control-Allow-Origin" not in r.headers
    name = f"nomw-{uuid.uuid4().hex[:8]}"
    r = requests.post(url + CREATE, json={"name": name}, timeout=30, headers={"Origin": EVIL})
    assert r.status_code == 200, r.text
    assert "Access-Control-Allow-Origin" not in r.headers
