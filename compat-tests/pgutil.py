"""Helpers for tests that need throw-away PostgreSQL databases.

The test PostgreSQL server is expected at 127.0.0.1:5432, user ``root``, trust
authentication (override with FERROFLOW_PG_HOST / FERROFLOW_PG_PORT / FERROFLOW_PG_USER).
Databases are created from the ``postgres`` maintenance database with unique names so
that several test sessions can run side by side.
"""

from __future__ import annotations

import os
import re
import uuid

import psycopg2
from psycopg2 import sql

PG_HOST = os.environ.get("FERROFLOW_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FERROFLOW_PG_PORT", "5432"))
PG_USER = os.environ.get("FERROFLOW_PG_USER", "root")
ADMIN_DB = "postgres"


def _admin_connection():
    conn = psycopg2.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=ADMIN_DB, connect_timeout=5
    )
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run inside a transaction
    return conn


def pg_available() -> bool:
    """True if the test PostgreSQL server accepts connections."""
    try:
        _admin_connection().close()
        return True
    except psycopg2.OperationalError:
        return False


def create_database(prefix: str) -> str:
    """Create an empty database named ``<prefix>_<random>`` and return its name."""
    clean = re.sub(r"[^a-z0-9_]", "_", prefix.lower()).strip("_") or "ff"
    name = f"{clean[:40]}_{uuid.uuid4().hex[:12]}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return name


def drop_database(name: str) -> None:
    """Drop a database created by :func:`create_database` (terminating open sessions)."""
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


def pg_uri(name: str, driver: bool = False) -> str:
    """URI of database ``name``.

    ``driver=False``: ``postgresql://root@127.0.0.1:5432/<name>`` (libpq/psycopg2 DSN,
    psql, and MLflow's URI spelling as given to ``ferroflow``).
    ``driver=True``: ``postgresql+psycopg2://...`` for SQLAlchemy / Python ``mlflow``
    (SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed).
    """
    scheme = "postgresql+psycopg2" if driver else "postgresql"
    return f"{scheme}://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
