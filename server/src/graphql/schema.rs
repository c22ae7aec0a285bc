//! The schema `mlflow server` 3.17.2 serves at `/graphql`: the types its
//! protobuf-generated graphene classes and extensions define, with their
//! GraphQL names (camelCase fields, `MlflowRunExtension` where the
//! extension replaces `MlflowRun`). Field types are written in GraphQL
//! notation and read once.

use super::parser::Type;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Object,
    InputObject,
    Enum,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Type,
    pub args: Vec<(&'static str, Type)>,
}

#[derive(Debug)]
pub struct TypeDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Output fields (objects) or input fields (input objects).
    pub fields: Vec<FieldDef>,
    pub enum_values: &'static [&'static str],
}

impl TypeDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

pub struct Schema {
    pub types: Vec<TypeDef>,
    index: HashMap<&'static str, usize>,
}

impl Schema {
    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.index.get(name).map(|&i| &self.types[i])
    }
}

type Fields = &'static [(&'static str, &'static str)];

const SCALARS: &[&str] = &["String", "Int", "Float", "Boolean", "ID", "LongString"];

const ENUMS: &[(&str, &[&str])] = &[
    (
        "MlflowDeploymentJobConnectionState",
        &[
            "DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED",
            "NOT_SET_UP",
            "CONNECTED",
            "NOT_FOUND",
            "REQUIRED_PARAMETERS_CHANGED",
        ],
    ),
    (
        "MlflowModelVersionDeploymentJobStateDeploymentJobRunState",
        &[
            "DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED",
            "NO_VALID_DEPLOYMENT_JOB_FOUND",
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "PENDING",
            "APPROVAL",
        ],
    ),
    (
        "MlflowModelVersionStatus",
        &["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"],
    ),
    (
        "MlflowRunStatus",
        &["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"],
    ),
    ("MlflowViewType", &["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]),
];

const KEY_VALUE: Fields = &[("key", "String"), ("value", "String")];

const OBJECTS: &[(&str, Fields)] = &[
    ("ErrorDetail", &[("field", "String"), ("message", "String")]),
    (
        "ApiError",
        &[
            ("code", "String"),
            ("message", "String"),
            ("helpUrl", "String"),
            ("traceId", "String"),
            ("errorDetails", "[ErrorDetail]"),
        ],
    ),
    (
        "MlflowModelVersionDeploymentJobState",
        &[
            ("jobId", "String"),
            ("runId", "String"),
            ("jobState", "MlflowDeploymentJobConnectionState"),
            (
                "runState",
                "MlflowModelVersionDeploymentJobStateDeploymentJobRunState",
            ),
            ("currentTaskName", "String"),
        ],
    ),
    (
        "MlflowModelMetric",
        &[
            ("key", "String"),
            ("value", "Float"),
            ("timestamp", "LongString"),
            ("step", "LongString"),
            ("datasetName", "String"),
            ("datasetDigest", "String"),
            ("modelId", "String"),
            ("runId", "String"),
        ],
    ),
    (
        "MlflowModelParam",
        &[("name", "String"), ("value", "String")],
    ),
    ("MlflowModelVersionTag", KEY_VALUE),
    (
        "MlflowModelVersion",
        &[
            ("name", "String"),
            ("version", "String"),
            ("creationTimestamp", "LongString"),
            ("lastUpdatedTimestamp", "LongString"),
            ("userId", "String"),
            ("currentStage", "String"),
            ("description", "String"),
            ("source", "String"),
            ("runId", "String"),
            ("status", "MlflowModelVersionStatus"),
            ("statusMessage", "String"),
            ("tags", "[MlflowModelVersionTag!]"),
            ("runLink", "String"),
            ("aliases", "[String]"),
            ("modelId", "String"),
            ("modelParams", "[MlflowModelParam!]"),
            ("modelMetrics", "[MlflowModelMetric!]"),
            ("deploymentJobState", "MlflowModelVersionDeploymentJobState"),
        ],
    ),
    (
        "MlflowSearchModelVersionsResponse",
        &[
            ("modelVersions", "[MlflowModelVersion!]"),
            ("nextPageToken", "String"),
            ("apiError", "ApiError"),
        ],
    ),
    (
        "MlflowDatasetSummary",
        &[
            ("experimentId", "String"),
            ("name", "String"),
            ("digest", "String"),
            ("context", "String"),
        ],
    ),
    (
        "MlflowSearchDatasetsResponse",
        &[
            ("datasetSummaries", "[MlflowDatasetSummary!]"),
            ("apiError", "ApiError"),
        ],
    ),
    (
        "MlflowMetricWithRunId",
        &[
            ("key", "String"),
            ("value", "Float"),
            ("timestamp", "LongString"),
            ("step", "LongString"),
            ("runId", "String"),
        ],
    ),
    (
        "MlflowGetMetricHistoryBulkIntervalResponse",
        &[
            ("metrics", "[MlflowMetricWithRunId!]"),
            ("apiError", "ApiError"),
        ],
    ),
    (
        "MlflowFileInfo",
        &[
            ("path", "String"),
            ("isDir", "Boolean"),
            ("fileSize", "LongString"),
        ],
    ),
    (
        "MlflowListArtifactsResponse",
        &[
            ("rootUri", "String"),
            ("files", "[MlflowFileInfo!]"),
            ("nextPageToken", "String"),
            ("apiError", "ApiError"),
        ],
    ),
    (
        "MlflowModelOutput",
        &[("modelId", "String"), ("step", "LongString")],
    ),
    (
        "MlflowRunOutputs",
        &[("modelOutputs", "[MlflowModelOutput!]")],
    ),
    ("MlflowModelInput", &[("modelId", "String")]),
    (
        "MlflowDataset",
        &[
            ("name", "String"),
            ("digest", "String"),
            ("sourceType", "String"),
            ("source", "String"),
            ("schema", "String"),
            ("profile", "String"),
        ],
    ),
    ("MlflowInputTag", KEY_VALUE),
    (
        "MlflowDatasetInput",
        &[("tags", "[MlflowInputTag!]"), ("dataset", "MlflowDataset")],
    ),
    (
        "MlflowRunInputs",
        &[
            ("datasetInputs", "[MlflowDatasetInput!]"),
            ("modelInputs", "[MlflowModelInput!]"),
        ],
    ),
    ("MlflowRunTag", KEY_VALUE),
    ("MlflowParam", KEY_VALUE),
    (
        "MlflowMetricExtension",
        &[
            ("key", "String"),
            ("value", "Float"),
            ("timestamp", "LongString"),
            ("step", "LongString"),
            ("datasetName", "String"),
            ("datasetDigest", "String"),
            ("modelId", "String"),
            ("runId", "String"),
        ],
    ),
    (
        "MlflowRunData",
        &[
            ("metrics", "[MlflowMetricExtension!]"),
            ("params", "[MlflowParam!]"),
            ("tags", "[MlflowRunTag!]"),
        ],
    ),
    (
        "MlflowRunInfo",
        &[
            ("runId", "String"),
            ("runUuid", "String"),
            ("runName", "String"),
            ("experimentId", "String"),
            ("userId", "String"),
            ("status", "MlflowRunStatus"),
            ("startTime", "LongString"),
            ("endTime", "LongString"),
            ("artifactUri", "String"),
            ("lifecycleStage", "String"),
        ],
    ),
    (
        "MlflowRunExtension",
        &[
            ("info", "MlflowRunInfo"),
            ("data", "MlflowRunData"),
            ("inputs", "MlflowRunInputs"),
            ("outputs", "MlflowRunOutputs"),
            ("experiment", "MlflowExperiment"),
            ("modelVersions", "[MlflowModelVersion!]"),
        ],
    ),
    (
        "MlflowSearchRunsResponse",
        &[
            ("runs", "[MlflowRunExtension!]"),
            ("nextPageToken", "String"),
            ("apiError", "ApiError"),
        ],
    ),
    (
        "MlflowGetRunResponse",
        &[("run", "MlflowRunExtension"), ("apiError", "ApiError")],
    ),
    ("MlflowExperimentTag", KEY_VALUE),
    (
        "MlflowExperiment",
        &[
            ("experimentId", "String"),
            ("name", "String"),
            ("artifactLocation", "String"),
            ("lifecycleStage", "String"),
            ("lastUpdateTime", "LongString"),
            ("creationTime", "LongString"),
            ("tags", "[MlflowExperimentTag!]"),
            ("effectiveTraceArchivalRetention", "String"),
            ("workspace", "String"),
        ],
    ),
    (
        "MlflowGetExperimentResponse",
        &[("experiment", "MlflowExperiment"), ("apiError", "ApiError")],
    ),
    ("Test", &[("output", "String")]),
    ("TestMutation", &[("output", "String")]),
];

const INPUTS: &[(&str, Fields)] = &[
    (
        "MlflowSearchModelVersionsInput",
        &[
            ("filter", "String"),
            ("maxResults", "LongString"),
            ("orderBy", "[String]"),
            ("pageToken", "String"),
        ],
    ),
    (
        "MlflowSearchDatasetsInput",
        &[("experimentIds", "[String]")],
    ),
    (
        "MlflowGetMetricHistoryBulkIntervalInput",
        &[
            ("runIds", "[String]"),
            ("metricKey", "String"),
            ("startStep", "Int"),
            ("endStep", "Int"),
            ("maxResults", "Int"),
        ],
    ),
    (
        "MlflowListArtifactsInput",
        &[
            ("runId", "String"),
            ("runUuid", "String"),
            ("path", "String"),
            ("pageToken", "String"),
        ],
    ),
    (
        "MlflowSearchRunsInput",
        &[
            ("experimentIds", "[String]"),
            ("filter", "String"),
            ("runViewType", "MlflowViewType"),
            ("maxResults", "Int"),
            ("orderBy", "[String]"),
            ("pageToken", "String"),
        ],
    ),
    (
        "MlflowGetRunInput",
        &[("runId", "String"), ("runUuid", "String")],
    ),
    ("MlflowGetExperimentInput", &[("experimentId", "String")]),
];

/// Root fields: (type, field, result type, argument, argument type).
const ROOTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Query",
        "mlflowGetExperiment",
        "MlflowGetExperimentResponse",
        "input",
        "MlflowGetExperimentInput",
    ),
    (
        "Query",
        "mlflowGetMetricHistoryBulkInterval",
        "MlflowGetMetricHistoryBulkIntervalResponse",
        "input",
        "MlflowGetMetricHistoryBulkIntervalInput",
    ),
    (
        "Query",
        "mlflowGetRun",
        "MlflowGetRunResponse",
        "input",
        "MlflowGetRunInput",
    ),
    (
        "Query",
        "mlflowListArtifacts",
        "MlflowListArtifactsResponse",
        "input",
        "MlflowListArtifactsInput",
    ),
    (
        "Query",
        "mlflowSearchModelVersions",
        "MlflowSearchModelVersionsResponse",
        "input",
        "MlflowSearchModelVersionsInput",
    ),
    ("Query", "test", "Test", "inputString", "String"),
    (
        "Query",
        "mlflowSearchRuns",
        "MlflowSearchRunsResponse",
        "input",
        "MlflowSearchRunsInput",
    ),
    (
        "Mutation",
        "mlflowSearchDatasets",
        "MlflowSearchDatasetsResponse",
        "input",
        "MlflowSearchDatasetsInput",
    ),
    (
        "Mutation",
        "mlflowSearchRuns",
        "MlflowSearchRunsResponse",
        "input",
        "MlflowSearchRunsInput",
    ),
    (
        "Mutation",
        "testMutation",
        "TestMutation",
        "inputString",
        "String",
    ),
];

