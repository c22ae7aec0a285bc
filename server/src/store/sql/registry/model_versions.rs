//! Model versions: create (resolving `models:/` sources and linking the
//! logged model they come from), read, update, soft delete, stage
//! transitions, download URIs.

use super::{
    dedupe_tags, logged_model_not_found, mv_from_row, mv_not_found, opt_string, rm_not_found,
    tag_from_row, MV_COLUMNS,
};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::registry::{
    parse_models_uri, LoggedModelRef, ModelVersionStore, ModelsUri, NewModelVersion,
    MODEL_VERSIONS_TAG_KEY, STAGE_DELETED_INTERNAL,
};
use crate::store::sql::query::{insert_rows, Sql};
use crate::store::sql::{now_millis, SqlStore};
use crate::wire::registry::ModelVersion;
use crate::wire::KeyValue;
use async_trait::async_trait;
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

/// Model names per `IN (…)` list.
const NAMES_PER_QUERY: usize = 500;

/// The live version row (no tags, no aliases) or 404.
pub(super) async fn model_version_row(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
) -> ApiResult<ModelVersion> {
    let mut q = Sql::new(&format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv WHERE mv.workspace = 'default' AND mv.name = "
    ));
    q.str(name)
        .push(" AND mv.version = ")
        .i64(version)
        .push(" AND mv.current_stage <> ")
        .str(STAGE_DELETED_INTERNAL);
    match q.query().fetch_optional(&mut *conn).await? {
        Some(row) => Ok(mv_from_row(&row)?),
        None => Err(mv_not_found(name, version)),
    }
}

async fn version_aliases(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
) -> ApiResult<Vec<String>> {
    let aliases: Vec<String> = sqlx::query_scalar(
        "SELECT alias FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 \
         AND version = $2 ORDER BY alias",
    )
    .bind(name)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?;
    Ok(aliases)
}

/// The live version with tags and aliases, or 404.
pub(super) async fn load_model_version(
    conn: &mut AnyConnection,
    name: &str,
    version: i64,
) -> ApiResult<ModelVersion> {
    let mut mv = model_version_row(conn, name, version).await?;
    let rows = sqlx::query(
        "SELECT key, value FROM model_version_tags WHERE workspace = 'default' AND name = $1 \
         AND version = $2 ORDER BY key",
    )
    .bind(name)
    .bind(version)
    .fetch_all(&mut *conn)
    .await?;
    mv.tags = rows.iter().map(tag_from_row).collect::<Result<_, _>>()?;
    mv.aliases = version_aliases(conn, name, version).await?;
    Ok(mv)
}

/// Tags of many versions: one query per chunk of model names, keeping only
/// the versions asked for.
pub(super) async fn attach_version_tags(
    conn: &mut AnyConnection,
    versions: &mut [ModelVersion],
) -> ApiResult<()> {
    if versions.is_empty() {
        return Ok(());
    }
    let wanted: HashSet<(String, String)> = versions
        .iter()
        .map(|v| (v.name.clone(), v.version.clone()))
        .collect();
    let mut names: Vec<&str> = versions.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut tags: HashMap<(String, String), Vec<KeyValue>> = HashMap::new();
    for chunk in names.chunks(NAMES_PER_QUERY) {
        let mut q = Sql::new(
            "SELECT name, version, key, value FROM model_version_tags WHERE workspace = 'default' AND name IN ",
        );
        q.str_list(chunk).push(" ORDER BY name, version, key");
        for row in q.query().fetch_all(&mut *conn).await? {
            let version: i64 = row.try_get("version")?;
            let id = (row.try_get::<String, _>("name")?, version.to_string());
            if wanted.contains(&id) {
                tags.entry(id).or_default().push(tag_from_row(&row)?);
            }
        }
    }
    for v in versions.iter_mut() {
        if let Some(t) = tags.remove(&(v.name.clone(), v.version.clone())) {
            v.tags = t;
        }
    }
    Ok(())
}

