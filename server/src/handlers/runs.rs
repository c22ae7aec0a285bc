//! Runs and metrics: lifecycle, logging, search, metric history.

use super::{empty, json, Router};
use crate::error::{ApiError, ApiResult};
use crate::request::Msg;
use crate::state::AppState;
use crate::store::{NewMetric, NewRun, Page, ParamValueConflicts, RunQuery, RunUpdate};
use crate::validation;
use crate::wire::de::parse_f64;
use crate::wire::requests::{
    CreateRun, DeleteTag, GetMetricHistory, GetMetricHistoryBulkInterval, KeyValueIn, LogBatch,
    LogInputs, LogMetric, LogOutputs, LogParam, MetricIn, ModelIoIn, RunRef, SearchRuns, SetTag,
    UpdateRun,
};
use crate::wire::responses::{MetricsResponse, RunResponse, SearchRunsResponse, UpdateRunResponse};
use crate::wire::{Dataset, DatasetInput, KeyValue, Metric, ModelIo, Run, ViewType};
use actix_web::{web, HttpResponse};
use serde_json::Value;

pub fn routes(r: &mut Router) {
    // One method each; another is 405, as in `mlflow server`.
    r.post_only("/runs/create", create)
        .get_only("/runs/get", get)
        .post_only("/runs/update", update)
        .post_only("/runs/delete", delete)
        .post_only("/runs/restore", restore)
        .post_only("/runs/log-metric", log_metric)
        .post_only("/runs/log-parameter", log_param)
        .post_only("/runs/set-tag", set_tag)
        .post_only("/runs/delete-tag", delete_tag)
        .post_only("/runs/log-batch", log_batch)
        .post_only("/runs/log-inputs", log_inputs)
        .post_only("/runs/outputs", log_outputs)
        .post_only("/runs/search", search)
        .get_only("/metrics/get-history", get_history)
        .get_only(
            "/metrics/get-history-bulk-interval",
            get_history_bulk_interval,
        );
}

type Resp = ApiResult<HttpResponse>;

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A run tag; `path` names the element in a batch (`tags[0]`), `""` alone;
/// `truncate` is `MLFLOW_TRUNCATE_LONG_VALUES`.
fn run_tag(tag: KeyValueIn, path: &str, truncate: bool) -> ApiResult<KeyValue> {
    validation::validate_tag_name_at(tag.key(), path)?;
    let KeyValue { key, value } = tag.into_key_value("value")?;
    let value = validation::validate_tag_value_at(&key, value, path, truncate)?;
    Ok(KeyValue { key, value })
}

/// A param; `path` as for [`run_tag`].
fn run_param(param: KeyValueIn, path: &str, truncate: bool) -> ApiResult<KeyValue> {
    validation::validate_param_name_at(param.key(), path)?;
    let KeyValue { key, value } = param.into_key_value("value")?;
    let value = validation::validate_param_value(&key, value, truncate)?;
    Ok(KeyValue { key, value })
}

fn json_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A metric of a log-batch: each element is checked like a log-metric call.
fn batch_metric(index: usize, m: MetricIn) -> ApiResult<NewMetric> {
    let missing = |field: &str| ApiError::missing_parameter(&format!("metrics[{index}].{field}"));
    let key = m.key.unwrap_or_default();
    if key.is_empty() {
        return Err(missing("key"));
    }
    let value = match &m.value {
        None | Some(Value::Null) => return Err(missing("value")),
        Some(v) => parse_f64(v).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Got invalid value {v} for metric '{key}' (timestamp={:?}). Please specify value as a valid double (64-bit floating point)",
                m.timestamp
            ))
        })?,
    };
    let timestamp = match &m.timestamp {
        None | Some(Value::Null) => return Err(missing("timestamp")),
        Some(v) => json_i64(v).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Invalid value {v} for parameter 'timestamp' supplied: must be an integer."
            ))
        })?,
    };
    let step = match &m.step {
        None | Some(Value::Null) => 0,
        Some(v) => json_i64(v).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Invalid value {v} for parameter 'step' supplied: must be an integer."
            ))
        })?,
    };
    validation::validate_metric(&key, value, timestamp, &format!("metrics[{index}]"))?;
    Ok(NewMetric {
        key,
        value,
        timestamp,
        step,
        model_id: m.model_id,
        dataset_name: m.dataset_name,
        dataset_digest: m.dataset_digest,
    })
}

async fn create(state: web::Data<AppState>, Msg(req): Msg<CreateRun>) -> Resp {
    let truncate = state.settings.limits.truncate_long_values;
    let tags = req
        .tags
        .into_iter()
        .enumerate()
        .map(|(i, t)| run_tag(t, &format!("tags[{i}]"), truncate))
        .collect::<ApiResult<Vec<_>>>()?;
    let experiment_id = req.experiment_id.unwrap_or_else(|| "0".into());
    let run = state
        .store
        .create_run(NewRun {
            experiment_id,
            user_id: req.user_id.unwrap_or_default(),
            run_name: req.run_name.unwrap_or_default(),
            start_time: req.start_time.unwrap_or_else(now_millis),
            tags,
        })
        .await?;
    Ok(json(&RunResponse { run: &run }))
}

