//! Garbage collection (`ferroflow gc`, MLflow's `mlflow gc`): selecting runs,
//! logged models, experiments and jobs that may be deleted for good, and
//! deleting them, each in one transaction.
//!
//! MLflow's `_hard_delete_run` removes a run's metrics, latest metrics,
//! params and tags, then the run; the schema's own foreign keys remove its
//! logged-model metrics (`ON DELETE CASCADE`) and clear `issues.source_run_id`
//! (`ON DELETE SET NULL`). Here every one of those is an explicit statement
//! (so the result is the same whether or not SQLite enforces foreign keys),
//! and the run's `inputs` links (its datasets, its model inputs and outputs)
//! with their `input_tags` go too, which MLflow leaves behind as orphans.
//!
//! `_hard_delete_experiment` deletes the experiment row and lets the ORM and
//! the foreign keys cascade; [`SqlStore::gc_hard_delete_experiment`] spells
//! the cascade out table by table, children first, in one transaction.
//!
//! Each delete first "touches" its row (`UPDATE … SET x = x WHERE … AND
//! lifecycle_stage = 'deleted'`): that takes the write lock (SQLite) or the
//! row lock (PostgreSQL) and proves, inside the transaction, that nothing
//! restored the run or experiment since it was selected.

use super::experiments::parse_experiment_id;
use super::query::{get_opt_i64, Sql};
use super::{now_millis, SqlStore};
use crate::error::{ApiError, ApiResult};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// A run as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcRun {
    pub run_id: String,
    pub experiment_id: String,
    pub lifecycle_stage: String,
    pub artifact_uri: String,
    pub deleted_time: Option<i64>,
}

/// An experiment as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcExperiment {
    pub experiment_id: String,
    pub lifecycle_stage: String,
    pub last_update_time: Option<i64>,
    pub artifact_location: String,
}

/// A logged model as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcLoggedModel {
    pub model_id: String,
    pub experiment_id: String,
    pub lifecycle_stage: String,
    pub last_updated_timestamp_ms: Option<i64>,
    pub artifact_location: String,
}

const RUN_COLUMNS: &str = "run_uuid, experiment_id, lifecycle_stage, artifact_uri, deleted_time";
const MODEL_COLUMNS: &str = "model_id, experiment_id, lifecycle_stage, \
     last_updated_timestamp_ms, artifact_location";

/// Job statuses MLflow counts as finalized (SUCCEEDED, FAILED, TIMEOUT,
/// CANCELED); only those jobs are ever deleted.
const FINALIZED_JOB_STATUSES: [i64; 4] = [2, 3, 4, 5];

fn gc_run_from_row(row: &AnyRow) -> Result<GcRun, sqlx::Error> {
    Ok(GcRun {
        run_id: row.try_get("run_uuid")?,
        experiment_id: get_opt_i64(row, "experiment_id")?
            .map(|i| i.to_string())
            .unwrap_or_default(),
        lifecycle_stage: row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default(),
        artifact_uri: row
            .try_get::<Option<String>, _>("artifact_uri")?
            .unwrap_or_default(),
        deleted_time: get_opt_i64(row, "deleted_time")?,
    })
}

fn gc_model_from_row(row: &AnyRow) -> Result<GcLoggedModel, sqlx::Error> {
    Ok(GcLoggedModel {
        model_id: row.try_get("model_id")?,
        experiment_id: get_opt_i64(row, "experiment_id")?
            .map(|i| i.to_string())
            .unwrap_or_default(),
        lifecycle_stage: row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_else(|| "active".into()),
        last_updated_timestamp_ms: get_opt_i64(row, "last_updated_timestamp_ms")?,
        artifact_location: row
            .try_get::<Option<String>, _>("artifact_location")?
            .unwrap_or_default(),
    })
}

