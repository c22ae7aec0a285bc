//! Wire types of the model registry (`ModelRegistryService`): the
//! `RegisteredModel` / `ModelVersion` messages as MLflow 3.17.2 writes them,
//! the request messages with their handler schemas, and the responses.
//!
//! Field order and presence follow MLflow's `to_proto`: a model version
//! always has `name`, `version` (a string) and `creation_timestamp`; unset
//! columns are omitted, `""` columns are written (`"description": ""`,
//! `"run_link": ""`); empty lists are omitted. Registered models omit an
//! empty description and a zero `last_updated_timestamp`.

use super::requests::KeyValueIn;
use super::KeyValue;
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

message!(CreateRegisteredModel {
    req name: String as Str,
    opt tags: Vec<KeyValueIn> as List,
    opt description: Option<String> as Str,
});

message!(RegisteredModelRef {
    req name: String as Str,
});

message!(RenameRegisteredModel {
    req name: String as Str,
    req new_name: String as Str,
});

message!(UpdateRegisteredModel {
    req name: String as Str,
    opt description: Option<String> as Str,
});

message!(SearchRegistry {
    opt filter: Option<String> as Str,
    opt max_results: Option<i64> as Int,
    opt order_by: Vec<String> as StrList,
    opt page_token: Option<String> as Str,
});

message!(GetLatestVersions {
    req name: String as Str,
    opt stages: Vec<String> as StrList,
});

message!(SetRegisteredModelTag {
    req name: String as Str,
    req key: String as Str,
    opt value: Option<String> as Str,
});

message!(DeleteRegisteredModelTag {
    req name: String as Str,
    req key: String as Str,
});

message!(SetRegisteredModelAlias {
    req name: String as Str,
    req alias: String as Str,
    req version: String as Str,
});

message!(RegisteredModelAliasRef {
    req name: String as Str,
    req alias: String as Str,
});

message!(CreateModelVersion {
    req name: String as Str,
    req source: String as Str,
    /// `Some("")` when sent empty: MLflow's `HasField` is then true.
    opt run_id: Option<String> as Str,
    opt tags: Vec<KeyValueIn> as List,
    opt run_link: Option<String> as Str,
    opt description: Option<String> as Str,
    opt model_id: Option<String> as Str,
});

message!(ModelVersionRef {
    req name: String as Str,
    req version: String as Str,
});

// `get-download-uri` has no handler schema in MLflow: missing fields fail
// in the store's own checks.
message!(GetModelVersionDownloadUri {
    opt name: Option<String> as Str,
    opt version: Option<String> as Str,
});

message!(UpdateModelVersion {
    req name: String as Str,
    req version: String as Str,
    /// Absent → the description is cleared (MLflow's `HasField`).
    opt description: Option<String> as Str,
});

message!(TransitionModelVersionStage {
    req name: String as Str,
    req version: String as Str,
    req stage: String as Str,
    opt archive_existing_versions: Option<bool> as Bool,
});

message!(SetModelVersionTag {
    req name: String as Str,
    req version: String as Str,
    req key: String as Str,
    opt value: Option<String> as Str,
});

message!(DeleteModelVersionTag {
    req name: String as Str,
    req version: String as Str,
    req key: String as Str,
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
