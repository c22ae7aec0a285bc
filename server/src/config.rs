//! Server settings: the backend store URI in MLflow's spellings, artifact
//! roots, and the listening address. The CLI (`main.rs`) fills these from
//! flags or MLflow's environment variables; tests build them directly.

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
    /// The proxy's destination (a local directory for now).
    pub artifacts_destination: String,
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
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(parsed.connection_url().starts_with("postgres://u:secret@db:5432/mlflow"));
            let shown = format!("{parsed} {parsed:?}");
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("***"));
        }
        assert!(DatabaseUri::parse("mysql://x@y/z").is_err());
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