/// `DELETE`s removing everything that belongs to the runs selected by
/// `runs` (a subquery of `run_uuid`s with one `$1` parameter), the runs
/// included, in an order the foreign keys accept.
fn run_cascade(runs: &str) -> Vec<String> {
    let links = format!(
        "SELECT input_uuid FROM inputs WHERE \
         (source_type IN ('RUN_INPUT', 'RUN_OUTPUT') AND source_id IN ({runs})) \
         OR (destination_type = 'RUN' AND destination_id IN ({runs}))"
    );
    vec![
        format!("DELETE FROM input_tags WHERE input_uuid IN ({links})"),
        format!(
            "DELETE FROM inputs WHERE \
             (source_type IN ('RUN_INPUT', 'RUN_OUTPUT') AND source_id IN ({runs})) \
             OR (destination_type = 'RUN' AND destination_id IN ({runs}))"
        ),
        format!("DELETE FROM logged_model_metrics WHERE run_id IN ({runs})"),
        format!("UPDATE issues SET source_run_id = NULL WHERE source_run_id IN ({runs})"),
        format!("DELETE FROM metrics WHERE run_uuid IN ({runs})"),
        format!("DELETE FROM latest_metrics WHERE run_uuid IN ({runs})"),
        format!("DELETE FROM params WHERE run_uuid IN ({runs})"),
        format!("DELETE FROM tags WHERE run_uuid IN ({runs})"),
        format!("DELETE FROM runs WHERE run_uuid IN ({runs})"),
    ]
}

/// `DELETE`s removing a logged model's tags, params and metrics (MLflow's
/// ORM cascade), then the model.
const MODEL_CASCADE: [&str; 4] = [
    "DELETE FROM logged_model_tags WHERE model_id = $1",
    "DELETE FROM logged_model_params WHERE model_id = $1",
    "DELETE FROM logged_model_metrics WHERE model_id = $1",
    "DELETE FROM logged_models WHERE model_id = $1",
];

/// Everything else an experiment owns (its runs and logged models go
/// first), children before parents; `$1` is the experiment id. This is the
/// union of MLflow's ORM cascades, the schema's `ON DELETE CASCADE` / `SET
/// NULL` foreign keys, and the rollup tables `_hard_delete_experiment`
/// clears by hand.
const EXPERIMENT_CASCADE: &[&str] = &[
    // logged-model rows whose model already went (none normally)
    "DELETE FROM logged_model_tags WHERE experiment_id = $1",
    "DELETE FROM logged_model_params WHERE experiment_id = $1",
    "DELETE FROM logged_model_metrics WHERE experiment_id = $1",
    // traces
    "DELETE FROM span_metrics WHERE trace_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM spans WHERE experiment_id = $1 OR trace_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM assessments WHERE experiment_id = $1 OR trace_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM trace_metrics WHERE request_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM trace_tags WHERE request_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM trace_request_metadata WHERE request_id IN \
     (SELECT request_id FROM trace_info WHERE experiment_id = $1)",
    "DELETE FROM trace_info WHERE experiment_id = $1",
    // scorers
    "DELETE FROM online_scoring_configs WHERE experiment_id = $1 OR scorer_id IN \
     (SELECT scorer_id FROM scorers WHERE experiment_id = $1)",
    "DELETE FROM scorer_versions WHERE scorer_id IN \
     (SELECT scorer_id FROM scorers WHERE experiment_id = $1)",
    "DELETE FROM scorers WHERE experiment_id = $1",
    // datasets and the links to them
    "DELETE FROM input_tags WHERE input_uuid IN (SELECT input_uuid FROM inputs WHERE \
     source_type = 'DATASET' AND source_id IN \
     (SELECT dataset_uuid FROM datasets WHERE experiment_id = $1))",
    "DELETE FROM inputs WHERE source_type = 'DATASET' AND source_id IN \
     (SELECT dataset_uuid FROM datasets WHERE experiment_id = $1)",
    "DELETE FROM datasets WHERE experiment_id = $1",
    // GenAI review tables
    "DELETE FROM issues WHERE experiment_id = $1",
    "DELETE FROM review_queue_users WHERE queue_id IN \
     (SELECT queue_id FROM review_queues WHERE experiment_id = $1)",
    "DELETE FROM review_queue_items WHERE queue_id IN \
     (SELECT queue_id FROM review_queues WHERE experiment_id = $1)",
    "DELETE FROM review_queue_label_schemas WHERE queue_id IN \
     (SELECT queue_id FROM review_queues WHERE experiment_id = $1)",
    "DELETE FROM review_queues WHERE experiment_id = $1",
    "DELETE FROM label_schemas WHERE experiment_id = $1",
    "UPDATE endpoints SET experiment_id = NULL WHERE experiment_id = $1",
    // rollups (no foreign key: MLflow deletes them explicitly)
    "DELETE FROM sql_trace_rollup_rebuild_queue WHERE experiment_id = $1",
    "DELETE FROM sql_trace_metric_daily_rollups WHERE experiment_id = $1",
    "DELETE FROM sql_span_cost_daily_rollups WHERE experiment_id = $1",
    "DELETE FROM sql_assessment_daily_rollups WHERE experiment_id = $1",
    // the experiment
    "DELETE FROM experiment_tags WHERE experiment_id = $1",
    "DELETE FROM experiments WHERE experiment_id = $1",
];

