//! Request messages of the tracking API, each with the field schema MLflow's
//! handler checks (see [`crate::request`]).

use super::de::{lenient_enum, opt_f64, opt_i64, opt_string};
use super::{RunStatus, ViewType};
use crate::error::{ApiError, ApiResult};
use crate::request::{Field, Kind};
use serde::Deserialize;

/// `{key, value}` pairs in requests (tags, params). The value may be absent.
#[derive(Debug, Clone, Deserialize)]
pub struct KeyValueIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

/// A metric inside `log-batch`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<serde_json::Value>,
    #[serde(default)]
    pub timestamp: Option<serde_json::Value>,
    #[serde(default)]
    pub step: Option<serde_json::Value>,
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

message!(CreateExperiment [
    Field::req("name", Kind::Str), Field::opt("artifact_location", Kind::Str), Field::opt("tags", Kind::List)
] {
    pub name: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub artifact_location: Option<String>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
});

message!(ExperimentRef [Field::req("experiment_id", Kind::Str)] {
    pub experiment_id: String,
});

message!(GetExperimentByName [Field::req("experiment_name", Kind::Str)] {
    pub experiment_name: String,
});

message!(SearchExperiments [
    Field::opt("max_results", Kind::Int), Field::opt("page_token", Kind::Str), Field::opt("filter", Kind::Str),
    Field::opt("order_by", Kind::StrList), Field::opt("view_type", Kind::Enum)
] {
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub filter: Option<String>,
    #[serde(default)]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub view_type: Option<ViewType>,
});

message!(UpdateExperiment [Field::req("experiment_id", Kind::Str), Field::opt("new_name", Kind::Str)] {
    pub experiment_id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub new_name: Option<String>,
});

message!(SetExperimentTag [
    Field::req("experiment_id", Kind::Str), Field::req("key", Kind::Str), Field::opt("value", Kind::Str)
] {
    pub experiment_id: String,
    pub key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
});

message!(DeleteExperimentTag [Field::req("experiment_id", Kind::Str), Field::req("key", Kind::Str)] {
    pub experiment_id: String,
    pub key: String,
});

// ---- runs ----

message!(CreateRun [
    Field::opt("experiment_id", Kind::Str), Field::opt("user_id", Kind::Str), Field::opt("run_name", Kind::Str),
    Field::opt("start_time", Kind::Int), Field::opt("tags", Kind::List)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub experiment_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_name: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
});

message!(RunRef [Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str)] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
});

impl RunRef {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(UpdateRun [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::opt("status", Kind::Enum),
    Field::opt("end_time", Kind::Int), Field::opt("run_name", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub status: Option<RunStatus>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_name: Option<String>,
});

impl UpdateRun {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(LogMetric [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::req("key", Kind::Str),
    Field::req("value", Kind::Float), Field::req("timestamp", Kind::Int), Field::opt("step", Kind::Int),
    Field::opt("model_id", Kind::Str), Field::opt("dataset_name", Kind::Str), Field::opt("dataset_digest", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    pub key: String,
    #[serde(default, deserialize_with = "opt_f64")]
    pub value: Option<f64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub step: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_digest: Option<String>,
});

impl LogMetric {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(LogParam [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::req("key", Kind::Str),
    Field::opt("value", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    pub key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
});

impl LogParam {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(SetTag [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::req("key", Kind::Str),
    Field::opt("value", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    pub key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub value: Option<String>,
});

impl SetTag {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(DeleteTag [Field::req("run_id", Kind::Str), Field::req("key", Kind::Str)] {
    pub run_id: String,
    pub key: String,
});

message!(LogBatch [
    Field::req("run_id", Kind::Str), Field::opt("metrics", Kind::List), Field::opt("params", Kind::List),
    Field::opt("tags", Kind::List)
] {
    pub run_id: String,
    #[serde(default)]
    pub metrics: Vec<MetricIn>,
    #[serde(default)]
    pub params: Vec<KeyValueIn>,
    #[serde(default)]
    pub tags: Vec<KeyValueIn>,
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

message!(LogInputs [
    Field::req("run_id", Kind::Str), Field::opt("datasets", Kind::List), Field::opt("models", Kind::List)
] {
    pub run_id: String,
    #[serde(default)]
    pub datasets: Vec<DatasetInputIn>,
    #[serde(default)]
    pub models: Vec<ModelIoIn>,
});

message!(LogOutputs [Field::req("run_id", Kind::Str), Field::opt("models", Kind::List)] {
    pub run_id: String,
    #[serde(default)]
    pub models: Vec<ModelIoIn>,
});

message!(SearchRuns [
    Field::opt("experiment_ids", Kind::StrList), Field::opt("filter", Kind::Str), Field::opt("run_view_type", Kind::Enum),
    Field::opt("max_results", Kind::Int), Field::opt("order_by", Kind::StrList), Field::opt("page_token", Kind::Str)
] {
    #[serde(default)]
    pub experiment_ids: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub filter: Option<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub run_view_type: Option<ViewType>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
    #[serde(default)]
    pub order_by: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
});

message!(GetMetricHistory [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::req("metric_key", Kind::Str),
    Field::opt("page_token", Kind::Str), Field::opt("max_results", Kind::Int)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    pub metric_key: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
});

impl GetMetricHistory {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

message!(GetMetricHistoryBulkInterval [
    Field::opt("run_ids", Kind::StrList), Field::req("metric_key", Kind::Str), Field::opt("start_step", Kind::Int),
    Field::opt("end_step", Kind::Int), Field::opt("max_results", Kind::Int)
] {
    #[serde(default)]
    pub run_ids: Vec<String>,
    pub metric_key: String,
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_step: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_step: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub max_results: Option<i64>,
});

message!(ListArtifacts [
    Field::opt("run_id", Kind::Str), Field::opt("run_uuid", Kind::Str), Field::opt("path", Kind::Str),
    Field::opt("page_token", Kind::Str)
] {
    #[serde(default, deserialize_with = "opt_string")]
    pub run_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub run_uuid: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub page_token: Option<String>,
});

impl ListArtifacts {
    pub fn id(&self) -> ApiResult<String> {
        pick_run_id(&self.run_id, &self.run_uuid)
    }
}

// ---- UI-only routes ----

message!(SearchDatasets [Field::opt("experiment_ids", Kind::StrList)] {
    #[serde(default)]
    pub experiment_ids: Vec<String>,
});
