//! (in progress)
use crate::error::{ApiError, ApiResult};
pub fn encode_page_token(offset: usize) -> String { offset.to_string() }
pub fn decode_page_token(_t: &str) -> ApiResult<usize> { Err(ApiError::not_implemented("page tokens")) }
