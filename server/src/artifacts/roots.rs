//! Which artifact URIs lie under the server's own artifact storage.
//!
//! Model-version sources (handlers/registry.rs) and experiments'
//! `artifact_location` (handlers/experiments.rs) name places the server (or
//! a client following the server's answer) will read and write. MLflow's
//! path CVEs came from such URIs pointing elsewhere: at the server's own
//! disk (`/etc`, `file://`), at another host (`//host/share`,
//! `http://internal`), or out of a root with `..`. These rules keep them
//! inside the roots the server was started with.

use crate::config::ArtifactSettings;
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;

/// Schemes whose repositories connect to the host named in the URI.
const HOST_ADDRESSED_SCHEMES: [&str; 10] = [
    "ftp",
    "sftp",
    "hdfs",
    "viewfs",
    "http",
    "https",
    "mlflow-artifacts",
    "r2",
    "b2",
    "abfss",
];

/// The route a proxied-artifact `http(s)` URI points into.
const PROXY_ROUTE: [&str; 4] = ["api", "2.0", "mlflow-artifacts", "artifacts"];

/// `(scheme family, host, port)` a URI makes a repository connect to;
/// `None` when the scheme does not address a host. A missing port stands
/// for the scheme's well-known ones.
pub fn host_targets(uri: &str) -> Option<Vec<(String, String, Option<u16>)>> {
    let parts = py::urlsplit(uri, false);
    let scheme = parts.scheme.as_str();
    if !HOST_ADDRESSED_SCHEMES.contains(&scheme)
        || (scheme == "mlflow-artifacts" && parts.netloc.is_empty())
    {
        return None;
    }
    let family = match scheme {
        "viewfs" => "hdfs",
        "https" | "mlflow-artifacts" => "http",
        s => s,
    }
    .to_string();
    let host_port = parts.netloc.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => (v6, None),
        },
        None => match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    let host = host.to_lowercase();
    if host_port.contains('\\') || host_port.chars().any(char::is_whitespace) {
        return Some(vec![("malformed".into(), host, None)]);
    }
    let ports: Vec<Option<u16>> = match port.filter(|p| !p.is_empty()) {
        Some(p) => match p.parse::<u16>() {
            Ok(n) => vec![Some(n)],
            Err(_) => return Some(vec![("malformed".into(), host, None)]),
        },
        None => match scheme {
            "ftp" => vec![Some(21)],
            "sftp" => vec![Some(22)],
            "http" => vec![Some(80)],
            "mlflow-artifacts" => vec![Some(80), Some(443)],
            "https" | "r2" | "b2" | "abfss" => vec![Some(443)],
            _ => vec![None],
        },
    };
    Some(
        ports
            .into_iter()
            .map(|p| (family.clone(), host.clone(), p))
            .collect(),
    )
}

/// MLflow's `_validate_artifact_uri_scheme`: a host-addressed URI must
/// target the host of the server's own artifact storage, unless its scheme
/// is allowed by `MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES`.
pub fn check_host_addressed(settings: &ArtifactSettings, uri: &str, field: &str) -> ApiResult<()> {
    let Some(targets) = host_targets(uri) else {
        return Ok(());
    };
    let scheme = py::urlsplit(uri, false).scheme;
    if settings
        .allowed_host_addressed_schemes
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&scheme))
    {
        return Ok(());
    }
    let trusted: Vec<_> = [
        &settings.default_artifact_root,
        &settings.artifacts_destination,
    ]
    .iter()
    .filter_map(|uri| host_targets(uri))
    .flatten()
    .collect();
    if targets.iter().any(|t| trusted.contains(t)) {
        return Ok(());
    }
    Err(ApiError::invalid_parameter(format!(
        "'{field}' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host other than \
         the tracking server's configured artifact storage, so the server would connect to the host \
         named in the URI. Set the MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment \
         variable on the server to allow it."
    )))
}

/// MLflow's `is_local_uri`: no scheme, or `file:`.
pub fn is_local(uri: &str) -> bool {
    let scheme = py::urlsplit(uri, false).scheme;
    scheme.is_empty() || scheme == "file"
}

/// The path segments of a local path or `file:` URI when it is absolute,
/// names no other host and has no `..`; `.` and empty segments dropped.
fn local_segments(uri: &str) -> Option<Vec<String>> {
    let parts = py::urlsplit(uri, false);
    let path = if parts.scheme == "file" {
        if !(parts.netloc.is_empty() || parts.netloc.eq_ignore_ascii_case("localhost")) {
            return None;
        }
        py::unquote_repeatedly(parts.path)
    } else {
        // A scheme-less `//host/…` names a host, not a local directory.
        if uri.starts_with("//") {
            return None;
        }
        uri.to_string()
    };
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let mut segments = Vec::new();
    for s in path.split('/') {
        match s {
            "" | "." => {}
            ".." => return None,
            s => segments.push(s.to_string()),
        }
    }
    Some(segments)
}

pub fn local_within(source: &str, root: &str) -> bool {
    match (local_segments(source), local_segments(root)) {
        (Some(s), Some(r)) => s.starts_with(&r),
        _ => false,
    }
}

