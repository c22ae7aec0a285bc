"""MLflow basic-auth (``mlflow server --app-name basic-auth``) compatibility tests.

Run against the reference (``COMPAT_TARGET=mlflow``: MLflow 3.17.2 with Flask-WTF) or
ferroflow (``COMPAT_TARGET=ferroflow``), once per backend in BACKENDS. The facts these
tests pin are in ``shared/reference/auth.md`` (§9 is the plan they follow).

Servers (module scope, per backend; the auth database and both tracking databases live
on that backend):

* ``stack.read``: ``default_permission = READ`` (MLflow's shipped default), started
  first, on an EMPTY auth database, with ``MLFLOW_AUTH_ADMIN_PASSWORD=ADMIN_PW``. What
  it wrote at bootstrap is recorded before any test runs.
* ``stack.noperm``: ``default_permission = NO_PERMISSIONS``, started second on the SAME
  auth database (its own tracking database) with another admin password, which must be
  ignored because the admin exists. Users are unique per test (random suffix), so the
  shared auth database does not couple the two servers' grants.

Both set ``auth_cache_ttl_seconds = 600`` (a documented MLflow key, off by default): the
reference then verifies each (user, password) once instead of paying ~0.15 s of scrypt
per request. MLflow drops a user's entries on password/admin/delete changes made through
the API, and every such change below goes through the API. A server that ignores the key
only gets slower. With the cache on, the reference answers ``Bearer`` or a Basic token
without ``:`` with 500 (it HMACs the missing password), so those two cases run on
``legacy_stack``, which keeps MLflow's shipped settings (cache off): 401 there.

Other servers: the bootstrap refusals (three starts that must exit non-zero) and
``legacy_stack`` (the ``password1234`` rotation), both on SQLite, and the cross test (a
reference server and ferroflow taking turns on one auth database), which needs the
ferroflow binary and skips without it (``COMPAT_CROSS_SELF_TEST=1`` runs a second
reference server in ferroflow's place, to check the test itself).
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import string
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import (  # noqa: E402
    BACKENDS,
    PG_HOST,
    PG_PORT,
    PG_USER,
    TARGET,
    Server,
    _stop,
    create_pg_database,
    ferroflow_bin,
    follow_tracking_uri_for_registry,
    start_server,
)

ADMIN = "admin"
ADMIN_PW = "admin-Passw0rd-compat"  # >= 12 characters
ADMIN_PW_OTHER = "other-admin-Passw0rd"  # configured on later starts: ignored once the admin exists
LEGACY_PW = "password1234"  # the default up to 3.16.0 (CVE-2026-2635): never an admin login
USER_PW = "user-password-0001"
SECRET_KEY = "compat-flask-secret-key"  # mlflow requires it (CSRF on the signup form)
AUTH_CACHE_TTL_S = 600

API = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"

SCRYPT_RE = re.compile(r"^scrypt:32768:8:1\$[A-Za-z0-9]{16}\$[0-9a-f]{128}$")
# Observed on the reference (auth.md §6): every 401, Flask or FastAPI route, carries this
# body and header; every 403 from an authorization decision is this plain-text body.
UNAUTH_BODY = (
    "You are not authenticated. Please see "
    "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "
    "on how to authenticate."
)
WWW_AUTHENTICATE = 'Basic realm="mlflow"'
FORBIDDEN_BODY = "Permission denied"
# The security middleware's answers (see test_security_middleware.py).
INVALID_HOST_MSG = "Invalid Host header - possible DNS rebinding attack detected"
CORS_BLOCKED_MSG = "Cross-origin request blocked"

SELF_TEST = os.environ.get("COMPAT_CROSS_SELF_TEST") == "1"


# ---------------------------------------------------------------------------
# databases
# ---------------------------------------------------------------------------


@dataclass
class Database:
    """A SQLite file or a throw-away PostgreSQL database (auth or tracking)."""

    backend: str
    sqlite_path: Path | None = None
    pg_name: str | None = None
    pg_uri_fn: object = None

    def uri(self, target: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        # SQLAlchemy maps a bare postgresql:// to psycopg 3, which is not installed.
        return self.pg_uri_fn(self.pg_name, driver=(target == "mlflow"))

    @contextlib.contextmanager
    def connect(self):
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.sqlite_path, timeout=30)
        else:
            import psycopg2

            conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.pg_name)
        try:
            yield conn
        finally:
            conn.close()

    def _sql(self, sql: str) -> str:
        return sql if self.backend == "sqlite" else sql.replace("?", "%s")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(self._sql(sql), params)
            rows = cur.fetchall()
            conn.commit()
            return rows

    def execute(self, sql: str, params: tuple = ()) -> None:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(self._sql(sql), params)
            conn.commit()

    def admin_hash(self, username: str = ADMIN) -> str:
        rows = self.query("SELECT password_hash FROM users WHERE username = ?", (username,))
        assert len(rows) == 1, rows
        return rows[0][0]

    def insert_user(self, username: str, password_hash: str, is_admin: bool = False) -> None:
        self.execute(
            "INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, ?)",
            (username, password_hash, is_admin),
        )


def new_database(backend: str, sqlite_path: Path, prefix: str, drops: list) -> Database:
    if backend == "sqlite":
        return Database("sqlite", sqlite_path=sqlite_path)
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}")
    name, drop, uri = create_pg_database(prefix)
    drops.append((drop, name))
    return Database("postgres", pg_name=name, pg_uri_fn=uri)


# ---------------------------------------------------------------------------
# Werkzeug password hashes, computed independently of werkzeug
# ---------------------------------------------------------------------------


def _salt(n: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def scrypt_hash(password: str, *, n: int = 32768, r: int = 8, p: int = 1,
                salt: str | None = None) -> str:
    salt = salt or _salt()
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt.encode("utf-8"), n=n, r=r, p=p,
                        dklen=64, maxmem=256 * 1024 * 1024)
    return f"scrypt:{n}:{r}:{p}${salt}${dk.hex()}"


def pbkdf2_hash(password: str, iterations: int, salt: str | None = None) -> str:
    salt = salt or _salt()
    dk = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("utf-8"), iterations)
    return f"pbkdf2:sha256:{iterations}${salt}${dk.hex()}"


def scrypt_matches(stored: str, password: str) -> bool:
    method, salt, digest = stored.split("$", 2)
    _, n, r, p = method.split(":")
    return scrypt_hash(password, n=int(n), r=int(r), p=int(p), salt=salt) == stored


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------


def basic_header(username: str, password: str, scheme: str = "Basic") -> str:
    # UTF-8, as MLflow's client and browsers send it (requests' own auth= uses latin-1).
    token = base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
    return f"{scheme} {token}"


class Api:
    """A requests session on one server, optionally with one user's Basic credentials."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None):
        self.url = url
        self.username = username
        self.password = password
        self.s = requests.Session()
        if username is not None:
            self.s.headers["Authorization"] = basic_header(username, password)

    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", 60)
        return self.s.request(method, self.url + path, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # a few MLflow calls, asserting success
    def ok(self, method: str, path: str, **kw) -> dict:
        r = self.request(method, path, **kw)
        assert r.status_code == 200, f"{method} {path} as {self.username}: {r.status_code} {r.text}"
        return r.json() if r.content else {}

    def create_experiment(self, name: str | None = None) -> str:
        name = name or f"exp-{uuid.uuid4().hex[:10]}"
        return self.ok("POST", f"{API}/experiments/create", json={"name": name})["experiment_id"]

    def create_run(self, experiment_id: str) -> str:
        body = self.ok("POST", f"{API}/runs/create",
                       json={"experiment_id": experiment_id, "start_time": 1})
        return body["run"]["info"]["run_id"]

    def grant(self, username, resource_type, resource_id, permission) -> requests.Response:
        return self.post(f"{API3}/users/permissions/grant", json={
            "username": username, "resource_type": resource_type,
            "resource_id": resource_id, "permission": permission})

    def revoke(self, username, resource_type, resource_id) -> requests.Response:
        return self.post(f"{API3}/users/permissions/revoke", json={
            "username": username, "resource_type": resource_type, "resource_id": resource_id})

    def permission(self, username, resource_type, resource_id) -> dict:
        return self.ok("GET", f"{API3}/users/permissions/get", params={
            "username": username, "resource_type": resource_type, "resource_id": resource_id})


def admin_api(srv: Server) -> Api:
    return Api(srv.url, ADMIN, ADMIN_PW)


def new_user(srv: Server, prefix: str, password: str = USER_PW) -> Api:
    """Creates a fresh user through the admin and returns a session logged in as it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    r = admin_api(srv).post(f"{API}/users/create", json={"username": name, "password": password})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["username"] == name and user["is_admin"] is False, user
    return Api(srv.url, name, password)


def assert_401(r: requests.Response, what: str = "") -> None:
    assert r.status_code == 401, f"{what}: {r.status_code} {r.text[:200]}"
    assert r.headers.get("WWW-Authenticate") == WWW_AUTHENTICATE, (what, dict(r.headers))
    if r.request.method != "HEAD":
        assert r.text.strip() == UNAUTH_BODY, (what, r.text[:300])


def assert_403(r: requests.Response, what: str = "") -> None:
    assert r.status_code == 403, f"{what}: {r.status_code} {r.text[:200]}"
    assert r.text.strip() == FORBIDDEN_BODY, (what, r.text[:300])


def error_code(r: requests.Response) -> str | None:
    try:
        return r.json().get("error_code")
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------


def write_auth_ini(path: Path, default_permission: str, auth_db_uri: str,
                   auth_cache: bool = False) -> Path:
    text = ("[mlflow]\n"
            f"default_permission = {default_permission}\n"
            f"database_uri = {auth_db_uri}\n"
            f"admin_username = {ADMIN}\n")
    if auth_cache:
        text += f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n"
    path.write_text(text)
    return path


def start_auth_server(backend: str, workdir: Path, tracking_uri: str, authdb: Database,
                      default_permission: str, admin_password: str | None, *,
                      auth_cache: bool = False, target: str | None = None,
                      log_name: str = "server.log") -> Server:
    """``<server> server --app-name basic-auth`` with MLFLOW_AUTH_CONFIG_PATH pointing at
    a fresh ini for ``authdb``; ``admin_password=None`` leaves MLFLOW_AUTH_ADMIN_PASSWORD
    unset (callers make sure the test process does not have it)."""
    target = target or TARGET
    workdir.mkdir(parents=True, exist_ok=True)
    ini = write_auth_ini(workdir / f"auth-{log_name}.ini", default_permission, authdb.uri(target),
                         auth_cache)
    env = {"MLFLOW_AUTH_CONFIG_PATH": str(ini), "MLFLOW_FLASK_SERVER_SECRET_KEY": SECRET_KEY}
    if admin_password is not None:
        env["MLFLOW_AUTH_ADMIN_PASSWORD"] = admin_password
    return start_server(backend, workdir, tracking_uri, target=target, extra_env=env,
                        extra_args=["--app-name", "basic-auth"], log_name=log_name)


@contextlib.contextmanager
def clean_auth_env():
    """The bootstrap must see only what the test passes."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_AUTH_ADMIN_USERNAME",
                    "MLFLOW_AUTH_CONFIG_PATH", "MLFLOW_TRACKING_USERNAME",
                    "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
            mp.delenv(var, raising=False)
        yield mp


@dataclass
class Stack:
    backend: str
    root: Path
    authdb: Database
    read: Server  # default_permission = READ, first start (empty auth DB)
    noperm: Server  # default_permission = NO_PERMISSIONS, second start (same auth DB)
    users_after_first_start: list
    admin_hash_after_second_start: str


def _print_log_on_failure(request, srv: Server, label: str) -> None:
    if request.session.testsfailed:
        print(f"\n[{TARGET}/{label}] server log tail ({srv.log_path}):\n{srv.log_tail(40)}",
              file=sys.stderr)


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request):
    backend = request.param
    root = Path(tempfile.mkdtemp(prefix=f"compat-auth-{TARGET}-{backend}-"))
    drops: list = []
    servers: list[tuple[Server, str]] = []
    try:
        with clean_auth_env():
            authdb = new_database(backend, root / "auth.db", "compat_auth", drops)
            track_read = new_database(backend, root / "read.db", "compat_auth_read", drops)
            track_noperm = new_database(backend, root / "noperm.db", "compat_auth_np", drops)
            read = start_auth_server(backend, root / "read", track_read.uri(TARGET), authdb,
                                     "READ", ADMIN_PW, auth_cache=True)
            servers.append((read, f"{backend}/READ"))
            users_after_first = authdb.query(
                "SELECT username, password_hash, is_admin FROM users ORDER BY id")
            noperm = start_auth_server(backend, root / "noperm", track_noperm.uri(TARGET),
                                       authdb, "NO_PERMISSIONS", ADMIN_PW_OTHER,
                                       auth_cache=True)
            servers.append((noperm, f"{backend}/NO_PERMISSIONS"))
            hash_after_second = authdb.admin_hash()
        yield Stack(backend, root, authdb, read, noperm, users_after_first, hash_after_second)
    finally:
        with concurrent.futures.ThreadPoolExecutor(max(1, len(servers))) as ex:
            list(ex.map(lambda pair: _stop(pair[0].proc), servers))
        for srv, label in servers:
            _print_log_on_failure(request, srv, label)
        for drop, name in drops:
            try:
                drop(name)
            except Exception as e:  # pragma: no cover - cleanup only
                print(f"warning: could not drop database {name}: {e}", file=sys.stderr)
        if os.environ.get("COMPAT_KEEP_TMP") != "1":
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------
# 1. bootstrap
# ---------------------------------------------------------------------------


