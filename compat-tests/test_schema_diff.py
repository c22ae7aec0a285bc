"""Our migrations must create exactly the schema of MLflow 3.17.2 (alembic head dc11669786a5).

For each backend a reference database is built with the pinned Python ``mlflow db upgrade``
and compared (via schema_introspect) with databases built from our migrations:

* ``*_sql_file*`` variants apply migrations/<backend>/*.sql directly (psql in a single
  transaction for PostgreSQL; the sqlite3 Python module inside BEGIN/COMMIT and the sqlite3
  CLI for SQLite), so the SQL is verified even without a built server;
* ``*_binary`` variants run ``$FERROFLOW_BIN db upgrade <uri>`` and are skipped when
  FERROFLOW_BIN is not set.

Run with the venv that has mlflow==3.17.2:
    .venvs/mlflow3/bin/pytest -q compat-tests/test_schema_diff.py
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgutil  # noqa: E402
from schema_introspect import diff_schemas, introspect_postgres, introspect_sqlite  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PG_MIGRATIONS = sorted((REPO / "migrations" / "postgres").glob("[0-9][0-9][0-9][0-9]_*.sql"))
SQLITE_MIGRATIONS = sorted((REPO / "migrations" / "sqlite").glob("[0-9][0-9][0-9][0-9]_*.sql"))
ALEMBIC_HEAD = "dc11669786a5"
CMD_TIMEOUT = 300


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _mlflow_cli() -> list[str]:
    """The pinned Python mlflow CLI (the one next to the interpreter running pytest)."""
    exe = Path(sys.executable).parent / "mlflow"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mlflow")
    if found:
        return [found]
    return [sys.executable, "-m", "mlflow"]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CMD_TIMEOUT, **kwargs)
    if proc.returncode != 0:
        pytest.fail(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return proc


def _mlflow_db_upgrade(uri: str) -> None:
    env = dict(os.environ)
    env.pop("MLFLOW_TRACKING_URI", None)
    _run(_mlflow_cli() + ["db", "upgrade", uri], env=env)


def _ferroflow_bin() -> str:
    binary = os.environ.get("FERROFLOW_BIN")
    if not binary:
        pytest.skip(
            "FERROFLOW_BIN is not set: set it to the built ferroflow binary "
            "(e.g. target/debug/ferroflow) to test `ferroflow db upgrade`"
        )
    if not Path(binary).exists():
        pytest.fail(f"FERROFLOW_BIN={binary} does not exist")
    return binary


def _assert_same_schema(expected: dict, actual: dict, what: str) -> None:
    diffs = diff_schemas(expected, actual, labels=("mlflow db upgrade", what))
    if diffs:
        shown = "\n".join(diffs[:200])
        more = f"\n... and {len(diffs) - 200} more" if len(diffs) > 200 else ""
        pytest.fail(f"{len(diffs)} schema difference(s), {what} vs MLflow:\n{shown}{more}")


def _require_pg() -> None:
    if not pgutil.pg_available():
        pytest.skip(f"PostgreSQL not reachable at {pgutil.PG_HOST}:{pgutil.PG_PORT}")


# ---------------------------------------------------------------------------
# reference databases (built once per session with Python mlflow)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_reference() -> dict:
    _require_pg()
    name = pgutil.create_database("ff_schema_ref")
    try:
        _mlflow_db_upgrade(pgutil.pg_uri(name, driver=True))
        schema = introspect_postgres(pgutil.pg_uri(name))
    finally:
        pgutil.drop_database(name)
    assert schema["rows"]["alembic_version"] == [[ALEMBIC_HEAD]], schema["rows"]
    return schema


@pytest.fixture(scope="session")
def sqlite_reference(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("mlflow_ref") / "mlflow.db"
    _mlflow_db_upgrade(f"sqlite:///{path.resolve()}")
    schema = introspect_sqlite(str(path))
    assert schema["rows"]["alembic_version"] == [[ALEMBIC_HEAD]], schema["rows"]
    return schema


@pytest.fixture
def pg_database(request):
    """A fresh, empty PostgreSQL database (dropped afterwards); yields its name."""
    _require_pg()
    name = pgutil.create_database("ff_schema_" + request.node.name[:20])
    try:
        yield name
    finally:
        pgutil.drop_database(name)


# ---------------------------------------------------------------------------
# appliers for our migrations
# ---------------------------------------------------------------------------


def _apply_pg_sql_files(dbname: str) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql not found")
    assert PG_MIGRATIONS, "no migrations/postgres/NNNN_*.sql files"
    for f in PG_MIGRATIONS:
        # -1: the whole file in one transaction, exactly as the embedded migrator runs it.
        _run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(f), pgutil.pg_uri(dbname)])


def _apply_sqlite_sql_files_python(path: Path) -> None:
    assert SQLITE_MIGRATIONS, "no migrations/sqlite/NNNN_*.sql files"
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        for f in SQLITE_MIGRATIONS:
            conn.executescript("BEGIN;\n" + f.read_text() + "\nCOMMIT;")
    finally:
        conn.close()


def _apply_sqlite_sql_files_cli(path: Path) -> None:
    cli = shutil.which("sqlite3")
    if cli is None:
        pytest.skip("sqlite3 CLI not found")
    assert SQLITE_MIGRATIONS, "no migrations/sqlite/NNNN_*.sql files"
    for f in SQLITE_MIGRATIONS:
        # Plain `sqlite3 -bail db < file`, as documented in the migration header.
        _run([cli, "-bail", str(path)], input=f.read_text())


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def test_postgres_sql_file_matches_mlflow(pg_reference, pg_database):
    _apply_pg_sql_files(pg_database)
    ours = introspect_postgres(pgutil.pg_uri(pg_database))
    _assert_same_schema(pg_reference, ours, "migrations/postgres via psql -1")


def test_postgres_binary_matches_mlflow(pg_reference, pg_database):
    binary = _ferroflow_bin()
    _run([binary, "db", "upgrade", pgutil.pg_uri(pg_database)])
    ours = introspect_postgres(pgutil.pg_uri(pg_database))
    _assert_same_schema(pg_reference, ours, "ferroflow db upgrade (postgresql)")


def test_postgres_comparison_detects_differences(pg_reference, pg_database):
    """Guard against a vacuous comparison: a small schema change must show up."""
    _apply_pg_sql_files(pg_database)
    import psycopg2

    conn = psycopg2.connect(pgutil.pg_uri(pg_database))
    try:
        with conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE metrics ALTER COLUMN step SET DEFAULT 0")
            cur.execute("DROP INDEX index_tags_run_uuid")
    finally:
        conn.close()
    diffs = diff_schemas(pg_reference, introspect_postgres(pgutil.pg_uri(pg_database)))
    joined = "\n".join(diffs)
    assert "/tables/metrics/columns[4]/default" in joined, joined
    assert "/tables/tags/indexes/index_tags_run_uuid" in joined, joined


# ---------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "applier",
    [_apply_sqlite_sql_files_python, _apply_sqlite_sql_files_cli],
    ids=["python-sqlite3", "sqlite3-cli"],
)
def test_sqlite_sql_file_matches_mlflow(sqlite_reference, tmp_path, applier):
    path = tmp_path / "ours.db"
    applier(path)
    ours = introspect_sqlite(str(path))
    _assert_same_schema(sqlite_reference, ours, f"migrations/sqlite via {applier.__name__}")


def test_sqlite_binary_matches_mlflow(sqlite_reference, tmp_path):
    binary = _ferroflow_bin()
    path = (tmp_path / "ours.db").resolve()
    _run([binary, "db", "upgrade", f"sqlite:///{path}"])  # sqlite:////abs/path.db
    ours = introspect_sqlite(str(path))
    _assert_same_schema(sqlite_reference, ours, "ferroflow db upgrade (sqlite)")


def test_sqlite_comparison_detects_differences(sqlite_reference, tmp_path):
    """Guard against a vacuous comparison: a changed CHECK constraint must show up."""
    path = tmp_path / "changed.db"
    sql = "\n".join(f.read_text() for f in SQLITE_MIGRATIONS)
    changed = sql.replace("CHECK (lifecycle_stage IN ('active', 'deleted'))", "CHECK (1)", 1)
    assert changed != sql
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.executescript(changed)
    finally:
        conn.close()
    diffs = diff_schemas(sqlite_reference, introspect_sqlite(str(path)))
    assert any("/objects/table experiments/sql" in d for d in diffs), diffs
