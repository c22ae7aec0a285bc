//! Experiments and their tags: [`ExperimentStore`] on SQL.

use super::filters::{experiment_order_sql, experiment_where_sql};
use super::query::{get_opt_i64, insert_rows, Sql};
use super::{now_millis, SqlStore};
use crate::error::{ApiError, ApiResult, UNIQUE_EXPERIMENT_NAME};
use crate::search::{decode_page_token, encode_page_token};
use crate::store::{ExperimentQuery, ExperimentStore, Page};
use crate::wire::{Experiment, KeyValue};
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

const EXPERIMENT_COLUMNS: &str = "experiment_id, name, artifact_location, lifecycle_stage, \
     creation_time, last_update_time, workspace";

/// Parses an experiment id the way MLflow's SQL store does.
pub(crate) fn parse_experiment_id(id: &str) -> ApiResult<i64> {
    crate::validation::validate_experiment_id_int(id)
}

fn experiment_from_row(row: &AnyRow) -> Result<Experiment, sqlx::Error> {
    Ok(Experiment {
        experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        lifecycle_stage: row.try_get("lifecycle_stage")?,
        last_update_time: get_opt_i64(row, "last_update_time")?,
        creation_time: get_opt_i64(row, "creation_time")?,
        tags: Vec::new(),
        workspace: row
            .try_get::<Option<String>, _>("workspace")?
            .unwrap_or_else(|| "default".into()),
    })
}