impl SqlStore {
    /// Ids of the runs in the `deleted` stage whose `deleted_time` is at or
    /// before `now - older_than_ms` (MLflow's `_get_deleted_runs`: a deleted
    /// run without a `deleted_time` is never selected this way).
    pub async fn gc_deleted_run_ids(&self, older_than_ms: i64) -> ApiResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT run_uuid FROM runs WHERE lifecycle_stage = 'deleted' AND deleted_time <= $1 \
             ORDER BY deleted_time, run_uuid",
        )
        .bind(now_millis() - older_than_ms)
        .fetch_all(&self.writer)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("run_uuid"))
            .collect::<Result<_, _>>()?)
    }

    /// The run, or `RESOURCE_DOES_NOT_EXIST` with MLflow's message.
    pub async fn gc_run(&self, run_id: &str) -> ApiResult<GcRun> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid = $1");
        let row = sqlx::query(&sql)
            .bind(run_id)
            .fetch_optional(&self.writer)
            .await?;
        match row {
            Some(row) => Ok(gc_run_from_row(&row)?),
            None => Err(ApiError::not_found(format!(
                "Run with id={run_id} not found"
            ))),
        }
    }

    /// The runs of these experiments, only those in the `deleted` stage
    /// (`deleted_only`) or all of them, ordered by experiment and start time.
    pub async fn gc_experiment_runs(
        &self,
        experiment_id: &str,
        deleted_only: bool,
    ) -> ApiResult<Vec<GcRun>> {
        let id = parse_experiment_id(experiment_id)?;
        let mut q = Sql::new(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE experiment_id = "
        ));
        q.i64(id);
        if deleted_only {
            q.push(" AND lifecycle_stage = 'deleted'");
        }
        q.push(" ORDER BY start_time DESC, run_uuid");
        let rows = q.query().fetch_all(&self.writer).await?;
        Ok(rows.iter().map(gc_run_from_row).collect::<Result<_, _>>()?)
    }

    /// The experiment, or `RESOURCE_DOES_NOT_EXIST` with MLflow's message.
    pub async fn gc_experiment(&self, experiment_id: &str) -> ApiResult<GcExperiment> {
        let id = parse_experiment_id(experiment_id)?;
        let row = sqlx::query(
            "SELECT experiment_id, lifecycle_stage, last_update_time, artifact_location \
             FROM experiments WHERE experiment_id = $1",
        )
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        let Some(row) = row else {
            return Err(ApiError::not_found(format!(
                "No Experiment with id={experiment_id} exists"
            )));
        };
        Ok(GcExperiment {
            experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
            lifecycle_stage: row
                .try_get::<Option<String>, _>("lifecycle_stage")?
                .unwrap_or_default(),
            last_update_time: get_opt_i64(&row, "last_update_time")?,
            artifact_location: row
                .try_get::<Option<String>, _>("artifact_location")?
                .unwrap_or_default(),
        })
    }

    /// Ids of the experiments in the `deleted` stage, only those last
    /// updated before `updated_before` when given (MLflow searches
    /// `DELETED_ONLY` with `last_update_time < threshold`).
    pub async fn gc_deleted_experiment_ids(
        &self,
        updated_before: Option<i64>,
    ) -> ApiResult<Vec<String>> {
        let mut q =
            Sql::new("SELECT experiment_id FROM experiments WHERE lifecycle_stage = 'deleted'");
        if let Some(t) = updated_before {
            q.push(" AND last_update_time < ").i64(t);
        }
        q.push(" ORDER BY experiment_id");
        let rows = q.query().fetch_all(&self.writer).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<i64, _>("experiment_id").map(|i| i.to_string()))
            .collect::<Result<_, _>>()?)
    }

    /// Ids of the logged models in the `deleted` stage last updated at or
    /// before `now - older_than_ms` (MLflow's `_get_deleted_logged_models`).
    pub async fn gc_deleted_logged_model_ids(&self, older_than_ms: i64) -> ApiResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT model_id FROM logged_models WHERE lifecycle_stage = 'deleted' \
             AND last_updated_timestamp_ms <= $1 ORDER BY last_updated_timestamp_ms, model_id",
        )
        .bind(now_millis() - older_than_ms)
        .fetch_all(&self.writer)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("model_id"))
            .collect::<Result<_, _>>()?)
    }

    /// The logged model, deleted or not, or `RESOURCE_DOES_NOT_EXIST` with
    /// MLflow's message.
    pub async fn gc_logged_model(&self, model_id: &str) -> ApiResult<GcLoggedModel> {
        let sql = format!("SELECT {MODEL_COLUMNS} FROM logged_models WHERE model_id = $1");
        let row = sqlx::query(&sql)
            .bind(model_id)
            .fetch_optional(&self.writer)
            .await?;
        match row {
            Some(row) => Ok(gc_model_from_row(&row)?),
            None => Err(ApiError::not_found(format!(
                "Logged model with ID '{model_id}' not found."
            ))),
        }
    }

    /// Every logged model of the experiment, deleted or not.
    pub async fn gc_experiment_logged_models(
        &self,
        experiment_id: &str,
    ) -> ApiResult<Vec<GcLoggedModel>> {
        let id = parse_experiment_id(experiment_id)?;
        let sql = format!(
            "SELECT {MODEL_COLUMNS} FROM logged_models WHERE experiment_id = $1 \
             ORDER BY creation_timestamp_ms, model_id"
        );
        let rows = sqlx::query(&sql).bind(id).fetch_all(&self.writer).await?;
        Ok(rows
            .iter()
            .map(gc_model_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Ids of the finalized jobs (SUCCEEDED, FAILED, TIMEOUT, CANCELED),
    /// only those among `job_ids` when given, only those created before
    /// `now - older_than_ms` when it is positive (MLflow's `delete_jobs`).
    pub async fn gc_finalized_job_ids(
        &self,
        older_than_ms: i64,
        job_ids: Option<&[String]>,
    ) -> ApiResult<Vec<String>> {
        let mut q = Sql::new("SELECT id FROM jobs WHERE status IN (");
        for (i, s) in FINALIZED_JOB_STATUSES.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.i64(*s);
        }
        q.push(")");
        if let Some(ids) = job_ids.filter(|ids| !ids.is_empty()) {
            q.push(" AND id IN ").str_list(ids);
        }
        if older_than_ms > 0 {
            q.push(" AND creation_time < ")
                .i64(now_millis() - older_than_ms);
        }
        q.push(" ORDER BY creation_time, id");
        let rows = q.query().fetch_all(&self.writer).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?)
    }

    /// Locks the row `table.key_column = key` if it is in the `deleted`
    /// stage; `false` when it is not (any more).
    async fn gc_lock_deleted(
        tx: &mut Transaction<'_, Any>,
        table: &str,
        key_column: &str,
        key: GcKey<'_>,
    ) -> ApiResult<bool> {
        let sql = format!(
            "UPDATE {table} SET lifecycle_stage = lifecycle_stage \
             WHERE {key_column} = $1 AND lifecycle_stage = 'deleted'"
        );
        let q = sqlx::query(&sql);
        let q = match key {
            GcKey::Text(k) => q.bind(k),
            GcKey::Int(k) => q.bind(k),
        };
        Ok(q.execute(&mut **tx).await?.rows_affected() > 0)
    }

    /// Permanently deletes a run in the `deleted` stage and every row that
    /// refers to it, in one transaction. A run that is no longer in the
    /// `deleted` stage is refused and nothing changes.
    pub async fn gc_hard_delete_run(&self, run_id: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        if !Self::gc_lock_deleted(&mut tx, "runs", "run_uuid", GcKey::Text(run_id)).await? {
            return Err(ApiError::invalid_parameter(format!(
                "Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` \
                 lifecycle stage can be deleted."
            )));
        }
        for sql in run_cascade("$1") {
            sqlx::query(&sql).bind(run_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Permanently deletes a logged model in the `deleted` stage with its
    /// tags, params and metrics, in one transaction.
    pub async fn gc_hard_delete_logged_model(&self, model_id: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        if !Self::gc_lock_deleted(&mut tx, "logged_models", "model_id", GcKey::Text(model_id))
            .await?
        {
            return Err(ApiError::invalid_parameter(format!(
                "Logged model {model_id} is not in `deleted` lifecycle stage. Only logged models \
                 in `deleted` lifecycle stage can be deleted."
            )));
        }
        for sql in MODEL_CASCADE {
            sqlx::query(sql).bind(model_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Permanently deletes an experiment in the `deleted` stage with
    /// everything it still holds — runs and logged models in any stage,
    /// with their rows in every table, traces, scorers, datasets … — in one
    /// transaction.
    pub async fn gc_hard_delete_experiment(&self, experiment_id: &str) -> ApiResult<()> {
        let id = parse_experiment_id(experiment_id)?;
        let mut tx = self.writer.begin().await?;
        if !Self::gc_lock_deleted(&mut tx, "experiments", "experiment_id", GcKey::Int(id)).await? {
            return Err(ApiError::invalid_parameter(format!(
                "Experiments {} are not in the deleted lifecycle stage. Only experiments in the \
                 deleted lifecycle stage can be hard-deleted.",
                crate::pycompat::repr_str_list(&[experiment_id])
            )));
        }
        for sql in run_cascade("SELECT run_uuid FROM runs WHERE experiment_id = $1") {
            sqlx::query(&sql).bind(id).execute(&mut *tx).await?;
        }
        let models = "SELECT model_id FROM logged_models WHERE experiment_id = $1";
        for table in [
            "logged_model_tags",
            "logged_model_params",
            "logged_model_metrics",
        ] {
            let sql = format!("DELETE FROM {table} WHERE model_id IN ({models})");
            sqlx::query(&sql).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM logged_models WHERE experiment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for sql in EXPERIMENT_CASCADE {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes these jobs (and their locks) in one transaction.
    pub async fn gc_delete_jobs(&self, job_ids: &[String]) -> ApiResult<()> {
        if job_ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        for table_and_column in ["job_locks WHERE job_id", "jobs WHERE id"] {
            let mut q = Sql::new(&format!("DELETE FROM {table_and_column} IN "));
            q.str_list(job_ids);
            q.query().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The key of the row [`SqlStore::gc_lock_deleted`] locks.
#[derive(Clone, Copy)]
enum GcKey<'a> {
    Text(&'a str),
    Int(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_cascade_deletes_children_before_the_run() {
        let stmts = run_cascade("$1");
        assert!(stmts
            .last()
            .is_some_and(|s| s.starts_with("DELETE FROM runs ")));
        let pos = |needle: &str| stmts.iter().position(|s| s.contains(needle));
        assert!(pos("DELETE FROM input_tags") < pos("DELETE FROM inputs"));
        for table in ["metrics", "latest_metrics", "params", "tags"] {
            assert!(
                pos(&format!("DELETE FROM {table} ")).is_some(),
                "{table} is cleared"
            );
        }
    }

    #[test]
    fn experiment_cascade_ends_with_the_experiment() {
        assert_eq!(
            EXPERIMENT_CASCADE.last().copied(),
            Some("DELETE FROM experiments WHERE experiment_id = $1")
        );
        let pos = |needle: &str| EXPERIMENT_CASCADE.iter().position(|s| s.contains(needle));
        assert!(pos("DELETE FROM spans") < pos("DELETE FROM trace_info"));
        assert!(pos("DELETE FROM scorer_versions") < pos("DELETE FROM scorers"));
        assert!(pos("DELETE FROM review_queue_items") < pos("DELETE FROM review_queues"));
        assert!(pos("DELETE FROM experiment_tags") < pos("DELETE FROM experiments"));
    }
}
