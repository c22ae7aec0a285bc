//! The routes only the web UI calls: `mlflow server` registers them beside
//! the protobuf API (Flask and FastAPI routes), under `/ajax-api` alone.
//!
//! The GenAI and assistant panels ask for features ferroflow does not have
//! (traces, the evaluation datasets store, an AI gateway, the assistant):
//! those calls get the answer `mlflow server` gives when the feature holds
//! nothing, so the pages render their empty state.

use super::{json, Router};
use crate::artifacts::{resolve_uri, ArtifactPath, ByteStream};
use crate::error::{ApiError, ApiResult};
use crate::request::Msg;
use crate::state::AppState;
use crate::wire::requests::SearchDatasets;
use crate::wire::responses::MetricsResponse;
use crate::wire::DatasetSummary;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::json;

/// `get-history-bulk`: most runs per request and points per response.
const MAX_BULK_RUN_IDS: usize = 100;
const MAX_BULK_HISTORY_RESULTS: i64 = 25_000;
/// `search-datasets`: most experiments per request.
const MAX_DATASET_EXPERIMENT_IDS: usize = 20;
/// `upload-artifact`: the UI's upload limit.
const MAX_UI_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

pub fn routes(r: &mut Router) {
    let v2 = "/ajax-api/2.0/mlflow";
    let v3 = "/ajax-api/3.0/mlflow";
    r.get(&format!("{v2}/metrics/get-history-bulk"), get_history_bulk)
        .post(
            &format!("{v2}/experiments/search-datasets"),
            search_datasets,
        )
        .post(&format!("{v2}/upload-artifact"), upload_artifact)
        .resource(&format!("{v2}/gateway-proxy"), |m| {
            m.get(gateway_proxy).post(gateway_proxy);
        })
        .resource(&format!("{v3}/ui-telemetry"), |m| {
            m.get(ui_telemetry_config).post(ui_telemetry_records);
        })
        .get(&format!("{v3}/assistant/config"), assistant_config)
        .get(&format!("{v3}/assistant/providers"), assistant_providers);
    for genai_list in ["traces/search", "traces/metrics", "datasets/search"] {
        r.post(&format!("{v3}/{genai_list}"), empty_list);
    }
}

/// Reads every value of `name` from a query string (`run_id=a&run_id=b`).
fn query_values(req: &HttpRequest, name: &str) -> Vec<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `GET metrics/get-history-bulk?run_id=…&run_id=…&metric_key=&max_results=`:
/// the metric's whole history over several runs (the metric page).
async fn get_history_bulk(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let run_ids = query_values(&req, "run_id");
    if run_ids.is_empty() {
        return Err(ApiError::invalid_parameter(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if run_ids.len() > MAX_BULK_RUN_IDS {
        return Err(ApiError::invalid_parameter(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_BULK_RUN_IDS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    let Some(metric_key) = query_values(&req, "metric_key").into_iter().next() else {
        return Err(ApiError::invalid_parameter(
            "GetMetricHistoryBulk request must specify a metric_key.",
        ));
    };
    let max_results = match query_values(&req, "max_results").into_iter().next() {
        None => MAX_BULK_HISTORY_RESULTS,
        Some(text) => text.trim().parse::<i64>().map_err(|_| {
            ApiError::invalid_parameter(format!(
                "Invalid value {text} for parameter 'max_results' supplied: it must be an integer."
            ))
        })?,
    }
    .min(MAX_BULK_HISTORY_RESULTS);
    let metrics = state
        .store
        .get_metric_history_bulk(&run_ids, &metric_key, max_results)
        .await?;
    Ok(json(&MetricsResponse {
        metrics: &metrics,
        next_page_token: None,
    }))
}

#[derive(Serialize)]
struct SearchDatasetsResponse<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    dataset_summaries: &'a [DatasetSummary],
}

/// `POST experiments/search-datasets {experiment_ids}`: the datasets the
/// experiments' runs used, for the runs table's dataset column and filter.
async fn search_datasets(
    state: web::Data<AppState>,
    Msg(req): Msg<SearchDatasets>,
) -> ApiResult<HttpResponse> {
    let summaries = dataset_summaries(&state, &req.experiment_ids).await?;
    Ok(json(&SearchDatasetsResponse {
        dataset_summaries: &summaries,
    }))
}

/// MLflow's `SearchDatasets` with its request checks, shared by the REST
/// route and GraphQL's `mlflowSearchDatasets`.
pub async fn dataset_summaries(
    state: &AppState,
    experiment_ids: &[String],
) -> ApiResult<Vec<DatasetSummary>> {
    if experiment_ids.is_empty() {
        return Err(ApiError::invalid_parameter(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if experiment_ids.len() > MAX_DATASET_EXPERIMENT_IDS {
        return Err(ApiError::invalid_parameter(format!(
            "SearchDatasets request cannot specify more than {MAX_DATASET_EXPERIMENT_IDS} \
             experiment_ids. Received {} experiment_ids.",
            experiment_ids.len()
        )));
    }
    state.store.search_datasets(experiment_ids).await
}

/// `POST upload-artifact?run_uuid=&path=` with the file as the raw body
/// (at most 10 MB): writes it below the run's artifact root.
async fn upload_artifact(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let first = |name: &str| {
        query_values(&req, name)
            .into_iter()
            .next()
            .filter(|v| !v.is_empty())
    };
    let run_id = first("run_uuid")
        .ok_or_else(|| ApiError::invalid_parameter("Request must specify run_uuid."))?;
    let path =
        first("path").ok_or_else(|| ApiError::invalid_parameter("Request must specify path."))?;
    let rel = ArtifactPath::parse(&path)?;
    if rel.is_root() {
        return Err(ApiError::invalid_parameter("Request must specify path."));
    }
    let too_large = || ApiError::invalid_parameter("Artifact size is too large. Max size is 10MB.");
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_UI_UPLOAD_BYTES) {
        return Err(too_large());
    }
    // The run must exist before any byte is stored.
    let run = state.store.get_run(&run_id).await?;
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("Could not read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_UI_UPLOAD_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::invalid_parameter("Request must specify data."));
    }
    let (repo, base) = resolve_uri(
        &state.settings.artifacts,
        state.artifacts.as_ref(),
        &run.info.artifact_uri,
    )?;
    let bytes: Bytes = body.freeze();
    let stream: ByteStream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) }).boxed();
    repo.put(&base.join(&rel), stream).await?;
    Ok(HttpResponse::Ok().content_type("application/json").finish())
}

/// `gateway-proxy`: `mlflow server` without a deployments target (no AI
/// gateway configured) answers as an empty gateway.
async fn gateway_proxy() -> HttpResponse {
    json(&json!({"endpoints": []}))
}

/// `GET ui-telemetry`: ferroflow sends no telemetry, so the UI is told to
/// collect none (what `mlflow server` answers with telemetry disabled).
async fn ui_telemetry_config() -> HttpResponse {
    json(&json!({
        "disable_ui_events": [],
        "disable_ui_telemetry": true,
        "ui_rollout_percentage": 0
    }))
}

async fn ui_telemetry_records() -> HttpResponse {
    json(&json!({"status": "disabled"}))
}

/// The assistant panel: no providers or projects configured.
async fn assistant_config() -> HttpResponse {
    json(&json!({"providers": {}, "projects": {}, "remote_access_allowed": false}))
}

async fn assistant_providers() -> HttpResponse {
    json(&json!({"providers": []}))
}

/// Traces, trace metrics and evaluation datasets: ferroflow stores none,
/// so every list is empty — MLflow's empty response message is `{}`.
async fn empty_list() -> HttpResponse {
    super::empty()
}
