//! HTTP handlers by API area. Every tracking RPC is mounted twice, under
//! `/api/2.0/mlflow` (Python client) and `/ajax-api/2.0/mlflow` (web UI);
//! the web UI's own files and its UI-only routes live in `ui` and `ui_api`.
//! Everything here is mounted under `--static-prefix` by `startup`.

pub mod artifacts;
pub mod experiments;
pub mod logged_models;
pub mod meta;
pub mod registry;
pub mod router;
pub mod runs;
pub mod ui;
pub mod ui_api;

pub use router::{RouteEntry, Router};

use crate::error::ApiError;
use actix_web::HttpResponse;
use serde::Serialize;

/// 200 with the message as JSON.
pub fn json<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// 200 with `{}`: the empty response message of writes.
pub fn empty() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}

/// Every route, relative to the static prefix. Unknown paths fall through
/// to the application's default service ([`not_found`]).
pub fn configure(r: &mut Router) {
    // Before the API scopes: a matching scope never falls through to
    // routes registered after it, and these share `/ajax-api/2.0/mlflow`.
    ui_api::routes(r);
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        r.scope(prefix, |r| {
            experiments::routes(r);
            runs::routes(r);
            registry::routes(r);
            logged_models::routes(r);
            artifacts::tracking_routes(r);
            crate::auth::api::routes_v2(r);
        });
    }
    crate::auth::api::routes_v3(r);
    for prefix in [
        "/api/2.0/mlflow-artifacts",
        "/ajax-api/2.0/mlflow-artifacts",
    ] {
        r.scope(prefix, artifacts::proxy_routes);
    }
    meta::routes(r);
    registry::ui_routes(r);
    artifacts::ui_routes(r);
    crate::graphql::routes(r);
    ui::routes(r);
}

/// JSON 404 for every path no route matches.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        crate::error::ErrorCode::EndpointNotFound,
        "No such endpoint on this server.",
    ))
}
