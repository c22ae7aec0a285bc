//! MLflow 3 logged models on the wire: `LoggedModel` (`info` + `data`), its
//! status enum, the request messages of the `logged-models` endpoints and of
//! the 2.x `runs/log-model` call, and the response messages.

use super::de::opt_string;
use super::requests::KeyValueIn;
use super::{FileInfo, KeyValue, MetricValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

crate::wire_enum!(
    /// `LoggedModelStatus`, stored as its number in `logged_models.status`.
    LoggedModelStatus {
        Unspecified = 0 => "LOGGED_MODEL_STATUS_UNSPECIFIED",
        Pending = 1 => "LOGGED_MODEL_PENDING",
        Ready = 2 => "LOGGED_MODEL_READY",
        UploadFailed = 3 => "LOGGED_MODEL_UPLOAD_FAILED",
    }
);

impl LoggedModelStatus {
    /// The number stored in `logged_models.status`.
    pub fn to_int(self) -> i64 {
        match self {
            LoggedModelStatus::Unspecified => 0,
            LoggedModelStatus::Pending => 1,
            LoggedModelStatus::Ready => 2,
            LoggedModelStatus::UploadFailed => 3,
        }
    }

    /// Reads a stored status; unknown numbers read as unspecified.
    pub fn from_int(n: i64) -> LoggedModelStatus {
        LoggedModelStatus::from_number(n).unwrap_or(LoggedModelStatus::Unspecified)
    }

    /// The status a filter value names: the proto name
    /// (`LOGGED_MODEL_READY`), the Python entity's name (`READY`, `FAILED`,
    /// …) or the number, any case.
    pub fn from_filter_value(s: &str) -> Option<LoggedModelStatus> {
        let upper = s.trim().to_ascii_uppercase();
        if let Some(status) = LoggedModelStatus::from_name(&upper) {
            return Some(status);
        }
        match upper.as_str() {
            "UNSPECIFIED" => Some(LoggedModelStatus::Unspecified),
            "PENDING" => Some(LoggedModelStatus::Pending),
            "READY" => Some(LoggedModelStatus::Ready),
            "FAILED" | "UPLOAD_FAILED" => Some(LoggedModelStatus::UploadFailed),
            other => other
                .parse::<i64>()
                .ok()
                .and_then(LoggedModelStatus::from_number),
        }
    }
}

/// A metric of a logged model (`Metric` with the model fields set), in the
/// proto's field order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModelMetric {
    pub key: String,
    pub value: MetricValue,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// `LoggedModelInfo`. `model_type` and `source_run_id` are `""` when the
/// creating request left them out, as MLflow stores them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModelInfo {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_timestamp_ms: i64,
    pub last_updated_timestamp_ms: i64,
    pub artifact_uri: String,
    pub status: LoggedModelStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// Not on the wire: `active` or `deleted`.
    #[serde(skip)]
    pub lifecycle_stage: String,
}

/// `LoggedModelData`: params and every metric row linked to the model.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LoggedModelData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<LoggedModelMetric>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoggedModel {
    pub info: LoggedModelInfo,
    pub data: LoggedModelData,
}

// ---------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------

message!(CreateLoggedModel {
    req experiment_id: String as Str,
    opt name: Option<String> as Str,
    opt model_type: Option<String> as Str,
    opt source_run_id: Option<String> as Str,
    opt params: Vec<KeyValueIn> as List,
    opt tags: Vec<KeyValueIn> as List,
});

message!(
    /// `GET logged-models/{id}`: only `allow_deleted` (`"true"` in any case
    /// means true, anything else false).
    GetLoggedModel {
        opt allow_deleted: Option<String> as Str,
    }
);

message!(
    /// `PATCH logged-models/{id}`: MLflow requires `model_id` in the body and
    /// finalizes the model it names.
    FinalizeLoggedModel {
        req model_id: String as Str,
        req status: Option<Value> as Enum,
    }
);

message!(LogLoggedModelParams {
    req model_id: String as Str,
    opt params: Vec<KeyValueIn> as List,
});

