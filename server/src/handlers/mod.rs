//! HTTP handlers by API area. Every tracking RPC is mounted twice, under
//! `/api/2.0/mlflow` (Python client) and `/ajax-api/2.0/mlflow` (web UI).

pub mod artifact_roots;
pub mod artifacts;
pub mod experiments;
pub mod logged_models;
pub mod meta;
pub mod registry;
pub mod runs;

use crate::error::ApiError;
use actix_web::{web, HttpResponse};
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        cfg.service(
            web::scope(prefix)
                .configure(experiments::routes)
                .configure(runs::routes)
                .configure(registry::routes)
                .configure(logged_models::routes)
                .configure(artifacts::tracking_routes),
        );
    }
    for prefix in [
        "/api/2.0/mlflow-artifacts",
        "/ajax-api/2.0/mlflow-artifacts",
    ] {
        cfg.service(web::scope(prefix).configure(artifacts::proxy_routes));
    }
    cfg.configure(meta::routes)
        .configure(registry::ui_routes)
        .configure(artifacts::ui_routes)
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        crate::error::ErrorCode::EndpointNotFound,
        "No such endpoint on this server.",
    ))
}
