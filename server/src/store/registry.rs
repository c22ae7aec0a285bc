//! The model registry's storage boundary: registered models, their tags and
//! aliases, and model versions with their tags, on MLflow's schema (every
//! row in workspace `default`).
//!
//! Inputs are validated by the handlers (names, versions, tag keys, alias
//! names, stages); the store checks existence, keeps multi-row writes in one
//! transaction and answers MLflow's not-found / already-exists errors.

use super::Page;
use crate::error::ApiResult;
use crate::wire::registry::{ModelVersion, RegisteredModel};
use crate::wire::KeyValue;
use async_trait::async_trait;

/// `current_stage` of a soft-deleted model version.
pub const STAGE_DELETED_INTERNAL: &str = "Deleted_Internal";

/// The stages a model version can be moved to, in MLflow's order.
pub const ALL_STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// The tag that marks a registered model (or its versions) as a prompt.
pub const IS_PROMPT_TAG_KEY: &str = "mlflow.prompt.is_prompt";

/// The logged-model tag listing the model versions registered from it.
pub const MODEL_VERSIONS_TAG_KEY: &str = "mlflow.modelVersions";

#[derive(Debug, Clone)]
pub struct NewRegisteredModel {
    pub name: String,
    /// Stored as given; MLflow stores `""` when the request has none.
    pub description: String,
    pub tags: Vec<KeyValue>,
}

/// A model version to create. The handler has checked and resolved the
/// source (`models:/<name>@alias` etc. become `models:/<name>/<version>`).
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub name: String,
    pub source: String,
    /// `""` when the request had none and nothing supplies one.
    pub run_id: String,
    /// The logged model the version is registered from (3.x clients).
    pub model_id: Option<String>,
    pub run_link: String,
    pub description: String,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone)]
pub struct RegistrySearch {
    pub filter: String,
    pub max_results: i64,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

/// What the registry needs to know about a logged model.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelRef {
    pub model_id: String,
    pub experiment_id: i64,
    pub artifact_location: String,
    pub source_run_id: Option<String>,
}

/// Everything the registry handlers need: one trait per part, each
/// implemented next to its SQL (`store/sql/registry/`).
pub trait RegistryStore:
    RegisteredModelStore + ModelVersionStore + RegistryTagStore + RegistrySearchStore
{
}

impl<T> RegistryStore for T where
    T: RegisteredModelStore + ModelVersionStore + RegistryTagStore + RegistrySearchStore
{
}

#[async_trait]
pub trait RegisteredModelStore: Send + Sync + 'static {
    async fn create_registered_model(
        &self,
        model: NewRegisteredModel,
    ) -> ApiResult<RegisteredModel>;
    /// With tags, aliases and the latest version per stage.
    async fn get_registered_model(&self, name: &str) -> ApiResult<RegisteredModel>;
    /// Renames the model and all its versions (their `last_updated_timestamp`
    /// moves too, as in MLflow).
    async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> ApiResult<RegisteredModel>;
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> ApiResult<RegisteredModel>;
    /// Hard delete of the model, its versions, tags and aliases.
    async fn delete_registered_model(&self, name: &str) -> ApiResult<()>;
    /// The latest version of each of `stages` (canonical names; empty = all
    /// stages), with aliases.
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> ApiResult<Vec<ModelVersion>>;
}

#[async_trait]
pub trait ModelVersionStore: Send + Sync + 'static {
    /// Version = max(existing, deleted included) + 1; status READY.
    async fn create_model_version(&self, version: NewModelVersion) -> ApiResult<ModelVersion>;
    /// With tags and aliases; soft-deleted versions are not found.
    async fn get_model_version(&self, name: &str, version: i64) -> ApiResult<ModelVersion>;
    /// `None` clears the description (MLflow's behaviour without the field).
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> ApiResult<ModelVersion>;
    /// Soft delete: `Deleted_Internal`, redacted source/run, aliases removed.
    async fn delete_model_version(&self, name: &str, version: i64) -> ApiResult<()>;
    /// `stage` is canonical; with `archive_existing_versions` the other
    /// versions in that stage move to `Archived`.
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing_versions: bool,
    ) -> ApiResult<ModelVersion>;
    /// `storage_location`, else `source`.
    async fn get_model_version_download_uri(&self, name: &str, version: i64) -> ApiResult<String>;
    /// The logged model `model_id`, if it exists (for source checks).
    async fn get_logged_model_ref(&self, model_id: &str) -> ApiResult<Option<LoggedModelRef>>;
}

/// Tags of registered models and of model versions, and aliases.
#[async_trait]
pub trait RegistryTagStore: Send + Sync + 'static {
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> ApiResult<()>;
    /// Deleting a missing tag is fine (the model must exist).
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> ApiResult<()>;
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> ApiResult<()>;
    /// Deleting a missing tag is fine (the version must exist).
    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> ApiResult<()>;
    /// Points `alias` at `version` (moving it if it exists).
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> ApiResult<()>;
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> ApiResult<()>;
    /// `latest` (any case) is the highest live version.
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> ApiResult<ModelVersion>;
}

