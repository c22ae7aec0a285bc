//! Runs: lifecycle, logging (params, metrics, tags in one transaction),
//! inputs/outputs, and search with batched loading of run data.

use super::experiments::parse_experiment_id;
use super::filters::{run_order_sql, run_where_sql};
use super::query::{get_opt_i64, insert_rows, Sql};
use super::{now_millis, SqlStore};
use crate::error::{ApiError, ApiResult};
use crate::search::{decode_page_token, encode_page_token};
use crate::store::{
    NewMetric, NewRun, Page, ParamValueConflict, ParamValueConflicts, RunQuery, RunStore, RunUpdate,
};
use crate::wire::{
    Dataset, DatasetInput, KeyValue, Metric, MetricValue, ModelIo, Run, RunData, RunInfo,
    RunInputs, RunOutputs, RunStatus,
};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

const RUN_NAME_TAG: &str = "mlflow.runName";
const RUN_COLUMNS: &str = "runs.run_uuid, runs.name, runs.user_id, runs.status, runs.start_time, \
     runs.end_time, runs.artifact_uri, runs.lifecycle_stage, runs.experiment_id";

fn run_info_from_row(row: &AnyRow) -> Result<RunInfo, sqlx::Error> {
    let run_id: String = row.try_get("run_uuid")?;
    Ok(RunInfo {
        run_uuid: run_id.clone(),
        experiment_id: get_opt_i64(row, "experiment_id")?
            .map(|i| i.to_string())
            .unwrap_or_default(),
        run_name: row
            .try_get::<Option<String>, _>("name")?
            .unwrap_or_default(),
        user_id: row
            .try_get::<Option<String>, _>("user_id")?
            .unwrap_or_default(),
        status: row
            .try_get::<Option<String>, _>("status")?
            .unwrap_or_default(),
        start_time: get_opt_i64(row, "start_time")?,
        end_time: get_opt_i64(row, "end_time")?,
        artifact_uri: row
            .try_get::<Option<String>, _>("artifact_uri")?
            .unwrap_or_default(),
        lifecycle_stage: row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default(),
        run_id,
    })
}

/// Key/value pairs aggregated as JSON `[[key, value], …]` in `column`
/// (NULL when there are none; a NULL value, as tags may hold, is "").
fn key_values(row: &AnyRow, column: &str) -> Result<Vec<KeyValue>, sqlx::Error> {
    let Some(text) = row.try_get::<Option<String>, _>(column)? else {
        return Ok(Vec::new());
    };
    let pairs: Vec<(String, Option<String>)> =
        serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: Box::new(e),
        })?;
    Ok(pairs
        .into_iter()
        .map(|(key, value)| KeyValue {
            key,
            value: value.unwrap_or_default(),
        })
        .collect())
}

/// MLflow stores ±inf as ±f64::MAX and NaN as 0 with `is_nan` set.
fn storable_value(v: f64) -> (f64, bool) {
    if v.is_nan() {
        (0.0, true)
    } else if v == f64::INFINITY {
        (f64::MAX, false)
    } else if v == f64::NEG_INFINITY {
        (f64::MIN, false)
    } else {
        (v, false)
    }
}

pub(super) fn metric_from_row(row: &AnyRow, with_run_id: bool) -> Result<Metric, sqlx::Error> {
    let is_nan: i64 = row.try_get("is_nan")?;
    let value: f64 = row.try_get("value")?;
    Ok(Metric {
        key: row.try_get("key")?,
        value: MetricValue(if is_nan != 0 { f64::NAN } else { value }),
        timestamp: get_opt_i64(row, "timestamp")?.unwrap_or(0),
        step: get_opt_i64(row, "step")?.unwrap_or(0),
        run_id: if with_run_id {
            Some(row.try_get("run_uuid")?)
        } else {
            None
        },
    })
}

