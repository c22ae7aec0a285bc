//! Logged models on MLflow's schema (`logged_models`, `logged_model_params`,
//! `logged_model_tags`, `logged_model_metrics`), the run tag
//! `mlflow.log-model.history` of the 2.x `log-model` call, and the helper
//! that `log-batch` uses to link metrics to a model.
//!
//! Writes run in one transaction and read their result back inside it (on
//! SQLite the writer is the only connection that sees them first). A page of
//! models is completed with one query per table (tags, params, metrics).

use super::experiments::parse_experiment_id;
use super::filters::push_comparison;
use super::query::{get_opt_i64, Sql, ROWS_PER_INSERT};
use super::{now_millis, Dialect, SqlStore};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::search::{parse_logged_model_filter, Clause, Comparator, EntityKind, FilterValue};
use crate::store::logged_models::{
    LoggedModelDataset, LoggedModelOrderBy, LoggedModelQuery, LoggedModelStore, NewLoggedModel,
};
use crate::store::{NewMetric, Page};
use crate::validation;
use crate::wire::logged_models::{
    LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelMetric, LoggedModelStatus,
};
use crate::wire::{KeyValue, MetricValue};
use async_trait::async_trait;
use base64::Engine;
use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use std::collections::{HashMap, HashSet};

const MODEL_COLUMNS: &str = "m.model_id, m.experiment_id, m.name, m.artifact_location, \
     m.creation_timestamp_ms, m.last_updated_timestamp_ms, m.status, m.lifecycle_stage, \
     m.model_type, m.source_run_id, m.status_message";

const NOT_DELETED: &str = "COALESCE(m.lifecycle_stage, 'active') <> 'deleted'";

/// The status column as its proto name, so that string comparisons of
/// filters (`status = 'LOGGED_MODEL_READY'`, `LIKE`, `IN`) work.
const STATUS_NAME_SQL: &str = "(CASE m.status WHEN 0 THEN 'LOGGED_MODEL_STATUS_UNSPECIFIED' \
     WHEN 1 THEN 'LOGGED_MODEL_PENDING' WHEN 2 THEN 'LOGGED_MODEL_READY' \
     WHEN 3 THEN 'LOGGED_MODEL_UPLOAD_FAILED' END)";

/// `SqlLoggedModel` columns `order_by` accepts.
const ORDERABLE_COLUMNS: &[&str] = &[
    "model_id",
    "experiment_id",
    "name",
    "artifact_location",
    "creation_timestamp_ms",
    "last_updated_timestamp_ms",
    "status",
    "lifecycle_stage",
    "model_type",
    "source_run_id",
    "status_message",
];

/// The run tag the 2.x `log-model` call appends to.
pub(crate) const LOG_MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

/// Ids per `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

fn not_found(model_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Logged model with ID {} not found.",
        py::repr_str(model_id)
    ))
}

