//! Server settings: the backend store URI in MLflow's spellings, artifact
//! roots, the listening address, request limits and pool sizes. The CLI
//! (`main.rs`) fills these from flags or MLflow's environment variables and
//! is the only place that reads the process environment; the library and
//! the tests build them directly, so a developer's `AWS_*` or `MLFLOW_*`
//! variables never change what a test sees.

use crate::error::{ApiError, ApiResult};
use std::fmt;
use std::path::PathBuf;

/// The database a store talks to. `Debug` and `Display` never show the
/// password, so the URI can be logged safely.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUri {
    /// A SQLite file; `None` path = in-memory database.
    Sqlite { path: Option<PathBuf> },
    /// A PostgreSQL URL in the form sqlx accepts (`postgres://…`).
    Postgres { url: url::Url },
}

impl DatabaseUri {
    /// Parses MLflow's URI spellings: `sqlite:///rel.db`, `sqlite:////abs.db`,
    /// `sqlite://` (memory), `postgresql://…`, `postgresql+psycopg2://…`,
    /// `postgres://…`.
    pub fn parse(uri: &str) -> ApiResult<DatabaseUri> {
        let uri = uri.trim();
        if let Some(rest) = uri.strip_prefix("sqlite://") {
            // `sqlite:///x.db` → rest = "/x.db" (relative x.db);
            // `sqlite:////abs/x.db` → rest = "//abs/x.db" (absolute /abs/x.db).
            let rest = rest.split('?').next().unwrap_or("");
            if rest.is_empty() || rest == "/" || rest == "/:memory:" {
                return Ok(DatabaseUri::Sqlite { path: None });
            }
            let Some(path) = rest.strip_prefix('/') else {
                return Err(ApiError::invalid_parameter(format!(
                    "Invalid SQLite URI '{uri}': expected sqlite:///relative.db or sqlite:////absolute.db"
                )));
            };
            return Ok(DatabaseUri::Sqlite {
                path: Some(PathBuf::from(path)),
            });
        }
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| {
            ApiError::invalid_parameter(format!("Invalid backend store URI '{}'", redact(uri)))
        })?;
        let dialect = scheme.split('+').next().unwrap_or(scheme);
        match dialect {
            "postgresql" | "postgres" => {
                let url = url::Url::parse(&format!("postgres://{rest}")).map_err(|e| {
                    ApiError::invalid_parameter(format!(
                        "Invalid PostgreSQL URI '{}': {e}",
                        redact(uri)
                    ))
                })?;
                Ok(DatabaseUri::Postgres { url })
            }
            other => Err(ApiError::invalid_parameter(format!(
                "Unsupported backend store '{other}' in '{}': ferroflow supports sqlite and postgresql",
                redact(uri)
            ))),
        }
    }

    /// The URL handed to sqlx (contains the password; never log it).
    pub fn connection_url(&self) -> String {
        match self {
            DatabaseUri::Sqlite { path: None } => "sqlite::memory:".to_string(),
            DatabaseUri::Sqlite { path: Some(p) } => format!("sqlite://{}?mode=rwc", p.display()),
            DatabaseUri::Postgres { url } => url.to_string(),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUri::Sqlite { .. })
    }
}

/// Replaces the password of a URL-like string with `***`.
pub fn redact(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => uri.to_string(),
    }
}

impl fmt::Display for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUri::Sqlite { path: None } => write!(f, "sqlite://(memory)"),
            DatabaseUri::Sqlite { path: Some(p) } => write!(f, "sqlite:///{}", p.display()),
            DatabaseUri::Postgres { url } => write!(f, "{}", redact(url.as_str())),
        }
    }
}

impl fmt::Debug for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUri({self})")
    }
}

/// Where artifacts go, resolved from `--default-artifact-root`,
/// `--artifacts-destination` and `--serve-artifacts` the way `mlflow server`
/// resolves them.
#[derive(Debug, Clone)]
pub struct ArtifactSettings {
    /// Prefix of new experiments' `artifact_location` (`mlflow-artifacts:/`
    /// when proxying, else a path or URI).
    pub default_artifact_root: String,
    /// Whether the `mlflow-artifacts` proxy routes are served.
    pub serve_artifacts: bool,
    /// The proxy's destination: a local directory or `s3://bucket/prefix`.
    pub artifacts_destination: String,
    /// How to reach S3 (used for an `s3://` destination or root).
    pub s3: S3Settings,
    /// `MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES`: host-addressed URI
    /// schemes (lower-case) whose URIs may name hosts other than the
    /// server's own artifact storage.
    pub allowed_host_addressed_schemes: Vec<String>,
}

