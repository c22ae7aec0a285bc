//! The link `log-batch` makes from a run's metrics to logged models
//! (`logged_model_metrics`).

use super::IDS_PER_QUERY;
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::sql::experiments::parse_experiment_id;
use crate::store::sql::query::{get_opt_i64, insert_statements, Sql};
use crate::store::sql::SqlStore;
use crate::store::NewMetric;
use sqlx::{Any, Row, Transaction};
use std::collections::{HashMap, HashSet};

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
    pub(in crate::store::sql) async fn log_model_metrics_in(
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
        let statements = insert_statements(
            "logged_model_metrics",
            &[
                "model_id",
                "metric_name",
                "metric_timestamp_ms",
                "metric_step",
                "metric_value",
                "experiment_id",
                "run_id",
                "dataset_uuid",
                "dataset_name",
                "dataset_digest",
            ],
            "ON CONFLICT DO NOTHING",
            &rows,
            |row, (m, model_id, value)| {
                row.str(model_id)
                    .str(&m.key)
                    .i64(m.timestamp)
                    .i64(m.step)
                    .f64(*value)
                    .i64(experiment_id)
                    .str(run_id)
                    .opt_str(None)
                    .opt_str(m.dataset_name.as_deref())
                    .opt_str(m.dataset_digest.as_deref());
            },
        );
        // Not `insert_rows`: the count of rows the conflict clause skipped
        // tells whether any point existed already.
        let mut inserted = 0u64;
        for statement in statements {
            inserted += statement.query().execute(&mut **tx).await?.rows_affected();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::logged_models::{LoggedModelLifecycleStore, NewLoggedModel};
    use crate::wire::MetricValue;

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
