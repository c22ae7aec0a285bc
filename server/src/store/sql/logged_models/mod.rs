//! Logged models on MLflow's schema (`logged_models`, `logged_model_params`,
//! `logged_model_tags`, `logged_model_metrics`), one file per part of
//! [`crate::store::logged_models::LoggedModelStore`]: a model's life, its
//! params and tags, search, and the run tag `mlflow.log-model.history` of
//! the 2.x `log-model` call; plus the link `log-batch` makes from metrics
//! to a model. This file reads models and writes their key/value rows.
//!
//! Writes run in one transaction and read their result back inside it (on
//! SQLite the writer is the only connection that sees them first). A page of
//! models is completed with one query per table (tags, params, metrics).

mod data;
mod history;
mod lifecycle;
mod metrics;
mod search;

use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::sql::query::{get_opt_i64, insert_rows, Sql};
use crate::wire::logged_models::{
    LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelMetric, LoggedModelStatus,
};
use crate::wire::{KeyValue, MetricValue};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

pub(super) const MODEL_COLUMNS: &str = "m.model_id, m.experiment_id, m.name, m.artifact_location, \
     m.creation_timestamp_ms, m.last_updated_timestamp_ms, m.status, m.lifecycle_stage, \
     m.model_type, m.source_run_id, m.status_message";

pub(super) const NOT_DELETED: &str = "COALESCE(m.lifecycle_stage, 'active') <> 'deleted'";

/// Ids per `IN (…)` list.
pub(super) const IDS_PER_QUERY: usize = 500;

pub(super) fn not_found(model_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Logged model with ID {} not found.",
        py::repr_str(model_id)
    ))
}

pub(super) fn info_from_row(row: &AnyRow) -> Result<LoggedModelInfo, sqlx::Error> {
    Ok(LoggedModelInfo {
        model_id: row.try_get("model_id")?,
        experiment_id: get_opt_i64(row, "experiment_id")?
            .map(|i| i.to_string())
            .unwrap_or_default(),
        name: row
            .try_get::<Option<String>, _>("name")?
            .unwrap_or_default(),
        creation_timestamp_ms: get_opt_i64(row, "creation_timestamp_ms")?.unwrap_or(0),
        last_updated_timestamp_ms: get_opt_i64(row, "last_updated_timestamp_ms")?.unwrap_or(0),
        artifact_uri: row
            .try_get::<Option<String>, _>("artifact_location")?
            .unwrap_or_default(),
        status: LoggedModelStatus::from_int(get_opt_i64(row, "status")?.unwrap_or(0)),
        model_type: row.try_get("model_type")?,
        source_run_id: row.try_get("source_run_id")?,
        status_message: row.try_get("status_message")?,
        tags: Vec::new(),
        lifecycle_stage: row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_else(|| "active".into()),
    })
}

/// Refuses a key given twice in one request (MLflow's insert fails on the
/// primary key with BAD_REQUEST).
pub(super) fn check_unique_keys(what: &str, items: &[KeyValue]) -> ApiResult<()> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item.key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Duplicate {what} key {} in the request.",
                py::repr_str(&item.key)
            )));
        }
    }
    Ok(())
}

pub(super) async fn fetch_info(
    conn: &mut AnyConnection,
    model_id: &str,
    allow_deleted: bool,
) -> ApiResult<Option<LoggedModelInfo>> {
    let mut q = Sql::new(&format!(
        "SELECT {MODEL_COLUMNS} FROM logged_models m WHERE m.model_id = "
    ));
    q.str(model_id);
    if !allow_deleted {
        q.push(" AND ").push(NOT_DELETED);
    }
    let row = q.query().fetch_optional(&mut *conn).await?;
    Ok(row.as_ref().map(info_from_row).transpose()?)
}

