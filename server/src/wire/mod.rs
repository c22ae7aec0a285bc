//! Types for the wire: serde structs whose JSON matches MLflow's exactly
//! (snake_case proto names, int64 as numbers, unset fields and empty lists
//! omitted, NaN as the string `"NaN"`). Storage rows live in `store::sql`.

/// Declares a request message: the struct (serde) and its field schema
/// (which [`crate::request::Msg`] checks before deserializing).
macro_rules! message {
    ($(#[$meta:meta])* $name:ident [$($field:expr),* $(,)?] { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize)]
        pub struct $name { $($body)* }
        impl $crate::request::ApiMessage for $name {
            const FIELDS: &'static [$crate::request::Field] = &[$($field),*];
        }
    };
}

pub mod de;
pub mod logged_models;
pub mod registry;
pub mod requests;
pub mod responses;

use serde::{Serialize, Serializer};

crate::wire_enum!(
    /// `ViewType` of search requests.
    ViewType {
        ActiveOnly = 1 => "ACTIVE_ONLY",
        DeletedOnly = 2 => "DELETED_ONLY",
        All = 3 => "ALL",
    }
);

crate::wire_enum!(
    /// `RunStatus`.
    RunStatus {
        Running = 1 => "RUNNING",
        Scheduled = 2 => "SCHEDULED",
        Finished = 3 => "FINISHED",
        Failed = 4 => "FAILED",
        Killed = 5 => "KILLED",
    }
);

impl ViewType {
    /// The lifecycle stages a view includes.
    pub fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    pub workspace: String,
}

/// A metric value: NaN is carried as a flag, as the `metrics.is_nan` column
/// does, and written to JSON as the string `"NaN"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricValue(pub f64);

impl Serialize for MetricValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_nan() {
            s.serialize_str("NaN")
        } else if self.0.is_infinite() {
            // Stored as ±f64::MAX by the SQL store; mirrors what MLflow returns.
            s.serialize_f64(if self.0 > 0.0 { f64::MAX } else { f64::MIN })
        } else {
            s.serialize_f64(self.0)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub key: String,
    pub value: MetricValue,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub run_uuid: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: String,
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RunData {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// One dataset an experiment's runs used, with the context it was used in
/// (`experiments/search-datasets`, the runs table's dataset filter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSummary {
    pub experiment_id: String,
    pub name: String,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelIo {
    pub model_id: String,
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RunInputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<ModelIo>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RunOutputs {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelIo>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub info: RunInfo,
    pub data: RunData,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<RunInputs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<RunOutputs>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_infinity_on_the_wire() {
        let m = Metric {
            key: "m".into(),
            value: MetricValue(f64::NAN),
            timestamp: 1,
            step: 0,
            run_id: None,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"key":"m","value":"NaN","timestamp":1,"step":0}"#
        );
        let inf = serde_json::to_string(&MetricValue(f64::INFINITY)).unwrap();
        assert_eq!(inf.parse::<f64>().unwrap(), f64::MAX);
    }

    #[test]
    fn empty_lists_are_omitted() {
        let d = RunData::default();
        assert_eq!(serde_json::to_string(&d).unwrap(), "{}");
    }

    #[test]
    fn enums_by_name_or_number() {
        assert_eq!(
            ViewType::from_json(&serde_json::json!("ALL")),
            Some(ViewType::All)
        );
        assert_eq!(
            ViewType::from_json(&serde_json::json!(2)),
            Some(ViewType::DeletedOnly)
        );
        assert_eq!(ViewType::from_json(&serde_json::json!("NOPE")), None);
        assert_eq!(RunStatus::Finished.as_str(), "FINISHED");
    }
}