#[async_trait]
pub trait RegistrySearchStore: Send + Sync + 'static {
    /// Prompts (tag `mlflow.prompt.is_prompt = 'true'`) are left out unless
    /// the filter asks for them.
    async fn search_registered_models(
        &self,
        query: &RegistrySearch,
    ) -> ApiResult<Page<RegisteredModel>>;
    async fn search_model_versions(&self, query: &RegistrySearch) -> ApiResult<Page<ModelVersion>>;
}

/// MLflow's `get_canonical_stage`: case-insensitive, else 400 `Invalid Model
/// Version stage: x. Value must be one of None, Staging, Production,
/// Archived.`
pub fn canonical_stage(stage: &str) -> ApiResult<&'static str> {
    let lower = stage.to_lowercase();
    ALL_STAGES
        .iter()
        .find(|s| s.to_lowercase() == lower)
        .copied()
        .ok_or_else(|| {
            crate::error::ApiError::invalid_parameter(format!(
                "Invalid Model Version stage: {stage}. Value must be one of {}.",
                ALL_STAGES.join(", ")
            ))
        })
}

/// What a `models:/…` URI names (MLflow's `_parse_model_uri`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelsUri {
    /// `models:/<model_id>`: a logged model.
    ModelId(String),
    /// `models:/<name>/<digits>`.
    Version { name: String, version: i64 },
    /// `models:/<name>/<stage>`: the latest version in that stage.
    Stage { name: String, stage: String },
    /// `models:/<name>/latest`: the latest version of all.
    Latest { name: String },
    /// `models:/<name>@<alias>`.
    Alias { name: String, alias: String },
}

/// Parses a `models:` URI; `None` when it is not one or is malformed.
pub fn parse_models_uri(uri: &str) -> Option<ModelsUri> {
    let parts = crate::pycompat::urlsplit(uri, false);
    if parts.scheme != "models" || !parts.path.starts_with('/') || parts.path.len() <= 1 {
        return None;
    }
    let segments: Vec<&str> = parts.path.trim_start_matches('/').split('/').collect();
    if segments.len() > 2 || segments[0].trim().is_empty() {
        return None;
    }
    if let [name, suffix] = segments.as_slice() {
        if suffix.trim().is_empty() {
            return None;
        }
        let name = name.to_string();
        if suffix.chars().all(|c| c.is_ascii_digit()) {
            return Some(ModelsUri::Version {
                name,
                version: suffix.parse().ok()?,
            });
        }
        if suffix.eq_ignore_ascii_case("latest") {
            return Some(ModelsUri::Latest { name });
        }
        return Some(ModelsUri::Stage {
            name,
            stage: suffix.to_string(),
        });
    }
    let only = segments[0];
    if parts.path.contains('@') {
        let (name, alias) = only.rsplit_once('@')?;
        if alias.trim().is_empty() {
            return None;
        }
        return Some(ModelsUri::Alias {
            name: name.to_string(),
            alias: alias.to_string(),
        });
    }
    Some(ModelsUri::ModelId(only.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_uris() {
        assert_eq!(
            parse_models_uri("models:/m-abc"),
            Some(ModelsUri::ModelId("m-abc".into()))
        );
        assert_eq!(
            parse_models_uri("models:/m/3"),
            Some(ModelsUri::Version {
                name: "m".into(),
                version: 3
            })
        );
        assert_eq!(
            parse_models_uri("models:/m@champ"),
            Some(ModelsUri::Alias {
                name: "m".into(),
                alias: "champ".into()
            })
        );
        assert_eq!(
            parse_models_uri("models:/m/Latest"),
            Some(ModelsUri::Latest { name: "m".into() })
        );
        assert_eq!(
            parse_models_uri("models:/m/Production"),
            Some(ModelsUri::Stage {
                name: "m".into(),
                stage: "Production".into()
            })
        );
        assert_eq!(parse_models_uri("models:/"), None);
        assert_eq!(parse_models_uri("models:/a/b/c"), None);
        assert_eq!(parse_models_uri("runs:/a/b"), None);
    }

    #[test]
    fn stages_are_case_insensitive() {
        assert_eq!(canonical_stage("staging").unwrap(), "Staging");
        assert_eq!(canonical_stage("PRODUCTION").unwrap(), "Production");
        assert_eq!(canonical_stage("none").unwrap(), "None");
        assert_eq!(
            canonical_stage("bogus").unwrap_err().message,
            "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived."
        );
        assert!(canonical_stage("Deleted_Internal").is_err());
    }
}
