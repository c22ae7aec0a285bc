//! The storage boundary: traits for everything the API reads and writes, one
//! per entity, implemented for SQLite and PostgreSQL by [`sql::SqlStore`] on
//! MLflow's own schema.

pub mod logged_models;
pub mod migrate;
pub mod registry;
pub mod sql;

use crate::error::ApiResult;
use crate::wire::{
    DatasetInput, DatasetSummary, Experiment, KeyValue, Metric, ModelIo, Run, RunInfo, RunStatus,
    ViewType,
};
use async_trait::async_trait;

/// One page of results and the token for the next one, if more exist.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

/// A validated metric ready to store (NaN and ±inf are allowed).
#[derive(Debug, Clone, PartialEq)]
pub struct NewMetric {
    pub key: String,
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    pub model_id: Option<String>,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// One param a write would change: params are immutable once logged.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValueConflict {
    pub key: String,
    pub old_value: String,
    pub new_value: String,
}

/// The params of one write whose logged values differ, in request order.
/// MLflow words this differently for `runs/log-batch` (all of them, as a
/// Python list) and `runs/log-parameter` (the one param), so the store
/// keeps the facts as the error's source and each route picks its text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("changed values of logged params")]
pub struct ParamValueConflicts {
    pub run_id: String,
    pub conflicts: Vec<ParamValueConflict>,
}

impl ParamValueConflicts {
    /// MLflow's `_log_params` (log-batch): `Params were already
    /// logged='[{'key': …, 'old_value': …, 'new_value': …}]'`.
    pub fn batch_message(&self) -> String {
        use crate::pycompat::repr_str;
        let items: Vec<String> = self
            .conflicts
            .iter()
            .map(|c| {
                format!(
                    "{{'key': {}, 'old_value': {}, 'new_value': {}}}",
                    repr_str(&c.key),
                    repr_str(&c.old_value),
                    repr_str(&c.new_value)
                )
            })
            .collect();
        format!(
            "Changing param values is not allowed. Params were already logged='[{}]' for run ID='{}'.",
            items.join(", "),
            self.run_id
        )
    }

    /// MLflow's `log_param`: the first changed param, values unquoted.
    pub fn single_message(&self) -> String {
        match self.conflicts.first() {
            Some(c) => format!(
                "Changing param values is not allowed. Param with key='{}' was already logged \
                 with value='{}' for run ID='{}'. Attempted logging new value '{}'.",
                c.key, c.old_value, self.run_id, c.new_value
            ),
            None => self.batch_message(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRun {
    pub experiment_id: String,
    pub user_id: String,
    pub run_name: String,
    pub start_time: i64,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone)]
pub struct ExperimentQuery {
    pub view_type: ViewType,
    pub max_results: i64,
    pub filter: String,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunQuery {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub view_type: ViewType,
    pub max_results: i64,
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunUpdate {
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

/// Which database serves the store, and whether it answers.
#[async_trait]
pub trait StoreBackend: Send + Sync {
    /// `"sqlite"` or `"postgresql"`.
    fn backend(&self) -> &'static str;
    /// Checks that the database answers (readiness).
    async fn ping(&self) -> ApiResult<()>;
}

/// Experiments and their tags.
#[async_trait]
pub trait ExperimentStore: Send + Sync {
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> ApiResult<String>;
    async fn get_experiment(&self, experiment_id: &str) -> ApiResult<Experiment>;
    async fn get_experiment_by_name(&self, name: &str) -> ApiResult<Option<Experiment>>;
    async fn search_experiments(&self, query: &ExperimentQuery) -> ApiResult<Page<Experiment>>;
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> ApiResult<()>;
    /// Soft delete: the experiment and its runs move to `deleted`.
    async fn delete_experiment(&self, experiment_id: &str) -> ApiResult<()>;
    async fn restore_experiment(&self, experiment_id: &str) -> ApiResult<()>;
    async fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> ApiResult<()>;
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> ApiResult<()>;
}

/// Runs: their lifecycle, what they log, their inputs and outputs, search.
#[async_trait]
pub trait RunStore: Send + Sync {
    async fn create_run(&self, run: NewRun) -> ApiResult<Run>;
    async fn get_run(&self, run_id: &str) -> ApiResult<Run>;
    /// The experiment a run belongs to (any lifecycle stage); `None` when
    /// no such run exists. The auth layer's cheap lookup.
    async fn run_experiment_id(&self, run_id: &str) -> ApiResult<Option<String>>;
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> ApiResult<RunInfo>;
    async fn delete_run(&self, run_id: &str) -> ApiResult<()>;
    async fn restore_run(&self, run_id: &str) -> ApiResult<()>;
    /// Params, then metrics, then tags, in one transaction (log-metric,
    /// log-parameter and set-tag are batches of one).
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[NewMetric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> ApiResult<()>;
    async fn delete_tag(&self, run_id: &str, key: &str) -> ApiResult<()>;
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelIo],
    ) -> ApiResult<()>;
    async fn log_outputs(&self, run_id: &str, models: &[ModelIo]) -> ApiResult<()>;
    async fn search_runs(&self, query: &RunQuery) -> ApiResult<Page<Run>>;
}

/// Metric histories (the latest values come with the runs).
#[async_trait]
pub trait MetricStore: Send + Sync {
    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> ApiResult<Page<Metric>>;
    /// Up to `max_results` points per run, sampled evenly over the steps in
    /// `[start_step, end_step]`, always keeping the first and last step.
    async fn get_metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: i64,
    ) -> ApiResult<Vec<Metric>>;
    /// The first `max_results` points of `key` over all `run_ids`, ordered
    /// by run id, then timestamp, step and value; unknown runs add nothing.
    async fn get_metric_history_bulk(
        &self,
        run_ids: &[String],
        key: &str,
        max_results: i64,
    ) -> ApiResult<Vec<Metric>>;
}

/// The datasets runs logged as inputs.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    /// The distinct (dataset, context) pairs the experiments' runs logged as
    /// inputs, at most [`MAX_DATASET_SUMMARIES`].
    async fn search_datasets(&self, experiment_ids: &[String]) -> ApiResult<Vec<DatasetSummary>>;
}

/// Everything the tracking API reads and writes: the handlers hold an
/// `Arc<dyn TrackingStore>`. Each part is implemented next to its SQL
/// (`sql/experiments.rs`, `sql/runs.rs`, …); any type with all parts is a
/// `TrackingStore`. Methods called on a `dyn TrackingStore` need no import;
/// on a concrete store, bring the parts into scope with [`prelude`].
pub trait TrackingStore:
    StoreBackend + ExperimentStore + RunStore + MetricStore + DatasetStore + 'static
{
}

impl<T> TrackingStore for T where
    T: StoreBackend + ExperimentStore + RunStore + MetricStore + DatasetStore + 'static
{
}

/// The tracking store's traits, for calling their methods on a concrete
/// store (`use crate::store::prelude::*;`).
pub mod prelude {
    pub use super::{
        DatasetStore, ExperimentStore, MetricStore, RunStore, StoreBackend, TrackingStore,
    };
}

/// Most dataset summaries one `search_datasets` returns (MLflow's cap).
pub const MAX_DATASET_SUMMARIES: i64 = 1000;
