//! The model registry on MLflow's schema (`registered_models`,
//! `registered_model_tags`, `registered_model_aliases`, `model_versions`,
//! `model_version_tags`; workspace `default`).
//!
//! Reads take one pooled connection for the whole request; writes run in one
//! transaction on the writer and read back what they return inside it (on
//! SQLite the writer is a single connection, which must never wait on the
//! reader pool while it holds a transaction). Pages load tags, aliases and
//! latest versions with one query per table.

use super::filters::push_comparison;
use super::query::{get_opt_i64, Sql, ROWS_PER_INSERT};
use super::{now_millis, Dialect, SqlStore};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pycompat as py;
use crate::search::{
    decode_page_token, encode_page_token, parse_model_version_filter, parse_model_version_order_by,
    parse_registered_model_filter, parse_registered_model_order_by, Clause, Comparator, EntityKind,
    FilterValue, OrderBy,
};
use crate::store::registry::{
    parse_models_uri, LoggedModelRef, ModelsUri, NewModelVersion, NewRegisteredModel,
    RegistrySearch, RegistryStore, IS_PROMPT_TAG_KEY, MODEL_VERSIONS_TAG_KEY,
    STAGE_DELETED_INTERNAL,
};
use crate::store::Page;
use crate::wire::registry::{ModelVersion, RegisteredModel, RegisteredModelAlias};
use crate::wire::KeyValue;
use async_trait::async_trait;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

const RM_COLUMNS: &str = "rm.name, rm.creation_time, rm.last_updated_time, rm.description";
const MV_COLUMNS: &str = "mv.name, mv.version, mv.creation_time, mv.last_updated_time, \
     mv.description, mv.user_id, mv.current_stage, mv.source, mv.run_id, mv.status, \
     mv.status_message, mv.run_link";

/// The order of `model-versions/search` without an `order_by`.
const DEFAULT_VERSION_ORDER: [&str; 3] = [
    "last_updated_timestamp DESC",
    "name ASC",
    "version_number DESC",
];

fn rm_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Registered Model with name={name} not found"))
}