def test_bootstrap_creates_exactly_one_scrypt_admin(stack):
    rows = stack.users_after_first_start
    assert len(rows) == 1, rows
    username, password_hash, is_admin = rows[0]
    assert username == ADMIN
    assert bool(is_admin) is True
    assert SCRYPT_RE.match(password_hash), password_hash
    assert scrypt_matches(password_hash, ADMIN_PW)
    from werkzeug.security import check_password_hash  # the reference's own verifier

    assert check_password_hash(password_hash, ADMIN_PW)
    me = admin_api(stack.read).ok("GET", f"{API}/users/current")
    assert me == {"is_basic_auth": True,
                  "user": {"id": me["user"]["id"], "is_admin": True, "username": ADMIN}}


def test_second_start_keeps_the_admin_password(stack):
    first_hash = stack.users_after_first_start[0][1]
    assert stack.admin_hash_after_second_start == first_hash
    for srv in (stack.read, stack.noperm):
        assert admin_api(srv).get(f"{API}/users/current").status_code == 200
        assert_401(Api(srv.url, ADMIN, ADMIN_PW_OTHER).get(f"{API}/users/current"),
                   "admin with the password configured on the second start")


# (admin password, substring of MLflow's startup error; see auth.md §1)
BOOTSTRAP_REFUSALS = [
    (None, "MLFLOW_AUTH_ADMIN_PASSWORD"),
    (LEGACY_PW, "insecure default password"),
    ("elevenchars", "at least 12 characters"),
]


