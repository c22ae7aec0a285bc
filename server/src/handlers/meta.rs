//! Liveness (`/health`), readiness (`/ready`), version and `server-info`.

use super::Router;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub fn routes(r: &mut Router) {
    r.get("/health", health)
        .get("/ready", ready)
        .get("/version", version);
    for prefix in ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] {
        r.get(&format!("{prefix}/server-info"), server_info);
    }
}

/// Liveness: `OK` as `mlflow server` answers, whatever the database does
/// (restarting the server would not bring a lost database back).
async fn health() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK")
}

/// Readiness: `OK` when the database answers, else 503, so a replica that
/// lost its database leaves the Service until it is back.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("OK"),
        Err(e) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("database unavailable: {}", e.message)),
    }
}

async fn version() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(crate::MLFLOW_VERSION)
}

/// The multipart flags are what the client checks before it uses the
/// presigned `mpu/*` and `presigned/*` routes: true only when the proxy
/// serves an object store (an S3 destination), as in `mlflow server`.
async fn server_info(state: web::Data<AppState>) -> HttpResponse {
    let direct = state
        .artifacts
        .as_ref()
        .filter(|_| state.settings.artifacts.serve_artifacts)
        .is_some_and(|repo| repo.direct_transfer().is_some());
    HttpResponse::Ok().json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": direct,
        "multipart_downloads_enabled": direct,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {"gateway": false}
    }))
}
