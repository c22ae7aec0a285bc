//! One error type for the whole API. Every failure a handler can produce is an
//! [`ApiError`]: an MLflow error code plus a message. The code decides the HTTP
//! status through one table ([`ErrorCode::status`]), exactly as `mlflow server`
//! maps them, so a client error is never reported as a 5xx (the official client
//! retries 5xx responses seven times).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Declares [`ErrorCode`] from one row per code: its variant, the name
/// that appears in the `error_code` field, and the HTTP status
/// `mlflow server` 3.17.2 answers with it.
macro_rules! error_codes {
    ($($variant:ident => $name:literal, $status:ident;)*) => {
        /// MLflow's `ErrorCode` names, as they appear in the `error_code` field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// The HTTP status `mlflow server` 3.17.2 answers for this code.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidParameterValue => "INVALID_PARAMETER_VALUE", BAD_REQUEST;
    BadRequest => "BAD_REQUEST", BAD_REQUEST;
    ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS", BAD_REQUEST;
    ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST", NOT_FOUND;
    EndpointNotFound => "ENDPOINT_NOT_FOUND", NOT_FOUND;
    PermissionDenied => "PERMISSION_DENIED", FORBIDDEN;
    ResourceConflict => "RESOURCE_CONFLICT", CONFLICT;
    RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED", TOO_MANY_REQUESTS;
    InternalError => "INTERNAL_ERROR", INTERNAL_SERVER_ERROR;
    InvalidState => "INVALID_STATE", INTERNAL_SERVER_ERROR;
    NotImplemented => "NOT_IMPLEMENTED", NOT_IMPLEMENTED;
    TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE", SERVICE_UNAVAILABLE;
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The cause an error keeps: logged (never sent) when the answer is a 5xx,
/// and inspectable by type with [`ApiError::source_as`].
pub type ErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// What caused it (a driver or I/O error, a typed marker); never
    /// serialized.
    pub source: Option<ErrorSource>,
}

/// Two errors are equal when the client would see the same answer.
impl PartialEq for ApiError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.message == other.message
    }
}

impl Eq for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `cause` as this error's source.
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(cause));
        self
    }

    /// The source, when it is a `T`.
    pub fn source_as<T: std::error::Error + 'static>(&self) -> Option<&T> {
        self.source.as_deref()?.downcast_ref::<T>()
    }

    /// The source and its own sources, outermost first, as one line.
    pub fn cause_chain(&self) -> Option<String> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        let mut parts = Vec::new();
        while let Some(err) = next {
            parts.push(err.to_string());
            next = err.source();
        }
        (!parts.is_empty()).then(|| parts.join(": "))
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            ErrorCode::NotImplemented,
            format!("{what} is not implemented by ferroflow yet."),
        )
    }

    /// MLflow's message for an absent or empty required field.
    pub fn missing_parameter(name: &str) -> Self {
        Self::invalid_parameter(format!(
            "Missing value for required parameter '{name}'. See the API docs for more information about request parameters."
        ))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: &'static str,
    message: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.code.status().is_server_error() {
            match self.cause_chain() {
                Some(cause) => tracing::error!(
                    code = self.code.as_str(),
                    message = %self.message,
                    cause = %cause,
                    "request failed"
                ),
                None => tracing::error!(
                    code = self.code.as_str(),
                    message = %self.message,
                    "request failed"
                ),
            }
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error_code: self.code.as_str(),
            message: &self.message,
        })
    }
}

/// SQLSTATEs of a lost or refused database connection: class 08
/// (connection exception), 57P01 `admin_shutdown`, 57P02 `crash_shutdown`,
/// 57P03 `cannot_connect_now` (starting up / shutting down), 53300
/// `too_many_connections`.
fn is_connection_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

/// The message a client gets when the database cannot be reached; the
/// driver's own text (addresses, OS errors) goes to the server log only.
const DATABASE_UNAVAILABLE: &str =
    "The tracking database is temporarily unavailable (connection lost or refused). Try again later.";

