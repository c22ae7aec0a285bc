//! `logged-models/search`: its filter, dataset and ordering SQL, and
//! MLflow's page tokens.

use super::{info_from_row, with_data, MODEL_COLUMNS, NOT_DELETED};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::search::{parse_logged_model_filter, Clause, Comparator, EntityKind, FilterValue};
use crate::store::logged_models::{
    LoggedModelDataset, LoggedModelOrderBy, LoggedModelQuery, LoggedModelSearchStore,
};
use crate::store::sql::experiments::parse_experiment_id;
use crate::store::sql::filters::push_comparison;
use crate::store::sql::query::Sql;
use crate::store::sql::{Dialect, SqlStore};
use crate::store::Page;
use crate::wire::logged_models::{LoggedModel, LoggedModelStatus};
use async_trait::async_trait;
use base64::Engine;
use serde_json::{json, Value};

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

#[async_trait]
impl LoggedModelSearchStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> ApiResult<Page<LoggedModel>> {
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
}
