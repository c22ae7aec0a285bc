//! Where SQLite and PostgreSQL differ. The SQL is written once; each
//! difference is a method here, so a reader finds every one in one place.

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