async fn get(state: web::Data<AppState>, Msg(req): Msg<RunRef>) -> Resp {
    let run = state.store.get_run(&req.id()?).await?;
    Ok(json(&RunResponse { run: &run }))
}

async fn update(state: web::Data<AppState>, Msg(req): Msg<UpdateRun>) -> Resp {
    let run_id = req.id()?;
    let info = state
        .store
        .update_run(
            &run_id,
            RunUpdate {
                status: req.status,
                end_time: req.end_time,
                run_name: req.run_name,
            },
        )
        .await?;
    Ok(json(&UpdateRunResponse { run_info: &info }))
}

async fn delete(state: web::Data<AppState>, Msg(req): Msg<RunRef>) -> Resp {
    state.store.delete_run(&req.id()?).await?;
    Ok(empty())
}

async fn restore(state: web::Data<AppState>, Msg(req): Msg<RunRef>) -> Resp {
    state.store.restore_run(&req.id()?).await?;
    Ok(empty())
}

async fn log_metric(state: web::Data<AppState>, Msg(req): Msg<LogMetric>) -> Resp {
    let run_id = req.id()?;
    let value = req
        .value
        .ok_or_else(|| ApiError::missing_parameter("value"))?;
    let timestamp = req
        .timestamp
        .ok_or_else(|| ApiError::missing_parameter("timestamp"))?;
    validation::validate_metric(&req.key, value, timestamp, "")?;
    let metric = NewMetric {
        key: req.key,
        value,
        timestamp,
        step: req.step.unwrap_or(0),
        model_id: req.model_id,
        dataset_name: req.dataset_name,
        dataset_digest: req.dataset_digest,
    };
    state.store.log_batch(&run_id, &[metric], &[], &[]).await?;
    Ok(empty())
}

async fn log_param(state: web::Data<AppState>, Msg(req): Msg<LogParam>) -> Resp {
    let run_id = req.id()?;
    let param = run_param(
        KeyValueIn {
            key: Some(req.key),
            value: req.value.map(Value::String),
        },
        "",
        state.settings.limits.truncate_long_values,
    )?;
    state
        .store
        .log_batch(&run_id, &[], &[param], &[])
        .await
        .map_err(|err| match err.source_as::<ParamValueConflicts>() {
            // log-parameter names the one param, log-batch lists them all.
            Some(conflicts) => ApiError::invalid_parameter(conflicts.single_message()),
            None => err,
        })?;
    Ok(empty())
}

async fn set_tag(state: web::Data<AppState>, Msg(req): Msg<SetTag>) -> Resp {
    let run_id = req.id()?;
    let tag = run_tag(
        KeyValueIn {
            key: Some(req.key),
            value: req.value.map(Value::String),
        },
        "",
        state.settings.limits.truncate_long_values,
    )?;
    state.store.log_batch(&run_id, &[], &[], &[tag]).await?;
    Ok(empty())
}

async fn delete_tag(state: web::Data<AppState>, Msg(req): Msg<DeleteTag>) -> Resp {
    state.store.delete_tag(&req.run_id, &req.key).await?;
    Ok(empty())
}

async fn log_batch(state: web::Data<AppState>, Msg(req): Msg<LogBatch>) -> Resp {
    // MLflow's order: run id, each metric, param and tag, then the batch
    // limits, then duplicate param keys.
    validation::validate_run_id(&req.run_id)?;
    let truncate = state.settings.limits.truncate_long_values;
    let metrics = req
        .metrics
        .into_iter()
        .enumerate()
        .map(|(i, m)| batch_metric(i, m))
        .collect::<ApiResult<Vec<_>>>()?;
    let params = req
        .params
        .into_iter()
        .enumerate()
        .map(|(i, p)| run_param(p, &format!("params[{i}]"), truncate))
        .collect::<ApiResult<Vec<_>>>()?;
    let tags = req
        .tags
        .into_iter()
        .enumerate()
        .map(|(i, t)| run_tag(t, &format!("tags[{i}]"), truncate))
        .collect::<ApiResult<Vec<_>>>()?;
    validation::validate_batch_limits(metrics.len(), params.len(), tags.len())?;
    let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
    validation::validate_no_duplicate_param_keys(&keys)?;
    state
        .store
        .log_batch(&req.run_id, &metrics, &params, &tags)
        .await?;
    Ok(empty())
}

fn model_io(m: ModelIoIn) -> ApiResult<ModelIo> {
    Ok(ModelIo {
        model_id: m
            .model_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing_parameter("model_id"))?,
        step: m.step.unwrap_or(0),
    })
}

