//! The server's integration tests, in one test binary: each file is a
//! module, `common` is the harness (the real app on port 0 against a fresh
//! SQLite file or PostgreSQL database), `artifact_suite` the checks every
//! artifact repository passes. One binary links once instead of once per
//! file. Run one area with e.g. `cargo test -p ferroflow-server --test it gc::`.

#[macro_use]
mod common;
mod artifact_suite;

mod api;
mod artifacts;
mod auth;
mod gc;
mod graphql;
mod logged_models;
mod observe;
mod registry;
mod s3;
mod schema;
mod search_fuzz;
mod security;
mod settings;
mod snapshots;
mod store_errors;
mod ui;