impl ArtifactSettings {
    pub fn resolve(
        default_artifact_root: Option<String>,
        artifacts_destination: Option<String>,
        serve_artifacts: bool,
    ) -> ArtifactSettings {
        let artifacts_destination = artifacts_destination.unwrap_or_else(|| "./mlartifacts".into());
        let default_artifact_root = match default_artifact_root {
            Some(root) => root,
            None if serve_artifacts => "mlflow-artifacts:/".into(),
            None => absolute_local("./mlruns"),
        };
        ArtifactSettings {
            default_artifact_root,
            serve_artifacts,
            artifacts_destination,
            // The CLI sets `s3` from the environment (`S3Settings::from_env`).
            s3: S3Settings::default(),
            allowed_host_addressed_schemes: Vec::new(),
        }
    }

    /// The comma-separated list of
    /// `MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES`.
    pub fn parse_schemes(list: &str) -> Vec<String> {
        list.split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// `artifact_location` of a new experiment: `<root>/<id>`.
    pub fn experiment_location(&self, experiment_id: &str) -> String {
        let root = &self.default_artifact_root;
        if root.ends_with('/') {
            format!("{root}{experiment_id}")
        } else {
            format!("{root}/{experiment_id}")
        }
    }
}

/// Region used when none is configured (boto3 needs one for SigV4 too).
pub const DEFAULT_S3_REGION: &str = "us-east-1";

/// S3 client settings, read from the variables `mlflow server` users
/// already set (boto3's and MLflow's own):
///
/// * `MLFLOW_S3_ENDPOINT_URL` (else `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`):
///   a custom endpoint such as MinIO; path-style addressing is then used;
/// * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`:
///   static credentials; without them the AWS default chain is used
///   (profile files, web identity / IRSA, ECS, instance metadata);
/// * `AWS_DEFAULT_REGION` (else `AWS_REGION`, else `us-east-1`);
/// * `MLFLOW_S3_IGNORE_TLS=true`: do not verify the endpoint's certificate;
///   `AWS_CA_BUNDLE`: a PEM file of extra trusted certificates;
/// * `MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`: `path`, `virtual` or `auto`;
/// * `MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS` (default 300): lifetime of
///   the presigned download URLs the proxy hands out.
///
/// `Debug` never shows the secret key or the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub endpoint_url: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: String,
    pub ignore_tls: bool,
    pub ca_bundle: Option<PathBuf>,
    pub addressing_style: S3AddressingStyle,
    pub presigned_download_ttl_secs: u64,
}

/// Bucket addressing (`MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3AddressingStyle {
    /// Path style with a custom endpoint (MinIO, Ceph …), virtual hosts on AWS.
    Auto,
    Path,
    Virtual,
}

impl S3AddressingStyle {
    /// Whether requests put the bucket in the path.
    pub fn path_style(self, has_custom_endpoint: bool) -> bool {
        match self {
            S3AddressingStyle::Auto => has_custom_endpoint,
            S3AddressingStyle::Path => true,
            S3AddressingStyle::Virtual => false,
        }
    }
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings {
            endpoint_url: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            region: DEFAULT_S3_REGION.to_string(),
            ignore_tls: false,
            ca_bundle: None,
            addressing_style: S3AddressingStyle::Auto,
            presigned_download_ttl_secs: 300,
        }
    }
}