/// `Some(message)` for an error that says the database (not the request) is
/// the problem: a connection that broke, was refused or timed out.
fn connection_failure(err: &sqlx::Error) -> Option<&'static str> {
    match err {
        sqlx::Error::PoolTimedOut => Some(
            "Timed out waiting for a database connection: the tracking database is down or \
             overloaded. Try again later.",
        ),
        sqlx::Error::PoolClosed => Some(
            "The database connection pool is closed (the server is \
             shutting down).",
        ),
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            Some(DATABASE_UNAVAILABLE)
        }
        sqlx::Error::Database(db) => db
            .code()
            .filter(|code| is_connection_sqlstate(code))
            .map(|_| DATABASE_UNAVAILABLE),
        _ => None,
    }
}

/// A unique key of MLflow's schema, and what a client is told when a write
/// violates it. PostgreSQL names the constraint; SQLite names the table and
/// columns ("UNIQUE constraint failed: experiments.workspace,
/// experiments.name"), so each key carries both and the two databases answer
/// with the same text (never the driver's).
#[derive(Debug, PartialEq, Eq)]
pub struct UniqueKey {
    /// The constraint's name in the PostgreSQL schema.
    pub constraint: &'static str,
    pub table: &'static str,
    /// In the constraint's order (SQLite lists them so).
    pub columns: &'static [&'static str],
    pub message: &'static str,
}

impl UniqueKey {
    const fn new(
        constraint: &'static str,
        table: &'static str,
        columns: &'static [&'static str],
        message: &'static str,
    ) -> UniqueKey {
        UniqueKey {
            constraint,
            table,
            columns,
            message,
        }
    }
}

/// The unique keys of the tables ferroflow writes. Most duplicates are
/// caught by a check before the INSERT; these messages answer the race
/// where another request wrote the same key in between.
pub static UNIQUE_KEYS: &[UniqueKey] = &[
    UniqueKey::new(
        "experiment_pk",
        "experiments",
        &["experiment_id"],
        "An experiment with this ID already exists.",
    ),
    UniqueKey::new(
        UNIQUE_EXPERIMENT_NAME,
        "experiments",
        &["workspace", "name"],
        "An experiment with this name already exists (names are unique, including deleted \
         experiments).",
    ),
    UniqueKey::new(
        "experiment_tag_pk",
        "experiment_tags",
        &["key", "experiment_id"],
        "The experiment already has a tag with this key.",
    ),
    UniqueKey::new(
        "run_pk",
        "runs",
        &["run_uuid"],
        "A run with this ID already exists.",
    ),
    UniqueKey::new(
        "tag_pk",
        "tags",
        &["key", "run_uuid"],
        "The run already has a tag with this key.",
    ),
    UniqueKey::new(
        "param_pk",
        "params",
        &["key", "run_uuid"],
        "The run already has a param with this key.",
    ),
    UniqueKey::new(
        "metric_pk",
        "metrics",
        &["key", "timestamp", "step", "run_uuid", "value", "is_nan"],
        "The run already has this metric point (same key, timestamp, step and value).",
    ),
    UniqueKey::new(
        "latest_metric_pk",
        "latest_metrics",
        &["key", "run_uuid"],
        "The run already has a latest value for this metric.",
    ),
    UniqueKey::new(
        "dataset_pk",
        "datasets",
        &["experiment_id", "name", "digest"],
        "The experiment already has a dataset with this name and digest.",
    ),
    UniqueKey::new(
        "inputs_pk",
        "inputs",
        &[
            "source_type",
            "source_id",
            "destination_type",
            "destination_id",
        ],
        "This input or output is already linked to the run.",
    ),
    UniqueKey::new(
        "input_tags_pk",
        "input_tags",
        &["input_uuid", "name"],
        "The input already has a tag with this name.",
    ),
    UniqueKey::new(
        "registered_model_pk",
        "registered_models",
        &["workspace", "name"],
        "A registered model with this name already exists.",
    ),
    UniqueKey::new(
        "registered_model_tag_pk",
        "registered_model_tags",
        &["workspace", "key", "name"],
        "The registered model already has a tag with this key.",
    ),
    UniqueKey::new(
        "registered_model_alias_pk",
        "registered_model_aliases",
        &["workspace", "name", "alias"],
        "The registered model already has this alias.",
    ),
    UniqueKey::new(
        "model_version_pk",
        "model_versions",
        &["workspace", "name", "version"],
        "This version of the registered model already exists.",
    ),
    UniqueKey::new(
        "model_version_tag_pk",
        "model_version_tags",
        &["workspace", "key", "name", "version"],
        "The model version already has a tag with this key.",
    ),
    UniqueKey::new(
        "logged_models_pk",
        "logged_models",
        &["model_id"],
        "A logged model with this ID already exists.",
    ),
    UniqueKey::new(
        "logged_model_params_pk",
        "logged_model_params",
        &["model_id", "param_key"],
        "The logged model already has a param with this key.",
    ),
    UniqueKey::new(
        "logged_model_tags_pk",
        "logged_model_tags",
        &["model_id", "tag_key"],
        "The logged model already has a tag with this key.",
    ),
    UniqueKey::new(
        "logged_model_metrics_pk",
        "logged_model_metrics",
        &[
            "model_id",
            "metric_name",
            "metric_timestamp_ms",
            "metric_step",
            "run_id",
        ],
        "The logged model already has this metric point.",
    ),
];

