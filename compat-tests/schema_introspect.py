"""Normalized, comparable descriptions of a database schema (PostgreSQL and SQLite).

``introspect_postgres(dsn)`` and ``introspect_sqlite(path)`` return plain dicts/lists
(JSON-serializable) that describe everything that matters for schema compatibility with
MLflow; two databases have the same schema iff the dicts are equal. ``diff_schemas`` turns
two such dicts into readable difference lines.

What is captured
----------------
PostgreSQL (schema ``public`` unless told otherwise, read from pg_catalog):
  * every relation (tables, views, ...) with kind and persistence;
  * columns in physical order: name, type (format_type), NOT NULL, default/generation
    expression (pg_get_expr), identity / generated kind, non-default collation, comment.
    ``position`` is the 1-based position among live columns, so that columns dropped by
    an old migration (which leave holes in attnum) do not count;
  * constraints (PK, UNIQUE, FK, CHECK, EXCLUDE) by name with pg_get_constraintdef;
  * indexes by name with pg_indexes.indexdef;
  * triggers (non-internal) with pg_get_triggerdef and enabled state;
  * sequences with their parameters, last_value and the column that owns them
    (dependency ``a`` = serial/OWNED BY, ``i`` = identity);
  * functions/procedures with pg_get_functiondef, non-table types (domains, enums, ...),
    installed extensions and non-system schemas;
  * the rows of alembic_version and workspaces, and the row count of every table.
SQLite:
  * every sqlite_master entry (type, name, tbl_name, CREATE text with whitespace
    normalized: runs of whitespace collapse to one space and whitespace next to
    ``(``, ``)`` and ``,`` is dropped; nothing else is changed, so CHECK constraints,
    constraint names and quoting are compared);
  * per table: PRAGMA table_xinfo (superset of table_info, includes generated columns),
    index_list (without the creation-order ``seq``) with index_xinfo for each index, and
    foreign_key_list;
  * PRAGMA user_version, the rows of alembic_version and workspaces, row counts.
"""

from __future__ import annotations

import difflib
import json
import pprint
import re
import sqlite3
import sys
from typing import Any

SEED_TABLES = ("alembic_version", "workspaces")


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------


def _fetch(cur, query: str, params: tuple = ()) -> list[tuple]:
    cur.execute(query, params)
    return cur.fetchall()


def _pg_rows(cur, schema: str, table: str) -> list[list[Any]] | None:
    from psycopg2 import sql

    exists = _fetch(
        cur,
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    if not exists:
        return None
    cur.execute(
        sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    )
    rows = [[_jsonable(v) for v in r] for r in cur.fetchall()]
    return sorted(rows, key=lambda r: json.dumps(r, default=str))


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (bytes, memoryview)):
        return bytes(v).hex()
    return str(v)


def introspect_postgres(dsn: str, schema: str = "public") -> dict:
    """Describe the schema ``schema`` of the PostgreSQL database at ``dsn``.

    ``dsn`` is anything psycopg2.connect accepts, e.g.
    ``postgresql://root@127.0.0.1:5432/dbname``.
    """
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        conn.set_session(readonly=True, autocommit=True)
        with conn.cursor() as cur:
            # Stable textual output of pg_get_*def / format_type, whatever the server config.
            cur.execute("SET search_path = pg_catalog")
            return _introspect_pg(cur, schema)
    finally:
        conn.close()