impl S3Settings {
    /// From the process environment.
    pub fn from_env() -> S3Settings {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// From any variable lookup (empty values count as unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> S3Settings {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let defaults = S3Settings::default();
        S3Settings {
            endpoint_url: get("MLFLOW_S3_ENDPOINT_URL")
                .or_else(|| get("AWS_ENDPOINT_URL_S3"))
                .or_else(|| get("AWS_ENDPOINT_URL")),
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            session_token: get("AWS_SESSION_TOKEN"),
            region: get("AWS_DEFAULT_REGION")
                .or_else(|| get("AWS_REGION"))
                .unwrap_or(defaults.region),
            ignore_tls: get("MLFLOW_S3_IGNORE_TLS")
                .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
            ca_bundle: get("AWS_CA_BUNDLE").map(PathBuf::from),
            addressing_style: match get("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE")
                .map(|v| v.to_ascii_lowercase())
                .as_deref()
            {
                Some("path") => S3AddressingStyle::Path,
                Some("virtual") => S3AddressingStyle::Virtual,
                _ => S3AddressingStyle::Auto,
            },
            presigned_download_ttl_secs: get("MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS")
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .unwrap_or(defaults.presigned_download_ttl_secs),
        }
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("S3Settings")
            .field("endpoint_url", &self.endpoint_url)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &hidden(&self.secret_access_key))
            .field("session_token", &hidden(&self.session_token))
            .field("region", &self.region)
            .field("ignore_tls", &self.ignore_tls)
            .field("ca_bundle", &self.ca_bundle)
            .field("addressing_style", &self.addressing_style)
            .field(
                "presigned_download_ttl_secs",
                &self.presigned_download_ttl_secs,
            )
            .finish()
    }
}

/// Local paths are stored absolute, as MLflow does for `./mlruns`.
fn absolute_local(path: &str) -> String {
    let p = PathBuf::from(path);
    let abs = if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    };
    abs.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<PathBuf>()
        .display()
        .to_string()
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUri,
    pub artifacts: ArtifactSettings,
    pub host: String,
    pub port: u16,
    pub workers: usize,
    pub ui: UiSettings,
    pub observability: ObservabilitySettings,
    pub limits: RequestLimits,
    pub pool: PoolSettings,
    /// MLflow's security middleware (`--allowed-hosts` …).
    pub security: crate::security::SecuritySettings,
    /// `--app-name basic-auth`: the auth configuration; `None` serves
    /// without authentication, as `mlflow server` without `--app-name`.
    pub auth: Option<crate::auth::config::AuthConfig>,
}

/// The request policies `mlflow server` reads from its environment on each
/// request; here they are read once at start-up and handed to the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// `MLFLOW_TRUNCATE_LONG_VALUES`: truncate param values over 6000 and
    /// tag values over 8000 characters (true) or refuse them (false).
    pub truncate_long_values: bool,
    /// `MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH`: longest experiment
    /// `artifact_location`.
    pub artifact_location_max_length: usize,
    /// `MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS`.
    pub graphql_max_root_fields: usize,
    /// `MLFLOW_SERVER_GRAPHQL_MAX_ALIASES`.
    pub graphql_max_aliases: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            truncate_long_values: true,
            artifact_location_max_length: crate::validation::DEFAULT_ARTIFACT_LOCATION_MAX_LENGTH,
            graphql_max_root_fields: 10,
            graphql_max_aliases: 10,
        }
    }
}

/// MLflow's boolean environment variables (`_BooleanEnvironmentVariable`):
/// `true`/`false`/`1`/`0`, any case; anything else is refused (MLflow raises
/// too), here at start-up rather than on a request.
pub fn parse_mlflow_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "expected one of true, false, 1, 0 (any case), got '{value}'"
        )),
    }
}

/// A click boolean flag's environment value (`mlflow server
/// --serve-artifacts` reads `MLFLOW_SERVE_ARTIFACTS` this way).
pub fn parse_click_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Ok(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Ok(false),
        _ => Err(format!("'{value}' is not a valid boolean")),
    }
}

/// Database connection pools. `None` keeps the backend's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSettings {
    /// PostgreSQL: connections per server process (default 16); SQLite: read
    /// connections (default 4; writes always share one connection).
    pub max_connections: Option<u32>,
    /// How long a request waits for a connection, connecting included
    /// (default: PostgreSQL 5 s, so a lost database answers 503 quickly;
    /// SQLite 60 s, the queue for its single writer).
    pub acquire_timeout: Option<std::time::Duration>,
}