async fn log_inputs(state: web::Data<AppState>, Msg(req): Msg<LogInputs>) -> Resp {
    let mut datasets = Vec::with_capacity(req.datasets.len());
    for input in req.datasets {
        let d = input
            .dataset
            .ok_or_else(|| ApiError::missing_parameter("dataset"))?;
        let required = |v: Option<String>, name: &str| {
            v.filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::missing_parameter(name))
        };
        let dataset = Dataset {
            name: required(d.name, "name")?,
            digest: required(d.digest, "digest")?,
            source_type: required(d.source_type, "source_type")?,
            source: required(d.source, "source")?,
            schema: d.schema,
            profile: d.profile,
        };
        validation::validate_dataset(&dataset)?;
        let mut tags = Vec::with_capacity(input.tags.len());
        for tag in input.tags {
            let tag = tag.into_key_value("value")?;
            validation::validate_input_tag(&tag.key, &tag.value)?;
            tags.push(tag);
        }
        datasets.push(DatasetInput { tags, dataset });
    }
    let models = req
        .models
        .into_iter()
        .map(model_io)
        .collect::<ApiResult<Vec<_>>>()?;
    state
        .store
        .log_inputs(&req.run_id, &datasets, &models)
        .await?;
    Ok(empty())
}

async fn log_outputs(state: web::Data<AppState>, Msg(req): Msg<LogOutputs>) -> Resp {
    let models = req
        .models
        .into_iter()
        .map(model_io)
        .collect::<ApiResult<Vec<_>>>()?;
    state.store.log_outputs(&req.run_id, &models).await?;
    Ok(empty())
}

async fn search(state: web::Data<AppState>, Msg(req): Msg<SearchRuns>) -> Resp {
    let max_results = validation::validate_search_runs_max_results(req.max_results)?;
    let page = search_runs_page(&state, req, max_results).await?;
    Ok(json(&SearchRunsResponse {
        runs: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

/// MLflow's `search_runs_impl`, shared by `runs/search` and GraphQL's
/// `mlflowSearchRuns`; each caller has checked `max_results` its own way.
pub async fn search_runs_page(
    state: &AppState,
    req: SearchRuns,
    max_results: i64,
) -> ApiResult<Page<Run>> {
    state
        .store
        .search_runs(&RunQuery {
            experiment_ids: req.experiment_ids,
            filter: req.filter.unwrap_or_default(),
            view_type: req.run_view_type.unwrap_or(ViewType::ActiveOnly),
            max_results,
            order_by: req.order_by,
            page_token: req.page_token,
        })
        .await
}

async fn get_history(state: web::Data<AppState>, Msg(req): Msg<GetMetricHistory>) -> Resp {
    let run_id = req.id()?;
    if let Some(max) = req.max_results {
        if max <= 0 {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid value {max} for parameter 'max_results' supplied. It must be a positive integer."
            )));
        }
    }
    let page = state
        .store
        .get_metric_history(
            &run_id,
            &req.metric_key,
            req.max_results,
            req.page_token.as_deref(),
        )
        .await?;
    Ok(json(&MetricsResponse {
        metrics: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

/// Most runs one bulk-interval call may name, and most points per run.
const MAX_RUNS_BULK: usize = 100;
pub const MAX_RESULTS_PER_RUN: i64 = 2500;
const API_DOCS: &str = "See the API docs for more information about request parameters.";

async fn get_history_bulk_interval(
    state: web::Data<AppState>,
    Msg(req): Msg<GetMetricHistoryBulkInterval>,
) -> Resp {
    if req.run_ids.is_empty() {
        return Err(ApiError::missing_parameter("run_ids"));
    }
    if req.run_ids.len() > MAX_RUNS_BULK {
        return Err(ApiError::invalid_parameter(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS_BULK} run_ids. Received {} run_ids. {API_DOCS}",
            req.run_ids.len()
        )));
    }
    let max_results = req.max_results.unwrap_or(MAX_RESULTS_PER_RUN);
    if !(1..=MAX_RESULTS_PER_RUN).contains(&max_results) {
        return Err(ApiError::invalid_parameter(format!(
            "max_results must be between 1 and {MAX_RESULTS_PER_RUN}. {API_DOCS}"
        )));
    }
    let metrics = metric_history_bulk_interval(
        &state,
        &req.run_ids,
        &req.metric_key,
        req.start_step,
        req.end_step,
        max_results,
    )
    .await?;
    Ok(json(&MetricsResponse {
        metrics: &metrics,
        next_page_token: None,
    }))
}

/// MLflow's `get_metric_history_bulk_interval_impl`, shared by the REST
/// route and GraphQL's `mlflowGetMetricHistoryBulkInterval`: the step
/// range checks, then the sampled query.
pub async fn metric_history_bulk_interval(
    state: &AppState,
    run_ids: &[String],
    metric_key: &str,
    start_step: Option<i64>,
    end_step: Option<i64>,
    max_results: i64,
) -> ApiResult<Vec<Metric>> {
    match (start_step, end_step) {
        (Some(s), Some(e)) if s > e => {
            return Err(ApiError::invalid_parameter(format!(
                "end_step must be greater than start_step. Found start_step={s} and end_step={e}."
            )));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "If either start step or end step are specified, both must be specified.",
            ));
        }
        _ => {}
    }
    state
        .store
        .get_metric_history_bulk_interval(run_ids, metric_key, start_step, end_step, max_results)
        .await
}
