//! The store traits on MLflow's SQL schema, for SQLite and PostgreSQL.
//!
//! Each trait is implemented in the file that holds its SQL
//! (`experiments.rs`: [`super::ExperimentStore`], `runs.rs`:
//! [`super::RunStore`], …). One implementation serves both databases
//! through sqlx's `Any` driver:
//! the SQL is written once with `$N` placeholders (both drivers accept them)
//! and the few dialect differences (case-insensitive LIKE, catalog queries,
//! booleans) go through [`Dialect`]. SQLite runs in WAL mode with a busy
//! timeout, and all its writes go through a one-connection writer pool, so
//! concurrent writers queue in-process instead of failing with "database is
//! locked". Every multi-row write is one transaction.

mod datasets;
mod dialect;
mod experiments;
mod filters;
pub mod gc;
mod logged_models;
mod metrics;
mod query;
mod registry;
mod runs;
mod stats;

use super::StoreBackend;
use crate::config::{DatabaseUri, PoolSettings};
use crate::error::ApiResult;
use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

pub use dialect::Dialect;

pub struct SqlStore {
    /// Reads (and, on PostgreSQL, writes).
    pool: AnyPool,
    /// Writes. On SQLite a single connection; on PostgreSQL the same pool.
    writer: AnyPool,
    dialect: Dialect,
    /// Prefix of new experiments' `artifact_location`.
    default_artifact_root: String,
}

/// Milliseconds since the epoch, as MLflow stores times.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// Pool defaults; `config::PoolSettings` (--db-max-connections,
// --db-acquire-timeout) overrides the size and the acquire timeout.

/// How long a request waits for a SQLite connection. The writer is a single
/// connection that every write queues for in-process, so this is a queue
/// bound under load, not a liveness check (a local file does not go away).
const SQLITE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(60);
/// SQLite read connections (writes share one more).
const SQLITE_READERS: u32 = 4;
/// PostgreSQL connections per server process.
const POSTGRES_MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a PostgreSQL connection, connecting
/// included: sqlx retries a refused connect until then, and it also bounds a
/// connect to a host that does not answer. When the database is down each
/// request fails with `503 TEMPORARILY_UNAVAILABLE` after at most this long,
/// instead of waiting for the TCP timeouts.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pooled PostgreSQL connections are pinged before they are handed out, so
/// a connection the server closed (restart, failover, `pg_terminate_backend`)
/// is replaced instead of failing the request that drew it.
const POSTGRES_TEST_BEFORE_ACQUIRE: bool = true;
/// Idle PostgreSQL connections are closed after this (a firewall or proxy
/// may drop them silently long before).
const POSTGRES_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 30000; \
     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON;";

impl SqlStore {
    /// Connects with the default pool settings, then creates or checks
    /// MLflow's schema.
    pub async fn open(uri: &DatabaseUri) -> ApiResult<SqlStore> {
        Self::open_with(uri, &PoolSettings::default()).await
    }

    /// [`SqlStore::open`] with pool sizes and timeouts from the settings.
    pub async fn open_with(uri: &DatabaseUri, pool_settings: &PoolSettings) -> ApiResult<SqlStore> {
        sqlx::any::install_default_drivers();
        let url = uri.connection_url();
        let (pool, writer, dialect) = match uri {
            DatabaseUri::Sqlite { path } => {
                if let Some(parent) = path.as_ref().and_then(|p| p.parent()) {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
                let acquire_timeout = pool_settings
                    .acquire_timeout
                    .unwrap_or(SQLITE_ACQUIRE_TIMEOUT);
                let options = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(acquire_timeout)
                        .after_connect(|conn, _| {
                            Box::pin(async move {
                                conn.execute(SQLITE_PRAGMAS).await?;
                                Ok(())
                            })
                        })
                };
                // An in-memory database exists once per connection: one
                // connection serves everything.
                let readers = if path.is_some() {
                    pool_settings.max_connections.unwrap_or(SQLITE_READERS)
                } else {
                    1
                };
                let pool = options(readers).connect(&url).await?;
                let writer = if path.is_some() {
                    options(1).connect(&url).await?
                } else {
                    pool.clone()
                };
                (pool, writer, Dialect::Sqlite)
            }
            DatabaseUri::Postgres { .. } => {
                let pool = AnyPoolOptions::new()
                    .max_connections(
                        pool_settings
                            .max_connections
                            .unwrap_or(POSTGRES_MAX_CONNECTIONS),
                    )
                    .acquire_timeout(
                        pool_settings
                            .acquire_timeout
                            .unwrap_or(POSTGRES_ACQUIRE_TIMEOUT),
                    )
                    .test_before_acquire(POSTGRES_TEST_BEFORE_ACQUIRE)
                    .idle_timeout(POSTGRES_IDLE_TIMEOUT)
                    .connect(&url)
                    .await?;
                (pool.clone(), pool, Dialect::Postgres)
            }
        };
        super::migrate::ensure_schema(&writer, dialect).await?;
        Ok(SqlStore {
            pool,
            writer,
            dialect,
            default_artifact_root: "mlflow-artifacts:/".to_string(),
        })
    }

    /// Sets the prefix of new experiments' `artifact_location`.
    pub fn with_default_artifact_root(mut self, root: &str) -> SqlStore {
        self.default_artifact_root = root.to_string();
        self
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

#[async_trait]
impl StoreBackend for SqlStore {
    fn backend(&self) -> &'static str {
        self.dialect.backend_name()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> ApiResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