def _start_expecting_exit(workdir: Path, password: str | None) -> tuple[int, str]:
    """Starts an auth server on a fresh SQLite auth DB that must refuse to start;
    returns (exit code, log)."""
    authdb = Database("sqlite", sqlite_path=workdir / "auth.db")
    try:
        srv = start_auth_server("sqlite", workdir, f"sqlite:///{workdir / 'mlflow.db'}",
                                authdb, "READ", password)
    except pytest.fail.Exception as e:
        m = re.search(r"server exited with (-?\d+) during startup", str(e))
        assert m, f"server neither started nor exited: {e}"
        return int(m.group(1)), (workdir / "server.log").read_text(errors="replace")
    _stop(srv.proc)
    pytest.fail(f"the server started with admin password {password!r} on an empty auth DB")


def test_bootstrap_refuses_missing_default_and_short_admin_password(tmp_path):
    """Backend-independent startup logic, checked once on SQLite (three starts at once)."""
    with clean_auth_env(), concurrent.futures.ThreadPoolExecutor(len(BOOTSTRAP_REFUSALS)) as ex:
        futures = {}
        for i, (password, _) in enumerate(BOOTSTRAP_REFUSALS):
            workdir = tmp_path / f"case{i}"
            workdir.mkdir()
            futures[i] = ex.submit(_start_expecting_exit, workdir, password)
        results = {i: f.result() for i, f in futures.items()}
    for i, (password, message) in enumerate(BOOTSTRAP_REFUSALS):
        rc, log = results[i]
        assert rc != 0, (password, log[-2000:])
        assert message in log, (password, log[-2000:])
        db = tmp_path / f"case{i}" / "auth.db"
        if db.exists():  # MLflow migrates before it validates: the schema is there, no user
            conn = sqlite3.connect(db)
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if "users" in tables:
                    assert conn.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
            finally:
                conn.close()


@pytest.fixture(scope="module")
def legacy_stack(stack):
    """A server with MLflow's shipped settings (credential cache off) on a COPY of the
    stack's auth database in which the admin row holds the hash of ``password1234``, as
    in a deployment bootstrapped by <= 3.16.0; started with ADMIN_PW_OTHER configured.
    SQLite only (copying a live PostgreSQL database is not worth a second server)."""
    if stack.backend != "sqlite":
        pytest.skip("runs on a copy of the live SQLite auth database")
    root = stack.root / "legacy"
    root.mkdir()
    copy = root / "auth.db"
    src, dst = sqlite3.connect(stack.authdb.sqlite_path), sqlite3.connect(copy)
    try:
        src.backup(dst)
        dst.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                    (scrypt_hash(LEGACY_PW), ADMIN))
        dst.commit()
    finally:
        src.close()
        dst.close()
    authdb = Database("sqlite", sqlite_path=copy)
    with clean_auth_env():
        srv = start_auth_server("sqlite", root, f"sqlite:///{root / 'track.db'}", authdb,
                                "READ", ADMIN_PW_OTHER, auth_cache=False)
    try:
        yield srv, authdb
    finally:
        _stop(srv.proc)


def test_legacy_admin_password_is_rotated_at_start(legacy_stack):
    """The configured password replaces a ``password1234`` admin hash at start;
    ``password1234`` never logs in as an admin (CVE-2026-2635)."""
    srv, authdb = legacy_stack
    rotated = authdb.admin_hash()
    assert SCRYPT_RE.match(rotated), rotated
    assert scrypt_matches(rotated, ADMIN_PW_OTHER)
    assert Api(srv.url, ADMIN, ADMIN_PW_OTHER).get(f"{API}/users/current").status_code == 200
    assert_401(Api(srv.url, ADMIN, LEGACY_PW).get(f"{API}/users/current"), "legacy admin pw")
    assert_401(Api(srv.url, ADMIN, ADMIN_PW).get(f"{API}/users/current"), "pre-rotation pw")


def test_bearer_and_colonless_basic_get_401(legacy_stack):
    """Checked on the cache-off server: with ``auth_cache_ttl_seconds`` > 0 the reference
    answers these with 500 (it HMACs the missing password,
    mlflow/server/auth/__init__.py:532); with MLflow's default (cache off), 401."""
    srv, _ = legacy_stack
    api = Api(srv.url)
    for method, path in PROTECTED_ROUTES:
        for label, headers in (
            ("bearer", {"Authorization": "Bearer abc"}),
            ("no colon", {"Authorization": "Basic " + base64.b64encode(b"admin").decode()}),
        ):
            body = {"json": {}} if method in ("POST", "PUT") else {}
            assert_401(api.request(method, path, headers=headers, **body),
                       f"{method} {path} {label}")


# ---------------------------------------------------------------------------
# 2. password hash interop
# ---------------------------------------------------------------------------


def test_foreign_hashes_log_in(stack):
    """Rows written by other Werkzeug versions / other params verify (auth.md §3);
    ``password1234`` is refused for admins only; a malformed hash never matches."""
    from werkzeug.security import check_password_hash

    db, srv = stack.authdb, stack.read
    sfx = uuid.uuid4().hex[:8]
    pw = "interop-password-01"
    cases = {
        f"pbkdf2_260k_{sfx}": pbkdf2_hash(pw, 260000),  # Werkzeug < 2.3 deployments
        f"pbkdf2_600k_{sfx}": pbkdf2_hash(pw, 600000),
        f"scrypt_16k_{sfx}": scrypt_hash(pw, n=16384),  # stored parameters are honoured
        f"scrypt_default_{sfx}": scrypt_hash(pw),
    }
    for username, h in cases.items():
        assert check_password_hash(h, pw), h  # the test's own hashes are Werkzeug's format
        db.insert_user(username, h)
    for username in cases:
        r = Api(srv.url, username, pw).get(f"{API}/users/current")
        assert r.status_code == 200, (username, r.status_code, r.text)
        assert r.json()["user"]["username"] == username
        assert_401(Api(srv.url, username, pw + "x").get(f"{API}/users/current"), username)

    legacy_user, legacy_admin = f"legacy_user_{sfx}", f"legacy_admin_{sfx}"
    db.insert_user(legacy_user, scrypt_hash(LEGACY_PW), is_admin=False)
    db.insert_user(legacy_admin, scrypt_hash(LEGACY_PW), is_admin=True)
    assert Api(srv.url, legacy_user, LEGACY_PW).get(f"{API}/users/current").status_code == 200
    assert_401(Api(srv.url, legacy_admin, LEGACY_PW).get(f"{API}/users/current"),
               "admin with password1234")

    broken = f"broken_{sfx}"
    db.insert_user(broken, "not-a-werkzeug-hash")
    assert_401(Api(srv.url, broken, "not-a-werkzeug-hash").get(f"{API}/users/current"), broken)


