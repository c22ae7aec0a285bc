//! MLflow 3 logged models' storage boundary: create, read, finalize, params,
//! tags, soft delete, search, and the 2.x run-tag history of `log-model`.
//! Implemented on MLflow's schema by [`super::sql::SqlStore`].

use super::Page;
use crate::error::ApiResult;
use crate::wire::logged_models::{LoggedModel, LoggedModelStatus};
use crate::wire::KeyValue;
use async_trait::async_trait;
use serde_json::{Map, Value};

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

#[async_trait]
pub trait LoggedModelStore: Send + Sync + 'static {
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
    /// Adds params; a key the model already has is refused (params are
    /// immutable).
    async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue]) -> ApiResult<()>;
    /// Upserts tags (last value wins for a repeated key).
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> ApiResult<()>;
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> ApiResult<()>;
    /// Soft delete: `lifecycle_stage = 'deleted'`.
    async fn delete_logged_model(&self, model_id: &str) -> ApiResult<()>;
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> ApiResult<Page<LoggedModel>>;
    /// 2.x `runs/log-model`: appends `model` (the MLmodel's tag dict) to the
    /// JSON list in the run tag `mlflow.log-model.history`; the run must be
    /// active. With `truncate_long_values` off (`MLFLOW_TRUNCATE_LONG_VALUES`)
    /// a list longer than a tag value may be is refused.
    async fn record_logged_model(
        &self,
        run_id: &str,
        model: Map<String, Value>,
        truncate_long_values: bool,
    ) -> ApiResult<()>;
}