async fn logged_model_ref(
    conn: &mut AnyConnection,
    model_id: &str,
) -> ApiResult<Option<LoggedModelRef>> {
    let row = sqlx::query(
        "SELECT model_id, experiment_id, artifact_location, source_run_id FROM logged_models \
         WHERE model_id = $1 AND (lifecycle_stage IS NULL OR lifecycle_stage <> 'deleted')",
    )
    .bind(model_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(LoggedModelRef {
        model_id: row.try_get("model_id")?,
        experiment_id: row.try_get("experiment_id")?,
        artifact_location: row.try_get("artifact_location")?,
        source_run_id: opt_string(&row, "source_run_id")?,
    }))
}

/// `storage_location` of a live version, else its `source`.
async fn download_uri(conn: &mut AnyConnection, name: &str, version: i64) -> ApiResult<String> {
    let row = sqlx::query(
        "SELECT storage_location, source FROM model_versions WHERE workspace = 'default' \
         AND name = $1 AND version = $2 AND current_stage <> $3",
    )
    .bind(name)
    .bind(version)
    .bind(STAGE_DELETED_INTERNAL)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| mv_not_found(name, version))?;
    let storage: Option<String> = opt_string(&row, "storage_location")?;
    Ok(match storage.filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => opt_string(&row, "source")?.unwrap_or_default(),
    })
}