/// Scheme, authority and decoded path segments (MLflow's
/// `_normalized_uri_parts`).
fn normalized_parts(uri: &str) -> (String, String, Vec<String>) {
    let parts = py::urlsplit(uri, false);
    let segments = parts
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(py::unquote_repeatedly)
        .collect();
    (parts.scheme, parts.netloc.to_lowercase(), segments)
}

/// MLflow's `_is_uri_within_root`; with `allow_bare_root`, a root without a
/// path (`s3://bucket`) contains everything under its authority.
pub fn uri_within(source: &str, root: &str, allow_bare_root: bool) -> bool {
    let (s_scheme, s_auth, s_parts) = normalized_parts(source);
    let (r_scheme, r_auth, r_parts) = normalized_parts(root);
    if s_scheme != r_scheme || s_auth != r_auth {
        return false;
    }
    if r_parts.is_empty() {
        return allow_bare_root && !r_auth.is_empty();
    }
    s_parts.starts_with(&r_parts)
}

pub fn is_proxied_artifact_source(source: &str) -> bool {
    let (scheme, _, parts) = normalized_parts(source);
    scheme == "mlflow-artifacts"
        || ((scheme == "http" || scheme == "https")
            && parts.windows(PROXY_ROUTE.len()).any(|w| w == PROXY_ROUTE))
}

/// The server's default artifact root, when URIs may lie under it directly
/// (a remote root such as `s3://bucket/path`; proxied and local roots are
/// reached through a run or logged model).
pub fn remote_default_root(settings: &ArtifactSettings) -> Option<&str> {
    let root = settings.default_artifact_root.as_str();
    let scheme = py::urlsplit(root, false).scheme;
    (!is_local(root) && scheme != "mlflow-artifacts").then_some(root)
}

/// The proxy's destination when it is remote (`s3://bucket/prefix`):
/// clients may be pointed straight at it.
fn remote_destination(settings: &ArtifactSettings) -> Option<&str> {
    let root = settings.artifacts_destination.as_str();
    (settings.serve_artifacts && !is_local(root)).then_some(root)
}

/// After decoding (repeatedly, as MLflow's `_decode`), no `.` or `..`
/// segment and no NUL anywhere in the path.
fn has_traversal(uri: &str) -> bool {
    let decoded = py::unquote_repeatedly(uri);
    decoded.contains('\0')
        || decoded.contains('\\')
        || py::urlsplit(&decoded, false)
            .path
            .split('/')
            .any(|s| s == ".." || s == ".")
}

