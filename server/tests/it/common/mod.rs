//! Test harness: the real application on a free port (port 0) against a
//! fresh database per test — a SQLite file in a temp dir, or a new
//! PostgreSQL database dropped when the test ends, even when it panics.
//! PostgreSQL is at 127.0.0.1:5432, user root, trust auth, unless
//! FERROFLOW_PG_HOST / FERROFLOW_PG_PORT / FERROFLOW_PG_USER say otherwise
//! (the variables `compat-tests/pgutil.py` reads).

#![allow(dead_code)]

use ferroflow::config::{ArtifactSettings, DatabaseUri, Settings};
use ferroflow::startup::Application;
use serde_json::Value;
use sqlx::Connection;

/// `postgresql://user@host:port` of the test server.
pub fn pg_server_url() -> String {
    let var = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    format!(
        "postgresql://{}@{}:{}",
        var("FERROFLOW_PG_USER", "root"),
        var("FERROFLOW_PG_HOST", "127.0.0.1"),
        var("FERROFLOW_PG_PORT", "5432")
    )
}

/// The maintenance database, where test databases are created and dropped.
pub fn pg_admin_url() -> String {
    format!("{}/postgres", pg_server_url())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub db_uri: String,
    pg_database: Option<String>,
}

/// Creates an empty PostgreSQL database and returns its name.
pub async fn create_pg_database() -> String {
    let name = format!("ff_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL must run at {} (see README): {e}",
                pg_server_url()
            )
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    name
}

pub async fn drop_pg_database(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

pub async fn fresh_db_uri(backend: Backend, dir: &std::path::Path) -> (String, Option<String>) {
    match backend {
        Backend::Sqlite => (format!("sqlite:///{}/mlflow.db", dir.display()), None),
        Backend::Postgres => {
            let name = create_pg_database().await;
            (format!("{}/{name}", pg_server_url()), Some(name))
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_, _| {}).await
}

/// Like [`spawn_app`], with the settings adjusted first (`dir` is the
/// test's temporary folder, which lives as long as the app).
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings, &std::path::Path),
) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db_uri, pg_database) = fresh_db_uri(backend, dir.path()).await;
    let mut settings = Settings {
        database: DatabaseUri::parse(&db_uri).expect("db uri"),
        artifacts: ArtifactSettings::resolve(
            None,
            Some(dir.path().join("mlartifacts").display().to_string()),
            true,
        ),
        host: "127.0.0.1".into(),
        port: 0,
        workers: 2,
        ui: Default::default(),
        observability: Default::default(),
        limits: Default::default(),
        pool: Default::default(),
        security: Default::default(),
        auth: None,
    };
    adjust(&mut settings, dir.path());
    let app = Application::build(settings).await.expect("app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        dir,
        db_uri,
        pg_database,
    }
}

impl TestApp {
    pub async fn cleanup(mut self) {
        if let Some(name) = self.pg_database.take() {
            drop_pg_database(&name).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends `method` to `path` (from the root) with an optional JSON body;
    /// returns the status and the body as JSON (a string when it is not).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = match body {
            Some(body) => {
                let bytes = serde_json::to_vec(&body).expect("serialize body");
                self.request_raw(
                    method,
                    path,
                    &[("Content-Type", "application/json")],
                    Some(bytes.into()),
                )
                .await
            }
            None => self.request_raw(method, path, &[], None).await,
        };
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends `method` to `path` (from the root) with these headers and an
    /// optional body as given (a file upload, a wrong content type); returns
    /// the status and the body text exactly as the server wrote it.
    pub async fn request_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> (u16, String) {
        let mut req = self.client.request(method, self.url(path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// POSTs JSON to `/api/2.0/mlflow/<path>`; returns status and body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(
            reqwest::Method::POST,
            &format!("/api/2.0/mlflow/{path}"),
            Some(body),
        )
        .await
    }

    /// GETs `/api/2.0/mlflow/<path>?<query>`.
    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        self.request(
            reqwest::Method::GET,
            &format!("/api/2.0/mlflow/{path_and_query}"),
            None,
        )
        .await
    }

    pub async fn create_experiment(&self, name: &str) -> String {
        let (status, body) = self
            .post("experiments/create", serde_json::json!({"name": name}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["experiment_id"].as_str().expect("id").to_string()
    }

    pub async fn create_run(&self, experiment_id: &str, name: &str) -> String {
        let (status, body) = self
            .post(
                "runs/create",
                serde_json::json!({"experiment_id": experiment_id, "run_name": name, "start_time": 1000}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string()
    }
}

/// A test that panics never reaches `cleanup`: its database is dropped
/// here, on a thread of its own (a `Drop` cannot await, and the test's
/// runtime may be unwinding).
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            let dropper = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_pg_database(&name));
                }
            });
            let _ = dropper.join();
        }
    }
}

/// Runs one async test body against both databases.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = common::spawn_app(common::Backend::Sqlite).await;
                $body(&app).await;
                app.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = common::spawn_app(common::Backend::Postgres).await;
                $body(&app).await;
                app.cleanup().await;
            }
        }
    };
}