def _introspect_pg(cur, schema: str) -> dict:
    tables: dict[str, dict] = {}
    relations = _fetch(
        cur,
        """
        SELECT c.oid, c.relname, c.relkind, c.relpersistence,
               obj_description(c.oid, 'pg_class')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        ORDER BY c.relname
        """,
        (schema,),
    )
    for oid, relname, relkind, persistence, comment in relations:
        columns = []
        col_rows = _fetch(
            cur,
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                   CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
                   col_description(a.attrelid, a.attnum)
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            LEFT JOIN pg_collation co ON co.oid = a.attcollation
            WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """,
            (oid,),
        )
        for pos, (name, typ, notnull, default, identity, generated, coll, ccomment) in enumerate(
            col_rows, start=1
        ):
            columns.append(
                {
                    "position": pos,
                    "name": name,
                    "type": typ,
                    "not_null": notnull,
                    "default": default,
                    "identity": identity or None,
                    "generated": generated or None,
                    "collation": coll,
                    "comment": ccomment,
                }
            )
        constraints = {
            name: {"type": contype, "definition": definition}
            for name, contype, definition in _fetch(
                cur,
                "SELECT conname, contype, pg_get_constraintdef(oid, true) "
                "FROM pg_constraint WHERE conrelid = %s",
                (oid,),
            )
        }
        indexes = {
            name: definition
            for name, definition in _fetch(
                cur,
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = %s AND tablename = %s",
                (schema, relname),
            )
        }
        triggers = {
            name: {"definition": definition, "enabled": enabled}
            for name, definition, enabled in _fetch(
                cur,
                "SELECT tgname, pg_get_triggerdef(oid, true), tgenabled::text "
                "FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal",
                (oid,),
            )
        }
        tables[relname] = {
            "kind": relkind,
            "persistence": persistence,
            "comment": comment,
            "columns": columns,
            "constraints": constraints,
            "indexes": indexes,
            "triggers": triggers,
        }

    sequences = {}
    for seqoid, name, dtype, start, minv, maxv, inc, cycle, cache, last in _fetch(
        cur,
        """
        SELECT c.oid, s.sequencename, s.data_type::text, s.start_value, s.min_value,
               s.max_value, s.increment_by, s.cycle, s.cache_size, s.last_value
        FROM pg_sequences s
        JOIN pg_namespace n ON n.nspname = s.schemaname
        JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
        WHERE s.schemaname = %s
        """,
        (schema,),
    ):
        owners = _fetch(
            cur,
            """
            SELECT d.deptype::text, t.relname, a.attname
            FROM pg_depend d
            JOIN pg_class t ON t.oid = d.refobjid
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = %s
              AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
            """,
            (seqoid,),
        )
        sequences[name] = {
            "data_type": dtype,
            "start": start,
            "min": minv,
            "max": maxv,
            "increment": inc,
            "cycle": cycle,
            "cache": cache,
            "last_value": last,
            "owned_by": sorted(f"{t}.{c} ({dep})" for dep, t, c in owners),
        }

    functions = {}
    for name, args, kind, definition in _fetch(
        cur,
        """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prokind::text,
               CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) END
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = %s
        """,
        (schema,),
    ):
        functions[f"{name}({args})"] = {"kind": kind, "definition": definition}

    types = {
        name: {"type": typtype, "base": base}
        for name, typtype, base in _fetch(
            cur,
            """
            SELECT t.typname, t.typtype::text,
                   CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
            FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            LEFT JOIN pg_class c ON c.oid = t.typrelid
            WHERE n.nspname = %s
              AND t.typcategory <> 'A'
              AND (t.typrelid = 0 OR c.relkind = 'c')
            """,
            (schema,),
        )
    }

    extensions = sorted(r[0] for r in _fetch(cur, "SELECT extname FROM pg_extension"))
    schemas = sorted(
        r[0]
        for r in _fetch(
            cur,
            "SELECT nspname FROM pg_namespace "
            "WHERE nspname NOT LIKE %s AND nspname <> 'information_schema'",
            ("pg\\_%",),
        )
    )

    rows = {t: _pg_rows(cur, schema, t) for t in SEED_TABLES}
    row_counts = {}
    from psycopg2 import sql

    for relname, info in tables.items():
        if info["kind"] in ("r", "p"):
            cur.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(relname)
                )
            )
            row_counts[relname] = cur.fetchone()[0]

    return {
        "tables": tables,
        "sequences": sequences,
        "functions": functions,
        "types": types,
        "extensions": extensions,
        "schemas": schemas,
        "rows": rows,
        "row_counts": row_counts,
    }


# ---------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------


_TABLE_CONSTRAINT = re.compile(r"^(CONSTRAINT|CHECK|FOREIGN|PRIMARY|UNIQUE)\b", re.IGNORECASE)


def _split_top_level(body: str) -> list[str]:
    """Splits a CREATE TABLE body at commas outside parentheses and quotes."""
    items, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return items


def normalize_sql(text: str | None) -> str | None:
    """Normalizes a CREATE statement from sqlite_master: whitespace, and the
    order of table constraints. Columns keep their order; table constraints
    are compared as a set, because `mlflow db upgrade` itself emits them in
    a different order from run to run (Alembic's batch mode rebuilds tables
    from Python sets, whose order depends on PYTHONHASHSEED)."""
    if text is None:
        return None
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s*([(),])\s*", r"\1", text)
    head, sep, rest = text.partition("(")
    if not sep or not head.upper().startswith("CREATE TABLE") or not rest.endswith(")"):
        return text
    items = _split_top_level(rest[:-1])
    columns = [i for i in items if not _TABLE_CONSTRAINT.match(i)]
    constraints = sorted(i for i in items if _TABLE_CONSTRAINT.match(i))
    return f"{head}({','.join(columns + constraints)})"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pragma(conn: sqlite3.Connection, pragma: str, arg: str) -> list[dict]:
    cur = conn.execute(f"PRAGMA {pragma}({_quote(arg)})")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def introspect_sqlite(path: str) -> dict:
    """Describe the SQLite database file at ``path`` (opened read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _introspect_sqlite(conn)
    finally:
        conn.close()


def _introspect_sqlite(conn: sqlite3.Connection) -> dict:
    objects = {}
    table_names = []
    for typ, name, tbl_name, text in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    ):
        objects[f"{typ} {name}"] = {"tbl_name": tbl_name, "sql": normalize_sql(text)}
        if typ == "table":
            table_names.append(name)

    tables = {}
    for table in table_names:
        indexes = {}
        for row in _pragma(conn, "index_list", table):
            row = dict(row)
            row.pop("seq", None)  # creation order of the indexes, not part of the schema
            name = row.pop("name")
            row["columns"] = _pragma(conn, "index_xinfo", name)
            indexes[name] = row
        tables[table] = {
            "columns": _pragma(conn, "table_xinfo", table),
            "indexes": indexes,
            "foreign_keys": _pragma(conn, "foreign_key_list", table),
        }

    rows = {}
    for t in SEED_TABLES:
        if t in tables:
            data = conn.execute(f"SELECT * FROM {_quote(t)}").fetchall()
            rows[t] = sorted(
                ([_jsonable(v) for v in r] for r in data),
                key=lambda r: json.dumps(r, default=str),
            )
        else:
            rows[t] = None
    row_counts = {
        t: conn.execute(f"SELECT count(*) FROM {_quote(t)}").fetchone()[0]
        for t in table_names
        if not objects[f"table {t}"]["sql"].upper().startswith("CREATE VIRTUAL")
    }
    return {
        "objects": objects,
        "tables": tables,
        "user_version": conn.execute("PRAGMA user_version").fetchone()[0],
        "rows": rows,
        "row_counts": row_counts,
    }