/// Appends `{"name": …, "version": …}` to the logged model's
/// `mlflow.modelVersions` tag (MLflow's `set_model_versions_tags`).
async fn add_model_versions_tag(
    conn: &mut AnyConnection,
    model: &LoggedModelRef,
    name: &str,
    version: i64,
) -> ApiResult<()> {
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT tag_value FROM logged_model_tags WHERE model_id = $1 AND tag_key = $2",
    )
    .bind(&model.model_id)
    .bind(MODEL_VERSIONS_TAG_KEY)
    .fetch_optional(&mut *conn)
    .await?;
    let entry = serde_json::json!({"name": name, "version": version});
    let mut list = existing
        .and_then(|v| serde_json::from_str::<Vec<Value>>(&v).ok())
        .unwrap_or_default();
    if !list.contains(&entry) {
        list.push(entry);
    }
    sqlx::query(
        "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
    )
    .bind(&model.model_id)
    .bind(model.experiment_id)
    .bind(MODEL_VERSIONS_TAG_KEY)
    .bind(py::json_dumps(&Value::Array(list)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl ModelVersionStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_model_version(&self, new: NewModelVersion) -> ApiResult<ModelVersion> {
        let now = now_millis();
        let mut run_id = new.run_id.clone();
        let mut storage_location = new.source.clone();
        let mut tx = self.writer.begin().await?;
        match parse_models_uri(&new.source) {
            Some(ModelsUri::ModelId(id)) => {
                let model = logged_model_ref(&mut tx, &id).await?.ok_or_else(|| {
                    ApiError::not_found(format!(
                        "Unable to fetch model from model URI source artifact location '{}'.Error: \
                         Logged model with ID '{id}' not found.",
                        new.source
                    ))
                })?;
                storage_location = model.artifact_location;
                if run_id.is_empty() {
                    run_id = model.source_run_id.unwrap_or_default();
                }
            }
            Some(ModelsUri::Version { name, version }) => {
                storage_location = download_uri(&mut tx, &name, version).await?;
            }
            _ => {}
        }
        let logged_model = match new.model_id.as_deref().filter(|m| !m.is_empty()) {
            Some(id) => Some(
                logged_model_ref(&mut tx, id)
                    .await?
                    .ok_or_else(|| logged_model_not_found(id))?,
            ),
            None => None,
        };
        if run_id.is_empty() {
            if let Some(m) = &logged_model {
                run_id = m.source_run_id.clone().unwrap_or_default();
            }
        }
        // Touching the model first locks its row, so concurrent creations of
        // the same model's versions queue here (PostgreSQL) instead of
        // racing for the same number.
        let touched = sqlx::query(
            "UPDATE registered_models SET last_updated_time = $1 WHERE workspace = 'default' AND name = $2",
        )
        .bind(now)
        .bind(&new.name)
        .execute(&mut *tx)
        .await?;
        if touched.rows_affected() == 0 {
            return Err(rm_not_found(&new.name));
        }
        let max: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(version) FROM model_versions WHERE workspace = 'default' AND name = $1",
        )
        .bind(&new.name)
        .fetch_one(&mut *tx)
        .await?;
        let version = max.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO model_versions (workspace, name, version, creation_time, last_updated_time, \
             description, user_id, current_stage, source, run_id, status, status_message, run_link, \
             storage_location) VALUES ('default', $1, $2, $3, $4, $5, NULL, 'None', $6, $7, 'READY', NULL, $8, $9)",
        )
        .bind(&new.name)
        .bind(version)
        .bind(now)
        .bind(now)
        .bind(&new.description)
        .bind(&new.source)
        .bind(&run_id)
        .bind(&new.run_link)
        .bind(&storage_location)
        .execute(&mut *tx)
        .await?;
        let tags = dedupe_tags(&new.tags);
        insert_rows(
            &mut tx,
            "model_version_tags",
            &["workspace", "name", "version", "key", "value"],
            "",
            &tags,
            |row, tag| {
                row.str("default")
                    .str(&new.name)
                    .i64(version)
                    .str(&tag.key)
                    .str(&tag.value);
            },
        )
        .await?;
        if let Some(model) = &logged_model {
            add_model_versions_tag(&mut tx, model, &new.name, version).await?;
        }
        let created = load_model_version(&mut tx, &new.name, version).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_model_version(&self, name: &str, version: i64) -> ApiResult<ModelVersion> {
        let mut conn = self.pool.acquire().await?;
        load_model_version(&mut conn, name, version).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> ApiResult<ModelVersion> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE model_versions SET description = $1, last_updated_time = $2 \
             WHERE workspace = 'default' AND name = $3 AND version = $4 AND current_stage <> $5",
        )
        .bind(description)
        .bind(now_millis())
        .bind(name)
        .bind(version)
        .bind(STAGE_DELETED_INTERNAL)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(mv_not_found(name, version));
        }
        let updated = load_model_version(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(updated)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_model_version(&self, name: &str, version: i64) -> ApiResult<()> {
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query("UPDATE registered_models SET last_updated_time = $1 WHERE workspace = 'default' AND name = $2")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 AND version = $2",
        )
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_updated_time = $2, description = NULL, \
             user_id = NULL, source = 'REDACTED-SOURCE-PATH', run_id = 'REDACTED-RUN-ID', \
             run_link = 'REDACTED-RUN-LINK', status_message = NULL \
             WHERE workspace = 'default' AND name = $3 AND version = $4",
        )
        .bind(STAGE_DELETED_INTERNAL)
        .bind(now)
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing_versions: bool,
    ) -> ApiResult<ModelVersion> {
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        if archive_existing_versions {
            sqlx::query(
                "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = $1 \
                 WHERE workspace = 'default' AND name = $2 AND version <> $3 AND current_stage = $4",
            )
            .bind(now)
            .bind(name)
            .bind(version)
            .bind(stage)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1, last_updated_time = $2 \
             WHERE workspace = 'default' AND name = $3 AND version = $4",
        )
        .bind(stage)
        .bind(now)
        .bind(name)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE registered_models SET last_updated_time = $1 WHERE workspace = 'default' AND name = $2")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let moved = load_model_version(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(moved)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_model_version_download_uri(&self, name: &str, version: i64) -> ApiResult<String> {
        let mut conn = self.pool.acquire().await?;
        download_uri(&mut conn, name, version).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_logged_model_ref(&self, model_id: &str) -> ApiResult<Option<LoggedModelRef>> {
        let mut conn = self.pool.acquire().await?;
        logged_model_ref(&mut conn, model_id).await
    }
}
