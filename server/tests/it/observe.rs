//! Operations endpoints against the real app on both databases: liveness and
//! readiness, request ids, and the Prometheus endpoint on the API port or on
//! its own address.

use crate::common;

use common::{Backend, TestApp};
use ferroflow::config::{DatabaseUri, ObservabilitySettings, Settings};
use ferroflow::startup::Application;
use serde_json::json;

/// The value of the first sample whose line starts with `series` (name and
/// labels exactly as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let resp = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.expect("body")
}

async fn probes_and_request_ids(app: &TestApp) {
    for path in ["/health", "/ready"] {
        let resp = app.client.get(app.url(path)).send().await.expect(path);
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(resp.text().await.expect("body"), "OK", "{path}");
    }
    // A proxy's id is echoed; without one, each request gets its own.
    let resp = app
        .client
        .get(app.url("/version"))
        .header("X-Request-Id", "edge-42.a_b:c")
        .send()
        .await
        .expect("version");
    assert_eq!(resp.headers()["x-request-id"], "edge-42.a_b:c");
    let resp = app
        .client
        .get(app.url("/version"))
        .header("X-Request-Id", "bad id\twith spaces")
        .send()
        .await
        .expect("version");
    let generated = resp.headers()["x-request-id"].to_str().expect("ascii");
    assert_eq!(generated.len(), 32, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
    let other = app
        .client
        .get(app.url("/api/2.0/mlflow/runs/get?run_id=missing"))
        .send()
        .await
        .expect("runs/get");
    assert_eq!(other.status().as_u16(), 404);
    assert_ne!(other.headers()["x-request-id"], generated);
    // Without --expose-prometheus there is no /metrics.
    let (status, body) = app.request(reqwest::Method::GET, "/metrics", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");
}
on_both_backends!(probes, probes_and_request_ids);

async fn counts_requests_entities_and_artifact_bytes(backend: Backend) {
    let app = common::spawn_app_with(backend, |settings, _| {
        settings.observability.prometheus = true;
    })
    .await;
    let experiment_id = app.create_experiment("observed").await;
    let run_id = app.create_run(&experiment_id, "r1").await;
    for step in 0..3 {
        let (status, body) = app
            .post(
                "runs/log-metric",
                json!({"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": step}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = app.get("runs/get?run_id=does-not-exist").await;
    assert_eq!(status, 404);
    let payload = vec![7u8; 10_000];
    let artifact =
        format!("/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/blob.bin");
    let resp = app
        .client
        .put(app.url(&artifact))
        .body(payload.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app
        .client
        .get(app.url(&artifact))
        .send()
        .await
        .expect("download");
    assert_eq!(resp.bytes().await.expect("bytes").len(), payload.len());
    // Probes are not counted.
    app.client
        .get(app.url("/health"))
        .send()
        .await
        .expect("health");

    // A download is counted when the server has finished sending it, which
    // can be a moment after the client holds the last byte: scrape until
    // it shows (at most 5 s).
    let mut text = scrape(&app).await;
    for _ in 0..50 {
        let out = sample(&text, "ferroflow_artifact_bytes_total{direction=\"out\"}");
        if out.is_some_and(|n| n >= payload.len() as f64) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        text = scrape(&app).await;
    }
    let count = |route: &str, method: &str, status: u16| {
        sample(
            &text,
            &format!(
                "ferroflow_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(
        count("/api/2.0/mlflow/runs/log-metric", "POST", 200),
        Some(3.0)
    );
    assert_eq!(count("/api/2.0/mlflow/runs/get", "GET", 404), Some(1.0));
    assert_eq!(
        count("/api/2.0/mlflow-artifacts/artifacts/{path:.*}", "PUT", 200),
        Some(1.0)
    );
    assert!(!text.contains("route=\"/health\""), "probes are left out");
    // MLflow's own family: the same requests by method and status.
    assert!(
        sample(
            &text,
            "mlflow_http_request_total{method=\"POST\",status=\"200\"}"
        )
        .expect("mlflow family")
            >= 5.0
    );
    let labels = "method=\"POST\",route=\"/api/2.0/mlflow/runs/log-metric\",status=\"200\"";
    assert_eq!(
        sample(
            &text,
            &format!("ferroflow_http_request_duration_seconds_count{{{labels}}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("ferroflow_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}}")
        ),
        Some(3.0)
    );
    assert!(
        sample(&text, "ferroflow_artifact_bytes_total{direction=\"in\"}").expect("in")
            >= payload.len() as f64
    );
    assert!(
        sample(&text, "ferroflow_artifact_bytes_total{direction=\"out\"}").expect("out")
            >= payload.len() as f64
    );
    assert_eq!(
        sample(
            &text,
            "ferroflow_runs{lifecycle_stage=\"active\",status=\"RUNNING\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "ferroflow_experiments{lifecycle_stage=\"active\"}"),
        Some(2.0)
    );
    assert_eq!(sample(&text, "ferroflow_database_up"), Some(1.0));
    assert!(sample(&text, "process_resident_memory_bytes").expect("rss") > 0.0);
    let pool_line = if backend == Backend::Sqlite {
        "ferroflow_db_pool_connections{pool=\"write\",state=\"max\"}"
    } else {
        "ferroflow_db_pool_connections{pool=\"main\",state=\"max\"}"
    };
    assert!(sample(&text, pool_line).expect("pool max") >= 1.0);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_sqlite() {
    counts_requests_entities_and_artifact_bytes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_postgres() {
    counts_requests_entities_and_artifact_bytes(Backend::Postgres).await;
}

/// `--metrics-address`: `/metrics` moves to its own listener and leaves the
/// API port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_a_separate_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db_uri, _) = common::fresh_db_uri(Backend::Sqlite, dir.path()).await;
    let settings = Settings {
        database: DatabaseUri::parse(&db_uri).expect("db uri"),
        artifacts: ferroflow::config::ArtifactSettings::resolve(
            None,
            Some(dir.path().join("mlartifacts").display().to_string()),
            true,
        ),
        host: "127.0.0.1".into(),
        port: 0,
        workers: 1,
        ui: Default::default(),
        observability: ObservabilitySettings {
            prometheus: true,
            metrics_address: Some("127.0.0.1:0".into()),
        },
        limits: Default::default(),
        pool: Default::default(),
        security: Default::default(),
        auth: None,
    };
    let app = Application::build(settings).await.expect("app starts");
    let api = format!("http://127.0.0.1:{}", app.port());
    let metrics = format!(
        "http://127.0.0.1:{}",
        app.metrics_port().expect("metrics port")
    );
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let resp = client
        .get(format!(
            "{api}/api/2.0/mlflow/experiments/get?experiment_id=0"
        ))
        .send()
        .await
        .expect("api");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = client
        .get(format!("{api}/metrics"))
        .send()
        .await
        .expect("api /metrics");
    assert_eq!(resp.status().as_u16(), 404);
    let text = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert_eq!(
        sample(
            &text,
            "ferroflow_http_requests_total{method=\"GET\",route=\"/api/2.0/mlflow/experiments/get\",status=\"200\"}"
        ),
        Some(1.0),
        "{text}"
    );
    // The metrics listener serves nothing else.
    let resp = client
        .get(format!(
            "{metrics}/api/2.0/mlflow/experiments/get?experiment_id=0"
        ))
        .send()
        .await
        .expect("metrics port api");
    assert_eq!(resp.status().as_u16(), 404);
}