# ---------------------------------------------------------------------------
# 3. authentication matrix
# ---------------------------------------------------------------------------

PROTECTED_ROUTES = [
    ("GET", f"{API}/experiments/search?max_results=1"),
    ("POST", f"{API}/experiments/search"),
    ("GET", f"{AJAX}/experiments/search?max_results=1"),
    ("POST", f"{API}/experiments/create"),
    ("GET", f"{API}/runs/get?run_id=0123456789abcdef0123456789abcdef"),
    ("GET", f"{API}/registered-models/search"),
    ("GET", f"{API}/model-versions/search"),
    ("GET", ART),
    ("GET", f"{ART}/1/0123456789abcdef0123456789abcdef/artifacts/a.txt"),
    ("PUT", f"{ART}/1/0123456789abcdef0123456789abcdef/artifacts/a.txt"),
    ("POST", "/graphql"),
    ("GET", f"{API}/users/current"),
    ("GET", f"{API}/users/list"),
    ("POST", f"{API}/users/create"),
    ("GET", "/"),
    ("GET", "/version"),
    ("GET", "/signup"),
    ("GET", "/no/such/path"),
    ("HEAD", f"{API}/experiments/search"),
]


def _bad_credentials():
    yield "none", {}
    yield "wrong password", {"Authorization": basic_header(ADMIN, ADMIN_PW + "-wrong")}
    yield "unknown user", {"Authorization": basic_header("nobody-at-all", ADMIN_PW)}
    yield "bad base64", {"Authorization": "Basic !!!not-base64!!!"}
    yield "empty basic", {"Authorization": "Basic "}
    # Bearer and a token without ":": test_bearer_and_colonless_basic_get_401


@pytest.mark.parametrize("method,path", PROTECTED_ROUTES)
def test_unauthenticated_requests_get_401(stack, method, path):
    api = Api(stack.read.url)
    body = {"json": {}} if method in ("POST", "PUT") else {}
    for label, headers in _bad_credentials():
        assert_401(api.request(method, path, headers=headers, **body), f"{method} {path} {label}")


def test_public_routes(stack):
    api = Api(stack.read.url)
    wrong = {"Authorization": basic_header(ADMIN, "wrong-password-xx")}
    for headers in ({}, wrong):
        r = api.get("/health", headers=headers)
        assert r.status_code == 200 and r.text == "OK", r.text
        for path in ("/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info"):
            r = api.get(path, headers=headers)
            assert r.status_code == 200, (path, r.status_code, r.text)
            assert isinstance(r.json(), dict)
    # A CORS preflight carries no credentials: answered by the CORS layer (200, "OK").
    r = api.request("OPTIONS", f"{API}/experiments/create", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"


def test_credential_parsing(stack):
    srv = stack.read
    lower = Api(srv.url)
    for scheme in ("basic", "BASIC"):
        r = lower.get(f"{API}/users/current",
                      headers={"Authorization": basic_header(ADMIN, ADMIN_PW, scheme)})
        assert r.status_code == 200, (scheme, r.status_code, r.text)
    colon = new_user(srv, "colon", password="pa:ss:word-with-colons")
    assert colon.get(f"{API}/users/current").json()["user"]["username"] == colon.username
    utf8 = new_user(srv, "utf8", password="pässwörd-ünïcødé-密码")
    assert utf8.get(f"{API}/users/current").json()["user"]["username"] == utf8.username


# ---------------------------------------------------------------------------
# 4. the official client
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def mlflow_as(srv: Server, username: str | None, password: str | None):
    """The fluent API and MlflowClient pointed at ``srv`` with these env credentials."""
    import mlflow
    from mlflow.tracking import MlflowClient

    with clean_auth_env() as mp:
        if username is not None:
            mp.setenv("MLFLOW_TRACKING_USERNAME", username)
            mp.setenv("MLFLOW_TRACKING_PASSWORD", password)
        mp.setenv("MLFLOW_TRACKING_URI", srv.url)
        mlflow.set_tracking_uri(srv.url)
        follow_tracking_uri_for_registry(mp)
        try:
            yield MlflowClient(tracking_uri=srv.url)
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()


def test_official_client_admin_full_flow(stack, tmp_path):
    srv = stack.read
    sfx = uuid.uuid4().hex[:8]
    with mlflow_as(srv, ADMIN, ADMIN_PW) as client:
        exp_id = client.create_experiment(f"client-admin-{sfx}")
        run = client.create_run(exp_id)
        run_id = run.info.run_id
        client.log_param(run_id, "lr", "0.1")
        for step in range(3):
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
        f = tmp_path / "data.txt"
        f.write_text("auth artifact payload")
        client.log_artifact(run_id, str(f))  # mlflow-artifacts:/ through the proxy
        client.set_terminated(run_id)
        assert [m.value for m in client.get_metric_history(run_id, "loss")] == [1.0, 0.5, 1.0 / 3]
        assert [a.path for a in client.list_artifacts(run_id)] == ["data.txt"]
        out = client.download_artifacts(run_id, "data.txt", str(tmp_path / "dl"))
        assert Path(out).read_text() == "auth artifact payload"
        name = f"client-model-{sfx}"
        client.create_registered_model(name)
        mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/data.txt",
                                         run_id=run_id)
        assert mv.version == "1"
        assert client.get_registered_model(name).name == name
        assert client.get_model_version(name, "1").run_id == run_id


def test_official_client_errors(stack):
    from mlflow.exceptions import MlflowException

    srv = stack.read
    owner = admin_api(srv)
    exp_id = owner.create_experiment()
    run_id = owner.create_run(exp_id)
    reader = new_user(srv, "reader")
    with mlflow_as(srv, None, None) as client:
        with pytest.raises(MlflowException) as ei:
            client.get_run(run_id)
        assert ei.value.error_code == "UNAUTHENTICATED", ei.value
    with mlflow_as(srv, reader.username, reader.password) as client:
        assert client.get_run(run_id).info.run_id == run_id  # default READ
        with pytest.raises(MlflowException) as ei:
            client.log_metric(run_id, "m", 1.0)
        assert ei.value.error_code == "PERMISSION_DENIED", ei.value


