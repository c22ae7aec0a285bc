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
}