/// Tags, params and metrics for a page of models: one query per table
/// (per 500 ids).
pub(super) async fn with_data(
    conn: &mut AnyConnection,
    infos: Vec<LoggedModelInfo>,
) -> ApiResult<Vec<LoggedModel>> {
    let mut tags: HashMap<String, Vec<KeyValue>> = HashMap::new();
    let mut params: HashMap<String, Vec<KeyValue>> = HashMap::new();
    let mut metrics: HashMap<String, Vec<LoggedModelMetric>> = HashMap::new();
    let ids: Vec<&str> = infos.iter().map(|i| i.model_id.as_str()).collect();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut q = Sql::new(
            "SELECT model_id, tag_key, tag_value FROM logged_model_tags WHERE model_id IN ",
        );
        q.str_list(chunk).push(" ORDER BY model_id, tag_key");
        for row in q.query().fetch_all(&mut *conn).await? {
            tags.entry(row.try_get("model_id")?)
                .or_default()
                .push(KeyValue {
                    key: row.try_get("tag_key")?,
                    value: row
                        .try_get::<Option<String>, _>("tag_value")?
                        .unwrap_or_default(),
                });
        }
        let mut q = Sql::new(
            "SELECT model_id, param_key, param_value FROM logged_model_params WHERE model_id IN ",
        );
        q.str_list(chunk).push(" ORDER BY model_id, param_key");
        for row in q.query().fetch_all(&mut *conn).await? {
            params
                .entry(row.try_get("model_id")?)
                .or_default()
                .push(KeyValue {
                    key: row.try_get("param_key")?,
                    value: row
                        .try_get::<Option<String>, _>("param_value")?
                        .unwrap_or_default(),
                });
        }
        // No ORDER BY: the rows come in the order they were logged, as
        // MLflow returns them.
        let mut q = Sql::new(
            "SELECT model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, run_id, \
             dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id IN ",
        );
        q.str_list(chunk);
        for row in q.query().fetch_all(&mut *conn).await? {
            let model_id: String = row.try_get("model_id")?;
            let value: Option<f64> = row.try_get("metric_value")?;
            let metric = LoggedModelMetric {
                key: row.try_get("metric_name")?,
                value: MetricValue(value.unwrap_or(f64::NAN)),
                timestamp: get_opt_i64(&row, "metric_timestamp_ms")?.unwrap_or(0),
                step: get_opt_i64(&row, "metric_step")?.unwrap_or(0),
                dataset_name: row
                    .try_get::<Option<String>, _>("dataset_name")?
                    .filter(|s| !s.is_empty()),
                dataset_digest: row
                    .try_get::<Option<String>, _>("dataset_digest")?
                    .filter(|s| !s.is_empty()),
                model_id: Some(model_id.clone()),
                run_id: row
                    .try_get::<Option<String>, _>("run_id")?
                    .filter(|s| !s.is_empty()),
            };
            metrics.entry(model_id).or_default().push(metric);
        }
    }
    Ok(infos
        .into_iter()
        .map(|mut info| {
            info.tags = tags.remove(&info.model_id).unwrap_or_default();
            LoggedModel {
                data: LoggedModelData {
                    params: params.remove(&info.model_id).unwrap_or_default(),
                    metrics: metrics.remove(&info.model_id).unwrap_or_default(),
                },
                info,
            }
        })
        .collect())
}

/// The whole model, deleted or not (writes return what they changed).
pub(super) async fn read_back(conn: &mut AnyConnection, model_id: &str) -> ApiResult<LoggedModel> {
    let info = fetch_info(conn, model_id, true)
        .await?
        .ok_or_else(|| not_found(model_id))?;
    Ok(with_data(conn, vec![info]).await?.remove(0))
}

/// The model's experiment id, or 404 (deleted models included, as MLflow's
/// `_get_logged_model_record`).
pub(super) async fn model_experiment_in(
    conn: &mut AnyConnection,
    model_id: &str,
) -> ApiResult<i64> {
    let row = sqlx::query("SELECT experiment_id FROM logged_models WHERE model_id = $1")
        .bind(model_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(get_opt_i64(&row, "experiment_id")?.unwrap_or(0)),
        None => Err(not_found(model_id)),
    }
}

/// The params or the tags table of logged models.
#[derive(Clone, Copy)]
pub(super) enum KeyValueTable {
    Params,
    Tags,
}

/// Inserts `(model_id, experiment_id, key, value)` rows into `table`;
/// `upsert` replaces existing values (tags).
pub(super) async fn insert_key_values(
    conn: &mut AnyConnection,
    table: KeyValueTable,
    model_id: &str,
    experiment_id: i64,
    items: &[KeyValue],
    upsert: bool,
) -> ApiResult<()> {
    let (table, key_column, value_column) = match table {
        KeyValueTable::Params => ("logged_model_params", "param_key", "param_value"),
        KeyValueTable::Tags => ("logged_model_tags", "tag_key", "tag_value"),
    };
    let on_conflict = if upsert {
        format!("ON CONFLICT (model_id, {key_column}) DO UPDATE SET {value_column} = excluded.{value_column}")
    } else {
        String::new()
    };
    insert_rows(
        conn,
        table,
        &["model_id", "experiment_id", key_column, value_column],
        &on_conflict,
        items,
        |row, item| {
            row.str(model_id)
                .i64(experiment_id)
                .str(&item.key)
                .str(&item.value);
        },
    )
    .await?;
    Ok(())
}
