//! The error of the search grammar. Every failure to read a filter, an
//! `order_by` entry or a page token is a client mistake with MLflow's
//! message, answered as `INVALID_PARAMETER_VALUE` (400); this is the one
//! place where the search module meets the API's error type.

use crate::error::ApiError;
use std::fmt;

/// A filter, `order_by` entry or page token that cannot be read, with
/// MLflow's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError {
    message: String,
}

pub type SearchResult<T> = Result<T, SearchError>;

impl SearchError {
    /// An input MLflow rejects with `INVALID_PARAMETER_VALUE`.
    pub fn invalid(message: impl Into<String>) -> Self {
        SearchError {
            message: message.into(),
        }
    }

    /// MLflow's message, as the client receives it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SearchError {}

impl From<SearchError> for ApiError {
    fn from(err: SearchError) -> Self {
        ApiError::invalid_parameter(err.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use actix_web::http::StatusCode;

    #[test]
    fn converts_to_an_invalid_parameter_error_with_the_same_message() {
        let err = SearchError::invalid("Invalid filter 'x'. Could not be parsed.");
        assert_eq!(err.to_string(), "Invalid filter 'x'. Could not be parsed.");
        let api = ApiError::from(err);
        assert_eq!(api.code, ErrorCode::InvalidParameterValue);
        assert_eq!(api.code.status(), StatusCode::BAD_REQUEST);
        assert_eq!(api.message, "Invalid filter 'x'. Could not be parsed.");
        assert!(api.source.is_none());
    }
}
