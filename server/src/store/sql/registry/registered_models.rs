//! Registered models: create, read (with tags, aliases and the latest
//! version per stage), rename, update, delete.

use super::{
    dedupe_tags, mv_from_row, rm_from_row, rm_not_found, tag_from_row, MV_COLUMNS, RM_COLUMNS,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pycompat as py;
use crate::store::registry::{
    NewRegisteredModel, RegisteredModelStore, IS_PROMPT_TAG_KEY, STAGE_DELETED_INTERNAL,
};
use crate::store::sql::query::{insert_rows, Sql};
use crate::store::sql::{now_millis, SqlStore};
use crate::wire::registry::{ModelVersion, RegisteredModel, RegisteredModelAlias};
use crate::wire::KeyValue;
use async_trait::async_trait;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// `SELECT name, latest, first_version` of the latest live version per
/// (model, stage) for `names`.
fn push_latest_groups(q: &mut Sql, names: &[String]) {
    q.push(
        "SELECT name, MAX(version) AS latest, MIN(version) AS first_version FROM model_versions \
         WHERE workspace = 'default' AND current_stage <> ",
    )
    .str(STAGE_DELETED_INTERNAL)
    .push(" AND name IN ")
    .str_list(names)
    .push(" GROUP BY name, current_stage");
}

/// The latest live version per stage of each model, with tags (no
/// aliases, as in MLflow's `latest_versions`), ordered by the stage's first
/// version (MLflow's dict order).
pub(super) async fn latest_versions(
    conn: &mut AnyConnection,
    names: &[String],
) -> ApiResult<HashMap<String, Vec<ModelVersion>>> {
    let mut out: HashMap<String, Vec<ModelVersion>> = HashMap::new();
    if names.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::new(&format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv JOIN ("
    ));
    push_latest_groups(&mut q, names);
    q.push(
        ") g ON mv.workspace = 'default' AND mv.name = g.name AND mv.version = g.latest \
         ORDER BY mv.name, g.first_version",
    );
    let rows = q.query().fetch_all(&mut *conn).await?;
    let mut versions = rows
        .iter()
        .map(mv_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if versions.is_empty() {
        return Ok(out);
    }
    let mut q =
        Sql::new("SELECT t.name, t.version, t.key, t.value FROM model_version_tags t JOIN (");
    push_latest_groups(&mut q, names);
    q.push(
        ") g ON t.workspace = 'default' AND t.name = g.name AND t.version = g.latest \
         ORDER BY t.name, t.version, t.key",
    );
    let mut tags: HashMap<(String, String), Vec<KeyValue>> = HashMap::new();
    for row in q.query().fetch_all(&mut *conn).await? {
        let version: i64 = row.try_get("version")?;
        tags.entry((row.try_get("name")?, version.to_string()))
            .or_default()
            .push(tag_from_row(&row)?);
    }
    for mv in &mut versions {
        if let Some(t) = tags.remove(&(mv.name.clone(), mv.version.clone())) {
            mv.tags = t;
        }
    }
    for mv in versions {
        out.entry(mv.name.clone()).or_default().push(mv);
    }
    Ok(out)
}

/// Registered models with tags, aliases and latest versions, in the order
/// of `names` (missing names are skipped).
pub(super) async fn load_registered_models(
    conn: &mut AnyConnection,
    names: &[String],
) -> ApiResult<Vec<RegisteredModel>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(&format!(
        "SELECT {RM_COLUMNS} FROM registered_models rm WHERE rm.workspace = 'default' AND rm.name IN "
    ));
    q.str_list(names);
    let mut models: HashMap<String, RegisteredModel> = HashMap::new();
    for row in q.query().fetch_all(&mut *conn).await? {
        let m = rm_from_row(&row)?;
        models.insert(m.name.clone(), m);
    }
    let mut q = Sql::new(
        "SELECT name, key, value FROM registered_model_tags WHERE workspace = 'default' AND name IN ",
    );
    q.str_list(names).push(" ORDER BY name, key");
    for row in q.query().fetch_all(&mut *conn).await? {
        let name: String = row.try_get("name")?;
        if let Some(m) = models.get_mut(&name) {
            m.tags.push(tag_from_row(&row)?);
        }
    }
    let mut q = Sql::new(
        "SELECT name, alias, version FROM registered_model_aliases WHERE workspace = 'default' AND name IN ",
    );
    q.str_list(names).push(" ORDER BY name, alias");
    for row in q.query().fetch_all(&mut *conn).await? {
        let name: String = row.try_get("name")?;
        let version: i64 = row.try_get("version")?;
        if let Some(m) = models.get_mut(&name) {
            m.aliases.push(RegisteredModelAlias {
                alias: row.try_get("alias")?,
                version: version.to_string(),
            });
        }
    }
    let mut latest = latest_versions(conn, names).await?;
    Ok(names
        .iter()
        .filter_map(|n| {
            models.remove(n).map(|mut m| {
                m.latest_versions = latest.remove(n).unwrap_or_default();
                m
            })
        })
        .collect())
}

pub(super) async fn load_registered_model(
    conn: &mut AnyConnection,
    name: &str,
) -> ApiResult<RegisteredModel> {
    load_registered_models(conn, &[name.to_string()])
        .await?
        .pop()
        .ok_or_else(|| rm_not_found(name))
}

pub(super) async fn require_registered_model(
    conn: &mut AnyConnection,
    name: &str,
) -> ApiResult<()> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT name FROM registered_models WHERE workspace = 'default' AND name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    found.map(|_| ()).ok_or_else(|| rm_not_found(name))
}

