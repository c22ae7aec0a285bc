//! Dataset summaries across experiments (the runs table's dataset list):
//! [`DatasetStore`] on SQL.

use super::experiments::parse_experiment_id;
use super::query::Sql;
use super::SqlStore;
use crate::error::ApiResult;
use crate::store::{DatasetStore, MAX_DATASET_SUMMARIES};
use crate::wire::DatasetSummary;
use async_trait::async_trait;
use sqlx::Row;

/// The input tag that says what a dataset was used for (`training`, `eval`).
const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

#[async_trait]
impl DatasetStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_datasets(&self, experiment_ids: &[String]) -> ApiResult<Vec<DatasetSummary>> {
        let ids = experiment_ids
            .iter()
            .map(|id| parse_experiment_id(id))
            .collect::<ApiResult<Vec<i64>>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A left join on the context tag: an input without one still lists
        // its dataset, with no context.
        let mut q = Sql::new(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value AS context \
             FROM datasets d \
             JOIN inputs i ON i.source_id = d.dataset_uuid \
             LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid AND t.name = ",
        );
        q.str(DATASET_CONTEXT_TAG)
            .push(" WHERE d.experiment_id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.i64(*id);
        }
        q.push(") ORDER BY d.experiment_id, d.name, d.digest, context LIMIT ")
            .i64(MAX_DATASET_SUMMARIES);
        let rows = q.query().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(DatasetSummary {
                    experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
                    name: row.try_get("name")?,
                    digest: row.try_get("digest")?,
                    context: row.try_get("context")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(Into::into)
    }
}