/// `(step, timestamp, value)` ordering MLflow uses to pick the latest metric.
fn newer(a: &NewMetric, b: &NewMetric) -> bool {
    let (av, _) = storable_value(a.value);
    let (bv, _) = storable_value(b.value);
    (a.step, a.timestamp) > (b.step, b.timestamp)
        || ((a.step, a.timestamp) == (b.step, b.timestamp) && av > bv)
}

impl SqlStore {
    async fn run_info_in(&self, tx: &mut Transaction<'_, Any>, run_id: &str) -> ApiResult<RunInfo> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid = $1");
        let row = sqlx::query(&sql)
            .bind(run_id)
            .fetch_optional(&mut **tx)
            .await?;
        match row {
            Some(row) => Ok(run_info_from_row(&row)?),
            None => Err(ApiError::not_found(format!(
                "Run with id={run_id} not found"
            ))),
        }
    }

    async fn run_info(&self, run_id: &str) -> ApiResult<RunInfo> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid = $1");
        let row = sqlx::query(&sql)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(run_info_from_row(&row)?),
            None => Err(ApiError::not_found(format!(
                "Run with id={run_id} not found"
            ))),
        }
    }

    fn check_active(info: &RunInfo) -> ApiResult<()> {
        if info.lifecycle_stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The run {} must be in the 'active' state. Current state is {}.",
                info.run_id, info.lifecycle_stage
            )));
        }
        Ok(())
    }

    async fn active_run_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        run_id: &str,
    ) -> ApiResult<RunInfo> {
        let info = self.run_info_in(tx, run_id).await?;
        Self::check_active(&info)?;
        Ok(info)
    }

    /// The runs' columns, params and tags, by run id: where the dialect
    /// [reads run data as JSON](super::Dialect::reads_run_data_as_json),
    /// one query, one row per run, with the params and tags aggregated as
    /// `[[key, value], …]` (text, so nothing is lost); elsewhere three plain
    /// queries, sent at once.
    async fn runs_params_tags(
        &self,
        ids: &[&str],
    ) -> ApiResult<(HashMap<String, RunInfo>, HashMap<String, RunData>)> {
        let mut infos: HashMap<String, RunInfo> = HashMap::with_capacity(ids.len());
        let mut data: HashMap<String, RunData> = HashMap::with_capacity(ids.len());
        if self.dialect.reads_run_data_as_json() {
            let sql = format!(
                "SELECT {RUN_COLUMNS}, \
                 (SELECT json_group_array(json_array(p.key, p.value)) FROM params p \
                  WHERE p.run_uuid = runs.run_uuid) AS params_json, \
                 (SELECT json_group_array(json_array(t.key, t.value)) FROM tags t \
                  WHERE t.run_uuid = runs.run_uuid) AS tags_json \
                 FROM runs WHERE runs.run_uuid IN "
            );
            for row in &self.rows_for_ids(&sql, ids).await? {
                let info = run_info_from_row(row)?;
                data.insert(
                    info.run_id.clone(),
                    RunData {
                        metrics: Vec::new(),
                        params: key_values(row, "params_json")?,
                        tags: key_values(row, "tags_json")?,
                    },
                );
                infos.insert(info.run_id.clone(), info);
            }
            return Ok((infos, data));
        }
        let info_sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_uuid IN ");
        let (info_rows, param_rows, tag_rows) = tokio::try_join!(
            self.rows_for_ids(&info_sql, ids),
            self.rows_for_ids(
                "SELECT run_uuid, key, value FROM params WHERE run_uuid IN ",
                ids
            ),
            self.rows_for_ids(
                "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ",
                ids
            ),
        )?;
        for row in &info_rows {
            let info = run_info_from_row(row)?;
            infos.insert(info.run_id.clone(), info);
        }
        for row in &param_rows {
            data.entry(row.try_get("run_uuid")?)
                .or_default()
                .params
                .push(KeyValue {
                    key: row.try_get("key")?,
                    value: row.try_get("value")?,
                });
        }
        for row in &tag_rows {
            data.entry(row.try_get("run_uuid")?)
                .or_default()
                .tags
                .push(KeyValue {
                    key: row.try_get("key")?,
                    value: row
                        .try_get::<Option<String>, _>("value")?
                        .unwrap_or_default(),
                });
        }
        Ok((infos, data))
    }

    /// `<select> (…ids…)` on the read pool.
    async fn rows_for_ids(&self, select: &str, ids: &[&str]) -> ApiResult<Vec<AnyRow>> {
        let mut q = Sql::new(select);
        q.str_list(ids);
        Ok(q.query().fetch_all(&self.pool).await?)
    }

    /// The runs with these ids, in this order (an id without a run is left
    /// out), each with its params, tags, latest metrics, inputs and outputs.
    /// One query per table, all sent at once: they depend only on the ids,
    /// so the request waits for the slowest instead of their sum.
    async fn load_runs(&self, run_ids: &[String]) -> ApiResult<Vec<Run>> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
        let ids = ids.as_slice();
        let ((mut infos, mut data), metric_rows, datasets, io_rows) = tokio::try_join!(
            self.runs_params_tags(ids),
            self.rows_for_ids(
                "SELECT run_uuid, key, value, timestamp, step, \
                 CASE WHEN is_nan THEN 1 ELSE 0 END AS is_nan \
                 FROM latest_metrics WHERE run_uuid IN ",
                ids,
            ),
            self.dataset_inputs(ids),
            self.rows_for_ids(
                "SELECT source_type, source_id, destination_id, step FROM inputs \
                 WHERE ((source_type = 'RUN_INPUT' AND destination_type = 'MODEL_INPUT') \
                 OR (source_type = 'RUN_OUTPUT' AND destination_type = 'MODEL_OUTPUT')) \
                 AND source_id IN ",
                ids,
            ),
        )?;
        for row in &metric_rows {
            data.entry(row.try_get("run_uuid")?)
                .or_default()
                .metrics
                .push(metric_from_row(row, false)?);
        }
        let mut inputs: HashMap<String, RunInputs> = HashMap::new();
        let mut outputs: HashMap<String, RunOutputs> = HashMap::new();
        for (run, input) in datasets {
            inputs.entry(run).or_default().dataset_inputs.push(input);
        }
        for row in &io_rows {
            let run: String = row.try_get("source_id")?;
            let io = ModelIo {
                model_id: row.try_get("destination_id")?,
                step: get_opt_i64(row, "step")?.unwrap_or(0),
            };
            if row.try_get::<String, _>("source_type")? == "RUN_INPUT" {
                inputs.entry(run).or_default().model_inputs.push(io);
            } else {
                outputs.entry(run).or_default().model_outputs.push(io);
            }
        }
        Ok(run_ids
            .iter()
            .filter_map(|id| infos.remove(id))
            .map(|info| Run {
                data: data.remove(&info.run_id).unwrap_or_default(),
                inputs: Some(inputs.remove(&info.run_id).unwrap_or_default()),
                outputs: Some(outputs.remove(&info.run_id).unwrap_or_default()),
                info,
            })
            .collect())
    }

    /// `(run id, dataset input)` of these runs, with the inputs' tags.
    async fn dataset_inputs(&self, ids: &[&str]) -> ApiResult<Vec<(String, DatasetInput)>> {
        let dataset_rows = self
            .rows_for_ids(
                "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, \
                 d.dataset_source, d.dataset_schema, d.dataset_profile \
                 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id \
                 WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' \
                 AND i.destination_id IN ",
                ids,
            )
            .await?;
        if dataset_rows.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<String> = dataset_rows
            .iter()
            .map(|r| r.try_get::<String, _>("input_uuid"))
            .collect::<Result<_, _>>()?;
        let uuids: Vec<&str> = uuids.iter().map(String::as_str).collect();
        let mut input_tags: HashMap<String, Vec<KeyValue>> = HashMap::new();
        for row in self
            .rows_for_ids(
                "SELECT input_uuid, name, value FROM input_tags WHERE input_uuid IN ",
                &uuids,
            )
            .await?
        {
            input_tags
                .entry(row.try_get("input_uuid")?)
                .or_default()
                .push(KeyValue {
                    key: row.try_get("name")?,
                    value: row.try_get("value")?,
                });
        }
        let mut out = Vec::with_capacity(dataset_rows.len());
        for row in &dataset_rows {
            let uuid: String = row.try_get("input_uuid")?;
            out.push((
                row.try_get("destination_id")?,
                DatasetInput {
                    tags: input_tags.remove(&uuid).unwrap_or_default(),
                    dataset: Dataset {
                        name: row.try_get("name")?,
                        digest: row.try_get("digest")?,
                        source_type: row.try_get("dataset_source_type")?,
                        source: row.try_get("dataset_source")?,
                        schema: row.try_get("dataset_schema")?,
                        profile: row.try_get("dataset_profile")?,
                    },
                },
            ));
        }
        Ok(out)
    }

    async fn set_run_lifecycle(&self, run_id: &str, stage: &str) -> ApiResult<()> {
        self.run_info(run_id).await?;
        let deleted_time = if stage == "deleted" {
            Some(now_millis())
        } else {
            None
        };
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
            .bind(stage)
            .bind(deleted_time)
            .bind(run_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Inserts the params the run does not have yet. Params are immutable:
    /// the same value again is fine; any other value fails the whole write
    /// with every changed param named ([`ParamValueConflicts`]).
    async fn insert_new_params(
        tx: &mut Transaction<'_, Any>,
        run_id: &str,
        params: &[KeyValue],
    ) -> ApiResult<()> {
        let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
        let mut q = Sql::new("SELECT key, value FROM params WHERE run_uuid = ");
        q.str(run_id).push(" AND key IN ").str_list(&keys);
        let existing: HashMap<String, String> = q
            .query()
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("key")?, r.try_get("value")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut fresh = Vec::new();
        let mut conflicts = Vec::new();
        for p in params {
            match existing.get(&p.key) {
                Some(old) if *old != p.value => conflicts.push(ParamValueConflict {
                    key: p.key.clone(),
                    old_value: old.clone(),
                    new_value: p.value.clone(),
                }),
                Some(_) => {}
                None => fresh.push(p),
            }
        }
        if !conflicts.is_empty() {
            let conflicts = ParamValueConflicts {
                run_id: run_id.to_string(),
                conflicts,
            };
            return Err(
                ApiError::invalid_parameter(conflicts.batch_message()).with_source(conflicts)
            );
        }
        insert_rows(
            tx,
            "params",
            &["key", "value", "run_uuid"],
            "ON CONFLICT (key, run_uuid) DO NOTHING",
            &fresh,
            |row, p| {
                row.str(&p.key).str(&p.value).str(run_id);
            },
        )
        .await?;
        Ok(())
    }

    /// Inserts metric points and moves `latest_metrics` forward.
    async fn insert_metrics(
        tx: &mut Transaction<'_, Any>,
        run_id: &str,
        metrics: &[NewMetric],
    ) -> ApiResult<()> {
        // Identical points (the whole row is the key) are deduplicated.
        insert_rows(
            tx,
            "metrics",
            &["key", "value", "timestamp", "run_uuid", "step", "is_nan"],
            "ON CONFLICT DO NOTHING",
            metrics,
            |row, m| {
                let (value, is_nan) = storable_value(m.value);
                row.str(&m.key)
                    .f64(value)
                    .i64(m.timestamp)
                    .str(run_id)
                    .i64(m.step)
                    .bool(is_nan);
            },
        )
        .await?;
        // The newest point per key in this batch, then one conditional
        // upsert: the database keeps whichever is newer, so concurrent
        // writers cannot move `latest_metrics` backwards.
        let mut latest: Vec<&NewMetric> = Vec::new();
        for m in metrics {
            match latest.iter_mut().find(|l| l.key == m.key) {
                Some(slot) if newer(m, slot) => *slot = m,
                Some(_) => {}
                None => latest.push(m),
            }
        }
        latest.sort_by(|a, b| a.key.cmp(&b.key));
        insert_rows(
            tx,
            "latest_metrics",
            &["key", "value", "timestamp", "step", "is_nan", "run_uuid"],
            "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, \
             timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan \
             WHERE excluded.step > latest_metrics.step \
             OR (excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp) \
             OR (excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp \
                 AND excluded.value > latest_metrics.value)",
            &latest,
            |row, m| {
                let (value, is_nan) = storable_value(m.value);
                row.str(&m.key)
                    .f64(value)
                    .i64(m.timestamp)
                    .i64(m.step)
                    .bool(is_nan)
                    .str(run_id);
            },
        )
        .await?;
        Ok(())
    }

    /// Upserts run tags; `mlflow.runName` also renames the run.
    async fn upsert_tags(
        tx: &mut Transaction<'_, Any>,
        run_id: &str,
        tags: &[KeyValue],
    ) -> ApiResult<()> {
        // Last value wins for repeated keys, as sequential set-tag calls would.
        let mut unique: Vec<&KeyValue> = Vec::new();
        for tag in tags {
            if let Some(slot) = unique.iter_mut().find(|t| t.key == tag.key) {
                *slot = tag;
            } else {
                unique.push(tag);
            }
        }
        insert_rows(
            tx,
            "tags",
            &["key", "value", "run_uuid"],
            "ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
            &unique,
            |row, tag| {
                row.str(&tag.key).str(&tag.value).str(run_id);
            },
        )
        .await?;
        if let Some(name) = unique.iter().find(|t| t.key == RUN_NAME_TAG) {
            sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
                .bind(&name.value)
                .bind(run_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    async fn link_model(
        tx: &mut Transaction<'_, Any>,
        source_type: &str,
        run_id: &str,
        destination_type: &str,
        model: &ModelIo,
    ) -> ApiResult<()> {
        sqlx::query(
            "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(source_type)
        .bind(run_id)
        .bind(destination_type)
        .bind(&model.model_id)
        .bind(model.step)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Fails with 404 unless the run exists (metric reads need it).
    pub(super) async fn require_run(&self, run_id: &str) -> ApiResult<()> {
        self.run_info(run_id).await.map(|_| ())
    }
}

#[async_trait]
impl RunStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_run(&self, new: NewRun) -> ApiResult<Run> {
        let experiment = self.check_experiment_active(&new.experiment_id).await?;
        let experiment_id = parse_experiment_id(&new.experiment_id)?;
        let tag_name = new
            .tags
            .iter()
            .rev()
            .find(|t| t.key == RUN_NAME_TAG)
            .map(|t| t.value.clone());
        let run_name = match (new.run_name.is_empty(), tag_name) {
            (false, Some(tag)) if tag != new.run_name => {
                return Err(ApiError::invalid_parameter(format!(
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with \
                     different values (run_name='{}', mlflow.runName='{tag}').",
                    new.run_name
                )))
            }
            (false, _) => new.run_name.clone(),
            (true, Some(tag)) => tag,
            (true, None) => crate::pycompat::names::random_name(),
        };
        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let root = experiment.artifact_location.clone().unwrap_or_default();
        let artifact_uri = format!("{}/{run_id}/artifacts", root.trim_end_matches('/'));
        let mut tags = new.tags.clone();
        if !tags.iter().any(|t| t.key == RUN_NAME_TAG) {
            tags.push(KeyValue {
                key: RUN_NAME_TAG.into(),
                value: run_name.clone(),
            });
        }
        let mut tx = self.writer.begin().await?;
        let mut q = Sql::new(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, \
             status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, \
             deleted_time) VALUES (",
        );
        q.str(&run_id)
            .push(", ")
            .str(&run_name)
            .push(", 'UNKNOWN', '', '', ")
            .str(&new.user_id)
            .push(", 'RUNNING', ")
            .i64(new.start_time)
            .push(", NULL, '', 'active', ")
            .str(&artifact_uri)
            .push(", ")
            .i64(experiment_id)
            .push(", NULL)");
        q.query().execute(&mut *tx).await?;
        Self::upsert_tags(&mut tx, &run_id, &tags).await?;
        tx.commit().await?;
        Ok(Run {
            info: RunInfo {
                run_uuid: run_id.clone(),
                experiment_id: experiment_id.to_string(),
                run_name,
                user_id: new.user_id,
                status: RunStatus::Running.as_str().into(),
                start_time: Some(new.start_time),
                end_time: None,
                artifact_uri,
                lifecycle_stage: "active".into(),
                run_id,
            },
            data: RunData {
                metrics: Vec::new(),
                params: Vec::new(),
                tags,
            },
            inputs: Some(RunInputs::default()),
            outputs: None,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_run(&self, run_id: &str) -> ApiResult<Run> {
        self.load_runs(&[run_id.to_string()])
            .await?
            .pop()
            .ok_or_else(|| ApiError::not_found(format!("Run with id={run_id} not found")))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn run_experiment_id(&self, run_id: &str) -> ApiResult<Option<String>> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(|id| id.to_string()))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> ApiResult<RunInfo> {
        let mut tx = self.writer.begin().await?;
        let mut info = self.active_run_in(&mut tx, run_id).await?;
        if let Some(status) = update.status {
            info.status = status.as_str().into();
        }
        if let Some(end_time) = update.end_time {
            info.end_time = Some(end_time);
        }
        if let Some(name) = update.run_name.filter(|n| !n.is_empty()) {
            info.run_name = name.clone();
            Self::upsert_tags(
                &mut tx,
                run_id,
                &[KeyValue {
                    key: RUN_NAME_TAG.into(),
                    value: name,
                }],
            )
            .await?;
        }
        sqlx::query("UPDATE runs SET status = $1, end_time = $2, name = $3 WHERE run_uuid = $4")
            .bind(&info.status)
            .bind(info.end_time)
            .bind(&info.run_name)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(info)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_run(&self, run_id: &str) -> ApiResult<()> {
        self.set_run_lifecycle(run_id, "deleted").await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn restore_run(&self, run_id: &str) -> ApiResult<()> {
        self.set_run_lifecycle(run_id, "active").await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[NewMetric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        let run_info = self.active_run_in(&mut tx, run_id).await?;

        if !params.is_empty() {
            Self::insert_new_params(&mut tx, run_id, params).await?;
        }
        if !metrics.is_empty() {
            Self::insert_metrics(&mut tx, run_id, metrics).await?;
        }
        // Metrics that name a logged model also go to its metrics (MLflow's
        // order: params, metrics, model metrics, tags).
        Self::log_model_metrics_in(&mut tx, run_id, &run_info.experiment_id, metrics).await?;
        if !tags.is_empty() {
            Self::upsert_tags(&mut tx, run_id, tags).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_tag(&self, run_id: &str, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        self.active_run_in(&mut tx, run_id).await?;
        let done = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelIo],
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        let info = self.active_run_in(&mut tx, run_id).await?;
        let experiment_id = parse_experiment_id(&info.experiment_id)?;
        for input in datasets {
            let d = &input.dataset;
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3",
            )
            .bind(experiment_id)
            .bind(&d.name)
            .bind(&d.digest)
            .fetch_optional(&mut *tx)
            .await?;
            let dataset_uuid = match existing {
                Some(u) => u,
                None => {
                    let u = uuid::Uuid::new_v4().simple().to_string();
                    sqlx::query(
                        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, \
                         dataset_source, dataset_schema, dataset_profile) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&u)
                    .bind(experiment_id)
                    .bind(&d.name)
                    .bind(&d.digest)
                    .bind(&d.source_type)
                    .bind(&d.source)
                    .bind(d.schema.clone())
                    .bind(d.profile.clone())
                    .execute(&mut *tx)
                    .await?;
                    u
                }
            };
            let linked: Option<String> = sqlx::query_scalar(
                "SELECT input_uuid FROM inputs WHERE source_type = 'DATASET' AND source_id = $1 \
                 AND destination_type = 'RUN' AND destination_id = $2",
            )
            .bind(&dataset_uuid)
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
            if linked.is_some() {
                continue;
            }
            let input_uuid = uuid::Uuid::new_v4().simple().to_string();
            sqlx::query(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) \
                 VALUES ($1, 'DATASET', $2, 'RUN', $3, 0)",
            )
            .bind(&input_uuid)
            .bind(&dataset_uuid)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
            insert_rows(
                &mut tx,
                "input_tags",
                &["input_uuid", "name", "value"],
                "",
                &input.tags,
                |row, tag| {
                    row.str(&input_uuid).str(&tag.key).str(&tag.value);
                },
            )
            .await?;
        }
        for model in models {
            Self::link_model(&mut tx, "RUN_INPUT", run_id, "MODEL_INPUT", model).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_outputs(&self, run_id: &str, models: &[ModelIo]) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        self.active_run_in(&mut tx, run_id).await?;
        for model in models {
            Self::link_model(&mut tx, "RUN_OUTPUT", run_id, "MODEL_OUTPUT", model).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_runs(&self, query: &RunQuery) -> ApiResult<Page<Run>> {
        let offset = match &query.page_token {
            Some(t) if !t.is_empty() => decode_page_token(t)?,
            _ => 0,
        };
        if query.experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let mut ids = Vec::with_capacity(query.experiment_ids.len());
        for id in &query.experiment_ids {
            ids.push(parse_experiment_id(id)?);
        }
        // The page's ids only: the sort then carries a 32-character key
        // per run instead of the whole row (the rows of the page are read
        // by id below, with their data).
        let mut q = Sql::new("SELECT runs.run_uuid FROM runs");
        let order = run_order_sql(&mut q, &query.order_by)?;
        q.push(" WHERE runs.experiment_id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.i64(*id);
        }
        q.push(") AND runs.lifecycle_stage IN ")
            .str_list(query.view_type.stages());
        run_where_sql(&mut q, &query.filter, self.dialect)?;
        q.push(&order);
        q.push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut page = q
            .query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = if page.len() as i64 > query.max_results {
            page.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        Ok(Page {
            items: self.load_runs(&page).await?,
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUri;
    use crate::wire::ViewType;

    /// (start time, the value of param `p`, run id)
    type TestRun = (Option<i64>, Option<&'static str>, String);

    async fn search(
        store: &SqlStore,
        order_by: Vec<&str>,
        max_results: i64,
        page_token: Option<String>,
    ) -> Page<Run> {
        store
            .search_runs(&RunQuery {
                experiment_ids: vec!["0".into()],
                filter: String::new(),
                view_type: ViewType::ActiveOnly,
                max_results,
                order_by: order_by.into_iter().map(str::to_string).collect(),
                page_token,
            })
            .await
            .unwrap()
    }

    /// The page query orders by `x DIR NULLS LAST` where MLflow writes
    /// `CASE WHEN x IS NULL …, x DIR`; the runs and their data are then read
    /// by id. Same order, ties and pages as MLflow: missing last, then
    /// `start_time DESC`, then `run_uuid`.
    #[tokio::test]
    async fn search_orders_and_pages_as_mlflow() {
        let store = SqlStore::open(&DatabaseUri::Sqlite { path: None })
            .await
            .unwrap();
        store
            .ensure_default_experiment("mlflow-artifacts:/0")
            .await
            .unwrap();
        // (start time, a param value): two pairs of equal start times, one
        // run without a start time, one without the param.
        let specs: [(Option<i64>, Option<&str>); 6] = [
            (Some(10), Some("b")),
            (Some(10), Some("a")),
            (Some(20), None),
            (None, Some("a")),
            (Some(20), Some("c")),
            (Some(30), Some("b")),
        ];
        let mut runs: Vec<TestRun> = Vec::new();
        for (start, param) in specs {
            let id = store
                .create_run(NewRun {
                    experiment_id: "0".into(),
                    user_id: "u".into(),
                    run_name: String::new(),
                    start_time: start.unwrap_or(0),
                    tags: Vec::new(),
                })
                .await
                .unwrap()
                .info
                .run_id;
            if let Some(p) = param {
                let kv = KeyValue {
                    key: "p".into(),
                    value: p.into(),
                };
                store.log_batch(&id, &[], &[kv], &[]).await.unwrap();
            }
            if start.is_none() {
                sqlx::query("UPDATE runs SET start_time = NULL WHERE run_uuid = $1")
                    .bind(&id)
                    .execute(&store.writer)
                    .await
                    .unwrap();
            }
            runs.push((start, param, id));
        }
        // A tag without a value (only other writers leave one) reads as "".
        sqlx::query("INSERT INTO tags (key, value, run_uuid) VALUES ('empty', NULL, $1)")
            .bind(&runs[0].2)
            .execute(&store.writer)
            .await
            .unwrap();
        let ids = |page: &Page<Run>| -> Vec<String> {
            page.items.iter().map(|r| r.info.run_id.clone()).collect()
        };
        // Missing last in both directions, then start_time DESC, run_uuid.
        let expect = |key: &dyn Fn(&TestRun) -> (bool, i64, i64)| {
            let mut sorted = runs.clone();
            sorted.sort_by(|a, b| key(a).cmp(&key(b)).then(a.2.cmp(&b.2)));
            sorted.into_iter().map(|r| r.2).collect::<Vec<_>>()
        };
        let start = |r: &TestRun| r.0.unwrap_or(0);
        let desc = expect(&|r| (r.0.is_none(), -start(r), 0));
        let asc = expect(&|r| (r.0.is_none(), start(r), 0));
        let rank = |p: Option<&str>| p.map_or(0, |p| i64::from(p.as_bytes()[0]));
        let by_param = expect(&|r| (r.1.is_none(), -rank(r.1), -start(r)));
        assert_eq!(
            ids(&search(&store, vec!["attributes.start_time DESC"], 100, None).await),
            desc
        );
        assert_eq!(
            ids(&search(&store, vec!["attributes.start_time ASC"], 100, None).await),
            asc
        );
        assert_eq!(
            ids(&search(&store, vec!["params.p DESC"], 100, None).await),
            by_param
        );
        // Paging: offset tokens, the same order across pages.
        let mut paged = Vec::new();
        let mut token = None;
        loop {
            let page = search(&store, vec!["attributes.start_time DESC"], 4, token).await;
            paged.extend(ids(&page));
            match page.next_page_token {
                Some(t) => {
                    assert_eq!(t, encode_page_token(paged.len()));
                    token = Some(t);
                }
                None => break,
            }
        }
        assert_eq!(paged, desc);
        // Each run comes with its own data.
        let page = search(&store, vec![], 100, None).await;
        for run in &page.items {
            let (_, param, _) = runs.iter().find(|r| r.2 == run.info.run_id).unwrap();
            let got: Vec<&str> = run.data.params.iter().map(|p| p.value.as_str()).collect();
            assert_eq!(got, param.iter().copied().collect::<Vec<_>>());
            assert!(run.data.tags.iter().any(|t| t.key == RUN_NAME_TAG));
        }
        let first = store.get_run(&runs[0].2).await.unwrap();
        let empty = first.data.tags.iter().find(|t| t.key == "empty").unwrap();
        assert_eq!(empty.value, "");
        let err = store.get_run("0123456789abcdef0123456789abcdef").await;
        assert_eq!(
            err.unwrap_err().message,
            "Run with id=0123456789abcdef0123456789abcdef not found"
        );
    }
}
