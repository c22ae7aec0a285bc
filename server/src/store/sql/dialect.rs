//! Where SQLite and PostgreSQL differ. The SQL is written once; each
//! difference is a method here, so a reader finds every one in one place.

use super::query::Sql;

/// The database a [`super::SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The name `/metrics` and the logs use (`sqlite`, `postgresql`): the
    /// scheme of MLflow's database URIs.
    pub fn backend_name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgresql",
        }
    }

    /// Appends `expr ILIKE <pattern>`. SQLite has no ILIKE, and its LIKE is
    /// case-sensitive here (`PRAGMA case_sensitive_like`, as in MLflow), so
    /// it compares both sides lower-cased.
    pub fn push_ilike(self, q: &mut Sql, expr: &str, push_pattern: impl FnOnce(&mut Sql)) {
        match self {
            Dialect::Sqlite => {
                q.push("LOWER(").push(expr).push(") LIKE LOWER(");
                push_pattern(q);
                q.push(")");
            }
            Dialect::Postgres => {
                q.push(expr).push(" ILIKE ");
                push_pattern(q);
            }
        }
    }

    /// The clause that skips rows without limiting them, followed by the
    /// offset: SQLite accepts OFFSET only after a LIMIT (-1: none).
    pub fn offset_without_limit(self) -> &'static str {
        match self {
            Dialect::Sqlite => " LIMIT -1 OFFSET ",
            Dialect::Postgres => " OFFSET ",
        }
    }

    /// Whether a page of runs reads its params and tags in the runs query,
    /// aggregated per run as JSON (`json_group_array`), instead of in two
    /// more queries. On SQLite one query costs half as much as three, and
    /// sqlx hands rows over from SQLite's thread 50 at a time, so 100 rows
    /// instead of 1,100 spare most of those thread switches. On PostgreSQL
    /// the per-run subqueries cost more than they save.
    pub fn reads_run_data_as_json(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Whether writes go through a pool of their own: SQLite's single
    /// writer connection, which concurrent writers queue for in-process.
    /// PostgreSQL reads and writes through one pool.
    pub fn has_writer_pool(self) -> bool {
        self == Dialect::Sqlite
    }

    /// `SELECT COUNT(*)` of the tables named `$1` in the database's
    /// current schema (its catalog).
    pub fn count_tables_named(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
        }
    }

    /// The statement that makes schema creation one at a time across
    /// processes (two replicas starting on one empty PostgreSQL database),
    /// held until the transaction ends; none on SQLite.
    pub fn schema_creation_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7746391)"),
        }
    }

    /// What ends a `SELECT` whose rows the transaction must hold until it
    /// ends. SQLite needs nothing: its writes run one transaction at a time
    /// on the writer connection.
    pub fn lock_selected_rows(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ilike_lowers_both_sides_on_sqlite_only() {
        let mut sqlite = Sql::new("WHERE ");
        Dialect::Sqlite.push_ilike(&mut sqlite, "name", |q| {
            q.str("%A%");
        });
        assert_eq!(sqlite.text, "WHERE LOWER(name) LIKE LOWER($1)");
        let mut postgres = Sql::new("WHERE ");
        Dialect::Postgres.push_ilike(&mut postgres, "name", |q| {
            q.str("%A%");
        });
        assert_eq!(postgres.text, "WHERE name ILIKE $1");
    }
}