/// The constraint that keeps experiment names unique (per workspace).
pub const UNIQUE_EXPERIMENT_NAME: &str = "uq_experiments_workspace_name";

/// A unique key the table does not know (a table ferroflow does not write).
pub static UNKNOWN_UNIQUE_KEY: UniqueKey = UniqueKey::new(
    "",
    "",
    &[],
    "A resource with the same unique key already exists.",
);

/// What SQLite puts before the violated key's `table.column` list.
const SQLITE_UNIQUE_PREFIX: &str = "UNIQUE constraint failed: ";

/// The key a unique violation broke: `None` when `err` is no unique
/// violation, [`UNKNOWN_UNIQUE_KEY`] when the key is not in [`UNIQUE_KEYS`].
pub fn violated_unique_key(err: &sqlx::Error) -> Option<&'static UniqueKey> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    // SQLite's extended codes: 2067 SQLITE_CONSTRAINT_UNIQUE, 1555
    // SQLITE_CONSTRAINT_PRIMARYKEY.
    let code = db.code();
    if !(db.is_unique_violation() || matches!(code.as_deref(), Some("2067" | "1555"))) {
        return None;
    }
    let known = match (
        db.constraint(),
        db.message().strip_prefix(SQLITE_UNIQUE_PREFIX),
    ) {
        (Some(constraint), _) => UNIQUE_KEYS.iter().find(|k| k.constraint == constraint),
        (None, Some(columns)) => unique_key_by_columns(columns),
        (None, None) => None,
    };
    Some(known.unwrap_or(&UNKNOWN_UNIQUE_KEY))
}

/// The key whose `table.column, …` list SQLite reported.
fn unique_key_by_columns(list: &str) -> Option<&'static UniqueKey> {
    let columns: Vec<(&str, &str)> = list
        .split(", ")
        .map(|qualified| qualified.trim().split_once('.'))
        .collect::<Option<_>>()?;
    UNIQUE_KEYS.iter().find(|key| {
        key.columns.len() == columns.len()
            && key
                .columns
                .iter()
                .zip(&columns)
                .all(|(want, (table, column))| *table == key.table && column == want)
    })
}