message!(SetLoggedModelTags {
    opt tags: Vec<KeyValueIn> as List,
});

/// `SearchLoggedModels.Dataset`.
#[derive(Debug, Clone, Deserialize)]
pub struct DatasetFilterIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_digest: Option<String>,
}

/// `SearchLoggedModels.OrderBy` (`ascending` defaults to true).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderByIn {
    #[serde(default, deserialize_with = "opt_string")]
    pub field_name: Option<String>,
    #[serde(default)]
    pub ascending: Option<bool>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub dataset_digest: Option<String>,
}

message!(SearchLoggedModels {
    req experiment_ids: Vec<String> as StrList,
    opt filter: Option<String> as Str,
    opt datasets: Vec<DatasetFilterIn> as List,
    opt max_results: Option<i64> as Int,
    opt order_by: Vec<OrderByIn> as List,
    opt page_token: Option<String> as Str,
});

message!(ListLoggedModelArtifacts {
    opt artifact_directory_path: Option<String> as Str,
    opt page_token: Option<String> as Str,
});

message!(GetLoggedModelArtifact {
    opt artifact_file_path: Option<String> as Str,
});

message!(
    /// 2.x `runs/log-model`.
    LogModel {
        req run_id: String as Str,
        req model_json: String as Str,
    }
);

// ---------------------------------------------------------------------------
// responses
// ---------------------------------------------------------------------------

#[derive(Serialize)]
pub struct LoggedModelResponse<'a> {
    pub model: &'a LoggedModel,
}

fn is_empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

#[derive(Serialize)]
pub struct SearchLoggedModelsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub models: &'a [LoggedModel],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[derive(Serialize)]
pub struct ListLoggedModelArtifactsResponse<'a> {
    pub root_uri: &'a str,
    #[serde(skip_serializing_if = "is_empty")]
    pub files: &'a [FileInfo],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_names_and_numbers() {
        assert_eq!(LoggedModelStatus::Ready.as_str(), "LOGGED_MODEL_READY");
        assert_eq!(
            LoggedModelStatus::from_int(3),
            LoggedModelStatus::UploadFailed
        );
        assert_eq!(
            LoggedModelStatus::from_int(42),
            LoggedModelStatus::Unspecified
        );
        assert_eq!(
            LoggedModelStatus::from_json(&json!("LOGGED_MODEL_PENDING")),
            Some(LoggedModelStatus::Pending)
        );
        assert_eq!(
            LoggedModelStatus::from_json(&json!(2)),
            Some(LoggedModelStatus::Ready)
        );
        assert_eq!(LoggedModelStatus::from_json(&json!("BOGUS")), None);
        assert_eq!(
            LoggedModelStatus::from_filter_value("ready"),
            Some(LoggedModelStatus::Ready)
        );
        assert_eq!(
            LoggedModelStatus::from_filter_value("1"),
            Some(LoggedModelStatus::Pending)
        );
        assert_eq!(LoggedModelStatus::from_filter_value("x"), None);
    }

    #[test]
    fn model_json_shape() {
        let m = LoggedModel {
            info: LoggedModelInfo {
                model_id: "m-1".into(),
                experiment_id: "1".into(),
                name: "n".into(),
                creation_timestamp_ms: 5,
                last_updated_timestamp_ms: 6,
                artifact_uri: "mlflow-artifacts:/1/models/m-1/artifacts".into(),
                status: LoggedModelStatus::Pending,
                model_type: Some(String::new()),
                source_run_id: None,
                status_message: None,
                tags: Vec::new(),
                lifecycle_stage: "active".into(),
            },
            data: LoggedModelData::default(),
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"info":{"model_id":"m-1","experiment_id":"1","name":"n","creation_timestamp_ms":5,"last_updated_timestamp_ms":6,"artifact_uri":"mlflow-artifacts:/1/models/m-1/artifacts","status":"LOGGED_MODEL_PENDING","model_type":""},"data":{}}"#
        );
    }
}