# ---------------------------------------------------------------------------
# Diffing
# ---------------------------------------------------------------------------


def diff_schemas(
    expected: Any, actual: Any, path: str = "", labels: tuple[str, str] = ("mlflow", "ours")
) -> list[str]:
    """Readable differences between two introspection results (empty list = equal)."""
    exp_label, act_label = labels
    out: list[str] = []
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}/{key}"
            if key not in actual:
                out.append(f"{sub}: only in {exp_label}: {_short(expected[key])}")
            elif key not in expected:
                out.append(f"{sub}: only in {act_label}: {_short(actual[key])}")
            else:
                out.extend(diff_schemas(expected[key], actual[key], sub, labels))
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) == len(actual):
            for i, (e, a) in enumerate(zip(expected, actual)):
                out.extend(diff_schemas(e, a, f"{path}[{i}]", labels))
        else:
            udiff = difflib.unified_diff(
                pprint.pformat(expected, width=100).splitlines(),
                pprint.pformat(actual, width=100).splitlines(),
                exp_label,
                act_label,
                lineterm="",
            )
            out.append(f"{path}: lists differ in length:\n    " + "\n    ".join(udiff))
    elif expected != actual:
        out.append(f"{path}:\n    {exp_label}: {expected!r}\n    {act_label}: {actual!r}")
    return out


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + "..."


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("postgres", "sqlite"):
        print(f"usage: {argv[0]} postgres DSN | sqlite PATH", file=sys.stderr)
        return 2
    fn = introspect_postgres if argv[1] == "postgres" else introspect_sqlite
    json.dump(fn(argv[2]), sys.stdout, indent=1, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