impl SqlStore {
    /// Creates experiment `0` ("Default") when the database has no
    /// experiment at all, as `mlflow server` does on first start.
    pub async fn ensure_default_experiment(&self, artifact_location: &str) -> ApiResult<()> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM experiments")
            .fetch_one(&self.writer)
            .await?;
        if count > 0 {
            return Ok(());
        }
        let now = now_millis();
        let mut q = Sql::new(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
             creation_time, last_update_time, workspace) VALUES (0, 'Default', ",
        );
        q.str(artifact_location)
            .push(", 'active', ")
            .i64(now)
            .push(", ")
            .i64(now)
            .push(", 'default') ON CONFLICT DO NOTHING");
        q.query().execute(&self.writer).await?;
        Ok(())
    }

    async fn load_experiment_tags(&self, ids: &[i64]) -> ApiResult<HashMap<i64, Vec<KeyValue>>> {
        let mut tags: HashMap<i64, Vec<KeyValue>> = HashMap::new();
        if ids.is_empty() {
            return Ok(tags);
        }
        let mut q = Sql::new(
            "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id IN (",
        );
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.i64(*id);
        }
        q.push(")");
        for row in q.query().fetch_all(&self.pool).await? {
            let id: i64 = row.try_get("experiment_id")?;
            tags.entry(id).or_default().push(KeyValue {
                key: row.try_get("key")?,
                value: row
                    .try_get::<Option<String>, _>("value")?
                    .unwrap_or_default(),
            });
        }
        Ok(tags)
    }

    async fn with_tags(&self, mut experiments: Vec<Experiment>) -> ApiResult<Vec<Experiment>> {
        let ids: Vec<i64> = experiments
            .iter()
            .filter_map(|e| e.experiment_id.parse().ok())
            .collect();
        let mut tags = self.load_experiment_tags(&ids).await?;
        for e in &mut experiments {
            if let Some(t) = e
                .experiment_id
                .parse()
                .ok()
                .and_then(|id: i64| tags.remove(&id))
            {
                e.tags = t;
            }
        }
        Ok(experiments)
    }

    /// The experiment or 404, without tags.
    pub(super) async fn experiment_row(&self, experiment_id: &str) -> ApiResult<Experiment> {
        let id = parse_experiment_id(experiment_id)?;
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(experiment_from_row(&row)?),
            None => Err(ApiError::not_found(format!(
                "No Experiment with id={experiment_id} exists"
            ))),
        }
    }

    pub(super) async fn check_experiment_active(
        &self,
        experiment_id: &str,
    ) -> ApiResult<Experiment> {
        let e = self.experiment_row(experiment_id).await?;
        let stage = e.lifecycle_stage.clone().unwrap_or_default();
        if stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is {stage}."
            )));
        }
        Ok(e)
    }

    /// Soft delete or restore an experiment together with its runs.
    pub(super) async fn set_experiment_lifecycle(
        &self,
        experiment_id: &str,
        stage: &str,
    ) -> ApiResult<()> {
        let id = parse_experiment_id(experiment_id)?;
        self.experiment_row(experiment_id).await?;
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(stage)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted_time = if stage == "deleted" { Some(now) } else { None };
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3",
        )
        .bind(stage)
        .bind(deleted_time)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The answer to creating an experiment whose name is taken (MLflow's text,
/// with our reason where MLflow puts the database's).
fn experiment_name_taken(name: &str) -> ApiError {
    ApiError::already_exists(format!(
        "Experiment(name={name}) already exists. Error: an experiment with this name exists \
         (names are unique, including deleted experiments)"
    ))
}

impl SqlStore {
    /// The experiment row, its artifact location and its tags, in one
    /// transaction; a name already taken is answered before the INSERT.
    async fn insert_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> ApiResult<String> {
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT experiment_id FROM experiments WHERE workspace = 'default' AND name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        if existing.is_some() {
            return Err(experiment_name_taken(name));
        }
        let mut q = Sql::new(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time, workspace) VALUES (",
        );
        q.str(name)
            .push(", ")
            .opt_str(artifact_location)
            .push(", 'active', ")
            .i64(now)
            .push(", ")
            .i64(now)
            .push(", 'default') RETURNING experiment_id");
        let id: i64 = q.query().fetch_one(&mut *tx).await?.try_get(0)?;
        if artifact_location.is_none() {
            let location = if self.default_artifact_root.ends_with('/') {
                format!("{}{id}", self.default_artifact_root)
            } else {
                format!("{}/{id}", self.default_artifact_root)
            };
            sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
                .bind(location)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        insert_rows(
            &mut tx,
            "experiment_tags",
            &["key", "value", "experiment_id"],
            "",
            tags,
            |row, tag| {
                row.str(&tag.key).str(&tag.value).i64(id);
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id.to_string())
    }
}

#[async_trait]
impl ExperimentStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> ApiResult<String> {
        self.insert_experiment(name, artifact_location, tags)
            .await
            .map_err(|err| match err.unique_key() {
                // Another request took the name between the check and the
                // INSERT: the same answer as the check's.
                Some(key) if key.constraint == UNIQUE_EXPERIMENT_NAME => ApiError {
                    source: err.source.clone(),
                    ..experiment_name_taken(name)
                },
                // MLflow answers any integrity error of this call so (a tag
                // key given twice, say).
                Some(key) => ApiError {
                    message: format!(
                        "Experiment(name={name}) already exists. Error: {}",
                        key.message
                    ),
                    ..err
                },
                None => err,
            })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_experiment(&self, experiment_id: &str) -> ApiResult<Experiment> {
        let e = self.experiment_row(experiment_id).await?;
        Ok(self.with_tags(vec![e]).await?.remove(0))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_experiment_by_name(&self, name: &str) -> ApiResult<Option<Experiment>> {
        let sql = format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE workspace = 'default' AND name = $1"
        );
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let e = experiment_from_row(&row)?;
                Ok(self.with_tags(vec![e]).await?.pop())
            }
            None => Ok(None),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_experiments(&self, query: &ExperimentQuery) -> ApiResult<Page<Experiment>> {
        let offset = match &query.page_token {
            Some(t) if !t.is_empty() => decode_page_token(t)?,
            _ => 0,
        };
        let mut q = Sql::new(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE lifecycle_stage IN "
        ));
        q.str_list(query.view_type.stages());
        experiment_where_sql(&mut q, &query.filter, self.dialect)?;
        experiment_order_sql(&mut q, &query.order_by)?;
        q.push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let rows = q.query().fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(experiment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = if items.len() as i64 > query.max_results {
            items.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        Ok(Page {
            items: self.with_tags(items).await?,
            next_page_token,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> ApiResult<()> {
        let e = self.experiment_row(experiment_id).await?;
        if e.lifecycle_stage.as_deref() != Some("active") {
            return Err(ApiError::invalid_parameter(format!(
                "Cannot rename a non-active experiment {experiment_id}."
            )));
        }
        let name_taken =
            || ApiError::already_exists(format!("Experiment(name={new_name}) already exists."));
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT experiment_id FROM experiments WHERE workspace = 'default' AND name = $1 AND experiment_id != $2",
        )
        .bind(new_name)
        .bind(parse_experiment_id(experiment_id)?)
        .fetch_optional(&self.pool)
        .await?;
        if taken.is_some() {
            return Err(name_taken());
        }
        sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_millis())
        .bind(parse_experiment_id(experiment_id)?)
        .execute(&self.writer)
        .await
        .map_err(|err| {
            let err = ApiError::from(err);
            match err.unique_key() {
                // Taken between the check and the UPDATE.
                Some(key) if key.constraint == UNIQUE_EXPERIMENT_NAME => ApiError {
                    source: err.source.clone(),
                    ..name_taken()
                },
                _ => err,
            }
        })?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_experiment(&self, experiment_id: &str) -> ApiResult<()> {
        self.set_experiment_lifecycle(experiment_id, "deleted")
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn restore_experiment(&self, experiment_id: &str) -> ApiResult<()> {
        self.set_experiment_lifecycle(experiment_id, "active").await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> ApiResult<()> {
        self.check_experiment_active(experiment_id).await?;
        let id = parse_experiment_id(experiment_id)?;
        sqlx::query(
            "INSERT INTO experiment_tags (key, value, experiment_id) VALUES ($1, $2, $3) \
             ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> ApiResult<()> {
        self.check_experiment_active(experiment_id).await?;
        let id = parse_experiment_id(experiment_id)?;
        let done = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(id)
            .bind(key)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with name: {key} in experiment with id {experiment_id}"
            )));
        }
        Ok(())
    }
}
