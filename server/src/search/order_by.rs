//! (in progress)
use super::OrderBy;
use crate::error::{ApiError, ApiResult};
pub fn parse_run_order_by(_s: &[String]) -> ApiResult<Vec<OrderBy>> { Err(ApiError::not_implemented("order_by")) }
pub fn parse_experiment_order_by(_s: &[String]) -> ApiResult<Vec<OrderBy>> { Err(ApiError::not_implemented("order_by")) }