fn mv_not_found(name: &str, version: i64) -> ApiError {
    ApiError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

fn logged_model_not_found(model_id: &str) -> ApiError {
    ApiError::not_found(format!("Logged model with ID '{model_id}' not found."))
}

fn opt_string(row: &AnyRow, col: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(col)
}

fn rm_from_row(row: &AnyRow) -> Result<RegisteredModel, sqlx::Error> {
    Ok(RegisteredModel {
        name: row.try_get("name")?,
        creation_timestamp: get_opt_i64(row, "creation_time")?,
        last_updated_timestamp: get_opt_i64(row, "last_updated_time")?,
        description: opt_string(row, "description")?,
        latest_versions: Vec::new(),
        tags: Vec::new(),
        aliases: Vec::new(),
    })
}

fn mv_from_row(row: &AnyRow) -> Result<ModelVersion, sqlx::Error> {
    let version: i64 = row.try_get("version")?;
    Ok(ModelVersion {
        name: row.try_get("name")?,
        version: version.to_string(),
        creation_timestamp: get_opt_i64(row, "creation_time")?.unwrap_or(0),
        last_updated_timestamp: get_opt_i64(row, "last_updated_time")?,
        user_id: opt_string(row, "user_id")?,
        current_stage: opt_string(row, "current_stage")?,
        description: opt_string(row, "description")?,
        source: opt_string(row, "source")?,
        run_id: opt_string(row, "run_id")?,
        status: opt_string(row, "status")?,
        status_message: opt_string(row, "status_message")?,
        tags: Vec::new(),
        run_link: opt_string(row, "run_link")?,
        aliases: Vec::new(),
    })
}

fn tag_from_row(row: &AnyRow) -> Result<KeyValue, sqlx::Error> {
    Ok(KeyValue {
        key: row.try_get("key")?,
        value: opt_string(row, "value")?.unwrap_or_default(),
    })
}

/// Repeated keys keep their last value, as MLflow's tag dicts do.
fn dedupe_tags(tags: &[KeyValue]) -> Vec<&KeyValue> {
    let mut unique: Vec<&KeyValue> = Vec::new();
    for tag in tags {
        match unique.iter_mut().find(|t| t.key == tag.key) {
            Some(slot) => *slot = tag,
            None => unique.push(tag),
        }
    }
    unique
}

// ---------------------------------------------------------------------------
// search SQL
// ---------------------------------------------------------------------------

/// MLflow's `_is_querying_prompt`: the first clause on the prompt tag
/// decides; only `= 'true'` / `!= 'false'` ask for prompts.
fn is_querying_prompt(clauses: &[Clause]) -> bool {
    for c in clauses {
        if c.entity != EntityKind::Tag || c.key != IS_PROMPT_TAG_KEY {
            continue;
        }
        let value = match &c.value {
            FilterValue::Str(s) => s.to_lowercase(),
            _ => String::new(),
        };
        return (c.comparator == Comparator::Eq && value == "true")
            || (c.comparator == Comparator::Ne && value == "false");
    }
    false
}

/// ` AND …` per clause of a registry filter. `owner` is the searched
/// table's alias, `columns` maps attribute keys to its columns, `tag_table`
/// and `tag_join` tie a tag row to the owner row. Unless prompts are asked
/// for, clauses on the prompt tag are dropped and prompt models left out
/// (MLflow's `_update_query_to_exclude_prompts`).
fn push_registry_where(
    q: &mut Sql,
    clauses: &[Clause],
    dialect: Dialect,
    columns: &dyn Fn(&str) -> Option<&'static str>,
    tag_table: &str,
    tag_join: &str,
    owner: &str,
) -> ApiResult<()> {
    let querying_prompt = is_querying_prompt(clauses);
    for clause in clauses {
        match clause.entity {
            EntityKind::Attribute => {
                let column = columns(&clause.key).ok_or_else(|| {
                    ApiError::invalid_parameter(format!("Invalid attribute name: {}", clause.key))
                })?;
                q.push(" AND ");
                push_comparison(q, column, clause.comparator, &clause.value, dialect, false);
            }
            EntityKind::Tag => {
                if !querying_prompt && clause.key == IS_PROMPT_TAG_KEY {
                    continue;
                }
                q.push(" AND EXISTS (SELECT 1 FROM ")
                    .push(tag_table)
                    .push(" t WHERE ")
                    .push(tag_join)
                    .push(" AND t.key = ")
                    .str(&clause.key)
                    .push(" AND ");
                push_comparison(
                    q,
                    "t.value",
                    clause.comparator,
                    &clause.value,
                    dialect,
                    false,
                );
                q.push(")");
            }
            _ => {
                return Err(ApiError::invalid_parameter(format!(
                    "Invalid token type: {:?}",
                    clause.entity
                )))
            }
        }
    }
    if !querying_prompt {
        q.push(" AND NOT EXISTS (SELECT 1 FROM ")
            .push(tag_table)
            .push(" p WHERE p.workspace = ")
            .push(owner)
            .push(".workspace AND p.name = ")
            .push(owner)
            .push(".name AND p.key = ")
            .str(IS_PROMPT_TAG_KEY)
            .push(" AND p.value = 'true')");
    }
    Ok(())
}

fn registered_model_column(key: &str) -> Option<&'static str> {
    match key {
        "name" => Some("rm.name"),
        _ => None,
    }
}

fn model_version_column(key: &str) -> Option<&'static str> {
    match key {
        "name" => Some("mv.name"),
        "version_number" => Some("mv.version"),
        "run_id" => Some("mv.run_id"),
        "source_path" => Some("mv.source"),
        _ => None,
    }
}

fn registered_model_order_sql(order_by: &[String]) -> ApiResult<String> {
    order_sql(
        parse_registered_model_order_by(order_by)?,
        &[
            ("name", "rm.name"),
            ("last_updated_timestamp", "rm.last_updated_time"),
            ("timestamp", "rm.last_updated_time"),
        ],
        &[("name", "rm.name ASC")],
    )
}

fn model_version_order_sql(order_by: &[String]) -> ApiResult<String> {
    let default: Vec<String>;
    let order_by = if order_by.is_empty() {
        default = DEFAULT_VERSION_ORDER
            .iter()
            .map(|s| s.to_string())
            .collect();
        &default
    } else {
        order_by
    };
    order_sql(
        parse_model_version_order_by(order_by)?,
        &[
            ("name", "mv.name"),
            ("version_number", "mv.version"),
            ("creation_timestamp", "mv.creation_time"),
            ("last_updated_timestamp", "mv.last_updated_time"),
        ],
        &[
            ("name", "mv.name ASC"),
            ("version_number", "mv.version DESC"),
        ],
    )
}

