//! MLflow's schema, created by our own migrations (`migrations/<backend>/`)
//! and checked against the Alembic revision MLflow records.
//!
//! The migration files are embedded with `sqlx::migrate!` but applied here,
//! in one transaction, without sqlx's `_sqlx_migrations` bookkeeping table:
//! the database must hold exactly MLflow's tables, and `alembic_version`
//! already records which schema it has. So:
//! - no `alembic_version` and no MLflow tables → create the schema;
//! - `alembic_version` at [`ALEMBIC_HEAD`] → ready (whoever created it);
//! - any other revision, or MLflow tables without a revision → refuse to
//!   start, naming both revisions and the way forward.

use super::sql::Dialect;
use crate::error::{ApiError, ApiResult};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Row};

/// The Alembic head of MLflow 3.17.2, written into `alembic_version`.
pub const ALEMBIC_HEAD: &str = "dc11669786a5";

static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");

/// Tables whose presence means "an MLflow database" even without a revision.
const MLFLOW_MARKER_TABLE: &str = "experiments";

async fn table_exists<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
    dialect: Dialect,
    table: &str,
) -> ApiResult<bool> {
    let n: i64 = sqlx::query_scalar(dialect.count_tables_named())
        .bind(table)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

async fn current_revision(pool: &AnyPool) -> ApiResult<Option<String>> {
    let row = sqlx::query("SELECT version_num FROM alembic_version")
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

fn wrong_revision(found: &str) -> ApiError {
    ApiError::internal(format!(
        "The database is at MLflow schema revision '{found}', but ferroflow serves revision \
         '{ALEMBIC_HEAD}' (MLflow 3.17.2). Back up the database, then run \
         `mlflow db upgrade <uri>` with mlflow==3.17.2 to bring it to '{ALEMBIC_HEAD}', \
         and start ferroflow again."
    ))
}

/// Creates the schema on an empty database or checks an existing one.
pub async fn ensure_schema(pool: &AnyPool, dialect: Dialect) -> ApiResult<()> {
    if table_exists(pool, dialect, "alembic_version").await? {
        return match current_revision(pool).await? {
            Some(rev) if rev == ALEMBIC_HEAD => Ok(()),
            Some(rev) => Err(wrong_revision(&rev)),
            None => Err(wrong_revision("(none: alembic_version is empty)")),
        };
    }
    if table_exists(pool, dialect, MLFLOW_MARKER_TABLE).await? {
        return Err(wrong_revision("(unknown: no alembic_version table)"));
    }
    let migrator = match dialect {
        Dialect::Sqlite => &SQLITE,
        Dialect::Postgres => &POSTGRES,
    };
    let mut tx = pool.begin().await?;
    if let Some(lock) = dialect.schema_creation_lock() {
        // Two replicas starting on one empty database: the second waits,
        // then finds the schema made by the first.
        sqlx::query(lock).execute(&mut *tx).await?;
        if table_exists(&mut *tx, dialect, "alembic_version").await? {
            tx.commit().await?;
            return Box::pin(ensure_schema(pool, dialect)).await;
        }
    }
    for migration in migrator.iter() {
        tracing::info!(version = migration.version, description = %migration.description, "applying migration");
        sqlx::raw_sql(&migration.sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    match current_revision(pool).await? {
        Some(rev) if rev == ALEMBIC_HEAD => Ok(()),
        other => Err(ApiError::internal(format!(
            "Migrations ran but alembic_version is {other:?}, expected '{ALEMBIC_HEAD}'."
        ))),
    }
}
