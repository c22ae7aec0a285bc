//! TEMPORARY stand-ins so the crate builds while validation.rs is written
//! (the lead's handler call signatures). To be replaced wholesale.
#![allow(unused_variables)]
use crate::error::ApiResult;
use crate::wire::Dataset;
pub fn validate_experiment_name(name: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_experiment_artifact_location(location: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_tag_name(key: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_experiment_tag_value(key: &str, value: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_search_experiments_max_results(max: Option<i64>) -> ApiResult<i64> { Ok(max.unwrap_or(1000)) }
pub fn validate_tag_value(key: &str, value: String) -> ApiResult<String> { Ok(value) }
pub fn validate_param_name(key: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_param_value(key: &str, value: String) -> ApiResult<String> { Ok(value) }
pub fn validate_metric_name(key: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_metric_timestamp(ts: i64) -> ApiResult<()> { Ok(()) }
pub fn validate_run_id(id: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_batch_limits(m: usize, p: usize, t: usize) -> ApiResult<()> { Ok(()) }
pub fn validate_no_duplicate_param_keys(keys: &[&str]) -> ApiResult<()> { Ok(()) }
pub fn validate_dataset(d: &Dataset) -> ApiResult<()> { Ok(()) }
pub fn validate_input_tag(key: &str, value: &str) -> ApiResult<()> { Ok(()) }
pub fn validate_search_runs_max_results(max: Option<i64>) -> ApiResult<i64> { Ok(max.unwrap_or(1000)) }
