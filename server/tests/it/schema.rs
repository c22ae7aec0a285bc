//! Schema creation and revision checks on both databases. (The full
//! comparison with `mlflow db upgrade` lives in compat-tests/test_schema_diff.py.)

use crate::common;

use common::Backend;
use ferroflow::config::DatabaseUri;
use ferroflow::store::migrate::ALEMBIC_HEAD;
use ferroflow::store::sql::SqlStore;
use sqlx::Connection;

async fn revision_checks(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (uri, pg) = common::fresh_db_uri(backend, dir.path()).await;
    let db = DatabaseUri::parse(&uri).unwrap();

    // Empty database → schema created; opening again finds it as is.
    drop(SqlStore::open(&db).await.expect("creates the schema"));
    drop(SqlStore::open(&db).await.expect("accepts its own schema"));

    // 65 tables incl. alembic_version, and the seed rows.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.connection_url())
        .await
        .unwrap();
    let tables_sql = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        }
    };
    let tables: i64 = sqlx::query_scalar(tables_sql)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tables, 65);
    let rev: String = sqlx::query_scalar("SELECT version_num FROM alembic_version")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rev, ALEMBIC_HEAD);
    let ws: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE name = 'default'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ws, 1);

    // Another revision → refuses to start, naming both and the way forward.
    sqlx::query("UPDATE alembic_version SET version_num = '0584bdc529eb'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let err = match SqlStore::open(&db).await {
        Ok(_) => panic!("must refuse a database at another revision"),
        Err(e) => e.message,
    };
    assert!(err.contains("0584bdc529eb"), "{err}");
    assert!(err.contains(ALEMBIC_HEAD), "{err}");
    assert!(err.contains("mlflow db upgrade"), "{err}");

    if let Some(name) = pg {
        common::drop_pg_database(&name).await;
    }
}

#[tokio::test]
async fn sqlite_schema_revisions() {
    revision_checks(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_schema_revisions() {
    revision_checks(Backend::Postgres).await;
}

#[tokio::test]
async fn tables_without_revision_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.db");
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let db = DatabaseUri::parse(&format!("sqlite:///{}", path.display())).unwrap();
    assert!(SqlStore::open(&db).await.is_err());
}