fn info_from_row(row: &AnyRow) -> Result<LoggedModelInfo, sqlx::Error> {
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

/// MLflow's SQL store keeps NaN as 0 and ±inf as ±f64::MAX in
/// `logged_model_metrics.metric_value` (there is no `is_nan` column).
fn storable_value(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else if v == f64::INFINITY {
        f64::MAX
    } else if v == f64::NEG_INFINITY {
        f64::MIN
    } else {
        v
    }
}

/// `append_to_uri_path(location, "models", model_id, "artifacts")`.
fn model_artifact_location(experiment_location: &str, model_id: &str) -> String {
    let sep = if experiment_location.ends_with('/') {
        ""
    } else {
        "/"
    };
    format!("{experiment_location}{sep}models/{model_id}/artifacts")
}

/// Refuses a key given twice in one request (MLflow's insert fails on the
/// primary key with BAD_REQUEST).
fn check_unique_keys(what: &str, items: &[KeyValue]) -> ApiResult<()> {
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

// ---------------------------------------------------------------------------
// reads shared by writes (in their transaction) and reads (on the pool)
// ---------------------------------------------------------------------------

async fn fetch_info(
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
async fn with_data(
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
async fn read_back(conn: &mut AnyConnection, model_id: &str) -> ApiResult<LoggedModel> {
    let info = fetch_info(conn, model_id, true)
        .await?
        .ok_or_else(|| not_found(model_id))?;
    Ok(with_data(conn, vec![info]).await?.remove(0))
}

/// The model's experiment id, or 404 (deleted models included, as MLflow's
/// `_get_logged_model_record`).
async fn model_experiment_in(conn: &mut AnyConnection, model_id: &str) -> ApiResult<i64> {
    let row = sqlx::query("SELECT experiment_id FROM logged_models WHERE model_id = $1")
        .bind(model_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(get_opt_i64(&row, "experiment_id")?.unwrap_or(0)),
        None => Err(not_found(model_id)),
    }
}

// ---------------------------------------------------------------------------
// search: filters, ordering, page tokens
// ---------------------------------------------------------------------------

/// Status filter values by name: `READY`, `2` and `LOGGED_MODEL_READY` all
/// name the same status (patterns are left as they are).
fn status_filter_value(comparator: Comparator, value: &FilterValue) -> FilterValue {
    let name = |s: &str| {
        LoggedModelStatus::from_filter_value(s)
            .map(|st| st.as_str().to_string())
            .unwrap_or_else(|| s.to_string())
    };
    match (comparator, value) {
        (Comparator::Like | Comparator::ILike, v) => v.clone(),
        (_, FilterValue::Str(s)) => FilterValue::Str(name(s)),
        (_, FilterValue::List(items)) => FilterValue::List(items.iter().map(|s| name(s)).collect()),
        (_, FilterValue::Num(n)) => FilterValue::Str(name(&n.to_string())),
        (_, v) => v.clone(),
    }
}

/// `(dataset_name = … [AND dataset_digest = …]) OR …` for `datasets`.
fn push_dataset_filters(q: &mut Sql, datasets: &[LoggedModelDataset]) {
    q.push("(");
    for (i, d) in datasets.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("(dataset_name = ").str(&d.dataset_name);
        if let Some(digest) = d.dataset_digest.as_deref().filter(|s| !s.is_empty()) {
            q.push(" AND dataset_digest = ").str(digest);
        }
        q.push(")");
    }
    q.push(")");
}

fn push_clause(
    q: &mut Sql,
    clause: &Clause,
    datasets: &[LoggedModelDataset],
    dialect: Dialect,
) -> ApiResult<()> {
    match clause.entity {
        EntityKind::Attribute => {
            let (expr, value) = match clause.key.as_str() {
                "name" => ("m.name", clause.value.clone()),
                "model_id" => ("m.model_id", clause.value.clone()),
                "model_type" => ("m.model_type", clause.value.clone()),
                "source_run_id" => ("m.source_run_id", clause.value.clone()),
                "creation_timestamp" | "creation_timestamp_ms" | "creation_time" => {
                    ("m.creation_timestamp_ms", clause.value.clone())
                }
                "last_updated_timestamp" | "last_updated_timestamp_ms" | "last_updated_time" => {
                    ("m.last_updated_timestamp_ms", clause.value.clone())
                }
                "status" => (STATUS_NAME_SQL, status_filter_value(clause.comparator, &clause.value)),
                other => {
                    return Err(ApiError::invalid_parameter(format!(
                        "Invalid logged model search key '{other}'"
                    )))
                }
            };
            push_comparison(q, expr, clause.comparator, &value, dialect, false);
        }
        EntityKind::Metric => {
            q.push("m.model_id IN (SELECT model_id FROM logged_model_metrics WHERE metric_name = ")
                .str(&clause.key)
                .push(" AND ");
            push_comparison(q, "metric_value", clause.comparator, &clause.value, dialect, true);
            if !datasets.is_empty() {
                q.push(" AND ");
                push_dataset_filters(q, datasets);
            }
            q.push(")");
        }
        EntityKind::Param => {
            q.push("m.model_id IN (SELECT model_id FROM logged_model_params WHERE param_key = ")
                .str(&clause.key)
                .push(" AND ");
            push_comparison(q, "param_value", clause.comparator, &clause.value, dialect, false);
            q.push(")");
        }
        EntityKind::Tag => {
            q.push("m.model_id IN (SELECT model_id FROM logged_model_tags WHERE tag_key = ")
                .str(&clause.key)
                .push(" AND ");
            push_comparison(q, "tag_value", clause.comparator, &clause.value, dialect, false);
            q.push(")");
        }
        EntityKind::Dataset => {
            return Err(ApiError::invalid_parameter(
                "Invalid entity type: 'datasets'. Expected one of ['attributes', 'metrics', 'params', 'tags'].",
            ))
        }
    }
    Ok(())
}

/// Pushes the joins metric orderings need and returns ` ORDER BY …`
/// (MLflow: nulls last, then `creation_timestamp_ms DESC`, `model_id ASC`
/// unless already ordered by).
fn push_order_by(q: &mut Sql, order_by: &[LoggedModelOrderBy]) -> ApiResult<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut has_creation = false;
    let mut has_model_id = false;
    for (i, ob) in order_by.iter().enumerate() {
        let dir = if ob.ascending { "ASC" } else { "DESC" };
        match ob.field_name.split_once('.') {
            None => {
                let name = match ob.field_name.as_str() {
                    "creation_time" | "creation_timestamp" => "creation_timestamp_ms",
                    "last_updated_timestamp" => "last_updated_timestamp_ms",
                    other => other,
                };
                let column = ORDERABLE_COLUMNS
                    .iter()
                    .find(|c| **c == name)
                    .ok_or_else(|| {
                        ApiError::invalid_parameter(format!(
                            "Invalid order by field name: {}",
                            ob.field_name
                        ))
                    })?;
                has_creation |= *column == "creation_timestamp_ms";
                has_model_id |= *column == "model_id";
                terms.push(format!(
                    "(CASE WHEN m.{column} IS NULL THEN 1 ELSE 0 END) ASC"
                ));
                terms.push(format!("m.{column} {dir}"));
            }
            Some((entity, key)) => {
                if entity != "metrics" {
                    return Err(ApiError::invalid_parameter(format!(
                        "Invalid order by field name: {}. Only metrics are supported.",
                        ob.field_name
                    )));
                }
                // The latest value per model (newest timestamp, then step,
                // then run id), optionally on one dataset.
                let alias = format!("ob{i}");
                q.push(
                    " LEFT JOIN (SELECT model_id, metric_value FROM (SELECT model_id, metric_value, \
                     ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY metric_timestamp_ms DESC, \
                     metric_step DESC, run_id ASC) AS rn FROM logged_model_metrics WHERE metric_name = ",
                )
                .str(key);
                if let Some(name) = ob.dataset_name.as_deref().filter(|s| !s.is_empty()) {
                    q.push(" AND dataset_name = ").str(name);
                }
                if let Some(digest) = ob.dataset_digest.as_deref().filter(|s| !s.is_empty()) {
                    q.push(" AND dataset_digest = ").str(digest);
                }
                q.push(&format!(
                    ") {alias}r WHERE rn = 1) {alias} ON {alias}.model_id = m.model_id"
                ));
                terms.push(format!(
                    "(CASE WHEN {alias}.metric_value IS NULL THEN 1 ELSE 0 END) ASC"
                ));
                terms.push(format!("{alias}.metric_value {dir}"));
            }
        }
    }
    if !has_creation {
        terms.push("m.creation_timestamp_ms DESC".into());
    }
    if !has_model_id {
        terms.push("m.model_id ASC".into());
    }
    Ok(format!(" ORDER BY {}", terms.join(", ")))
}

/// What MLflow's page token records about the query, as the handler passes
/// it to the store (`None` for an empty filter or ordering).
fn token_order_by(order_by: &[LoggedModelOrderBy]) -> Value {
    if order_by.is_empty() {
        return Value::Null;
    }
    Value::Array(
        order_by
            .iter()
            .map(|ob| {
                json!({
                    "field_name": ob.field_name,
                    "ascending": ob.ascending,
                    "dataset_name": ob.dataset_name.as_deref().filter(|s| !s.is_empty()),
                    "dataset_digest": ob.dataset_digest.as_deref().filter(|s| !s.is_empty()),
                })
            })
            .collect(),
    )
}

fn token_filter(query: &LoggedModelQuery) -> Value {
    match query.filter.as_deref() {
        Some(f) if !f.is_empty() => Value::String(f.to_string()),
        _ => Value::Null,
    }
}

/// `SearchLoggedModelsPaginationToken.encode()`: base64 of Python's
/// `json.dumps` of `{experiment_ids, filter_string, order_by, offset}`.
fn encode_token(query: &LoggedModelQuery, offset: usize) -> String {
    let token = json!({
        "experiment_ids": query.experiment_ids,
        "filter_string": token_filter(query),
        "order_by": token_order_by(&query.order_by),
        "offset": offset,
    });
    base64::engine::general_purpose::STANDARD.encode(py::json_dumps(&token))
}

/// `SearchLoggedModelsPaginationToken.decode(token).validate(…)`: the
/// offset, once the token is known to belong to the same query.
fn decode_token(token: &str, query: &LoggedModelQuery) -> ApiResult<usize> {
    let invalid = |detail: &str| {
        ApiError::invalid_parameter(format!("Invalid page token: {token}. {detail}"))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|e| invalid(&format!("Could not base64-decode: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid("Not valid UTF-8."))?;
    let parsed: Value = serde_json::from_str(&text).map_err(|e| invalid(&e.to_string()))?;
    let Value::Object(obj) = parsed else {
        return Err(invalid("Expected a JSON object."));
    };
    let get = |k: &str| obj.get(k).cloned().unwrap_or(Value::Null);
    let or_none = |v: Value| if py::truthy(&v) { v } else { Value::Null };

    let expected_ids = json!(query.experiment_ids);
    let found_ids = get("experiment_ids");
    if found_ids != expected_ids {
        return Err(ApiError::invalid_parameter(format!(
            "Experiment IDs in the page token do not match the requested experiment IDs. \
             Expected: {}. Found: {}",
            py::repr_value(&expected_ids),
            py::repr_value(&found_ids)
        )));
    }
    let expected_filter = token_filter(query);
    let found_filter = or_none(get("filter_string"));
    if found_filter != expected_filter {
        return Err(ApiError::invalid_parameter(format!(
            "Filter string in the page token does not match the requested filter string. \
             Expected: {}. Found: {}",
            py::str_value(&expected_filter),
            py::str_value(&found_filter)
        )));
    }
    let expected_order = token_order_by(&query.order_by);
    let found_order = or_none(get("order_by"));
    if found_order != expected_order {
        return Err(ApiError::invalid_parameter(format!(
            "Order by in the page token does not match the requested order by. \
             Expected: {}. Found: {}",
            py::str_value(&expected_order),
            py::str_value(&found_order)
        )));
    }
    match or_none(get("offset")) {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_u64()
            .map(|o| o as usize)
            .ok_or_else(|| invalid("The offset must be a non-negative integer.")),
        _ => Err(invalid("The offset must be a non-negative integer.")),
    }
}

// ---------------------------------------------------------------------------
// the store
// ---------------------------------------------------------------------------

impl SqlStore {
    /// Links the metrics of a `log-batch` that carry a `model_id` to their
    /// logged model (`logged_model_metrics`), inside the caller's
    /// transaction, as MLflow's `_log_model_metrics` does: metrics without
    /// `model_id` are skipped; NaN is stored as 0 and ±inf as ±f64::MAX;
    /// an identical point logged again is a no-op; the same (model, key,
    /// timestamp, step, run) with another value is `BAD_REQUEST`; an unknown
    /// `model_id` fails the foreign key (`BAD_REQUEST`).
    ///
    /// `experiment_id` is the run's experiment.
    pub(super) async fn log_model_metrics_in(
        tx: &mut Transaction<'_, Any>,
        run_id: &str,
        experiment_id: &str,
        metrics: &[NewMetric],
    ) -> ApiResult<()> {
        type Key<'a> = (&'a str, &'a str, i64, i64);
        let mut rows: Vec<(&NewMetric, &str, f64)> = Vec::new();
        let mut by_key: HashMap<Key<'_>, usize> = HashMap::new();
        let conflict = |m: &NewMetric, model_id: &str| {
            ApiError::bad_request(format!(
                "Metric {} at timestamp {} and step {} was already logged for logged model {} by run {} \
                 with a different value.",
                py::repr_str(&m.key),
                m.timestamp,
                m.step,
                py::repr_str(model_id),
                py::repr_str(run_id)
            ))
        };
        for m in metrics {
            let Some(model_id) = m.model_id.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let value = storable_value(m.value);
            let key = (model_id, m.key.as_str(), m.timestamp, m.step);
            match by_key.get(&key) {
                Some(&i) => {
                    let (prev, _, prev_value) = rows[i];
                    let identical = prev_value.to_bits() == value.to_bits()
                        && prev.dataset_name == m.dataset_name
                        && prev.dataset_digest == m.dataset_digest;
                    if !identical {
                        return Err(conflict(m, model_id));
                    }
                }
                None => {
                    by_key.insert(key, rows.len());
                    rows.push((m, model_id, value));
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let experiment_id = parse_experiment_id(experiment_id)?;
        let mut inserted = 0u64;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new(
                "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
                 metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, \
                 dataset_digest) VALUES ",
            );
            for (i, (m, model_id, value)) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(")
                    .str(model_id)
                    .push(", ")
                    .str(&m.key)
                    .push(", ")
                    .i64(m.timestamp)
                    .push(", ")
                    .i64(m.step)
                    .push(", ")
                    .f64(*value)
                    .push(", ")
                    .i64(experiment_id)
                    .push(", ")
                    .str(run_id)
                    .push(", NULL, ")
                    .opt_str(m.dataset_name.as_deref())
                    .push(", ")
                    .opt_str(m.dataset_digest.as_deref())
                    .push(")");
            }
            q.push(" ON CONFLICT DO NOTHING");
            inserted += q.query().execute(&mut **tx).await?.rows_affected();
        }
        if inserted as usize == rows.len() {
            return Ok(());
        }
        // Some points existed already: identical ones are fine, others not.
        let names: Vec<&str> = {
            let mut seen = HashSet::new();
            rows.iter()
                .map(|(m, _, _)| m.key.as_str())
                .filter(|k| seen.insert(*k))
                .collect()
        };
        for chunk in names.chunks(IDS_PER_QUERY) {
            let mut q = Sql::new(
                "SELECT model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, \
                 dataset_name, dataset_digest FROM logged_model_metrics WHERE run_id = ",
            );
            q.str(run_id).push(" AND metric_name IN ").str_list(chunk);
            for row in q.query().fetch_all(&mut **tx).await? {
                let model_id: String = row.try_get("model_id")?;
                let name: String = row.try_get("metric_name")?;
                let ts = get_opt_i64(&row, "metric_timestamp_ms")?.unwrap_or(0);
                let step = get_opt_i64(&row, "metric_step")?.unwrap_or(0);
                let Some(&i) = by_key.get(&(model_id.as_str(), name.as_str(), ts, step)) else {
                    continue;
                };
                let (m, model_id, value) = rows[i];
                let stored: Option<f64> = row.try_get("metric_value")?;
                let same = stored.is_some_and(|s| s.to_bits() == value.to_bits() || s == value)
                    && row.try_get::<Option<String>, _>("dataset_name")? == m.dataset_name
                    && row.try_get::<Option<String>, _>("dataset_digest")? == m.dataset_digest;
                if !same {
                    return Err(conflict(m, model_id));
                }
            }
        }
        Ok(())
    }

    async fn create_logged_model_impl(&self, new: NewLoggedModel) -> ApiResult<LoggedModel> {
        let experiment_id = parse_experiment_id(&new.experiment_id)?;
        check_unique_keys("param", &new.params)?;
        check_unique_keys("tag", &new.tags)?;
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = $1",
        )
        .bind(experiment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(ApiError::not_found(format!(
                "No Experiment with id={} exists",
                new.experiment_id
            )));
        };
        let stage: String = row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default();
        if stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The experiment {} must be in the 'active' state. Current state is {stage}.",
                new.experiment_id
            )));
        }
        let location: String = row
            .try_get::<Option<String>, _>("artifact_location")?
            .unwrap_or_default();
        let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let name = new
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(py::names::random_name);
        let now = now_millis();
        let mut q = Sql::new(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
             creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, \
             source_run_id, status_message) VALUES (",
        );
        q.str(&model_id)
            .push(", ")
            .i64(experiment_id)
            .push(", ")
            .str(&name)
            .push(", ")
            .str(&model_artifact_location(&location, &model_id))
            .push(", ")
            .i64(now)
            .push(", ")
            .i64(now)
            .push(", ")
            .i64(LoggedModelStatus::Pending.to_int())
            .push(", 'active', ")
            .opt_str(new.model_type.as_deref())
            .push(", ")
            .opt_str(new.source_run_id.as_deref())
            .push(", NULL)");
        q.query().execute(&mut *tx).await?;
        insert_key_values(
            &mut tx,
            "logged_model_params",
            "param_key",
            "param_value",
            &model_id,
            experiment_id,
            &new.params,
            false,
        )
        .await?;
        insert_key_values(
            &mut tx,
            "logged_model_tags",
            "tag_key",
            "tag_value",
            &model_id,
            experiment_id,
            &new.tags,
            false,
        )
        .await?;
        let model = read_back(&mut tx, &model_id).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn get_logged_model_impl(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> ApiResult<LoggedModel> {
        let mut conn = self.pool.acquire().await?;
        let info = fetch_info(&mut conn, model_id, allow_deleted)
            .await?
            .ok_or_else(|| not_found(model_id))?;
        Ok(with_data(&mut conn, vec![info]).await?.remove(0))
    }

    async fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> ApiResult<LoggedModel> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE logged_models SET status = $1, last_updated_timestamp_ms = $2 WHERE model_id = $3",
        )
        .bind(status.to_int())
        .bind(now_millis())
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(model_id));
        }
        let model = read_back(&mut tx, model_id).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn log_logged_model_params_impl(
        &self,
        model_id: &str,
        params: &[KeyValue],
    ) -> ApiResult<()> {
        check_unique_keys("param", params)?;
        let mut tx = self.writer.begin().await?;
        let experiment_id = model_experiment_in(&mut tx, model_id).await?;
        if !params.is_empty() {
            let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
            for chunk in keys.chunks(IDS_PER_QUERY) {
                let mut q = Sql::new("SELECT param_key FROM logged_model_params WHERE model_id = ");
                q.str(model_id).push(" AND param_key IN ").str_list(chunk);
                if let Some(row) = q.query().fetch_optional(&mut *tx).await? {
                    let key: String = row.try_get("param_key")?;
                    return Err(ApiError::bad_request(format!(
                        "Param with key {} was already logged for logged model with ID {}. \
                         Logged model params cannot be changed.",
                        py::repr_str(&key),
                        py::repr_str(model_id)
                    )));
                }
            }
            insert_key_values(
                &mut tx,
                "logged_model_params",
                "param_key",
                "param_value",
                model_id,
                experiment_id,
                params,
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_logged_model_tags_impl(&self, model_id: &str, tags: &[KeyValue]) -> ApiResult<()> {
        // Last value wins for a repeated key (PostgreSQL refuses to upsert
        // one row twice in a statement).
        let mut unique: Vec<KeyValue> = Vec::with_capacity(tags.len());
        for tag in tags {
            match unique.iter_mut().find(|t| t.key == tag.key) {
                Some(slot) => slot.value = tag.value.clone(),
                None => unique.push(tag.clone()),
            }
        }
        let mut tx = self.writer.begin().await?;
        let experiment_id = model_experiment_in(&mut tx, model_id).await?;
        insert_key_values(
            &mut tx,
            "logged_model_tags",
            "tag_key",
            "tag_value",
            model_id,
            experiment_id,
            &unique,
            true,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_logged_model_tag_impl(&self, model_id: &str, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_experiment_in(&mut tx, model_id).await?;
        let done =
            sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND tag_key = $2")
                .bind(model_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with key {} found for model with ID {}.",
                py::repr_str(key),
                py::repr_str(model_id)
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_logged_model_impl(&self, model_id: &str) -> ApiResult<()> {
        let done = sqlx::query(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $1 \
             WHERE model_id = $2",
        )
        .bind(now_millis())
        .bind(model_id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(model_id));
        }
        Ok(())
    }

    async fn search_logged_models_impl(
        &self,
        query: &LoggedModelQuery,
    ) -> ApiResult<Page<LoggedModel>> {
        if query.datasets.iter().any(|d| d.dataset_name.is_empty()) {
            return Err(ApiError::invalid_parameter(
                "`dataset_name` in the `datasets` clause must be specified.",
            ));
        }
        let offset = match query.page_token.as_deref() {
            Some(t) if !t.is_empty() => decode_token(t, query)?,
            _ => 0,
        };
        let max_results = query.max_results.max(0);
        let clauses = parse_logged_model_filter(query.filter.as_deref().unwrap_or(""))?;
        let mut ids = Vec::with_capacity(query.experiment_ids.len());
        for id in &query.experiment_ids {
            ids.push(parse_experiment_id(id)?);
        }
        let mut q = Sql::new(&format!("SELECT {MODEL_COLUMNS} FROM logged_models m"));
        let order = push_order_by(&mut q, &query.order_by)?;
        q.push(" WHERE ").push(NOT_DELETED);
        if ids.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            q.push(" AND m.experiment_id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.i64(*id);
            }
            q.push(")");
        }
        for clause in &clauses {
            q.push(" AND ");
            push_clause(&mut q, clause, &query.datasets, self.dialect)?;
        }
        let has_metric_filter = clauses.iter().any(|c| c.entity == EntityKind::Metric);
        if !query.datasets.is_empty() && !has_metric_filter {
            q.push(" AND m.model_id IN (SELECT model_id FROM logged_model_metrics WHERE ");
            push_dataset_filters(&mut q, &query.datasets);
            q.push(")");
        }
        q.push(&order);
        q.push(" LIMIT ")
            .i64(max_results.saturating_add(1))
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut conn = self.pool.acquire().await?;
        let rows = q.query().fetch_all(&mut *conn).await?;
        let mut infos = rows
            .iter()
            .map(info_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = if infos.len() as i64 > max_results {
            infos.truncate(max_results as usize);
            Some(encode_token(query, offset + max_results as usize))
        } else {
            None
        };
        Ok(Page {
            items: with_data(&mut conn, infos).await?,
            next_page_token,
        })
    }

    async fn record_logged_model_impl(
        &self,
        run_id: &str,
        model: Map<String, Value>,
        truncate_long_values: bool,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        let mut q = Sql::new("SELECT lifecycle_stage FROM runs WHERE run_uuid = ");
        q.str(run_id);
        if self.dialect == Dialect::Postgres {
            // Concurrent log-model calls on one run append in turn.
            q.push(" FOR UPDATE");
        }
        let Some(row) = q.query().fetch_optional(&mut *tx).await? else {
            return Err(ApiError::not_found(format!(
                "Run with id={run_id} not found"
            )));
        };
        let stage = row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default();
        if stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The run {run_id} must be in the 'active' state. Current state is {stage}."
            )));
        }
        let previous: Option<Option<String>> =
            sqlx::query_scalar("SELECT value FROM tags WHERE run_uuid = $1 AND key = $2")
                .bind(run_id)
                .bind(LOG_MODEL_HISTORY_TAG)
                .fetch_optional(&mut *tx)
                .await?;
        let mut history = match previous.flatten() {
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => items,
                _ => {
                    return Err(ApiError::invalid_parameter(format!(
                        "The run tag '{LOG_MODEL_HISTORY_TAG}' of run {run_id} does not hold a JSON list."
                    )))
                }
            },
            None => Vec::new(),
        };
        history.push(Value::Object(model));
        let value = py::json_dumps(&Value::Array(history));
        // MLflow checks the length (an error only when truncation is off)
        // but stores the whole value.
        validation::validate_tag_value(LOG_MODEL_HISTORY_TAG, value.clone(), truncate_long_values)?;
        sqlx::query(
            "INSERT INTO tags (key, value, run_uuid) VALUES ($1, $2, $3) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
        )
        .bind(LOG_MODEL_HISTORY_TAG)
        .bind(&value)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Inserts `(model_id, experiment_id, key, value)` rows into the params or
/// tags table; `upsert` replaces existing values (tags).
#[allow(clippy::too_many_arguments)]
async fn insert_key_values(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    key_column: &str,
    value_column: &str,
    model_id: &str,
    experiment_id: i64,
    items: &[KeyValue],
    upsert: bool,
) -> ApiResult<()> {
    for chunk in items.chunks(ROWS_PER_INSERT) {
        let mut q = Sql::new(&format!(
            "INSERT INTO {table} (model_id, experiment_id, {key_column}, {value_column}) VALUES "
        ));
        for (i, item) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .str(model_id)
                .push(", ")
                .i64(experiment_id)
                .push(", ")
                .str(&item.key)
                .push(", ")
                .str(&item.value)
                .push(")");
        }
        if upsert {
            q.push(&format!(
                " ON CONFLICT (model_id, {key_column}) DO UPDATE SET {value_column} = excluded.{value_column}"
            ));
        }
        q.query().execute(&mut **tx).await?;
    }
    Ok(())
}

#[async_trait]
impl LoggedModelStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_logged_model(&self, model: NewLoggedModel) -> ApiResult<LoggedModel> {
        self.create_logged_model_impl(model).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> ApiResult<LoggedModel> {
        self.get_logged_model_impl(model_id, allow_deleted).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> ApiResult<LoggedModel> {
        self.finalize_logged_model_impl(model_id, status).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue]) -> ApiResult<()> {
        self.log_logged_model_params_impl(model_id, params).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> ApiResult<()> {
        self.set_logged_model_tags_impl(model_id, tags).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> ApiResult<()> {
        self.delete_logged_model_tag_impl(model_id, key).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_logged_model(&self, model_id: &str) -> ApiResult<()> {
        self.delete_logged_model_impl(model_id).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> ApiResult<Page<LoggedModel>> {
        self.search_logged_models_impl(query).await
    }
    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_logged_model(
        &self,
        run_id: &str,
        model: Map<String, Value>,
        truncate_long_values: bool,
    ) -> ApiResult<()> {
        self.record_logged_model_impl(run_id, model, truncate_long_values)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(order_by: Vec<LoggedModelOrderBy>, filter: Option<&str>) -> LoggedModelQuery {
        LoggedModelQuery {
            experiment_ids: vec!["1".into()],
            filter: filter.map(str::to_string),
            datasets: Vec::new(),
            max_results: 2,
            order_by,
            page_token: None,
        }
    }

    #[test]
    fn page_tokens_match_mlflow() {
        // Tokens `mlflow server` 3.17.2 returned for the same queries.
        let q = query(Vec::new(), None);
        assert_eq!(
            encode_token(&q, 2),
            "eyJleHBlcmltZW50X2lkcyI6IFsiMSJdLCAiZmlsdGVyX3N0cmluZyI6IG51bGwsICJvcmRlcl9ieSI6IG51bGwsICJvZmZzZXQiOiAyfQ=="
        );
        let ordered = query(
            vec![LoggedModelOrderBy {
                field_name: "name".into(),
                ascending: true,
                dataset_name: None,
                dataset_digest: None,
            }],
            None,
        );
        let token = "eyJleHBlcmltZW50X2lkcyI6IFsiMSJdLCAiZmlsdGVyX3N0cmluZyI6IG51bGwsICJvcmRlcl9ieSI6IFt7ImZpZWxkX25hbWUiOiAibmFtZSIsICJhc2NlbmRpbmciOiB0cnVlLCAiZGF0YXNldF9uYW1lIjogbnVsbCwgImRhdGFzZXRfZGlnZXN0IjogbnVsbH1dLCAib2Zmc2V0IjogMn0=";
        assert_eq!(encode_token(&ordered, 2), token);
        assert_eq!(decode_token(token, &ordered), Ok(2));
        let err = decode_token(token, &q).unwrap_err();
        assert_eq!(
            err.message,
            "Order by in the page token does not match the requested order by. Expected: None. \
             Found: [{'field_name': 'name', 'ascending': True, 'dataset_name': None, 'dataset_digest': None}]"
        );
        let other_ids = LoggedModelQuery {
            experiment_ids: vec!["0".into()],
            ..q.clone()
        };
        let err = decode_token(&encode_token(&q, 2), &other_ids).unwrap_err();
        assert_eq!(
            err.message,
            "Experiment IDs in the page token do not match the requested experiment IDs. \
             Expected: ['0']. Found: ['1']"
        );
        let filtered = query(Vec::new(), Some("name = 'x'"));
        let err = decode_token(&encode_token(&q, 2), &filtered).unwrap_err();
        assert!(
            err.message.starts_with("Filter string in the page token"),
            "{}",
            err.message
        );
        assert!(decode_token("garbage", &q).is_err());
        assert!(decode_token("Z2FyYmFnZQ==", &q).is_err());
    }

    #[test]
    fn artifact_locations() {
        assert_eq!(
            model_artifact_location("mlflow-artifacts:/1", "m-1"),
            "mlflow-artifacts:/1/models/m-1/artifacts"
        );
        assert_eq!(
            model_artifact_location("/tmp/mlruns/1/", "m-1"),
            "/tmp/mlruns/1/models/m-1/artifacts"
        );
    }

    #[test]
    fn order_by_sql() {
        let mut q = Sql::new("SELECT * FROM logged_models m");
        let order = push_order_by(
            &mut q,
            &[LoggedModelOrderBy {
                field_name: "metrics.acc".into(),
                ascending: false,
                dataset_name: Some("ds".into()),
                dataset_digest: None,
            }],
        )
        .unwrap();
        assert!(
            q.text.contains("metric_name = $1 AND dataset_name = $2"),
            "{}",
            q.text
        );
        assert_eq!(
            order,
            " ORDER BY (CASE WHEN ob0.metric_value IS NULL THEN 1 ELSE 0 END) ASC, ob0.metric_value DESC, \
             m.creation_timestamp_ms DESC, m.model_id ASC"
        );
        let bad = |name: &str| {
            push_order_by(
                &mut Sql::new(""),
                &[LoggedModelOrderBy {
                    field_name: name.into(),
                    ascending: true,
                    dataset_name: None,
                    dataset_digest: None,
                }],
            )
            .unwrap_err()
            .message
        };
        assert_eq!(bad("bogus"), "Invalid order by field name: bogus");
        assert_eq!(
            bad("params.p"),
            "Invalid order by field name: params.p. Only metrics are supported."
        );
        let order = push_order_by(
            &mut Sql::new(""),
            &[LoggedModelOrderBy {
                field_name: "creation_time".into(),
                ascending: true,
                dataset_name: None,
                dataset_digest: None,
            }],
        )
        .unwrap();
        assert_eq!(
            order,
            " ORDER BY (CASE WHEN m.creation_timestamp_ms IS NULL THEN 1 ELSE 0 END) ASC, \
             m.creation_timestamp_ms ASC, m.model_id ASC"
        );
    }

    #[test]
    fn status_values_by_name() {
        assert_eq!(
            status_filter_value(Comparator::Eq, &FilterValue::Str("READY".into())),
            FilterValue::Str("LOGGED_MODEL_READY".into())
        );
        assert_eq!(
            status_filter_value(
                Comparator::In,
                &FilterValue::List(vec!["1".into(), "x".into()])
            ),
            FilterValue::List(vec!["LOGGED_MODEL_PENDING".into(), "x".into()])
        );
        assert_eq!(
            status_filter_value(Comparator::Like, &FilterValue::Str("%READY".into())),
            FilterValue::Str("%READY".into())
        );
    }

    fn metric(key: &str, value: f64, timestamp: i64, model_id: Option<&str>) -> NewMetric {
        NewMetric {
            key: key.into(),
            value,
            timestamp,
            step: 0,
            model_id: model_id.map(str::to_string),
            dataset_name: None,
            dataset_digest: None,
        }
    }

    #[tokio::test]
    async fn model_metrics_are_linked_in_the_callers_transaction() {
        use crate::config::DatabaseUri;
        use crate::store::{NewRun, RunStore};
        let store = SqlStore::open(&DatabaseUri::Sqlite { path: None })
            .await
            .unwrap();
        store
            .ensure_default_experiment("mlflow-artifacts:/0")
            .await
            .unwrap();
        let run = store
            .create_run(NewRun {
                experiment_id: "0".into(),
                user_id: String::new(),
                run_name: "r".into(),
                start_time: 1,
                tags: Vec::new(),
            })
            .await
            .unwrap()
            .info
            .run_id;
        let model = store
            .create_logged_model(NewLoggedModel {
                experiment_id: "0".into(),
                name: Some("m".into()),
                model_type: None,
                source_run_id: Some(run.clone()),
                params: Vec::new(),
                tags: Vec::new(),
            })
            .await
            .unwrap();
        let id = model.info.model_id.clone();
        let log = |metrics: Vec<NewMetric>| {
            let store = &store;
            let run = run.clone();
            async move {
                let mut tx = store.writer.begin().await.unwrap();
                let result = SqlStore::log_model_metrics_in(&mut tx, &run, "0", &metrics).await;
                if result.is_ok() {
                    tx.commit().await.unwrap();
                }
                result
            }
        };
        // Without model_id: skipped; repeated identical points: one row; NaN → 0.
        log(vec![
            metric("acc", 0.5, 10, Some(&id)),
            metric("acc", 0.5, 10, Some(&id)),
            metric("plain", 1.0, 10, None),
            metric("loss", f64::NAN, 10, Some(&id)),
        ])
        .await
        .unwrap();
        let got = store.get_logged_model(&id, false).await.unwrap();
        assert_eq!(got.data.metrics.len(), 2);
        assert_eq!(got.data.metrics[0].key, "acc");
        assert_eq!(got.data.metrics[0].run_id.as_deref(), Some(run.as_str()));
        assert_eq!(got.data.metrics[1].value, MetricValue(0.0));
        // The same point again is a no-op; another value at the same key is refused.
        log(vec![metric("acc", 0.5, 10, Some(&id))]).await.unwrap();
        let err = log(vec![metric("acc", 0.6, 10, Some(&id))])
            .await
            .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::BadRequest);
        let err = log(vec![
            metric("x", 0.6, 10, Some(&id)),
            metric("x", 0.7, 10, Some(&id)),
        ])
        .await
        .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::BadRequest);
        // An unknown model fails the foreign key.
        let err = log(vec![metric("acc", 0.5, 10, Some("m-0000"))])
            .await
            .unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::BadRequest, "{err}");
        let got = store.get_logged_model(&id, false).await.unwrap();
        assert_eq!(got.data.metrics.len(), 2);
    }
}
