//! (in progress)
use super::Clause;
use crate::error::{ApiError, ApiResult};
pub fn parse_run_filter(_s: &str) -> ApiResult<Vec<Clause>> { Err(ApiError::not_implemented("search filters")) }
pub fn parse_experiment_filter(_s: &str) -> ApiResult<Vec<Clause>> { Err(ApiError::not_implemented("search filters")) }
