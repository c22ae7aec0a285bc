//! Types for the wire: serde structs whose JSON matches MLflow's exactly
//! (snake_case proto names, int64 as numbers, unset fields and empty lists
//! omitted, NaN as the string `"NaN"`). Storage rows live in `store::sql`.

/// Declares a request message, each field once:
///
/// ```text
/// message!(
///     /// doc
///     CreateExperiment {
///         req name: String as Str,
///         opt artifact_location: Option<String> as Str,
///         opt tags: Vec<KeyValueIn> as List,
///     }
/// );
/// ```
///
/// `req`/`opt` and the [`crate::request::Kind`] feed the schema that
/// [`crate::request::Msg`] checks before deserializing (MLflow's
/// missing-parameter and type-hint errors); the same tokens give the serde
/// struct, so the two cannot disagree. The kind also picks the serde
/// attributes: a required string is a plain `String`; every other field is
/// `#[serde(default)]`, read by `de::opt_string` (optional `Str`),
/// `de::opt_i64` (`Int`), `de::opt_f64` (`Float`) or `de::lenient_enum`
/// (`Enum`), and as itself otherwise (`Bool`, `StrList`, `List`, `Object`).
/// The JSON name is the Rust name (`r#type` is `type`, as serde reads it);
/// `opt rust_name("json_name"): ...` names it otherwise.
macro_rules! message {
    ($(#[$meta:meta])* $name:ident { $($fields:tt)* }) => {
        message!(@field [$(#[$meta])*] $name [] [] $($fields)*);
    };

    // One arm per serde treatment; each appends the field to the struct body
    // and its `Field` to the schema, then reads the rest.
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* req $field:ident $(($json:literal))? : $ty:ty as Str $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])? pub $field: $ty,]
            [$($schema)* message!(@schema req $field $(($json))? Str),]
            $($($rest)*)?);
    };
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* $req:ident $field:ident $(($json:literal))? : $ty:ty as Str $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])?
             #[serde(default, deserialize_with = "crate::wire::de::opt_string")] pub $field: $ty,]
            [$($schema)* message!(@schema $req $field $(($json))? Str),]
            $($($rest)*)?);
    };
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* $req:ident $field:ident $(($json:literal))? : $ty:ty as Int $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])?
             #[serde(default, deserialize_with = "crate::wire::de::opt_i64")] pub $field: $ty,]
            [$($schema)* message!(@schema $req $field $(($json))? Int),]
            $($($rest)*)?);
    };
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* $req:ident $field:ident $(($json:literal))? : $ty:ty as Float $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])?
             #[serde(default, deserialize_with = "crate::wire::de::opt_f64")] pub $field: $ty,]
            [$($schema)* message!(@schema $req $field $(($json))? Float),]
            $($($rest)*)?);
    };
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* $req:ident $field:ident $(($json:literal))? : $ty:ty as Enum $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])?
             #[serde(default, deserialize_with = "crate::wire::de::lenient_enum")] pub $field: $ty,]
            [$($schema)* message!(@schema $req $field $(($json))? Enum),]
            $($($rest)*)?);
    };
    (@field $meta:tt $name:ident [$($body:tt)*] [$($schema:tt)*]
        $(#[$fmeta:meta])* $req:ident $field:ident $(($json:literal))? : $ty:ty as $kind:ident $(, $($rest:tt)*)?) => {
        message!(@field $meta $name
            [$($body)* $(#[$fmeta])* $(#[serde(rename = $json)])? #[serde(default)] pub $field: $ty,]
            [$($schema)* message!(@schema $req $field $(($json))? $kind),]
            $($($rest)*)?);
    };
    (@field [$($meta:tt)*] $name:ident [$($body:tt)*] [$($schema:tt)*]) => {
        $($meta)*
        #[derive(Debug, Clone, serde::Deserialize)]
        pub struct $name { $($body)* }
        impl $crate::request::ApiMessage for $name {
            const FIELDS: &'static [$crate::request::Field] = &[$($schema)*];
        }
    };

    // `Field::req` / `Field::opt` under the field's JSON name.
    (@schema $req:ident $field:ident ($json:literal) $kind:ident) => {
        $crate::request::Field::$req($json, $crate::request::Kind::$kind)
    };
    (@schema $req:ident $field:ident $kind:ident) => {
        $crate::request::Field::$req(
            $crate::wire::json_name(stringify!($field)),
            $crate::request::Kind::$kind,
        )
    };
}

/// The JSON name serde gives a field: its Rust name without a raw
/// identifier's `r#`.
pub const fn json_name(rust_name: &'static str) -> &'static str {
    match rust_name.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => rust_name,
        },
        _ => rust_name,
    }
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
    use crate::request::{parse_message, ApiMessage, Field, Kind};
    use serde::de::{DeserializeOwned, Visitor};

    /// A deserializer that only records the field names a derived
    /// `Deserialize` passes to `deserialize_struct`: the names serde accepts.
    #[derive(Default)]
    struct SerdeFieldNames(&'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for &mut SerdeFieldNames {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("field names recorded"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    fn serde_field_names<T: DeserializeOwned>() -> &'static [&'static str] {
        let mut names = SerdeFieldNames::default();
        let _ = T::deserialize(&mut names);
        names.0
    }

    fn schema_names<T: ApiMessage>() -> Vec<&'static str> {
        T::FIELDS.iter().map(|f| f.name).collect()
    }

    /// Every request message, in the order of its source file.
    macro_rules! assert_schema_matches_serde {
        ($($message:ty),* $(,)?) => {{
            let mut checked = 0;
            $(
                assert_eq!(
                    schema_names::<$message>(),
                    serde_field_names::<$message>(),
                    "{}",
                    stringify!($message)
                );
                checked += 1;
            )*
            checked
        }};
    }

    #[test]
    fn every_message_schema_names_the_fields_serde_reads() {
        use super::{logged_models as lm, registry as reg, requests as tr};
        let checked = assert_schema_matches_serde!(
            tr::CreateExperiment,
            tr::ExperimentRef,
            tr::GetExperimentByName,
            tr::SearchExperiments,
            tr::UpdateExperiment,
            tr::SetExperimentTag,
            tr::DeleteExperimentTag,
            tr::CreateRun,
            tr::RunRef,
            tr::UpdateRun,
            tr::LogMetric,
            tr::LogParam,
            tr::SetTag,
            tr::DeleteTag,
            tr::LogBatch,
            tr::LogInputs,
            tr::LogOutputs,
            tr::SearchRuns,
            tr::GetMetricHistory,
            tr::GetMetricHistoryBulkInterval,
            tr::ListArtifacts,
            tr::SearchDatasets,
            reg::CreateRegisteredModel,
            reg::RegisteredModelRef,
            reg::RenameRegisteredModel,
            reg::UpdateRegisteredModel,
            reg::SearchRegistry,
            reg::GetLatestVersions,
            reg::SetRegisteredModelTag,
            reg::DeleteRegisteredModelTag,
            reg::SetRegisteredModelAlias,
            reg::RegisteredModelAliasRef,
            reg::CreateModelVersion,
            reg::ModelVersionRef,
            reg::GetModelVersionDownloadUri,
            reg::UpdateModelVersion,
            reg::TransitionModelVersionStage,
            reg::SetModelVersionTag,
            reg::DeleteModelVersionTag,
            lm::CreateLoggedModel,
            lm::GetLoggedModel,
            lm::FinalizeLoggedModel,
            lm::LogLoggedModelParams,
            lm::SetLoggedModelTags,
            lm::SearchLoggedModels,
            lm::ListLoggedModelArtifacts,
            lm::GetLoggedModelArtifact,
            lm::LogModel,
        );
        // A message added to a file but not to the list above fails here.
        let declared: usize = [
            include_str!("requests.rs"),
            include_str!("registry.rs"),
            include_str!("logged_models.rs"),
        ]
        .iter()
        .map(|source| source.matches("\nmessage!(").count())
        .sum();
        assert_eq!(checked, declared);
    }

    message!(
        /// Every kind, a raw identifier and a renamed field.
        AllKinds {
            req name: String as Str,
            opt r#type: Option<String> as Str,
            opt legacy_id("run_uuid"): Option<String> as Str,
            req count: Option<i64> as Int,
            opt ratio: Option<f64> as Float,
            opt flag: Option<bool> as Bool,
            opt ids: Vec<String> as StrList,
            opt items: Vec<serde_json::Value> as List,
            opt extra: Option<serde_json::Value> as Object,
            /// A field's own doc comment is kept.
            opt view: Option<ViewType> as Enum,
        }
    );

    #[test]
    fn message_macro_schema() {
        let schema: Vec<(&str, Kind, bool)> = AllKinds::FIELDS
            .iter()
            .map(|f: &Field| (f.name, f.kind, f.required))
            .collect();
        assert_eq!(
            schema,
            [
                ("name", Kind::Str, true),
                ("type", Kind::Str, false),
                ("run_uuid", Kind::Str, false),
                ("count", Kind::Int, true),
                ("ratio", Kind::Float, false),
                ("flag", Kind::Bool, false),
                ("ids", Kind::StrList, false),
                ("items", Kind::List, false),
                ("extra", Kind::Object, false),
                ("view", Kind::Enum, false),
            ]
        );
        assert_eq!(json_name("r#type"), "type");
        assert_eq!(json_name("run_id"), "run_id");
    }

    #[test]
    fn message_macro_serde_attributes_follow_the_kind() {
        let full: AllKinds = parse_message(serde_json::json!({
            "name": "n", "type": "t", "run_uuid": "r", "count": "5", "ratio": "NaN",
            "flag": true, "ids": ["a"], "items": [1], "extra": {"k": 1}, "view": "BOGUS",
        }))
        .unwrap();
        assert_eq!(full.name, "n");
        assert_eq!(full.r#type.as_deref(), Some("t"));
        assert_eq!(full.legacy_id.as_deref(), Some("r"));
        assert_eq!(full.count, Some(5));
        assert!(full.ratio.is_some_and(f64::is_nan));
        assert_eq!(full.flag, Some(true));
        assert_eq!(full.ids, ["a"]);
        assert_eq!(full.items, [serde_json::json!(1)]);
        assert_eq!(full.extra, Some(serde_json::json!({"k": 1})));
        // An unknown enum name falls back to unset (`lenient_enum`).
        assert_eq!(full.view, None);

        let minimal: AllKinds =
            parse_message(serde_json::json!({"name": "n", "count": 1})).unwrap();
        assert_eq!(minimal.r#type, None);
        assert_eq!(minimal.ratio, None);
        assert!(minimal.ids.is_empty() && minimal.items.is_empty());
        assert_eq!(minimal.extra, None);

        let err = parse_message::<AllKinds>(serde_json::json!({"name": "n"})).unwrap_err();
        assert!(err
            .message
            .starts_with("Missing value for required parameter 'count'"));
        let err =
            parse_message::<AllKinds>(serde_json::json!({"name": "n", "count": 1, "type": 2}))
                .unwrap_err();
        assert!(err
            .message
            .starts_with("Invalid value 2 for parameter 'type'"));
    }

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
