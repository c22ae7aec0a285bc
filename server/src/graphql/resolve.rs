//! The root fields and the run extensions, each through the same function
//! the REST route calls, and the conversion of wire messages to GraphQL
//! values. Fields a message leaves unset read as protobuf's defaults (`""`,
//! `0`, empty lists, empty sub-messages), as graphene reads them from
//! MLflow's protos; `apiError` is always null.

use super::parser::OperationKind;
use crate::auth::access::Access;
use crate::auth::permission::Action;
use crate::error::ApiError;
use crate::handlers::artifacts::list_run_artifacts_impl;
use crate::handlers::registry::{search_model_versions_page, SEARCH_VERSIONS_MAX};
use crate::handlers::runs::{metric_history_bulk_interval, search_runs_page, MAX_RESULTS_PER_RUN};
use crate::state::AppState;
use crate::validation;
use crate::wire::registry::ModelVersion;
use crate::wire::requests::SearchRuns;
use crate::wire::{
    DatasetInput, DatasetSummary, Experiment, FileInfo, KeyValue, Metric, ModelIo, Run, ViewType,
};
use serde_json::{Map, Value as Json};

/// A resolved value, shaped by the schema when it is completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Data>),
    Object(Vec<(&'static str, Data)>),
    /// Resolved only when selected (a query or two more).
    Lazy(Lazy),
    /// The field's resolver failed with this message.
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lazy {
    /// `MlflowRun.experiment`: the run's experiment.
    Experiment(String),
    /// `MlflowRun.modelVersions`: the versions registered from the run.
    ModelVersions(String),
}

fn s(v: &str) -> Data {
    Data::Str(v.to_string())
}

fn opt_s(v: Option<&str>) -> Data {
    s(v.unwrap_or(""))
}

fn opt_i(v: Option<i64>) -> Data {
    Data::Int(v.unwrap_or(0))
}

fn list<T>(items: &[T], f: impl Fn(&T) -> Data) -> Data {
    Data::List(items.iter().map(f).collect())
}

fn key_values(tags: &[KeyValue]) -> Data {
    list(tags, |t| {
        Data::Object(vec![("key", s(&t.key)), ("value", s(&t.value))])
    })
}

/// Infinities come back from the SQL store as ±f64::MAX; keep them finite
/// the same way the REST encoding does.
fn metric_float(v: f64) -> f64 {
    if v.is_infinite() {
        if v > 0.0 {
            f64::MAX
        } else {
            f64::MIN
        }
    } else {
        v
    }
}

fn experiment(e: &Experiment) -> Data {
    Data::Object(vec![
        ("experimentId", s(&e.experiment_id)),
        ("name", s(&e.name)),
        ("artifactLocation", opt_s(e.artifact_location.as_deref())),
        ("lifecycleStage", opt_s(e.lifecycle_stage.as_deref())),
        ("lastUpdateTime", opt_i(e.last_update_time)),
        ("creationTime", opt_i(e.creation_time)),
        ("tags", key_values(&e.tags)),
        ("effectiveTraceArchivalRetention", s("")),
        ("workspace", s(&e.workspace)),
    ])
}

/// A run's latest metric; NaN reads as null (MLflow's extension).
fn run_metric(m: &Metric) -> Data {
    let v = m.value.0;
    Data::Object(vec![
        ("key", s(&m.key)),
        (
            "value",
            if v.is_nan() {
                Data::Null
            } else {
                Data::Float(metric_float(v))
            },
        ),
        ("timestamp", Data::Int(m.timestamp)),
        ("step", Data::Int(m.step)),
        ("datasetName", s("")),
        ("datasetDigest", s("")),
        ("modelId", s("")),
        ("runId", opt_s(m.run_id.as_deref())),
    ])
}

/// A point of a bulk history: no NaN workaround there, so NaN is a field
/// error as in MLflow.
fn history_metric(m: &Metric) -> Data {
    Data::Object(vec![
        ("key", s(&m.key)),
        ("value", Data::Float(metric_float(m.value.0))),
        ("timestamp", Data::Int(m.timestamp)),
        ("step", Data::Int(m.step)),
        ("runId", opt_s(m.run_id.as_deref())),
    ])
}

fn dataset_input(d: &DatasetInput) -> Data {
    let ds = &d.dataset;
    Data::Object(vec![
        ("tags", key_values(&d.tags)),
        (
            "dataset",
            Data::Object(vec![
                ("name", s(&ds.name)),
                ("digest", s(&ds.digest)),
                ("sourceType", s(&ds.source_type)),
                ("source", s(&ds.source)),
                ("schema", opt_s(ds.schema.as_deref())),
                ("profile", opt_s(ds.profile.as_deref())),
            ]),
        ),
    ])
}

fn model_output(m: &ModelIo) -> Data {
    Data::Object(vec![
        ("modelId", s(&m.model_id)),
        ("step", Data::Int(m.step)),
    ])
}

fn run(r: &Run) -> Data {
    let i = &r.info;
    let inputs = r.inputs.clone().unwrap_or_default();
    let outputs = r.outputs.clone().unwrap_or_default();
    Data::Object(vec![
        (
            "info",
            Data::Object(vec![
                ("runId", s(&i.run_id)),
                ("runUuid", s(&i.run_uuid)),
                ("runName", s(&i.run_name)),
                ("experimentId", s(&i.experiment_id)),
                ("userId", s(&i.user_id)),
                ("status", s(&i.status)),
                ("startTime", opt_i(i.start_time)),
                ("endTime", opt_i(i.end_time)),
                ("artifactUri", s(&i.artifact_uri)),
                ("lifecycleStage", s(&i.lifecycle_stage)),
            ]),
        ),
        (
            "data",
            Data::Object(vec![
                ("metrics", list(&r.data.metrics, run_metric)),
                ("params", key_values(&r.data.params)),
                ("tags", key_values(&r.data.tags)),
            ]),
        ),
        (
            "inputs",
            Data::Object(vec![
                ("datasetInputs", list(&inputs.dataset_inputs, dataset_input)),
                (
                    "modelInputs",
                    list(&inputs.model_inputs, |m| {
                        Data::Object(vec![("modelId", s(&m.model_id))])
                    }),
                ),
            ]),
        ),
        (
            "outputs",
            Data::Object(vec![(
                "modelOutputs",
                list(&outputs.model_outputs, model_output),
            )]),
        ),
        (
            "experiment",
            Data::Lazy(Lazy::Experiment(i.experiment_id.clone())),
        ),
        (
            "modelVersions",
            Data::Lazy(Lazy::ModelVersions(i.run_id.clone())),
        ),
    ])
}

fn model_version(mv: &ModelVersion) -> Data {
    Data::Object(vec![
        ("name", s(&mv.name)),
        ("version", s(&mv.version)),
        ("creationTimestamp", Data::Int(mv.creation_timestamp)),
        ("lastUpdatedTimestamp", opt_i(mv.last_updated_timestamp)),
        ("userId", opt_s(mv.user_id.as_deref())),
        ("currentStage", opt_s(mv.current_stage.as_deref())),
        ("description", opt_s(mv.description.as_deref())),
        ("source", opt_s(mv.source.as_deref())),
        ("runId", opt_s(mv.run_id.as_deref())),
        (
            "status",
            s(mv.status.as_deref().unwrap_or("PENDING_REGISTRATION")),
        ),
        ("statusMessage", opt_s(mv.status_message.as_deref())),
        ("tags", key_values(&mv.tags)),
        ("runLink", opt_s(mv.run_link.as_deref())),
        ("aliases", list(&mv.aliases, |a| s(a))),
        ("modelId", s("")),
        ("modelParams", Data::List(Vec::new())),
        ("modelMetrics", Data::List(Vec::new())),
        // Never set here; graphene's enums start at 1, so the proto's 0
        // cannot be represented and MLflow reports a field error for it.
        (
            "deploymentJobState",
            Data::Object(vec![
                ("jobId", s("")),
                ("runId", s("")),
                ("jobState", Data::Int(0)),
                ("runState", Data::Int(0)),
                ("currentTaskName", s("")),
            ]),
        ),
    ])
}

fn file_info(f: &FileInfo) -> Data {
    Data::Object(vec![
        ("path", s(&f.path)),
        ("isDir", Data::Bool(f.is_dir)),
        ("fileSize", opt_i(f.file_size)),
    ])
}

fn dataset_summary(d: &DatasetSummary) -> Data {
    Data::Object(vec![
        ("experimentId", s(&d.experiment_id)),
        ("name", s(&d.name)),
        ("digest", s(&d.digest)),
        ("context", opt_s(d.context.as_deref())),
    ])
}

fn str_field(input: &Map<String, Json>, key: &str) -> Option<String> {
    input.get(key).and_then(Json::as_str).map(str::to_string)
}

/// A repeated string field: nulls dropped, as protobuf's parser skips them.
fn str_list(input: &Map<String, Json>, key: &str) -> Vec<String> {
    match input.get(key) {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn int_field(input: &Map<String, Json>, key: &str) -> Option<i64> {
    input.get(key).and_then(Json::as_i64)
}

/// `run_id or run_uuid`, `""` when neither is set.
fn run_id_of(input: &Map<String, Json>) -> String {
    str_field(input, "runId")
        .filter(|s| !s.is_empty())
        .or_else(|| str_field(input, "runUuid"))
        .unwrap_or_default()
}

fn response(fields: Vec<(&'static str, Data)>) -> Data {
    let mut fields = fields;
    fields.push(("apiError", Data::Null));
    Data::Object(fields)
}

fn failed(e: ApiError) -> Data {
    Data::Error(e.message)
}

/// Python's `int(text)` for the query-string arguments MLflow's bulk
/// interval handler reads.
fn query_int(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| {
        format!(
            "invalid literal for int() with base 10: {}",
            crate::pycompat::repr_value(&Json::String(text.to_string()))
        )
    })
}

pub struct Resolver<'a> {
    pub state: &'a AppState,
    /// The request's query string: MLflow's bulk-interval resolver reads
    /// `max_results`, `start_step` and `end_step` from there, not from its
    /// input.
    pub query: &'a str,
    /// A non-admin caller's grants under basic auth: a root field on an
    /// object they may not read resolves to null (as MLflow's graphql
    /// authorization answers), searches keep only what they may read.
    pub access: Option<Access>,
}

impl Resolver<'_> {
    /// Whether the caller may read runs of `experiment_id` (always without
    /// auth, and for admins).
    fn can_read_runs_of(&self, experiment_id: &str) -> bool {
        self.access
            .as_ref()
            .is_none_or(|a| a.in_experiment("run", experiment_id, Action::Read))
    }

    async fn can_read_run(&self, run_id: &str) -> bool {
        if self.access.is_none() {
            return true;
        }
        match self.state.store.run_experiment_id(run_id).await {
            Ok(Some(experiment_id)) => self.can_read_runs_of(&experiment_id),
            _ => false,
        }
    }

    fn can_read_model(&self, name: &str) -> bool {
        self.access
            .as_ref()
            .is_none_or(|a| a.model_version(name, Action::Read))
    }

    fn query_arg(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub async fn root(&self, kind: OperationKind, name: &str, args: &Map<String, Json>) -> Data {
        let owner = match (kind, name) {
            (OperationKind::Mutation, _) => "MutationType",
            (_, "mlflowSearchRuns") => "Query",
            _ => "QueryType",
        };
        match name {
            "test" => {
                return match args.get("inputString") {
                    None => Data::Error(
                        "Query.resolve_test() missing 1 required positional argument: 'input_string'"
                            .into(),
                    ),
                    Some(v) => Data::Object(vec![(
                        "output",
                        v.as_str().map_or(Data::Null, s),
                    )]),
                };
            }
            // graphene looks for `resolve_testMutation`; MLflow defines
            // `resolve_test_mutation`, so the field is always null.
            "testMutation" => return Data::Null,
            _ => {}
        }
        let input = match args.get("input") {
            None => {
                return Data::Error(format!(
                    "{owner}.resolve_{}() missing 1 required positional argument: 'input'",
                    snake(name)
                ))
            }
            Some(Json::Object(m)) => m,
            Some(_) => return Data::Error("vars() argument must have __dict__ attribute".into()),
        };
        let result = match name {
            "mlflowGetExperiment" => self.get_experiment(input).await,
            "mlflowGetRun" => self.get_run(input).await,
            "mlflowSearchRuns" => self.search_runs(input).await,
            "mlflowGetMetricHistoryBulkInterval" => self.bulk_interval(input).await,
            "mlflowListArtifacts" => self.list_artifacts(input).await,
            "mlflowSearchModelVersions" => self.search_model_versions(input).await,
            "mlflowSearchDatasets" => self.search_datasets(input).await,
            _ => Ok(Data::Null),
        };
        result.unwrap_or_else(failed)
    }

    pub async fn lazy(&self, lazy: Lazy) -> Data {
        match lazy {
            Lazy::Experiment(id)
                if !self
                    .access
                    .as_ref()
                    .is_none_or(|a| a.experiment(&id, Action::Read)) =>
            {
                Data::Null
            }
            Lazy::Experiment(id) => match self.state.store.get_experiment(&id).await {
                Ok(e) => experiment(&e),
                Err(e) => failed(e),
            },
            Lazy::ModelVersions(run_id) => {
                match search_model_versions_page(
                    self.state,
                    format!("run_id='{run_id}'"),
                    SEARCH_VERSIONS_MAX,
                    Vec::new(),
                    None,
                )
                .await
                {
                    Ok(page) => {
                        let readable: Vec<ModelVersion> = page
                            .items
                            .into_iter()
                            .filter(|mv| self.can_read_model(&mv.name))
                            .collect();
                        list(&readable, model_version)
                    }
                    Err(e) => failed(e),
                }
            }
        }
    }

    async fn get_experiment(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        // An unset id reads as MLflow's store reads it: the default
        // experiment.
        let id = str_field(input, "experimentId")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "0".into());
        if !self
            .access
            .as_ref()
            .is_none_or(|a| a.experiment(&id, Action::Read))
        {
            return Ok(Data::Null);
        }
        let e = self.state.store.get_experiment(&id).await?;
        Ok(response(vec![("experiment", experiment(&e))]))
    }

    async fn get_run(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        if !self.can_read_run(&run_id_of(input)).await {
            return Ok(Data::Null);
        }
        let r = self.state.store.get_run(&run_id_of(input)).await?;
        Ok(response(vec![("run", run(&r))]))
    }

    async fn search_runs(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        // Without a handler schema in front, the store's checks word the
        // max_results errors (proto default 1000).
        let max_results = validation::validate_search_experiments_max_results(Some(
            int_field(input, "maxResults").unwrap_or(1000),
        ))?;
        let requested = str_list(input, "experimentIds");
        let experiment_ids: Vec<String> = requested
            .iter()
            .filter(|id| self.can_read_runs_of(id))
            .cloned()
            .collect();
        if experiment_ids.is_empty() && !requested.is_empty() {
            return Ok(response(vec![
                ("runs", Data::List(Vec::new())),
                ("nextPageToken", Data::Null),
            ]));
        }
        let req = SearchRuns {
            experiment_ids,
            filter: str_field(input, "filter"),
            run_view_type: input.get("runViewType").and_then(ViewType::from_json),
            max_results: Some(max_results),
            order_by: str_list(input, "orderBy"),
            page_token: str_field(input, "pageToken").filter(|t| !t.is_empty()),
        };
        let page = search_runs_page(self.state, req, max_results).await?;
        Ok(response(vec![
            ("runs", list(&page.items, run)),
            ("nextPageToken", opt_s(page.next_page_token.as_deref())),
        ]))
    }

    async fn bulk_interval(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        let arg = |name: &str| {
            self.query_arg(name)
                .map(|t| query_int(&t).map_err(ApiError::invalid_parameter))
                .transpose()
        };
        let max_results = arg("max_results")?.unwrap_or(MAX_RESULTS_PER_RUN);
        let (start, end) = (arg("start_step")?, arg("end_step")?);
        for run_id in str_list(input, "runIds") {
            if !self.can_read_run(&run_id).await {
                return Ok(Data::Null);
            }
        }
        let metrics = metric_history_bulk_interval(
            self.state,
            &str_list(input, "runIds"),
            &str_field(input, "metricKey").unwrap_or_default(),
            start,
            end,
            max_results,
        )
        .await?;
        Ok(response(vec![("metrics", list(&metrics, history_metric))]))
    }

    async fn list_artifacts(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        if !self.can_read_run(&run_id_of(input)).await {
            return Ok(Data::Null);
        }
        let path = str_field(input, "path");
        let (root_uri, files) =
            list_run_artifacts_impl(self.state, &run_id_of(input), path.as_deref()).await?;
        Ok(response(vec![
            ("rootUri", s(&root_uri)),
            ("files", list(&files, file_info)),
            ("nextPageToken", s("")),
        ]))
    }

    async fn search_model_versions(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        let page = search_model_versions_page(
            self.state,
            str_field(input, "filter").unwrap_or_default(),
            int_field(input, "maxResults").unwrap_or(SEARCH_VERSIONS_MAX),
            str_list(input, "orderBy"),
            str_field(input, "pageToken").filter(|t| !t.is_empty()),
        )
        .await?;
        let readable: Vec<ModelVersion> = page
            .items
            .into_iter()
            .filter(|mv| self.can_read_model(&mv.name))
            .collect();
        Ok(response(vec![
            ("modelVersions", list(&readable, model_version)),
            ("nextPageToken", opt_s(page.next_page_token.as_deref())),
        ]))
    }

    async fn search_datasets(&self, input: &Map<String, Json>) -> Result<Data, ApiError> {
        let requested = str_list(input, "experimentIds");
        let ids: Vec<String> = requested
            .iter()
            .filter(|id| {
                self.access
                    .as_ref()
                    .is_none_or(|a| a.experiment(id, Action::Read))
            })
            .cloned()
            .collect();
        if ids.is_empty() && !requested.is_empty() {
            // Nothing the caller may read: an empty answer, not a "no ids" error.
            return Ok(response(vec![("datasetSummaries", Data::List(Vec::new()))]));
        }
        let summaries = crate::handlers::ui_api::dataset_summaries(self.state, &ids).await?;
        Ok(response(vec![(
            "datasetSummaries",
            list(&summaries, dataset_summary),
        )]))
    }
}

/// `mlflowGetRun` → `mlflow_get_run`: the Python resolver's name.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_resolver_names() {
        assert_eq!(
            snake("mlflowGetMetricHistoryBulkInterval"),
            "mlflow_get_metric_history_bulk_interval"
        );
        assert_eq!(query_int(" 7 "), Ok(7));
        assert_eq!(
            query_int("x").unwrap_err(),
            "invalid literal for int() with base 10: 'x'"
        );
    }

    #[test]
    fn unset_fields_read_as_proto_defaults() {
        let e = Experiment {
            experiment_id: "1".into(),
            name: "n".into(),
            artifact_location: None,
            lifecycle_stage: Some("active".into()),
            last_update_time: None,
            creation_time: Some(5),
            tags: Vec::new(),
            workspace: "default".into(),
        };
        let Data::Object(fields) = experiment(&e) else {
            panic!("object expected")
        };
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("artifactLocation"), Some(s("")));
        assert_eq!(get("lastUpdateTime"), Some(Data::Int(0)));
        assert_eq!(get("tags"), Some(Data::List(Vec::new())));
        assert_eq!(metric_float(f64::INFINITY), f64::MAX);
    }
}