def test_auth_service_client_round_trip(stack):
    """``mlflow.server.get_app_client("basic-auth")``: user CRUD and the per-user grant
    API (3.17.2 removed the per-resource ``create_experiment_permission`` family)."""
    from mlflow.exceptions import MlflowException
    from mlflow.server import get_app_client

    srv = stack.noperm
    owner = new_user(srv, "svc_owner")
    exp_id = owner.create_experiment()
    name = f"svc_{uuid.uuid4().hex[:8]}"
    with mlflow_as(srv, ADMIN, ADMIN_PW):
        ac = get_app_client("basic-auth", tracking_uri=srv.url)
        user = ac.create_user(name, USER_PW)
        assert (user.username, user.is_admin) == (name, False)
        got = ac.get_user(name)
        assert (got.id, got.username, got.is_admin) == (user.id, name, False)

        ac.update_user_password(name, "svc-password-0002")
        assert_401(Api(srv.url, name, USER_PW).get(f"{API}/users/current"), "old password")
        me = Api(srv.url, name, "svc-password-0002")
        assert me.get(f"{API}/users/current").status_code == 200

        ac.update_user_admin(name, True)
        assert ac.get_user(name).is_admin is True
        assert me.ok("GET", f"{API}/users/current")["user"]["is_admin"] is True
        ac.update_user_admin(name, False)
        assert ac.get_user(name).is_admin is False

        res = ac.get_user_permission(name, "experiment", exp_id)
        assert (res.permission, res.allowed) == ("NO_PERMISSIONS", False)
        assert me.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code == 403
        ac.grant_user_permission(name, "experiment", exp_id, "READ")
        res = ac.get_user_permission(name, "experiment", exp_id)
        assert (res.permission, res.allowed) == ("READ", False)  # allowed == can_use
        assert me.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code == 200
        with pytest.raises(MlflowException) as ei:
            ac.grant_user_permission(name, "experiment", exp_id, "EDIT")  # insert-only
        assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"
        ac.revoke_user_permission(name, "experiment", exp_id)
        res = ac.get_user_permission(name, "experiment", exp_id)
        assert (res.permission, res.allowed) == ("NO_PERMISSIONS", False)
        with pytest.raises(MlflowException) as ei:
            ac.revoke_user_permission(name, "experiment", exp_id)
        assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        with pytest.raises(MlflowException) as ei:
            ac.grant_user_permission(name, "experiment", exp_id, "NO_PERMISSIONS")
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE"

    # self-service password change through the client needs the current password
    with mlflow_as(srv, name, "svc-password-0002"):
        ac = get_app_client("basic-auth", tracking_uri=srv.url)
        with pytest.raises(MlflowException) as ei:
            ac.update_user_password(name, "svc-password-0003")
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
        ac.update_user_password(name, "svc-password-0003", current_password="svc-password-0002")
    assert Api(srv.url, name, "svc-password-0003").get(f"{API}/users/current").status_code == 200

    with mlflow_as(srv, ADMIN, ADMIN_PW):
        ac = get_app_client("basic-auth", tracking_uri=srv.url)
        ac.delete_user(name)
        with pytest.raises(MlflowException) as ei:
            ac.get_user(name)
        assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert_401(Api(srv.url, name, "svc-password-0003").get(f"{API}/users/current"), "deleted")


def test_roles_through_the_auth_service_client(stack):
    """Roles (RBAC): a role's grants reach every user it is assigned to, and
    stop when the grant, the assignment or the role goes."""
    from mlflow.exceptions import MlflowException
    from mlflow.server import get_app_client

    srv = stack.noperm
    owner = new_user(srv, "role_owner")
    exp_id = owner.create_experiment()
    member = new_user(srv, "role_member")
    get_exp = lambda: member.get(f"{API}/experiments/get", params={"experiment_id": exp_id})  # noqa: E731
    assert get_exp().status_code == 403
    role_name = f"readers_{uuid.uuid4().hex[:8]}"
    with mlflow_as(srv, ADMIN, ADMIN_PW):
        ac = get_app_client("basic-auth", tracking_uri=srv.url)
        role = ac.create_role("default", role_name, description="read one experiment")
        assert (role.name, role.workspace, role.description) == (role_name, "default",
                                                                  "read one experiment")
        with pytest.raises(MlflowException) as ei:
            ac.create_role("default", role_name)
        assert ei.value.error_code == "RESOURCE_ALREADY_EXISTS"
        with pytest.raises(MlflowException) as ei:
            ac.create_role("default", "__user_999__")
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
        rp = ac.add_role_permission(role.id, "experiment", exp_id, "READ")
        assert (rp.role_id, rp.resource_type, rp.resource_pattern, rp.permission) == \
            (role.id, "experiment", exp_id, "READ")
        with pytest.raises(MlflowException) as ei:
            ac.add_role_permission(role.id, "run", "some-run-id", "READ")  # tiers take only *
        assert ei.value.error_code == "INVALID_PARAMETER_VALUE"
        assignment = ac.assign_role(member.username, role.id)
        assert assignment.role_id == role.id
        assert get_exp().status_code == 200
        assert [r.name for r in ac.list_user_roles(member.username)] == [role_name]
        assert [a.role_id for a in ac.list_role_users(role.id)] == [role.id]
        assert role_name in [r.name for r in ac.list_roles("default")]
        assert [p.permission for p in ac.list_role_permissions(role.id)] == ["READ"]
        assert ac.update_role_permission(rp.id, "DENY").permission == "DENY"
        assert get_exp().status_code == 403
        ac.update_role_permission(rp.id, "READ")
        renamed = ac.update_role(role.id, name=role_name + "_x")
        assert renamed.name == role_name + "_x"
        assert ac.get_role(role.id).permissions[0].permission == "READ"
        ac.unassign_role(member.username, role.id)
        assert get_exp().status_code == 403
        ac.assign_role(member.username, role.id)
        ac.remove_role_permission(rp.id)
        assert get_exp().status_code == 403
        ac.delete_role(role.id)
        with pytest.raises(MlflowException) as ei:
            ac.get_role(role.id)
        assert ei.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Only admins manage roles; a user may list their own.
    assert_403(member.post(f"{API3}/roles/create", json={"workspace": "default", "name": "mine"}))
    assert member.get(f"{API3}/users/roles/list",
                      params={"username": member.username}).status_code == 200
    assert_403(member.get(f"{API3}/users/roles/list", params={"username": owner.username}))


# ---------------------------------------------------------------------------
# 5. permissions
# ---------------------------------------------------------------------------