fn already_exists(name: &str, existing_is_prompt: bool, new_is_prompt: bool) -> ApiError {
    let entity = |prompt: bool| if prompt { "Prompt" } else { "Registered Model" };
    let (old, new) = (entity(existing_is_prompt), entity(new_is_prompt));
    if old != new {
        return ApiError::already_exists(format!(
            "Tried to create a {} with name {}, but the name is already taken by a {}. MLflow does \
             not allow creating a model and a prompt with the same name.",
            new.to_lowercase(),
            py::repr_str(name),
            old.to_lowercase()
        ));
    }
    ApiError::already_exists(format!("{new} (name={name}) already exists."))
}

#[async_trait]
impl RegisteredModelStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_registered_model(
        &self,
        model: NewRegisteredModel,
    ) -> ApiResult<RegisteredModel> {
        let now = now_millis();
        let new_is_prompt = model.tags.iter().any(|t| t.key == IS_PROMPT_TAG_KEY);
        let mut tx = self.writer.begin().await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT name FROM registered_models WHERE workspace = 'default' AND name = $1",
        )
        .bind(&model.name)
        .fetch_optional(&mut *tx)
        .await?;
        if existing.is_some() {
            let prompt: Option<String> = sqlx::query_scalar(
                "SELECT key FROM registered_model_tags WHERE workspace = 'default' AND name = $1 AND key = $2",
            )
            .bind(&model.name)
            .bind(IS_PROMPT_TAG_KEY)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(already_exists(&model.name, prompt.is_some(), new_is_prompt));
        }
        let inserted = sqlx::query(
            "INSERT INTO registered_models (workspace, name, creation_time, last_updated_time, description) \
             VALUES ('default', $1, $2, $3, $4)",
        )
        .bind(&model.name)
        .bind(now)
        .bind(now)
        .bind(&model.description)
        .execute(&mut *tx)
        .await;
        match inserted.map_err(ApiError::from) {
            Err(e) if e.code == ErrorCode::ResourceAlreadyExists => {
                return Err(already_exists(&model.name, new_is_prompt, new_is_prompt))
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        let tags = dedupe_tags(&model.tags);
        insert_rows(
            &mut tx,
            "registered_model_tags",
            &["workspace", "name", "key", "value"],
            "",
            &tags,
            |row, tag| {
                row.str("default")
                    .str(&model.name)
                    .str(&tag.key)
                    .str(&tag.value);
            },
        )
        .await?;
        let created = load_registered_model(&mut tx, &model.name).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_registered_model(&self, name: &str) -> ApiResult<RegisteredModel> {
        let mut conn = self.pool.acquire().await?;
        load_registered_model(&mut conn, name).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> ApiResult<RegisteredModel> {
        let now = now_millis();
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        if new_name != name {
            let taken: Option<String> = sqlx::query_scalar(
                "SELECT name FROM registered_models WHERE workspace = 'default' AND name = $1",
            )
            .bind(new_name)
            .fetch_optional(&mut *tx)
            .await?;
            if taken.is_some() {
                return Err(ApiError::already_exists(format!(
                    "Registered Model (name={new_name}) already exists."
                )));
            }
        }
        // Versions, tags and aliases follow through ON UPDATE CASCADE.
        sqlx::query(
            "UPDATE registered_models SET name = $1, last_updated_time = $2 \
             WHERE workspace = 'default' AND name = $3",
        )
        .bind(new_name)
        .bind(now)
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(|e| match ApiError::from(e) {
            e if e.code == ErrorCode::ResourceAlreadyExists => ApiError::already_exists(format!(
                "Registered Model (name={new_name}) already exists."
            )),
            e => e,
        })?;
        sqlx::query("UPDATE model_versions SET last_updated_time = $1 WHERE workspace = 'default' AND name = $2")
            .bind(now)
            .bind(new_name)
            .execute(&mut *tx)
            .await?;
        let renamed = load_registered_model(&mut tx, new_name).await?;
        tx.commit().await?;
        Ok(renamed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> ApiResult<RegisteredModel> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE registered_models SET description = $1, last_updated_time = $2 \
             WHERE workspace = 'default' AND name = $3",
        )
        .bind(description)
        .bind(now_millis())
        .bind(name)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(rm_not_found(name));
        }
        let updated = load_registered_model(&mut tx, name).await?;
        tx.commit().await?;
        Ok(updated)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_registered_model(&self, name: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        for table in [
            "model_version_tags",
            "model_versions",
            "registered_model_tags",
            "registered_model_aliases",
            "registered_models",
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE workspace = 'default' AND name = $1"
            ))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> ApiResult<Vec<ModelVersion>> {
        let mut conn = self.pool.acquire().await?;
        require_registered_model(&mut conn, name).await?;
        let mut versions = latest_versions(&mut conn, &[name.to_string()])
            .await?
            .remove(name)
            .unwrap_or_default();
        if !stages.is_empty() {
            versions.retain(|v| v.current_stage.as_ref().is_some_and(|s| stages.contains(s)));
        }
        if !versions.is_empty() {
            let rows = sqlx::query(
                "SELECT alias, version FROM registered_model_aliases WHERE workspace = 'default' \
                 AND name = $1 ORDER BY alias",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                let version: i64 = row.try_get("version")?;
                let version = version.to_string();
                if let Some(v) = versions.iter_mut().find(|v| v.version == version) {
                    v.aliases.push(row.try_get("alias")?);
                }
            }
        }
        Ok(versions)
    }
}
