//! Request messages of the tracking API, each with the field schema MLflow's
//! handler checks (see [`crate::request`]).

use super::de::{opt_i64, opt_string};
use super::{KeyValue, RunStatus, ViewType};
use crate::error::{ApiError, ApiResult};
use serde::Deserialize;
use serde_json::Value;

/// `{key, value}` pairs in requests (tags, params). The value may be absent.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyValueIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
}

impl KeyValueIn {
    /// The key as sent; absent reads as `""`, as protobuf's unset string.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }

    /// The pair as stored: the one conversion of a request's tag or param
    /// value (runs, experiments, dataset inputs, the registry, logged
    /// models). A JSON string is kept as sent and an absent or null value is
    /// `""`, as protobuf reads a string field; any other JSON type is refused
    /// with INVALID_PARAMETER_VALUE naming `field` (MLflow's `ParseDict`
    /// fails on it too, though its handlers then go on with the partly
    /// parsed message).
    pub fn into_key_value(self, field: &str) -> ApiResult<KeyValue> {
        let value = match self.value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s,
            Some(other) => {
                return Err(ApiError::invalid_parameter(format!(
                "Invalid value {other} for parameter '{field}' supplied: value must be a string."
            )))
            }
        };
        Ok(KeyValue {
            key: self.key.unwrap_or_default(),
            value,
        })
    }
}

/// A metric inside `log-batch`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub timestamp: Option<Value>,
    #[serde(default)]
    pub step: Option<Value>,
    #[serde(default, deserialize_with = "opt_string")]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_digest: Option<String>,
}

fn pick_run_id(run_id: &Option<String>, run_uuid: &Option<String>) -> ApiResult<String> {
    [run_id, run_uuid]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::missing_parameter("run_id"))
}

// ---- experiments ----

message!(CreateExperiment {
    req name: String as Str,
    opt artifact_location: Option<String> as Str,
    opt tags: Vec<KeyValueIn> as List,
});

message!(ExperimentRef {
    req experiment_id: String as Str,
});

message!(GetExperimentByName {
    req experiment_name: String as Str,
});

message!(SearchExperiments {
    opt max_results: Option<i64> as Int,
    opt page_token: Option<String> as Str,
    opt filter: Option<String> as Str,
    opt order_by: Vec<String> as StrList,
    opt view_type: Option<ViewType> as Enum,
});

message!(UpdateExperiment {
    req experiment_id: String as Str,
    opt new_name: Option<String> as Str,
});

message!(SetExperimentTag {
    req experiment_id: String as Str,
    req key: String as Str,
    opt value: Option<String> as Str,
});

message!(DeleteExperimentTag {
    req experiment_id: String as Str,
    req key: String as Str,
});

// ---- runs ----

message!(CreateRun {
    opt experiment_id: Option<String> as Str,
    opt user_id: Option<String> as Str,
    opt run_name: Option<String> as Str,
    opt start_time: Option<i64> as Int,
    opt tags: Vec<KeyValueIn> as List,
});

message!(RunRef {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
});

impl RunRef {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(UpdateRun {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    opt status: Option<RunStatus> as Enum,
    opt end_time: Option<i64> as Int,
    opt run_name: Option<String> as Str,
});

impl UpdateRun {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(LogMetric {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    req key: String as Str,
    req value: Option<f64> as Float,
    req timestamp: Option<i64> as Int,
    opt step: Option<i64> as Int,
    opt model_id: Option<String> as Str,
    opt dataset_name: Option<String> as Str,
    opt dataset_digest: Option<String> as Str,
});

impl LogMetric {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(LogParam {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    req key: String as Str,
    opt value: Option<String> as Str,
});

impl LogParam {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(SetTag {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    req key: String as Str,
    opt value: Option<String> as Str,
});

impl SetTag {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(DeleteTag {
    req run_id: String as Str,
    req key: String as Str,
});

message!(LogBatch {
    req run_id: String as Str,
    opt metrics: Vec<MetricIn> as List,
    opt params: Vec<KeyValueIn> as List,
    opt tags: Vec<KeyValueIn> as List,
});

#[derive(Debug, Clone, Deserialize)]
pub struct DatasetIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub digest: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub source_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub schema: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatasetInputIn {
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
    pub dataset: Option<DatasetIn>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelIoIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
}

message!(LogInputs {
    req run_id: String as Str,
    opt datasets: Vec<DatasetInputIn> as List,
    opt models: Vec<ModelIoIn> as List,
});

message!(LogOutputs {
    req run_id: String as Str,
    opt models: Vec<ModelIoIn> as List,
});

message!(SearchRuns {
    opt experiment_ids: Vec<String> as StrList,
    opt filter: Option<String> as Str,
    opt run_view_type: Option<ViewType> as Enum,
    opt max_results: Option<i64> as Int,
    opt order_by: Vec<String> as StrList,
    opt page_token: Option<String> as Str,
});

message!(GetMetricHistory {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    req metric_key: String as Str,
    opt page_token: Option<String> as Str,
    opt max_results: Option<i64> as Int,
});

impl GetMetricHistory {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(GetMetricHistoryBulkInterval {
    opt run_ids: Vec<String> as StrList,
    req metric_key: String as Str,
    opt start_step: Option<i64> as Int,
    opt end_step: Option<i64> as Int,
    opt max_results: Option<i64> as Int,
});

message!(ListArtifacts {
    opt run_id: Option<String> as Str,
    opt run_uuid: Option<String> as Str,
    opt path: Option<String> as Str,
    opt page_token: Option<String> as Str,
});

impl ListArtifacts {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

// ---- UI-only routes ----

message!(SearchDatasets {
    opt experiment_ids: Vec<String> as StrList,
});

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key_value_in(item: Value) -> KeyValueIn {
        serde_json::from_value(item).unwrap()
    }

    #[test]
    fn tag_values_are_strings_or_absent() {
        let tag = key_value_in(json!({"key": "k", "value": "v"}));
        assert_eq!(tag.key(), "k");
        assert_eq!(
            tag.into_key_value("value").unwrap(),
            KeyValue {
                key: "k".into(),
                value: "v".into()
            }
        );
        for absent in [json!({"key": "k"}), json!({"key": "k", "value": null})] {
            let tag = key_value_in(absent).into_key_value("value").unwrap();
            assert_eq!(tag.value, "");
        }
        let unnamed = key_value_in(json!({"value": "v"}));
        assert_eq!(unnamed.key(), "");
        assert_eq!(unnamed.into_key_value("value").unwrap().key, "");
    }

    #[test]
    fn non_string_tag_values_are_refused() {
        for (value, shown) in [
            (json!(1), "1"),
            (json!(1.5), "1.5"),
            (json!(true), "true"),
            (json!(["a"]), r#"["a"]"#),
        ] {
            let err = key_value_in(json!({"key": "k", "value": value}))
                .into_key_value("tags")
                .unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidParameterValue);
            assert_eq!(
                err.message,
                format!(
                    "Invalid value {shown} for parameter 'tags' supplied: value must be a string."
                )
            );
        }
    }
}