def test_default_read_permission(stack):
    """auth.md §6 server A: default READ lets every user read, not write."""
    srv = stack.read
    adm = admin_api(srv)
    exp_id = adm.create_experiment()
    run_id = adm.create_run(exp_id)
    alice = new_user(srv, "alice")
    assert alice.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code == 200
    assert alice.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 200
    assert_403(alice.post(f"{API}/runs/log-metric", json={
        "run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": 0}), "log-metric")
    assert_403(alice.post(f"{API}/runs/create", json={"experiment_id": exp_id}), "runs/create")
    assert_403(alice.post(f"{API}/experiments/delete", json={"experiment_id": exp_id}), "delete")
    own = alice.create_experiment()
    seen = {e["experiment_id"] for e in alice.ok(
        "GET", f"{API}/experiments/search", params={"max_results": 1000})["experiments"]}
    assert {exp_id, own} <= seen
    r = alice.get(f"{API}/experiments/get", params={"experiment_id": "99999"})
    assert r.status_code == 404 and error_code(r) == "RESOURCE_DOES_NOT_EXIST", r.text
    assert alice.permission(alice.username, "experiment", own) == {
        "allowed": True, "permission": "MANAGE"}
    assert alice.permission(alice.username, "experiment", exp_id) == {
        "allowed": False, "permission": "READ"}


# Outcome of each probe for bob on alice's experiment, per grant (auth.md §6 server B).
_DENIED = dict(get_exp=403, get_by_name=403, get_run=403, history=403, art_get=403,
               graphql_run=False, in_search=False, runs_visible=False, log_metric=403,
               create_run=403, set_tag=403, art_put=403, art_delete=403, run_delete=403,
               run_restore=403, grant_other=403)
_READS = dict(_DENIED, get_exp=200, get_by_name=200, get_run=200, history=200, art_get=200,
              graphql_run=True, in_search=True, runs_visible=True)
_EDIT = dict(_READS, log_metric=200, create_run=200, set_tag=200, art_put=200)
LADDER = {
    None: dict(_DENIED, perm={"allowed": False, "permission": "NO_PERMISSIONS"}),
    "READ": dict(_READS, perm={"allowed": False, "permission": "READ"}),
    "USE": dict(_READS, perm={"allowed": True, "permission": "USE"}),
    "EDIT": dict(_EDIT, perm={"allowed": True, "permission": "EDIT"}),
    "MANAGE": dict(_EDIT, art_delete=200, run_delete=200, run_restore=200, grant_other=200,
                   perm={"allowed": True, "permission": "MANAGE"}),
    "DENY": dict(_DENIED, perm={"allowed": False, "permission": "DENY"}),
}


