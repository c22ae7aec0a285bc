//! A small client for the MLflow tracking REST API (the subset the trainer
//! needs), with retries: a tracking-server blip must not kill training.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

/// How many times a request is retried after a connection error, 429 or
/// 5xx, with exponential backoff from `backoff`.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // ≈30 s in all: longer than a server restart, well below the
        // collective timeout the other ranks wait under meanwhile.
        RetryPolicy {
            attempts: 6,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    #[serde(default)]
    pub artifact_uri: String,
    #[serde(default)]
    pub status: String,
}

#[derive(Clone, Debug)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    pub step: i64,
    pub timestamp_ms: i64,
}

impl Metric {
    pub fn now(key: &str, value: f64, step: i64) -> Self {
        Metric {
            key: key.to_owned(),
            value,
            step,
            timestamp_ms: now_ms(),
        }
    }
}

/// An error answer from the server, with MLflow's `error_code` when present.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status.as_u16(),
            self.error_code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub struct TrackingClient {
    base: String,
    http: Client,
    retry: RetryPolicy,
    auth: Auth,
}

enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

impl TrackingClient {
    /// `MLFLOW_TRACKING_URI` (http/https only; None if unset), with the
    /// client's auth variables `MLFLOW_TRACKING_TOKEN` or
    /// `MLFLOW_TRACKING_USERNAME`/`_PASSWORD`.
    pub fn from_env() -> Result<Option<Self>> {
        let Some(uri) = std::env::var("MLFLOW_TRACKING_URI")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            bail!("MLFLOW_TRACKING_URI={uri:?}: only http(s) tracking servers are supported");
        }
        let auth = match (
            std::env::var("MLFLOW_TRACKING_TOKEN"),
            std::env::var("MLFLOW_TRACKING_USERNAME"),
        ) {
            (Ok(token), _) if !token.is_empty() => Auth::Bearer(token),
            (_, Ok(user)) if !user.is_empty() => Auth::Basic(
                user,
                std::env::var("MLFLOW_TRACKING_PASSWORD").unwrap_or_default(),
            ),
            _ => Auth::None,
        };
        let mut client = Self::new(&uri, RetryPolicy::default())?;
        client.auth = auth;
        Ok(Some(client))
    }

    pub fn new(base: &str, retry: RetryPolicy) -> Result<Self> {
        let http = Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(TrackingClient {
            base: base.trim_end_matches('/').to_owned(),
            http,
            retry,
            auth: Auth::None,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The run's page in the UI.
    pub fn run_url(&self, run: &RunInfo) -> String {
        format!(
            "{}/#/experiments/{}/runs/{}",
            self.base, run.experiment_id, run.run_id
        )
    }

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
        }
    }

    /// Sends the request built by `build`, retrying transient failures.
    fn send(&self, what: &str, build: impl Fn() -> RequestBuilder) -> Result<Response> {
        let mut delay = self.retry.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.authorize(build()).send();
            let retryable = match &outcome {
                Ok(r) => {
                    r.status() == StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error()
                }
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if !retryable || attempt >= self.retry.attempts {
                let response =
                    outcome.with_context(|| format!("{what}: request to {} failed", self.base))?;
                if response.status().is_success() {
                    return Ok(response);
                }
                let status = response.status();
                let body: Value = response.json().unwrap_or(Value::Null);
                return Err(anyhow::Error::new(ApiError {
                    status,
                    error_code: body["error_code"].as_str().unwrap_or("").to_owned(),
                    message: body["message"].as_str().unwrap_or("").to_owned(),
                }))
                .context(what.to_owned());
            }
            let reason = match &outcome {
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e.to_string(),
            };
            eprintln!("tracking: {what} failed ({reason}); retry {attempt} in {delay:?}");
            sleep(delay);
            delay = (delay * 2).min(self.retry.max_backoff);
        }
    }

    fn post(&self, what: &str, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let response = self.send(what, || self.http.post(&url).json(body))?;
        Ok(response.json().unwrap_or(Value::Null))
    }

    fn get(&self, what: &str, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let response = self.send(what, || self.http.get(&url).query(query))?;
        Ok(response.json().unwrap_or(Value::Null))
    }

    /// The id of experiment `name`, creating it if needed.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<String> {
        match self.get(
            "get experiment",
            "experiments/get-by-name",
            &[("experiment_name", name)],
        ) {
            Ok(body) => {
                return body["experiment"]["experiment_id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("get-by-name answer without experiment_id");
            }
            Err(e) if api_error_code(&e) != Some("RESOURCE_DOES_NOT_EXIST") => return Err(e),
            Err(_) => {}
        }
        match self.post(
            "create experiment",
            "experiments/create",
            &json!({ "name": name }),
        ) {
            Ok(body) => body["experiment_id"]
                .as_str()
                .map(str::to_owned)
                .context("experiments/create answer without experiment_id"),
            // Another process created it in between.
            Err(e) if api_error_code(&e) == Some("RESOURCE_ALREADY_EXISTS") => {
                let body = self.get(
                    "get experiment",
                    "experiments/get-by-name",
                    &[("experiment_name", name)],
                )?;
                body["experiment"]["experiment_id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("get-by-name answer without experiment_id")
            }
            Err(e) => Err(e),
        }
    }

    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        tags: &[(&str, String)],
    ) -> Result<RunInfo> {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let body = self.post(
            "create run",
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": now_ms(),
                "tags": tags,
            }),
        )?;
        serde_json::from_value(body["run"]["info"].clone())
            .context("runs/create answer without run.info")
    }

    pub fn get_run(&self, run_id: &str) -> Result<RunInfo> {
        let body = self.get("get run", "runs/get", &[("run_id", run_id)])?;
        serde_json::from_value(body["run"]["info"].clone())
            .context("runs/get answer without run.info")
    }

    /// Steps already logged for `key`.
    pub fn metric_steps(&self, run_id: &str, key: &str) -> Result<Vec<i64>> {
        let body = self.get(
            "get metric history",
            "metrics/get-history",
            &[("run_id", run_id), ("metric_key", key)],
        )?;
        Ok(body["metrics"]
            .as_array()
            .map(|ms| ms.iter().filter_map(|m| m["step"].as_i64()).collect())
            .unwrap_or_default())
    }

    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(&str, String)],
        tags: &[(&str, String)],
    ) -> Result<()> {
        let metrics: Vec<Value> = metrics
            .iter()
            .map(|m| json!({ "key": m.key, "value": m.value, "step": m.step, "timestamp": m.timestamp_ms }))
            .collect();
        let params: Vec<Value> = params
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        self.post(
            "log batch",
            "runs/log-batch",
            &json!({ "run_id": run_id, "metrics": metrics, "params": params, "tags": tags }),
        )?;
        Ok(())
    }

    pub fn update_run(&self, run_id: &str, status: &str, end: bool) -> Result<()> {
        let mut body = json!({ "run_id": run_id, "status": status });
        if end {
            body["end_time"] = json!(now_ms());
        }
        self.post("update run", "runs/update", &body)?;
        Ok(())
    }

    /// Uploads `local` to `<run artifacts>/<artifact_path>`.
    pub fn log_artifact(&self, run: &RunInfo, local: &Path, artifact_path: &str) -> Result<()> {
        let bytes = std::fs::read(local).with_context(|| format!("reading {}", local.display()))?;
        match ArtifactTarget::parse(&run.artifact_uri)? {
            ArtifactTarget::Proxied(root) => {
                let url = format!(
                    "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}",
                    self.base,
                    encode_path(&root),
                    encode_path(artifact_path)
                );
                self.send(&format!("upload {artifact_path}"), || {
                    self.http
                        .put(&url)
                        .header("Content-Type", "application/octet-stream")
                        .body(bytes.clone())
                })?;
            }
            ArtifactTarget::Local(root) => {
                // The server writes to a filesystem this process shares.
                let target = Path::new(&root).join(artifact_path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&target, bytes)
                    .with_context(|| format!("writing {}", target.display()))?;
            }
        }
        Ok(())
    }

    /// Uploads every file under `local_dir` to `<run artifacts>/<artifact_path>/…`.
    pub fn log_artifacts(
        &self,
        run: &RunInfo,
        local_dir: &Path,
        artifact_path: &str,
    ) -> Result<()> {
        let mut stack = vec![local_dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let relative = path
                    .strip_prefix(local_dir)
                    .context("artifact outside its directory")?
                    .to_string_lossy()
                    .replace('\\', "/");
                let destination = if artifact_path.is_empty() {
                    relative
                } else {
                    format!("{}/{relative}", artifact_path.trim_end_matches('/'))
                };
                self.log_artifact(run, &path, &destination)?;
            }
        }
        Ok(())
    }

    /// The runs of `experiment_id` whose tag `key` equals `value`, newest first.
    pub fn search_runs_by_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<RunInfo>> {
        let filter = format!("tags.`{key}` = '{}'", value.replace('\'', "\\'"));
        let body = self.post(
            "search runs",
            "runs/search",
            &json!({
                "experiment_ids": [experiment_id],
                "filter": filter,
                "max_results": 50,
                "order_by": ["attributes.start_time DESC"],
            }),
        )?;
        let mut runs = Vec::new();
        for run in body["runs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            runs.push(
                serde_json::from_value(run["info"].clone())
                    .context("runs/search answer without run.info")?,
            );
        }
        Ok(runs)
    }

    /// The bytes of `<run artifacts>/<artifact_path>`, or None if absent.
    pub fn download_artifact(&self, run: &RunInfo, artifact_path: &str) -> Result<Option<Vec<u8>>> {
        match ArtifactTarget::parse(&run.artifact_uri)? {
            ArtifactTarget::Proxied(root) => {
                let url = format!(
                    "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}",
                    self.base,
                    encode_path(&root),
                    encode_path(artifact_path)
                );
                match self.send(&format!("download {artifact_path}"), || self.http.get(&url)) {
                    Ok(response) => Ok(Some(response.bytes()?.to_vec())),
                    Err(e) if api_status(&e) == Some(StatusCode::NOT_FOUND) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            ArtifactTarget::Local(root) => {
                let path = Path::new(&root).join(artifact_path);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
                }
            }
        }
    }

    /// Creates registered model `name` (fine if it exists).
    pub fn create_registered_model(&self, name: &str) -> Result<()> {
        match self.post(
            "create registered model",
            "registered-models/create",
            &json!({ "name": name }),
        ) {
            Ok(_) => Ok(()),
            Err(e) if api_error_code(&e) == Some("RESOURCE_ALREADY_EXISTS") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Registers `source` as a new version of `name`; returns the version.
    pub fn create_model_version(&self, name: &str, source: &str, run_id: &str) -> Result<String> {
        let body = self.post(
            "create model version",
            "model-versions/create",
            &json!({ "name": name, "source": source, "run_id": run_id }),
        )?;
        body["model_version"]["version"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| {
                body["model_version"]["version"]
                    .as_i64()
                    .map(|v| v.to_string())
            })
            .ok_or_else(|| anyhow!("model-versions/create answer without a version: {body}"))
    }
}

/// MLflow's `error_code` of an API error, if `e` is one.
pub fn api_error_code(e: &anyhow::Error) -> Option<&str> {
    e.downcast_ref::<ApiError>().map(|a| a.error_code.as_str())
}

/// The HTTP status of an API error, if `e` is one.
pub fn api_status(e: &anyhow::Error) -> Option<StatusCode> {
    e.downcast_ref::<ApiError>().map(|a| a.status)
}

enum ArtifactTarget {
    /// `mlflow-artifacts:/<root>`: uploaded through the server's proxy.
    Proxied(String),
    /// A directory on a filesystem this process can write.
    Local(String),
}

impl ArtifactTarget {
    fn parse(uri: &str) -> Result<Self> {
        if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
            // `mlflow-artifacts:/1/<run>/artifacts` or with an authority,
            // `mlflow-artifacts://host:port/1/<run>/artifacts`.
            let path = match rest.strip_prefix("//") {
                Some(with_authority) => {
                    with_authority.split_once('/').map(|(_, p)| p).unwrap_or("")
                }
                None => rest,
            };
            return Ok(ArtifactTarget::Proxied(path.trim_matches('/').to_owned()));
        }
        if let Some(path) = uri.strip_prefix("file://") {
            return Ok(ArtifactTarget::Local(path.to_owned()));
        }
        if uri.starts_with('/') {
            return Ok(ArtifactTarget::Local(uri.to_owned()));
        }
        bail!("artifact URI {uri:?}: only mlflow-artifacts:/ (served with --artifacts-destination) and local paths are supported")
    }
}

/// Percent-encodes each path segment, keeping the slashes.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_uris() {
        match ArtifactTarget::parse("mlflow-artifacts:/1/abc/artifacts").unwrap() {
            ArtifactTarget::Proxied(p) => assert_eq!(p, "1/abc/artifacts"),
            ArtifactTarget::Local(_) => panic!("proxied expected"),
        }
        match ArtifactTarget::parse("mlflow-artifacts://h:5000/1/abc/artifacts").unwrap() {
            ArtifactTarget::Proxied(p) => assert_eq!(p, "1/abc/artifacts"),
            ArtifactTarget::Local(_) => panic!("proxied expected"),
        }
        assert!(matches!(
            ArtifactTarget::parse("file:///tmp/a").unwrap(),
            ArtifactTarget::Local(p) if p == "/tmp/a"
        ));
        assert!(ArtifactTarget::parse("s3://bucket/x").is_err());
    }

    #[test]
    fn path_encoding_keeps_slashes() {
        assert_eq!(encode_path("model/data/a b.json"), "model/data/a%20b.json");
    }

    #[test]
    fn retries_then_gives_up_on_a_dead_server() {
        // Nothing listens on a port we just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = TrackingClient::new(
            &format!("http://127.0.0.1:{port}"),
            RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(20),
            },
        )
        .unwrap();
        let started = std::time::Instant::now();
        assert!(client.get_or_create_experiment("x").is_err());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
