//! ferroflow: the MLflow tracking server API in Rust.
//!
//! Layout: `handlers` (HTTP, by API area) → `store` (one trait, SQL
//! implementation for SQLite and PostgreSQL) and `artifacts` (one trait,
//! repositories); `search` parses MLflow's filter grammar; `wire` holds the
//! JSON types; `request` reads requests the way MLflow does; `security`
//! (host, CORS, frame headers) and `auth` (basic auth, the route policy
//! table) wrap every route.

pub mod artifacts;
pub mod auth;
pub mod config;
pub mod error;
pub mod gc;
pub mod graphql;
pub mod handlers;
pub mod observe;
pub mod pycompat;
pub mod request;
pub mod search;
pub mod security;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod validation;
pub mod wire;

/// The MLflow version whose API this server speaks.
pub const MLFLOW_VERSION: &str = "3.17.2";