def _probe(bob: Api, alice: Api, carol: Api, exp_id: str, exp_name: str, run_id: str) -> dict:
    out = {}
    out["get_exp"] = bob.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code
    out["get_by_name"] = bob.get(f"{API}/experiments/get-by-name",
                                 params={"experiment_name": exp_name}).status_code
    out["get_run"] = bob.get(f"{API}/runs/get", params={"run_id": run_id}).status_code
    out["history"] = bob.get(f"{API}/metrics/get-history",
                             params={"run_id": run_id, "metric_key": "m"}).status_code
    out["art_get"] = bob.get(f"{ART}/{exp_id}/{run_id}/artifacts/a.txt").status_code
    g = bob.post("/graphql", json={
        "query": 'query { mlflowGetRun(input: {runId: "%s"}) { run { info { runId } } } }'
        % run_id})
    assert g.status_code == 200, g.text
    data = (g.json().get("data") or {}).get("mlflowGetRun")
    out["graphql_run"] = bool(data) and data["run"]["info"]["runId"] == run_id
    search = bob.ok("GET", f"{API}/experiments/search", params={"max_results": 1000})
    out["in_search"] = exp_id in {e["experiment_id"] for e in search.get("experiments", [])}
    runs = bob.ok("POST", f"{API}/runs/search", json={"experiment_ids": [exp_id]})
    out["runs_visible"] = bool(runs.get("runs"))
    out["log_metric"] = bob.post(f"{API}/runs/log-metric", json={
        "run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "step": 0}).status_code
    out["create_run"] = bob.post(f"{API}/runs/create", json={"experiment_id": exp_id}).status_code
    out["set_tag"] = bob.post(f"{API}/experiments/set-experiment-tag", json={
        "experiment_id": exp_id, "key": "k", "value": "v"}).status_code
    out["art_put"] = bob.put(f"{ART}/{exp_id}/{run_id}/artifacts/b.txt", data=b"b").status_code
    if out["art_put"] != 200:
        alice.put(f"{ART}/{exp_id}/{run_id}/artifacts/b.txt", data=b"b")
    out["art_delete"] = bob.delete(f"{ART}/{exp_id}/{run_id}/artifacts/b.txt").status_code
    spare = alice.create_run(exp_id)
    out["run_delete"] = bob.post(f"{API}/runs/delete", json={"run_id": spare}).status_code
    if out["run_delete"] != 200:
        alice.ok("POST", f"{API}/runs/delete", json={"run_id": spare})
    out["run_restore"] = bob.post(f"{API}/runs/restore", json={"run_id": spare}).status_code
    out["grant_other"] = bob.grant(carol.username, "experiment", exp_id, "READ").status_code
    if out["grant_other"] == 200:
        assert bob.revoke(carol.username, "experiment", exp_id).status_code == 200
    out["perm"] = bob.permission(bob.username, "experiment", exp_id)
    return out


def test_permission_ladder_on_an_experiment(stack):
    srv = stack.noperm
    alice, bob, carol = (new_user(srv, n) for n in ("alice", "bob", "carol"))
    exp_name = f"alice-exp-{uuid.uuid4().hex[:8]}"
    exp_id = alice.create_experiment(exp_name)
    run_id = alice.create_run(exp_id)
    alice.ok("PUT", f"{ART}/{exp_id}/{run_id}/artifacts/a.txt", data=b"alice")
    # the creator holds MANAGE (granted at create), visible through the permissions API
    assert alice.permission(alice.username, "experiment", exp_id) == {
        "allowed": True, "permission": "MANAGE"}
    assert_403(alice.get(f"{API3}/users/permissions/get", params={
        "username": bob.username, "resource_type": "experiment", "resource_id": exp_id}),
        "permissions/get for another user")

    failures = []
    for level, expected in LADDER.items():
        if level is not None:
            r = alice.grant(bob.username, "experiment", exp_id, level)
            assert r.status_code == 200, (level, r.text)
        got = _probe(bob, alice, carol, exp_id, exp_name, run_id)
        if got != expected:
            failures.append(f"{level}: " + ", ".join(
                f"{k}={got[k]!r} (want {expected[k]!r})" for k in expected if got[k] != expected[k]))
        if level is not None:
            assert alice.revoke(bob.username, "experiment", exp_id).status_code == 200
    assert not failures, "\n".join(failures)

    # 403 rather than 404 for what bob cannot see, also for ids that do not exist
    for path, params in ((f"{API}/runs/get", {"run_id": "0" * 32}),
                         (f"{API}/experiments/get", {"experiment_id": "99999"}),
                         (f"{API}/experiments/get", {"experiment_id": "0"})):
        assert_403(bob.get(path, params=params), f"{path} {params}")
    assert bob.create_experiment()  # anyone may create their own
    # admins bypass every check, and get the honest 404
    adm = admin_api(srv)
    assert adm.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 200
    adm.ok("POST", f"{API}/runs/log-metric", json={
        "run_id": run_id, "key": "adm", "value": 1, "timestamp": 1, "step": 0})
    r = adm.get(f"{API}/runs/get", params={"run_id": "0" * 32})
    assert r.status_code == 404 and error_code(r) == "RESOURCE_DOES_NOT_EXIST", r.text


def test_registered_model_permissions(stack):
    srv = stack.noperm
    alice, bob, carol = (new_user(srv, n) for n in ("rm_alice", "rm_bob", "rm_carol"))
    exp_id = alice.create_experiment()
    run_id = alice.create_run(exp_id)
    name = f"rm-{uuid.uuid4().hex[:8]}"
    alice.ok("POST", f"{API}/registered-models/create", json={"name": name})
    alice.ok("POST", f"{API}/model-versions/create",
             json={"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})
    assert alice.permission(alice.username, "registered_model", name) == {
        "allowed": True, "permission": "MANAGE"}

    def visible_models(api: Api) -> set[str]:
        body = api.ok("GET", f"{API}/registered-models/search", params={"max_results": 1000})
        return {m["name"] for m in body.get("registered_models", [])}

    assert_403(bob.get(f"{API}/registered-models/get", params={"name": name}), "rm get")
    assert_403(bob.get(f"{API}/model-versions/get", params={"name": name, "version": "1"}),
               "mv get")
    assert name not in visible_models(bob)
    mvs = bob.ok("GET", f"{API}/model-versions/search", params={"filter": f"name='{name}'"})
    assert not mvs.get("model_versions"), mvs
    # bob's own model, but a version from alice's run he cannot read: 403
    own = f"{name}-bob"
    bob.ok("POST", f"{API}/registered-models/create", json={"name": own})
    assert_403(bob.post(f"{API}/model-versions/create", json={
        "name": own, "source": f"runs:/{run_id}/model", "run_id": run_id}), "mv from alice's run")

    assert alice.grant(bob.username, "registered_model", name, "READ").status_code == 200
    assert bob.get(f"{API}/registered-models/get", params={"name": name}).status_code == 200
    assert bob.get(f"{API}/model-versions/get",
                   params={"name": name, "version": "1"}).status_code == 200
    assert {name, own} <= visible_models(bob)
    assert_403(bob.patch(f"{API}/model-versions/update",
                         json={"name": name, "version": "1", "description": "x"}), "mv update")
    assert_403(bob.patch(f"{API}/registered-models/update",
                         json={"name": name, "description": "x"}), "rm update")

    # deleting the model sweeps its grants: a new model under the same name is carol's alone
    alice.ok("DELETE", f"{API}/registered-models/delete", json={"name": name})
    carol.ok("POST", f"{API}/registered-models/create", json={"name": name})
    assert_403(bob.get(f"{API}/registered-models/get", params={"name": name}), "bob after reuse")
    assert_403(alice.get(f"{API}/registered-models/get", params={"name": name}), "alice after")
    assert carol.get(f"{API}/registered-models/get", params={"name": name}).status_code == 200
    assert admin_api(srv).get(f"{API}/registered-models/get",
                              params={"name": name}).status_code == 200


# ---------------------------------------------------------------------------
# 6. users API
# ---------------------------------------------------------------------------


def test_users_api_edge_cases(stack):
    srv = stack.read
    adm = admin_api(srv)
    dave, erin = new_user(srv, "dave"), new_user(srv, "erin")
    upd = f"{API}/users/update-password"

    # self-service password change: current_password required, must match, must differ
    for body, what in (({}, "missing"), ({"current_password": "wrong-current-pw"}, "wrong"),
                       ({"current_password": USER_PW, "password": USER_PW}, "same")):
        r = dave.patch(upd, json={"username": dave.username, "password": "dave-password-02",
                                  **body})
        assert r.status_code == 400 and error_code(r) == "INVALID_PARAMETER_VALUE", (what, r.text)
    dave.ok("PATCH", upd, json={"username": dave.username, "password": "dave-password-02",
                                "current_password": USER_PW})
    assert_401(dave.get(f"{API}/users/current"), "old password after self change")
    dave = Api(srv.url, dave.username, "dave-password-02")
    assert dave.get(f"{API}/users/current").status_code == 200
    # the admin too needs current_password for itself, but not for others
    r = adm.patch(upd, json={"username": ADMIN, "password": "admin-new-password"})
    assert r.status_code == 400 and error_code(r) == "INVALID_PARAMETER_VALUE", r.text
    adm.ok("PATCH", upd, json={"username": erin.username, "password": "erin-password-02"})
    assert Api(srv.url, erin.username, "erin-password-02").get(
        f"{API}/users/current").status_code == 200
    # policy: at least 12 characters
    r = adm.patch(upd, json={"username": erin.username, "password": "short"})
    assert r.status_code == 400 and error_code(r) == "INVALID_PARAMETER_VALUE", r.text
    r = adm.post(f"{API}/users/create", json={"username": f"short_{uuid.uuid4().hex[:6]}",
                                              "password": "elevenchars"})
    assert r.status_code == 400 and error_code(r) == "INVALID_PARAMETER_VALUE", r.text
    assert "12 characters" in r.json()["message"]

    # self-delete: 400 BAD_REQUEST
    r = adm.delete(f"{API}/users/delete", json={"username": ADMIN})
    assert r.status_code == 400 and error_code(r) == "BAD_REQUEST", r.text

    # duplicate user
    r = adm.post(f"{API}/users/create",
                 json={"username": dave.username, "password": "another-password-1"})
    assert r.status_code == 400 and error_code(r) == "RESOURCE_ALREADY_EXISTS", r.text
    if TARGET == "ferroflow":
        # Deliberately stricter: MLflow 3.17.2 puts the SQLAlchemy error in the message,
        # with the INSERT statement and the new password's scrypt hash (auth.md §6).
        for leak in ("INSERT", "scrypt:", "IntegrityError", "UNIQUE", "duplicate key"):
            assert leak not in r.text, r.text

    # a non-JSON body
    r = adm.post(f"{API}/users/create", data="username=x&password=y",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text

    # non-admins: 403 on everything about other users
    for method, path, kw in (
        ("POST", f"{API}/users/create", {"json": {"username": "zed_x", "password": USER_PW}}),
        ("PATCH", f"{API}/users/update-admin", {"json": {"username": dave.username,
                                                          "is_admin": True}}),
        ("DELETE", f"{API}/users/delete", {"json": {"username": erin.username}}),
        ("GET", f"{API}/users/get", {"params": {"username": erin.username}}),
        ("PATCH", upd, {"json": {"username": erin.username, "password": "erin-password-03"}}),
    ):
        assert_403(dave.request(method, path, **kw), f"{method} {path}")
    assert dave.ok("GET", f"{API}/users/get", params={"username": dave.username})["user"] == {
        "id": dave.ok("GET", f"{API}/users/current")["user"]["id"],
        "is_admin": False, "username": dave.username}
    assert dave.get(f"{AJAX}/users/current").status_code == 200  # the ajax twin

    # users/list
    listed = {u["username"] for u in adm.ok("GET", f"{API}/users/list")["users"]}
    assert {ADMIN, dave.username, erin.username} <= listed
    r = dave.get(f"{API}/users/list")
    if TARGET == "ferroflow":
        # Deliberately stricter: MLflow lets every user list all users (auth.md §8).
        assert_403(r, "users/list as non-admin")
    else:
        assert r.status_code == 200 and ADMIN in {u["username"] for u in r.json()["users"]}

    # admin flag round trip, then delete
    adm.ok("PATCH", f"{API}/users/update-admin", json={"username": erin.username,
                                                       "is_admin": True})
    erin = Api(srv.url, erin.username, "erin-password-02")
    assert erin.ok("GET", f"{API}/users/current")["user"]["is_admin"] is True
    adm.ok("PATCH", f"{API}/users/update-admin", json={"username": erin.username,
                                                       "is_admin": False})
    assert erin.ok("GET", f"{API}/users/current")["user"]["is_admin"] is False
    adm.ok("DELETE", f"{API}/users/delete", json={"username": erin.username})
    assert_401(erin.get(f"{API}/users/current"), "deleted user")
    r = adm.get(f"{API}/users/get", params={"username": erin.username})
    assert r.status_code == 404 and error_code(r) == "RESOURCE_DOES_NOT_EXIST", r.text


# ---------------------------------------------------------------------------
# 7. regressions
# ---------------------------------------------------------------------------


def test_cve_regressions(stack):
    srv = stack.read
    anon = Api(srv.url)
    # CVE-2026-2652 / CVE-2026-0545: the OTLP and job routes were served without auth
    for method, path in (("POST", "/v1/traces"), ("GET", "/v1/traces"),
                         ("POST", "/ajax-api/3.0/jobs/search"), ("GET", "/ajax-api/3.0/jobs/search"),
                         ("POST", "/ajax-api/3.0/jobs"), ("GET", "/ajax-api/3.0/jobs/some-job-id"),
                         ("GET", "/gateway/some-endpoint/mlflow/invocations")):
        assert_401(anon.request(method, path, data=b"x"), f"{method} {path}")
    # CVE-2025-1473: the signup form is not anonymous; create-ui needs a CSRF token
    assert_401(anon.get("/signup"), "/signup")
    name = f"csrf_{uuid.uuid4().hex[:8]}"
    r = admin_api(srv).post(f"{API}/users/create-ui", data={"username": name,
                                                             "password": USER_PW})
    assert r.status_code in (400, 404), (r.status_code, r.text)  # 404: route not served
    assert admin_api(srv).get(f"{API}/users/get", params={"username": name}).status_code == 404
    # fail-closed: unknown paths and wrong methods never reach a handler for non-admins
    user = new_user(srv, "failclosed")
    assert_403(user.get("/no/such/path"), "unknown path, non-admin")
    assert admin_api(srv).get("/no/such/path").status_code == 404
    assert_401(anon.put(f"{API}/experiments/create", json={}), "PUT, anonymous")
    assert_403(user.put(f"{API}/experiments/create", json={}), "PUT, non-admin")
    assert admin_api(srv).put(f"{API}/experiments/create", json={}).status_code == 405


def test_security_middleware_runs_before_auth(stack):
    """With auth on, the host and cross-origin checks answer first (no credentials
    needed to be refused), and a preflight needs none."""
    anon = Api(stack.read.url)
    r = anon.get(f"{API}/experiments/search", params={"max_results": 1},
                 headers={"Host": "evil.example.com"})
    assert (r.status_code, r.text) == (403, INVALID_HOST_MSG)
    r = anon.post(f"{API}/experiments/create", json={"name": "x"},
                  headers={"Origin": "http://evil.example.com"})
    assert (r.status_code, r.text) == (403, CORS_BLOCKED_MSG)
    r = admin_api(stack.read).post(f"{API}/experiments/create", json={"name": "x"},
                                   headers={"Origin": "http://evil.example.com"})
    assert (r.status_code, r.text) == (403, CORS_BLOCKED_MSG)
    assert anon.get("/health", headers={"Host": "evil.example.com"}).status_code == 200


# ---------------------------------------------------------------------------
# cross: the reference and ferroflow on one auth database
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("first,second", [("mlflow", "ferroflow"), ("ferroflow", "mlflow")])
def test_cross_auth_database(first, second, tmp_path):
    """Users and hashes written by one server log in on the other (SQLite auth DB and
    tracking DB shared, servers taking turns). ``first`` bootstraps the empty database,
    so this also checks that each accepts the other's schema and migration state."""
    if not SELF_TEST and not ferroflow_bin().exists():
        pytest.skip(f"ferroflow binary not found: {ferroflow_bin()} (set FERROFLOW_BIN)")
    kind = {k: ("mlflow" if SELF_TEST else k) for k in ("mlflow", "ferroflow")}
    authdb = Database("sqlite", sqlite_path=tmp_path / "auth.db")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = ["--artifacts-destination", str(tmp_path / "artifacts")]

    def start(which: str, password: str, label: str) -> Server:
        with clean_auth_env():
            workdir = tmp_path / label
            workdir.mkdir()
            ini = write_auth_ini(workdir / "auth.ini", "READ", authdb.uri(kind[which]))
            return start_server("sqlite", workdir, tracking, target=kind[which],
                                artifact_args=artifacts, log_name=f"{label}.log",
                                extra_args=["--app-name", "basic-auth"],
                                extra_env={"MLFLOW_AUTH_CONFIG_PATH": str(ini),
                                           "MLFLOW_FLASK_SERVER_SECRET_KEY": SECRET_KEY,
                                           "MLFLOW_AUTH_ADMIN_PASSWORD": password})

    srv = start(first, ADMIN_PW, f"1-{first}")
    try:
        assert SCRYPT_RE.match(authdb.admin_hash())
        made_first = new_user(srv, f"by_{first}")
        exp_id = made_first.create_experiment()
    finally:
        _stop(srv.proc)

    srv = start(second, ADMIN_PW_OTHER, f"2-{second}")
    try:
        assert_401(Api(srv.url, ADMIN, ADMIN_PW_OTHER).get(f"{API}/users/current"), "ignored pw")
        assert admin_api(srv).get(f"{API}/users/current").status_code == 200
        user = Api(srv.url, made_first.username, made_first.password)
        assert user.ok("GET", f"{API}/users/current")["user"]["username"] == user.username
        # the creator's MANAGE grant written by `first` is honoured by `second`
        assert user.permission(user.username, "experiment", exp_id)["permission"] == "MANAGE"
        user.ok("PATCH", f"{API}/users/update-password", json={
            "username": user.username, "password": "changed-on-second",
            "current_password": made_first.password})
        made_second = new_user(srv, f"by_{second}")
        assert SCRYPT_RE.match(authdb.admin_hash(made_second.username))
    finally:
        _stop(srv.proc)

    srv = start(first, ADMIN_PW_OTHER, f"3-{first}")
    try:
        assert Api(srv.url, made_first.username, "changed-on-second").get(
            f"{API}/users/current").status_code == 200
        assert Api(srv.url, made_second.username, made_second.password).get(
            f"{API}/users/current").status_code == 200
    finally:
        _stop(srv.proc)
