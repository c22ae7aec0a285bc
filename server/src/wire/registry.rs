//! Wire types of the model registry (`ModelRegistryService`): the
//! `RegisteredModel` / `ModelVersion` messages as MLflow 3.17.2 writes them,
//! the request messages with their handler schemas, and the responses.
//!
//! Field order and presence follow MLflow's `to_proto`: a model version
//! always has `name`, `version` (a string) and `creation_timestamp`; unset
//! columns are omitted, `""` columns are written (`"description": ""`,
//! `"run_link": ""`); empty lists are omitted. Registered models omit an
//! empty description and a zero `last_updated_timestamp`.

use super::de::{opt_i64, opt_string};
use super::requests::KeyValueIn;
use super::KeyValue;
use crate::request::{Field, Kind};
use serde::Serialize;

fn none_or_empty(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

fn none_or_zero(v: &Option<i64>) -> bool {
    v.is_none_or(|v| v == 0)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub creation_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "none_or_empty")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredModelAlias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "none_or_zero")]
    pub last_updated_timestamp: Option<i64>,
    #[serde(skip_serializing_if = "none_or_empty")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<RegisteredModelAlias>,
}

// ---------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------

message!(CreateRegisteredModel [
    Field::req("name", Kind::Str), Field::opt("tags", Kind::List), Field::opt("description", Kind::Str)
] {
    pub name: String,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
});

message!(RegisteredModelRef [Field::req("name", Kind::Str)] {
    pub name: String,
});

message!(RenameRegisteredModel [Field::req("name", Kind::Str), Field::req("new_name", Kind::Str)] {
    pub name: String,
    pub new_name: String,
});

message!(UpdateRegisteredModel [Field::req("name", Kind::Str), Field::opt("description", Kind::Str)] {
    pub name: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
});

message!(SearchRegistry [
    Field::opt("filter", Kind::Str), Field::opt("max_results", Kind::Int),
    Field::opt("order_by", Kind::StrList), Field::opt("page_token", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
});

message!(GetLatestVersions [Field::req("name", Kind::Str), Field::opt("stages", Kind::StrList)] {
    pub name: String,
    #[serde(default)]
    pub stages: Vec<String>,
});

message!(SetRegisteredModelTag [
    Field::req("name", Kind::Str), Field::req("key", Kind::Str), Field::opt("value", Kind::Str)
] {
    pub name: String,
    pub key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
});

message!(DeleteRegisteredModelTag [Field::req("name", Kind::Str), Field::req("key", Kind::Str)] {
    pub name: String,
    pub key: String,
});

message!(SetRegisteredModelAlias [
    Field::req("name", Kind::Str), Field::req("alias", Kind::Str), Field::req("version", Kind::Str)
] {
    pub name: String,
    pub alias: String,
    pub version: String,
});

message!(RegisteredModelAliasRef [Field::req("name", Kind::Str), Field::req("alias", Kind::Str)] {
    pub name: String,
    pub alias: String,
});

message!(CreateModelVersion [
    Field::req("name", Kind::Str), Field::req("source", Kind::Str), Field::opt("run_id", Kind::Str),
    Field::opt("tags", Kind::List), Field::opt("run_link", Kind::Str), Field::opt("description", Kind::Str),
    Field::opt("model_id", Kind::Str)
] {
    pub name: String,
    pub source: String,
    /// `Some("")` when sent empty: MLflow's `HasField` is then true.
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_link: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub model_id: Option<String>,
});

message!(ModelVersionRef [Field::req("name", Kind::Str), Field::req("version", Kind::Str)] {
    pub name: String,
    pub version: String,
});

// `get-download-uri` has no handler schema in MLflow: missing fields fail
// in the store's own checks.
message!(GetModelVersionDownloadUri [Field::opt("name", Kind::Str), Field::opt("version", Kind::Str)] {
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub version: Option<String>,
});

message!(UpdateModelVersion [
    Field::req("name", Kind::Str), Field::req("version", Kind::Str), Field::opt("description", Kind::Str)
] {
    pub name: String,
    pub version: String,
    /// Absent → the description is cleared (MLflow's `HasField`).
    #[serde(default, deserialize_with = "opt_string")]
    pub description: Option<String>,
});

message!(TransitionModelVersionStage [
    Field::req("name", Kind::Str), Field::req("version", Kind::Str), Field::req("stage", Kind::Str),
    Field::opt("archive_existing_versions", Kind::Bool)
] {
    pub name: String,
    pub version: String,
    pub stage: String,
    #[serde(default)]
    pub archive_existing_versions: Option<bool>,
});

message!(SetModelVersionTag [
    Field::req("name", Kind::Str), Field::req("version", Kind::Str), Field::req("key", Kind::Str),
    Field::opt("value", Kind::Str)
] {
    pub name: String,
    pub version: String,
    pub key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
});

message!(DeleteModelVersionTag [
    Field::req("name", Kind::Str), Field::req("version", Kind::Str), Field::req("key", Kind::Str)
] {
    pub name: String,
    pub version: String,
    pub key: String,
});

// ---------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------

fn is_empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

#[derive(Serialize)]
pub struct RegisteredModelResponse<'a> {
    pub registered_model: &'a RegisteredModel,
}

#[derive(Serialize)]
pub struct SearchRegisteredModelsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub registered_models: &'a [RegisteredModel],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[derive(Serialize)]
pub struct ModelVersionResponse<'a> {
    pub model_version: &'a ModelVersion,
}

/// `get-latest-versions` and `model-versions/search`.
#[derive(Serialize)]
pub struct ModelVersionsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub model_versions: &'a [ModelVersion],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[derive(Serialize)]
pub struct DownloadUriResponse<'a> {
    pub artifact_uri: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version() -> ModelVersion {
        ModelVersion {
            name: "m".into(),
            version: "1".into(),
            creation_timestamp: 5,
            last_updated_timestamp: Some(6),
            user_id: None,
            current_stage: Some("None".into()),
            description: Some(String::new()),
            source: Some("models:/m-1".into()),
            run_id: Some("r".into()),
            status: Some("READY".into()),
            status_message: None,
            tags: vec![KeyValue {
                key: "k".into(),
                value: "v".into(),
            }],
            run_link: Some(String::new()),
            aliases: vec!["champion".into()],
        }
    }

    #[test]
    fn model_version_field_order_matches_mlflow() {
        assert_eq!(
            serde_json::to_string(&version()).unwrap(),
            r#"{"name":"m","version":"1","creation_timestamp":5,"last_updated_timestamp":6,"current_stage":"None","description":"","source":"models:/m-1","run_id":"r","status":"READY","tags":[{"key":"k","value":"v"}],"run_link":"","aliases":["champion"]}"#
        );
    }

    #[test]
    fn registered_model_omits_empty_parts() {
        let m = RegisteredModel {
            name: "m".into(),
            creation_timestamp: Some(1),
            last_updated_timestamp: Some(1),
            description: Some(String::new()),
            latest_versions: Vec::new(),
            tags: Vec::new(),
            aliases: Vec::new(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"name":"m","creation_timestamp":1,"last_updated_timestamp":1}"#
        );
    }
}
