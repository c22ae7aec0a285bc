//! What the Prometheus scrape reads from the store: pool use and entity
//! counts by state.

use super::SqlStore;
use crate::error::ApiResult;
use crate::observe::metrics::{PoolStats, Sample, ScrapeSource};
use sqlx::{AnyPool, Row};

fn stats(pool: &AnyPool) -> PoolStats {
    PoolStats {
        open: pool.size(),
        idle: pool.num_idle() as u32,
        max: pool.options().get_max_connections(),
    }
}

/// `(metric, help, query)`: each query returns label columns, then `n`.
const ENTITY_QUERIES: [(&str, &str, &str); 5] = [
    (
        "ferroflow_experiments",
        "Experiments by lifecycle stage",
        "SELECT lifecycle_stage, COUNT(*) AS n FROM experiments GROUP BY lifecycle_stage",
    ),
    (
        "ferroflow_runs",
        "Runs by lifecycle stage and status",
        "SELECT lifecycle_stage, status, COUNT(*) AS n FROM runs GROUP BY lifecycle_stage, status",
    ),
    (
        "ferroflow_registered_models",
        "Registered models",
        "SELECT COUNT(*) AS n FROM registered_models",
    ),
    (
        "ferroflow_model_versions",
        "Model versions by stage",
        "SELECT current_stage, COUNT(*) AS n FROM model_versions GROUP BY current_stage",
    ),
    (
        "ferroflow_logged_models",
        "Logged models by lifecycle stage",
        "SELECT lifecycle_stage, COUNT(*) AS n FROM logged_models GROUP BY lifecycle_stage",
    ),
];

/// The label names of each query's leading columns.
fn label_names(metric: &str) -> &'static [&'static str] {
    match metric {
        "ferroflow_experiments" | "ferroflow_logged_models" => &["lifecycle_stage"],
        "ferroflow_runs" => &["lifecycle_stage", "status"],
        "ferroflow_model_versions" => &["stage"],
        _ => &[],
    }
}

#[async_trait::async_trait]
impl ScrapeSource for SqlStore {
    fn pool_stats(&self) -> Vec<(&'static str, PoolStats)> {
        if self.dialect.has_writer_pool() {
            vec![("read", stats(&self.pool)), ("write", stats(&self.writer))]
        } else {
            vec![("main", stats(&self.pool))]
        }
    }

    async fn entity_samples(&self) -> ApiResult<Vec<Sample>> {
        let mut samples = Vec::new();
        for (name, help, sql) in ENTITY_QUERIES {
            let labels = label_names(name);
            let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
            for row in rows {
                let mut values = Vec::with_capacity(labels.len());
                for (i, label) in labels.iter().enumerate() {
                    let value: Option<String> = row.try_get(i)?;
                    values.push((*label, value.unwrap_or_default()));
                }
                let n: i64 = row.try_get("n")?;
                samples.push(Sample {
                    name,
                    help,
                    labels: values,
                    value: n as f64,
                });
            }
        }
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUri;

    #[tokio::test]
    async fn counts_entities_by_state() {
        let store = SqlStore::open(&DatabaseUri::parse("sqlite://").expect("uri"))
            .await
            .expect("store");
        store
            .ensure_default_experiment("mlflow-artifacts:/0")
            .await
            .expect("default experiment");
        let samples = store.entity_samples().await.expect("samples");
        let experiments: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.name == "ferroflow_experiments")
            .collect();
        assert_eq!(experiments.len(), 1);
        assert_eq!(
            experiments[0].labels,
            vec![("lifecycle_stage", "active".to_string())]
        );
        assert_eq!(experiments[0].value, 1.0);
        // An empty table yields no row for grouped counts, and a zero for
        // the plain count.
        assert!(!samples.iter().any(|s| s.name == "ferroflow_runs"));
        let models = samples
            .iter()
            .find(|s| s.name == "ferroflow_registered_models")
            .expect("registered models sample");
        assert_eq!(models.value, 0.0);
        let pools = store.pool_stats();
        assert_eq!(pools.len(), 2);
        assert!(pools.iter().all(|(_, p)| p.max >= 1));
    }
}