/// ` ORDER BY …` of parsed keys: each key's column from `columns`, then
/// every `(key, term)` of `tiebreaks` whose key was not given, so that
/// pages are stable.
fn order_sql(
    orders: Vec<OrderBy>,
    columns: &[(&str, &str)],
    tiebreaks: &[(&str, &str)],
) -> ApiResult<String> {
    let mut terms = Vec::new();
    for order in &orders {
        let Some((_, column)) = columns.iter().find(|(key, _)| *key == order.key) else {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid order by key '{}' specified.",
                order.key
            )));
        };
        let direction = if order.ascending { "ASC" } else { "DESC" };
        terms.push(format!("{column} {direction}"));
    }
    for (key, term) in tiebreaks {
        if !orders.iter().any(|o| o.key == *key) {
            terms.push(term.to_string());
        }
    }
    Ok(format!(" ORDER BY {}", terms.join(", ")))
}

fn page_offset(token: &Option<String>) -> ApiResult<usize> {
    match token {
        Some(t) if !t.is_empty() => Ok(decode_page_token(t)?),
        _ => Ok(0),
    }
}

// ---------------------------------------------------------------------------
// loading (on one connection: a pooled one for reads, the transaction's for
// writes)
// ---------------------------------------------------------------------------

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
async fn latest_versions(
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
async fn load_registered_models(
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

async fn load_registered_model(conn: &mut AnyConnection, name: &str) -> ApiResult<RegisteredModel> {
    load_registered_models(conn, &[name.to_string()])
        .await?
        .pop()
        .ok_or_else(|| rm_not_found(name))
}

async fn require_registered_model(conn: &mut AnyConnection, name: &str) -> ApiResult<()> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT name FROM registered_models WHERE workspace = 'default' AND name = $1",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    found.map(|_| ()).ok_or_else(|| rm_not_found(name))
}

/// The live version row (no tags, no aliases) or 404.
async fn model_version_row(
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
async fn load_model_version(
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
async fn attach_version_tags(
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
    for chunk in names.chunks(ROWS_PER_INSERT) {
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

// ---------------------------------------------------------------------------
// the store
// ---------------------------------------------------------------------------

#[async_trait]
impl RegistryStore for SqlStore {
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
        for chunk in tags.chunks(ROWS_PER_INSERT) {
            let mut q =
                Sql::new("INSERT INTO registered_model_tags (workspace, name, key, value) VALUES ");
            for (i, tag) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("('default', ")
                    .str(&model.name)
                    .push(", ")
                    .str(&tag.key)
                    .push(", ")
                    .str(&tag.value)
                    .push(")");
            }
            q.query().execute(&mut *tx).await?;
        }
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
    async fn search_registered_models(
        &self,
        query: &RegistrySearch,
    ) -> ApiResult<Page<RegisteredModel>> {
        let clauses = parse_registered_model_filter(&query.filter)?;
        let order = registered_model_order_sql(&query.order_by)?;
        let offset = page_offset(&query.page_token)?;
        let mut q =
            Sql::new("SELECT rm.name FROM registered_models rm WHERE rm.workspace = 'default'");
        push_registry_where(
            &mut q,
            &clauses,
            self.dialect,
            &registered_model_column,
            "registered_model_tags",
            "t.workspace = rm.workspace AND t.name = rm.name",
            "rm",
        )?;
        q.push(&order)
            .push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut conn = self.pool.acquire().await?;
        let mut names: Vec<String> = q
            .query()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("name"))
            .collect::<Result<_, _>>()?;
        let next_page_token = if names.len() as i64 > query.max_results {
            names.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        Ok(Page {
            items: load_registered_models(&mut conn, &names).await?,
            next_page_token,
        })
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

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query(
            "INSERT INTO registered_model_tags (workspace, name, key, value) VALUES ('default', $1, $2, $3) \
             ON CONFLICT (workspace, key, name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE workspace = 'default' AND name = $1 AND key = $2")
            .bind(name)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "INSERT INTO registered_model_aliases (workspace, name, alias, version) VALUES ('default', $1, $2, $3) \
             ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query(
            "DELETE FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> ApiResult<ModelVersion> {
        if alias.to_lowercase() == "latest" {
            let latest = self.get_latest_versions(name, &[]).await?;
            return latest
                .into_iter()
                .max_by_key(|v| v.version.parse::<i64>().unwrap_or(0))
                .ok_or_else(|| {
                    ApiError::not_found(format!("Latest version not found for model {name}."))
                });
        }
        let mut conn = self.pool.acquire().await?;
        require_registered_model(&mut conn, name).await?;
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?;
        let version = version.ok_or_else(|| {
            ApiError::invalid_parameter(format!("Registered model alias {alias} not found."))
        })?;
        load_model_version(&mut conn, name, version).await
    }

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
        for chunk in tags.chunks(ROWS_PER_INSERT) {
            let mut q = Sql::new(
                "INSERT INTO model_version_tags (workspace, name, version, key, value) VALUES ",
            );
            for (i, tag) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("('default', ")
                    .str(&new.name)
                    .push(", ")
                    .i64(version)
                    .push(", ")
                    .str(&tag.key)
                    .push(", ")
                    .str(&tag.value)
                    .push(")");
            }
            q.query().execute(&mut *tx).await?;
        }
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
    async fn search_model_versions(&self, query: &RegistrySearch) -> ApiResult<Page<ModelVersion>> {
        let clauses = parse_model_version_filter(&query.filter)?;
        let order = model_version_order_sql(&query.order_by)?;
        let offset = page_offset(&query.page_token)?;
        let mut q = Sql::new(&format!(
            "SELECT {MV_COLUMNS} FROM model_versions mv WHERE mv.workspace = 'default' AND mv.current_stage <> "
        ));
        q.str(STAGE_DELETED_INTERNAL);
        push_registry_where(
            &mut q,
            &clauses,
            self.dialect,
            &model_version_column,
            "model_version_tags",
            "t.workspace = mv.workspace AND t.name = mv.name AND t.version = mv.version",
            "mv",
        )?;
        q.push(&order)
            .push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut conn = self.pool.acquire().await?;
        let rows = q.query().fetch_all(&mut *conn).await?;
        let mut versions = rows
            .iter()
            .map(mv_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = if versions.len() as i64 > query.max_results {
            versions.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        attach_version_tags(&mut conn, &mut versions).await?;
        Ok(Page {
            items: versions,
            next_page_token,
        })
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
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "INSERT INTO model_version_tags (workspace, name, version, key, value) \
             VALUES ('default', $1, $2, $3, $4) \
             ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(version)
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "DELETE FROM model_version_tags WHERE workspace = 'default' AND name = $1 AND version = $2 AND key = $3",
        )
        .bind(name)
        .bind(version)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_logged_model_ref(&self, model_id: &str) -> ApiResult<Option<LoggedModelRef>> {
        let mut conn = self.pool.acquire().await?;
        logged_model_ref(&mut conn, model_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_dumps() {
        let v = serde_json::json!([{"name": "m", "version": 1}, {"name": "é", "version": "2"}]);
        assert_eq!(
            py::json_dumps(&v),
            r#"[{"name": "m", "version": 1}, {"name": "\u00e9", "version": "2"}]"#
        );
    }

    #[test]
    fn prompt_queries() {
        let clause = |comparator, value: &str| Clause {
            entity: EntityKind::Tag,
            key: IS_PROMPT_TAG_KEY.into(),
            comparator,
            value: FilterValue::Str(value.into()),
        };
        assert!(is_querying_prompt(&[clause(Comparator::Eq, "TRUE")]));
        assert!(is_querying_prompt(&[clause(Comparator::Ne, "false")]));
        assert!(!is_querying_prompt(&[clause(Comparator::Ne, "true")]));
        assert!(!is_querying_prompt(&[]));
    }

    #[test]
    fn default_version_order() {
        assert_eq!(
            model_version_order_sql(&[]).unwrap(),
            " ORDER BY mv.last_updated_time DESC, mv.name ASC, mv.version DESC"
        );
        assert_eq!(
            model_version_order_sql(&["creation_timestamp ASC".into()]).unwrap(),
            " ORDER BY mv.creation_time ASC, mv.name ASC, mv.version DESC"
        );
        assert_eq!(
            registered_model_order_sql(&[]).unwrap(),
            " ORDER BY rm.name ASC"
        );
    }
}