impl ApiError {
    /// The unique key a database write violated, when that caused this
    /// error (for call sites that answer such a race with their own text).
    pub fn unique_key(&self) -> Option<&'static UniqueKey> {
        violated_unique_key(self.source_as::<sqlx::Error>()?)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(message) = connection_failure(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return ApiError::new(ErrorCode::TemporarilyUnavailable, message).with_source(err);
        }
        if let Some(key) = violated_unique_key(&err) {
            return ApiError::already_exists(key.message).with_source(err);
        }
        if let sqlx::Error::Database(db) = &err {
            // SQLSTATE classes: 22001 string too long, 22021 NUL in text
            // (PG); 5/517/"database is locked" busy (SQLite).
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let text = db.message().to_string();
            let mapped = if code == "22021" {
                // PostgreSQL's text cannot hold NUL (Rust strings are valid
                // UTF-8, so this is the only character it refuses): a value
                // the client sent, not a server fault, and no driver text.
                Some(ApiError::invalid_parameter(
                    "Strings may not contain NUL (0x00) characters on this database.",
                ))
            } else if code.starts_with("22")
                || db.is_check_violation()
                || db.is_foreign_key_violation()
            {
                Some(ApiError::bad_request(text))
            } else if code == "5" || code == "517" || text.contains("database is locked") {
                Some(ApiError::new(ErrorCode::TemporarilyUnavailable, text))
            } else {
                None
            };
            if let Some(mapped) = mapped {
                return mapped.with_source(err);
            }
        }
        ApiError::internal(format!("Database error: {err}")).with_source(err)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => ApiError::not_found(err.to_string()).with_source(err),
            _ => ApiError::internal(format!("I/O error: {err}")).with_source(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_one_name_and_one_status() {
        let all = [
            ErrorCode::InvalidParameterValue,
            ErrorCode::BadRequest,
            ErrorCode::ResourceAlreadyExists,
            ErrorCode::ResourceDoesNotExist,
            ErrorCode::EndpointNotFound,
            ErrorCode::PermissionDenied,
            ErrorCode::ResourceConflict,
            ErrorCode::RequestLimitExceeded,
            ErrorCode::InternalError,
            ErrorCode::InvalidState,
            ErrorCode::NotImplemented,
            ErrorCode::TemporarilyUnavailable,
        ];
        for code in all {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_string())
            );
        }
        assert_eq!(
            ErrorCode::TemporarilyUnavailable.status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ErrorCode::PermissionDenied.as_str(), "PERMISSION_DENIED");
    }

    #[test]
    fn the_cause_is_kept_logged_and_never_serialized() {
        let io = std::io::Error::other("disk on fire");
        let err: ApiError = io.into();
        assert_eq!(err.code, ErrorCode::InternalError);
        assert_eq!(err.cause_chain().as_deref(), Some("disk on fire"));
        assert!(err.source_as::<std::io::Error>().is_some());
        assert!(std::error::Error::source(&err).is_some());
        let body = actix_web::body::to_bytes(err.error_response().into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .expect("ready")
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"error_code": "INTERNAL_ERROR", "message": "I/O error: disk on fire"})
        );
        // Equality is what the client sees: the cause does not count.
        assert_eq!(err, ApiError::internal("I/O error: disk on fire"));
    }

    #[test]
    fn statuses_follow_mlflow() {
        assert_eq!(
            ErrorCode::ResourceAlreadyExists.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ErrorCode::ResourceDoesNotExist.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ErrorCode::InvalidParameterValue.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ErrorCode::NotImplemented.status(),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(
            ErrorCode::InvalidState.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    /// A database error with a chosen SQLSTATE, as a driver reports it.
    #[derive(Debug)]
    struct FakeDbError {
        code: &'static str,
        message: &'static str,
        constraint: Option<&'static str>,
    }

    impl fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.message)
        }
    }

    impl std::error::Error for FakeDbError {}

    impl sqlx::error::DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.code.into())
        }
        fn constraint(&self) -> Option<&str> {
            self.constraint
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            match self.code {
                "23505" => sqlx::error::ErrorKind::UniqueViolation,
                _ => sqlx::error::ErrorKind::Other,
            }
        }
    }

    fn db_error(code: &'static str, message: &'static str) -> ApiError {
        sqlx::Error::Database(Box::new(FakeDbError {
            code,
            message,
            constraint: None,
        }))
        .into()
    }

    fn assert_unavailable(err: ApiError, what: &str) {
        assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{what}: {err}");
        assert_eq!(err.code.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
        for internal in [
            "127.0.0.1",
            "os error",
            "sqlx",
            "error communicating",
            "terminating",
        ] {
            assert!(!err.message.contains(internal), "{what}: {}", err.message);
        }
    }

    #[test]
    fn lost_connections_are_temporarily_unavailable() {
        use std::io::{Error as IoError, ErrorKind};
        for kind in [
            ErrorKind::ConnectionRefused,
            ErrorKind::ConnectionReset,
            ErrorKind::BrokenPipe,
            ErrorKind::UnexpectedEof,
            ErrorKind::TimedOut,
        ] {
            let io = IoError::new(kind, "connect 127.0.0.1:5432: os error 111");
            assert_unavailable(sqlx::Error::Io(io).into(), &format!("{kind:?}"));
        }
        assert_unavailable(sqlx::Error::PoolTimedOut.into(), "pool timed out");
        assert_unavailable(sqlx::Error::PoolClosed.into(), "pool closed");
        assert_unavailable(
            sqlx::Error::Tls("handshake with 127.0.0.1 failed".into()).into(),
            "tls",
        );
        assert_unavailable(
            sqlx::Error::Protocol("unexpected EOF from 127.0.0.1".into()).into(),
            "protocol",
        );
        for code in [
            "57P01", "57P02", "57P03", "08006", "08001", "08003", "53300",
        ] {
            assert_unavailable(
                db_error(code, "terminating connection due to administrator command"),
                code,
            );
        }
    }

    #[test]
    fn other_database_errors_keep_their_codes() {
        assert_eq!(
            db_error("23505", "duplicate key").code,
            ErrorCode::ResourceAlreadyExists
        );
        assert_eq!(db_error("22001", "too long").code, ErrorCode::BadRequest);
        let busy = db_error("5", "database is locked");
        assert_eq!(busy.code, ErrorCode::TemporarilyUnavailable);
        assert_eq!(busy.message, "database is locked");
        // A syntax error or a missing table is the server's fault: 500.
        for code in ["42601", "42P01", "57014", "XX000"] {
            let err = db_error(code, "boom");
            assert_eq!(err.code, ErrorCode::InternalError, "{code}");
            assert!(err.message.contains("boom"), "{code}");
        }
        let err: ApiError = sqlx::Error::RowNotFound.into();
        assert_eq!(err.code, ErrorCode::InternalError);
        let err: ApiError = sqlx::Error::WorkerCrashed.into();
        assert_eq!(err.code, ErrorCode::InternalError);
    }

    #[test]
    fn unique_violations_are_answered_by_key_not_by_driver_text() {
        let postgres: ApiError = sqlx::Error::Database(Box::new(FakeDbError {
            code: "23505",
            message: "duplicate key value violates unique constraint \"tag_pk\"",
            constraint: Some("tag_pk"),
        }))
        .into();
        let sqlite = db_error("1555", "UNIQUE constraint failed: tags.key, tags.run_uuid");
        for err in [&postgres, &sqlite] {
            assert_eq!(err.code, ErrorCode::ResourceAlreadyExists);
            assert_eq!(err.message, "The run already has a tag with this key.");
            assert_eq!(err.unique_key().map(|k| k.constraint), Some("tag_pk"));
        }
        let name = db_error(
            "2067",
            "UNIQUE constraint failed: experiments.workspace, experiments.name",
        );
        assert_eq!(
            name.unique_key().map(|k| k.constraint),
            Some(UNIQUE_EXPERIMENT_NAME)
        );
        // Another table, another column order, an index on an expression:
        // a key the table does not know, still without the driver's text.
        for message in [
            "UNIQUE constraint failed: workspaces.name",
            "UNIQUE constraint failed: experiments.name, experiments.workspace",
            "UNIQUE constraint failed: index 'ix_expr'",
        ] {
            let err = db_error("2067", message);
            assert_eq!(err.message, UNKNOWN_UNIQUE_KEY.message, "{message}");
            assert_eq!(err.unique_key(), Some(&UNKNOWN_UNIQUE_KEY), "{message}");
        }
        // Not a unique violation: no key.
        assert_eq!(db_error("22001", "too long").unique_key(), None);
        assert_eq!(ApiError::internal("x").unique_key(), None);
    }

    #[test]
    fn unique_keys_are_listed_once() {
        for (i, key) in UNIQUE_KEYS.iter().enumerate() {
            assert!(
                UNIQUE_KEYS[i + 1..]
                    .iter()
                    .all(|other| other.constraint != key.constraint
                        && (other.table, other.columns) != (key.table, key.columns)),
                "{}",
                key.constraint
            );
        }
    }

    #[test]
    fn missing_parameter_message_matches_mlflow() {
        let e = ApiError::missing_parameter("name");
        assert_eq!(
            e.message,
            "Missing value for required parameter 'name'. See the API docs for more information about request parameters."
        );
    }
}