/// An experiment's `artifact_location` (create-experiment), checked like a
/// model-version source: it must lie under one of the server's artifact
/// roots — `mlflow-artifacts:/…` when the proxy is served, under a remote
/// default root or proxy destination (`s3://bucket/prefix/…`), or, only
/// when the server's default root is itself a local directory
/// (`--no-serve-artifacts`), a path under that directory. Local paths and
/// `file://` URIs elsewhere, scheme-less `//host/…`, other hosts and
/// buckets, and `..` in any encoding are refused with
/// `INVALID_PARAMETER_VALUE` before anything is written.
pub fn check_experiment_artifact_location(
    settings: &ArtifactSettings,
    location: &str,
) -> ApiResult<()> {
    check_host_addressed(settings, location, "artifact_location")?;
    let refuse = |why: &str| {
        Err(ApiError::invalid_parameter(format!(
            "Invalid artifact_location: '{location}'. {why}"
        )))
    };
    if has_traversal(location) {
        return refuse("Relative path references ('.', '..') are not allowed.");
    }
    let root = settings.default_artifact_root.as_str();
    if is_local(location) {
        if is_local(root) && local_within(location, root) {
            return Ok(());
        }
        return refuse(&format!(
            "A local path or file:// URI must lie under the server's local artifact root, and \
             this server's root is '{root}'."
        ));
    }
    let parts = py::urlsplit(location, false);
    if parts.scheme == "mlflow-artifacts" {
        if settings.serve_artifacts {
            return Ok(());
        }
        return refuse("This server does not serve mlflow-artifacts (--no-serve-artifacts).");
    }
    let under_remote_root = [remote_default_root(settings), remote_destination(settings)]
        .into_iter()
        .flatten()
        .any(|r| uri_within(location, r, true));
    if under_remote_root {
        return Ok(());
    }
    refuse(&format!(
        "An artifact location must lie under the server's artifact root ('{root}')."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locality_and_containment() {
        assert!(is_local("/tmp/x"));
        assert!(is_local("file:///tmp/x"));
        assert!(is_local("//host/x"));
        assert!(!is_local("s3://b/x"));
        assert!(local_within(
            "/data/1/r/artifacts/model",
            "/data/1/r/artifacts"
        ));
        assert!(local_within(
            "file:///data/1/r/artifacts/m",
            "/data/1/r/artifacts"
        ));
        assert!(!local_within(
            "/data/1/r/artifacts/../../x",
            "/data/1/r/artifacts"
        ));
        assert!(!local_within(
            "//data/1/r/artifacts/m",
            "/data/1/r/artifacts"
        ));
        assert!(!local_within("/data/1/rx", "/data/1/r"));
        assert!(uri_within(
            "mlflow-artifacts:/1/r/artifacts/model",
            "mlflow-artifacts:/1/r/artifacts",
            false
        ));
        assert!(!uri_within(
            "mlflow-artifacts:/1/other/artifacts",
            "mlflow-artifacts:/1/r/artifacts",
            false
        ));
        assert!(!uri_within(
            "mlflow-artifacts:/1/r",
            "mlflow-artifacts:/",
            false
        ));
        assert!(uri_within("s3://b/x", "s3://b", true));
        assert!(!uri_within("s3://c/x", "s3://b", true));
        assert!(is_proxied_artifact_source(
            "https://h/api/2.0/mlflow-artifacts/artifacts/1/r"
        ));
        assert!(!is_proxied_artifact_source("https://h/other/1/r"));
    }

    #[test]
    fn host_addressed_targets() {
        assert_eq!(host_targets("mlflow-artifacts:/1/x"), None);
        assert_eq!(host_targets("s3://b/x"), None);
        assert_eq!(
            host_targets("https://Example.com/x"),
            Some(vec![("http".into(), "example.com".into(), Some(443))])
        );
        assert_eq!(
            host_targets("mlflow-artifacts://h:5000/x"),
            Some(vec![("http".into(), "h".into(), Some(5000))])
        );
    }

    fn settings(root: &str, serve: bool, destination: &str) -> ArtifactSettings {
        let mut s =
            ArtifactSettings::resolve(Some(root.to_string()), Some(destination.to_string()), serve);
        s.s3 = Default::default();
        s
    }

    #[test]
    fn allowed_schemes_may_address_other_hosts() {
        let mut s = settings("mlflow-artifacts:/", true, "/srv/mlartifacts");
        let uri = "https://models.example.com/team/model";
        let err = check_host_addressed(&s, uri, "source").unwrap_err();
        assert!(
            err.message
                .contains("MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES"),
            "{err}"
        );
        s.allowed_host_addressed_schemes = vec!["https".into()];
        assert!(check_host_addressed(&s, uri, "source").is_ok());
        // Only the listed schemes.
        assert!(check_host_addressed(&s, "http://models.example.com/m", "source").is_err());
    }

    #[test]
    fn experiment_locations_under_the_proxy() {
        let proxied = settings("mlflow-artifacts:/", true, "/srv/mlartifacts");
        for ok in ["mlflow-artifacts:/team-a", "mlflow-artifacts:/a/b/c"] {
            assert!(
                check_experiment_artifact_location(&proxied, ok).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "/etc",
            "/srv/mlartifacts/x",
            "file:///srv/mlartifacts/x",
            "file:///etc/passwd",
            "//attacker/share",
            "s3://any-bucket/x",
            "mlflow-artifacts:/a/../../etc",
            "mlflow-artifacts:/a/%2e%2e/%2e%2e/etc",
            "mlflow-artifacts:/a/%252e%252e/x",
            "mlflow-artifacts:/a/..%5c..%5cx",
            "mlflow-artifacts://evil.example:80/x",
            "http://169.254.169.254/latest",
            "relative/dir",
        ] {
            let err = check_experiment_artifact_location(&proxied, bad).unwrap_err();
            assert_eq!(
                err.code,
                crate::error::ErrorCode::InvalidParameterValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn experiment_locations_under_remote_roots() {
        let s3_proxy = settings("mlflow-artifacts:/", true, "s3://bucket/proxy");
        assert!(check_experiment_artifact_location(&s3_proxy, "s3://bucket/proxy/team").is_ok());
        assert!(check_experiment_artifact_location(&s3_proxy, "s3://bucket/other").is_err());
        assert!(check_experiment_artifact_location(&s3_proxy, "s3://other/proxy/x").is_err());
        let direct = settings("s3://bucket/mlruns", false, "./mlartifacts");
        assert!(check_experiment_artifact_location(&direct, "s3://bucket/mlruns/9").is_ok());
        assert!(check_experiment_artifact_location(&direct, "s3://bucket/mlrunsx/9").is_err());
        assert!(check_experiment_artifact_location(&direct, "mlflow-artifacts:/x").is_err());
        assert!(check_experiment_artifact_location(&direct, "/tmp/x").is_err());
    }

    #[test]
    fn experiment_locations_under_a_local_root() {
        let local = settings("/srv/mlruns", false, "./mlartifacts");
        assert!(check_experiment_artifact_location(&local, "/srv/mlruns/team").is_ok());
        assert!(check_experiment_artifact_location(&local, "file:///srv/mlruns/team").is_ok());
        assert!(check_experiment_artifact_location(&local, "/srv/mlrunsx").is_err());
        assert!(check_experiment_artifact_location(&local, "/srv/mlruns/../etc").is_err());
        assert!(check_experiment_artifact_location(&local, "//host/srv/mlruns").is_err());
        assert!(check_experiment_artifact_location(&local, "file://host/srv/mlruns/x").is_err());
    }
}