/// Reads a type written in GraphQL notation (`[MlflowRunTag!]`).
pub fn type_of(notation: &str) -> Type {
    if let Some(inner) = notation.strip_suffix('!') {
        Type::NonNull(Box::new(type_of(inner)))
    } else if let Some(inner) = notation.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        Type::List(Box::new(type_of(inner)))
    } else {
        Type::Named(notation.to_string())
    }
}

fn fields(defs: Fields) -> Vec<FieldDef> {
    defs.iter()
        .map(|&(name, ty)| FieldDef {
            name,
            ty: type_of(ty),
            args: Vec::new(),
        })
        .collect()
}

fn build() -> Schema {
    let mut types = Vec::new();
    for &name in SCALARS {
        types.push(TypeDef {
            name,
            kind: Kind::Scalar,
            fields: Vec::new(),
            enum_values: &[],
        });
    }
    for &(name, values) in ENUMS {
        types.push(TypeDef {
            name,
            kind: Kind::Enum,
            fields: Vec::new(),
            enum_values: values,
        });
    }
    for &(name, defs) in OBJECTS {
        types.push(TypeDef {
            name,
            kind: Kind::Object,
            fields: fields(defs),
            enum_values: &[],
        });
    }
    for &(name, defs) in INPUTS {
        types.push(TypeDef {
            name,
            kind: Kind::InputObject,
            fields: fields(defs),
            enum_values: &[],
        });
    }
    for root in ["Query", "Mutation"] {
        types.push(TypeDef {
            name: root,
            kind: Kind::Object,
            fields: ROOTS
                .iter()
                .filter(|r| r.0 == root)
                .map(|&(_, name, ty, arg, arg_ty)| FieldDef {
                    name,
                    ty: type_of(ty),
                    args: vec![(arg, type_of(arg_ty))],
                })
                .collect(),
            enum_values: &[],
        });
    }
    let index = types.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
    Schema { types, index }
}

pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(build)
}

/// The one custom directive: `@component(name: String!)` on operations.
pub const COMPONENT: &str = "component";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_referenced_type_exists() {
        let s = schema();
        for t in &s.types {
            for f in &t.fields {
                assert!(s.get(f.ty.named()).is_some(), "{}.{}", t.name, f.name);
                for (_, a) in &f.args {
                    assert!(s.get(a.named()).is_some());
                }
            }
        }
        assert_eq!(type_of("[MlflowRunTag!]").to_string(), "[MlflowRunTag!]");
        assert!(s.get("MlflowRun").is_none());
    }
}
