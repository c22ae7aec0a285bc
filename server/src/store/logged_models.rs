//! MLflow 3 logged models' storage boundary: create, read, finalize, params,
//! tags, soft delete, search, and the 2.x run-tag history of `log-model`.
//! Implemented on MLflow's schema by [`super::sql::SqlStore`].

use super::Page;
use crate::error::ApiResult;
use crate::wire::logged_models::{LoggedModel, LoggedModelStatus};
use crate::wire::KeyValue;
use async_trait::async_trait;
use serde_json::{Map, Value};

/// The run tag the 2.x `log-model` call appends to.
pub const LOG_MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

/// A logged model to create (already validated by the handler).
#[derive(Debug, Clone)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    /// `None` → a generated `adjective-animal-NNN` name.
    pub name: Option<String>,
    /// Stored as given; MLflow stores `""` when the request has none.
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

/// One entry of the structured `order_by` of `logged-models/search`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelOrderBy {
    /// An attribute (`name`, `creation_timestamp`, …) or `metrics.<key>`.
    pub field_name: String,
    pub ascending: bool,
    /// For metric orderings: only metrics logged on this dataset count.
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}

/// One entry of `datasets`: metric filters (and, without metric filters,
/// the model itself) must involve a metric logged on one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelDataset {
    pub dataset_name: String,
    pub dataset_digest: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LoggedModelQuery {
    pub experiment_ids: Vec<String>,
    /// `None` or empty = everything.
    pub filter: Option<String>,
    pub datasets: Vec<LoggedModelDataset>,
    pub max_results: i64,
    pub order_by: Vec<LoggedModelOrderBy>,
    pub page_token: Option<String>,
}

/// A check of the run tag value [`LogModelHistoryStore::record_logged_model`]
/// is about to write; an error refuses the write.
pub type HistoryCheck<'a> = dyn Fn(&str) -> ApiResult<()> + Send + Sync + 'a;

/// Everything the logged-model handlers need: one trait per part, each
/// implemented next to its SQL (`store/sql/logged_models/`).
pub trait LoggedModelStore:
    LoggedModelLifecycleStore + LoggedModelDataStore + LoggedModelSearchStore + LogModelHistoryStore
{
}

impl<T> LoggedModelStore for T where
    T: LoggedModelLifecycleStore
        + LoggedModelDataStore
        + LoggedModelSearchStore
        + LogModelHistoryStore
{
}

/// A model's life: created pending, read, finalized, soft-deleted.
#[async_trait]
pub trait LoggedModelLifecycleStore: Send + Sync + 'static {
    /// Creates a `LOGGED_MODEL_PENDING` model with its params and tags in one
    /// transaction; the experiment must exist and be active.
    async fn create_logged_model(&self, model: NewLoggedModel) -> ApiResult<LoggedModel>;
    /// The model with tags, params and metrics; a deleted model is
    /// `RESOURCE_DOES_NOT_EXIST` unless `allow_deleted`.
    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool)
        -> ApiResult<LoggedModel>;
    /// Sets the status and `last_updated_timestamp_ms`; returns the model.
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> ApiResult<LoggedModel>;
    /// Soft delete: `lifecycle_stage = 'deleted'`.
    async fn delete_logged_model(&self, model_id: &str) -> ApiResult<()>;
}

/// A model's params and tags.
#[async_trait]
pub trait LoggedModelDataStore: Send + Sync + 'static {
    /// Adds params; a key the model already has is refused (params are
    /// immutable).
    async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue]) -> ApiResult<()>;
    /// Upserts tags (last value wins for a repeated key).
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> ApiResult<()>;
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> ApiResult<()>;
}

#[async_trait]
pub trait LoggedModelSearchStore: Send + Sync + 'static {
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> ApiResult<Page<LoggedModel>>;
}

/// The 2.x `runs/log-model` history (a run tag, not a logged model).
#[async_trait]
pub trait LogModelHistoryStore: Send + Sync + 'static {
    /// Appends `model` (the MLmodel's tag dict) to the JSON list in the run
    /// tag `mlflow.log-model.history`; the run must be active. `check`
    /// sees the whole new value before it is written (the caller's length
    /// policy); its error is returned and nothing is written.
    async fn record_logged_model(
        &self,
        run_id: &str,
        model: Map<String, Value>,
        check: &HistoryCheck<'_>,
    ) -> ApiResult<()>;
}