/// The Prometheus endpoint (`--expose-prometheus`, `--metrics-address`).
/// The access log needs no setting: it is the `ferroflow::access` tracing
/// target, filtered with `RUST_LOG` like every other log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservabilitySettings {
    /// Serve `GET /metrics` (Prometheus text format).
    pub prometheus: bool,
    /// Serve `/metrics` on this separate `host:port` instead of the API's
    /// port (the API port then has no `/metrics`); port 0 picks a free one.
    pub metrics_address: Option<String>,
}

/// The web UI: where its build lives and the path prefix everything is
/// served under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UiSettings {
    /// The MLflow UI build folder (`index.html`, `static/…`); `None` serves
    /// the API alone and answers `/` with how to fetch the UI.
    pub dir: Option<PathBuf>,
    /// `--static-prefix`: `""` or `/segment[/segment…]` (no trailing slash);
    /// every route, API included, moves under it as in `mlflow server`.
    pub static_prefix: String,
}

impl UiSettings {
    /// Checks a `--static-prefix` with `mlflow server`'s rules and messages.
    pub fn parse_static_prefix(prefix: Option<&str>) -> ApiResult<String> {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
            return Ok(String::new());
        };
        if !prefix.starts_with('/') {
            return Err(ApiError::invalid_parameter(
                "--static-prefix must begin with a '/'.",
            ));
        }
        if prefix.ends_with('/') {
            return Err(ApiError::invalid_parameter(
                "--static-prefix should not end with a '/'.",
            ));
        }
        if prefix.contains(['{', '}']) {
            return Err(ApiError::invalid_parameter(
                "--static-prefix must not contain '{' or '}'.",
            ));
        }
        // actix matches the prefix literally; characters that are not plain
        // path text would be percent-encoded by browsers and never match.
        if !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._~".contains(c))
            || prefix
                .split('/')
                .skip(1)
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(ApiError::invalid_parameter(format!(
                "--static-prefix '{prefix}' must be path segments of letters, digits, '-', '.', '_' or '~'."
            )));
        }
        Ok(prefix.to_string())
    }

    /// The UI folder to serve: the one given, else the first of the usual
    /// places that holds an `index.html` — `ui/` beside the executable (an
    /// installed or container layout), then `.ui/mlflow-<version>/build` in
    /// the checkout this binary was built from (`scripts/setup-ui.sh`).
    pub fn locate_dir(given: Option<PathBuf>) -> Option<PathBuf> {
        if given.is_some() {
            return given;
        }
        let beside_exe = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("ui")));
        let checkout = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".ui")
            .join(format!("mlflow-{}", crate::MLFLOW_VERSION))
            .join("build");
        beside_exe
            .into_iter()
            .chain(std::iter::once(checkout))
            .find(|dir| dir.join("index.html").is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_variables_read_as_mlflow_reads_them() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("False", false),
            ("0", false),
        ] {
            assert_eq!(parse_mlflow_bool(value), Ok(expected), "{value}");
        }
        for bogus in ["yes", "on", "", "2"] {
            assert!(parse_mlflow_bool(bogus).is_err(), "{bogus}");
        }
        for (value, expected) in [
            ("yes", true),
            ("on", true),
            ("t", true),
            ("no", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(parse_click_bool(value), Ok(expected), "{value}");
        }
        assert!(parse_click_bool("maybe").is_err());
    }

    #[test]
    fn scheme_lists_are_trimmed_and_lower_cased() {
        assert_eq!(
            ArtifactSettings::parse_schemes(" HTTP, https ,,"),
            vec!["http".to_string(), "https".to_string()]
        );
        assert!(ArtifactSettings::parse_schemes("").is_empty());
    }

    #[test]
    fn artifact_settings_do_not_read_the_environment() {
        // The CLI fills `s3` from AWS_* / MLFLOW_S3_*; the library never does.
        let s = ArtifactSettings::resolve(None, None, true);
        assert_eq!(s.s3, S3Settings::default());
    }

    #[test]
    fn static_prefix_rules_match_mlflow_server() {
        assert_eq!(UiSettings::parse_static_prefix(None).unwrap(), "");
        assert_eq!(UiSettings::parse_static_prefix(Some("")).unwrap(), "");
        assert_eq!(
            UiSettings::parse_static_prefix(Some("/mlflow")).unwrap(),
            "/mlflow"
        );
        assert_eq!(
            UiSettings::parse_static_prefix(Some("/team-a/mlflow_1")).unwrap(),
            "/team-a/mlflow_1"
        );
        for (bad, message) in [
            ("mlflow", "must begin with a '/'"),
            ("/mlflow/", "should not end with a '/'"),
            ("/", "should not end with a '/'"),
            ("/ml{x}", "must not contain '{' or '}'"),
            ("/a//b", "path segments"),
            ("/a/../b", "path segments"),
            ("/a b", "path segments"),
        ] {
            let err = UiSettings::parse_static_prefix(Some(bad)).unwrap_err();
            assert!(err.message.contains(message), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn sqlite_spellings() {
        assert_eq!(
            DatabaseUri::parse("sqlite:///mlflow.db").unwrap(),
            DatabaseUri::Sqlite {
                path: Some("mlflow.db".into())
            }
        );
        assert_eq!(
            DatabaseUri::parse("sqlite:////tmp/x/mlflow.db").unwrap(),
            DatabaseUri::Sqlite {
                path: Some("/tmp/x/mlflow.db".into())
            }
        );
        assert_eq!(
            DatabaseUri::parse("sqlite://").unwrap(),
            DatabaseUri::Sqlite { path: None }
        );
    }

    #[test]
    fn postgres_spellings_and_redaction() {
        for uri in [
            "postgresql://u:secret@db:5432/mlflow",
            "postgresql+psycopg2://u:secret@db:5432/mlflow",
            "postgres://u:secret@db:5432/mlflow",
        ] {
            let parsed = DatabaseUri::parse(uri).unwrap();
            assert!(parsed
                .connection_url()
                .starts_with("postgres://u:secret@db:5432/mlflow"));
            let shown = format!("{parsed} {parsed:?}");
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("***"));
        }
        assert!(DatabaseUri::parse("mysql://x@y/z").is_err());
    }

    #[test]
    fn s3_settings_from_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = S3Settings::from_vars(vars(&[]));
        assert_eq!(s, S3Settings::default());
        assert_eq!(s.region, "us-east-1");
        let s = S3Settings::from_vars(vars(&[
            ("MLFLOW_S3_ENDPOINT_URL", "http://minio:9000"),
            ("AWS_ENDPOINT_URL", "http://other:9000"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret"),
            ("AWS_SESSION_TOKEN", "token-secret"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_REGION", "us-west-2"),
            ("MLFLOW_S3_IGNORE_TLS", "True"),
            ("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "virtual"),
            ("MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS", "60"),
        ]));
        assert_eq!(s.endpoint_url.as_deref(), Some("http://minio:9000"));
        assert_eq!(s.region, "eu-west-3");
        assert!(s.ignore_tls);
        assert_eq!(s.addressing_style, S3AddressingStyle::Virtual);
        assert_eq!(s.presigned_download_ttl_secs, 60);
        let shown = format!("{s:?}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("token-secret"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"));
        let s = S3Settings::from_vars(vars(&[
            ("AWS_ENDPOINT_URL", "http://other:9000"),
            ("AWS_REGION", "us-west-2"),
            ("MLFLOW_S3_IGNORE_TLS", "false"),
        ]));
        assert_eq!(s.endpoint_url.as_deref(), Some("http://other:9000"));
        assert_eq!(s.region, "us-west-2");
        assert!(!s.ignore_tls);
        assert!(S3AddressingStyle::Auto.path_style(true));
        assert!(!S3AddressingStyle::Auto.path_style(false));
    }

    #[test]
    fn artifact_roots() {
        let s = ArtifactSettings::resolve(None, None, true);
        assert_eq!(s.default_artifact_root, "mlflow-artifacts:/");
        assert_eq!(s.experiment_location("3"), "mlflow-artifacts:/3");
        let s = ArtifactSettings::resolve(Some("s3://b/p".into()), None, false);
        assert_eq!(s.experiment_location("3"), "s3://b/p/3");
        let s = ArtifactSettings::resolve(None, None, false);
        assert!(s.default_artifact_root.ends_with("/mlruns"));
        assert!(s.default_artifact_root.starts_with('/'));
    }
}
