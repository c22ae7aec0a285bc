//! Response messages: serialized straight from borrowed data (no
//! intermediate JSON values). Empty lists and absent tokens are omitted.

use super::{Experiment, FileInfo, Metric, Run, RunInfo};
use serde::Serialize;

fn is_empty<T>(items: &[T]) -> bool {
    items.is_empty()
}

#[derive(Serialize)]
pub struct CreateExperimentResponse<'a> {
    pub experiment_id: &'a str,
}

#[derive(Serialize)]
pub struct ExperimentResponse<'a> {
    pub experiment: &'a Experiment,
}

#[derive(Serialize)]
pub struct SearchExperimentsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub experiments: &'a [Experiment],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[derive(Serialize)]
pub struct RunResponse<'a> {
    pub run: &'a Run,
}

#[derive(Serialize)]
pub struct UpdateRunResponse<'a> {
    pub run_info: &'a RunInfo,
}

#[derive(Serialize)]
pub struct SearchRunsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub runs: &'a [Run],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

#[derive(Serialize)]
pub struct MetricsResponse<'a> {
    #[serde(skip_serializing_if = "is_empty")]
    pub metrics: &'a [Metric],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}

/// `artifacts/list` of the tracking API.
#[derive(Serialize)]
pub struct ListArtifactsResponse<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "is_empty")]
    pub files: &'a [FileInfo],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<&'a str>,
}
