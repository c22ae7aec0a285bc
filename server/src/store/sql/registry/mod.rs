//! The model registry on MLflow's schema (`registered_models`,
//! `registered_model_tags`, `registered_model_aliases`, `model_versions`,
//! `model_version_tags`; workspace `default`), one file per part of
//! [`crate::store::registry::RegistryStore`]: registered models, model
//! versions, tags and aliases, search. This file maps rows.
//!
//! Reads take one pooled connection for the whole request; writes run in one
//! transaction on the writer and read back what they return inside it (on
//! SQLite the writer is a single connection, which must never wait on the
//! reader pool while it holds a transaction). Pages load tags, aliases and
//! latest versions with one query per table.

mod model_versions;
mod registered_models;
mod search;
mod tags;

use super::query::get_opt_i64;
use crate::error::ApiError;
use crate::wire::registry::{ModelVersion, RegisteredModel};
use crate::wire::KeyValue;
use sqlx::any::AnyRow;
use sqlx::Row;

pub(super) const RM_COLUMNS: &str =
    "rm.name, rm.creation_time, rm.last_updated_time, rm.description";
pub(super) const MV_COLUMNS: &str = "mv.name, mv.version, mv.creation_time, mv.last_updated_time, \
     mv.description, mv.user_id, mv.current_stage, mv.source, mv.run_id, mv.status, \
     mv.status_message, mv.run_link";

pub(super) fn rm_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Registered Model with name={name} not found"))
}

pub(super) fn mv_not_found(name: &str, version: i64) -> ApiError {
    ApiError::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

pub(super) fn logged_model_not_found(model_id: &str) -> ApiError {
    ApiError::not_found(format!("Logged model with ID '{model_id}' not found."))
}

pub(super) fn opt_string(row: &AnyRow, col: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(col)
}

pub(super) fn rm_from_row(row: &AnyRow) -> Result<RegisteredModel, sqlx::Error> {
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

pub(super) fn mv_from_row(row: &AnyRow) -> Result<ModelVersion, sqlx::Error> {
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

pub(super) fn tag_from_row(row: &AnyRow) -> Result<KeyValue, sqlx::Error> {
    Ok(KeyValue {
        key: row.try_get("key")?,
        value: opt_string(row, "value")?.unwrap_or_default(),
    })
}

/// Repeated keys keep their last value, as MLflow's tag dicts do.
pub(super) fn dedupe_tags(tags: &[KeyValue]) -> Vec<&KeyValue> {
    let mut unique: Vec<&KeyValue> = Vec::new();
    for tag in tags {
        match unique.iter_mut().find(|t| t.key == tag.key) {
            Some(slot) => *slot = tag,
            None => unique.push(tag),
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use crate::pycompat as py;

    #[test]
    fn python_json_dumps() {
        let v = serde_json::json!([{"name": "m", "version": 1}, {"name": "é", "version": "2"}]);
        assert_eq!(
            py::json_dumps(&v),
            r#"[{"name": "m", "version": 1}, {"name": "\u00e9", "version": "2"}]"#
        );
    }
}
