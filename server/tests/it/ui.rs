//! The web UI's side of the server: its static files (types, caching,
//! compression, `--static-prefix`, no escape from the build folder) and the
//! routes only the UI calls, against the real app on both databases.

use crate::common;

use common::{spawn_app_with, Backend, TestApp};
use ferroflow::config::Settings;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    RANGE,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;

const INDEX: &str = "<!doctype html><html><head><title>MLflow</title>\
    <script defer src=\"static-files/static/js/main.0123abcd.js\"></script></head>\
    <body><div id=\"root\"></div></body></html>";
/// Large and repetitive enough that compressing it is worth it.
fn main_js() -> String {
    "console.log('ferroflow ui test');\n".repeat(4000)
}

/// A miniature UI build with the shapes of the real one.
fn write_build(root: &Path) -> std::path::PathBuf {
    let build = root.join("ui-build");
    for dir in [
        "static/js",
        "static/css",
        "static/media",
        "lib/notebook-trace-renderer",
    ] {
        std::fs::create_dir_all(build.join(dir)).unwrap();
    }
    std::fs::write(build.join("index.html"), INDEX).unwrap();
    std::fs::write(build.join("favicon.ico"), [0u8, 0, 1, 0]).unwrap();
    std::fs::write(build.join("manifest.json"), "{}").unwrap();
    std::fs::write(build.join("static/js/main.0123abcd.js"), main_js()).unwrap();
    std::fs::write(build.join("static/css/main.0123abcd.css"), "body{}").unwrap();
    std::fs::write(build.join("static/media/font.woff2"), [1u8, 2, 3]).unwrap();
    std::fs::write(
        build.join("lib/notebook-trace-renderer/index.html"),
        "<html></html>",
    )
    .unwrap();
    // Beside the build, never reachable through it.
    std::fs::write(root.join("secret.txt"), "do not serve").unwrap();
    build
}

async fn spawn_ui(prefix: &str) -> TestApp {
    let prefix = prefix.to_string();
    spawn_app_with(Backend::Sqlite, move |settings: &mut Settings, dir| {
        settings.ui.dir = Some(write_build(dir));
        settings.ui.static_prefix = prefix;
    })
    .await
}

fn header(resp: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> &str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn index_and_assets_are_served_like_mlflow_server() {
    let app = spawn_ui("").await;
    for path in ["/", "/?experiment=1"] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(header(&resp, CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(header(&resp, CACHE_CONTROL), "no-cache");
        assert!(!header(&resp, ETAG).is_empty());
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
        assert_eq!(header(&resp, "x-frame-options"), "SAMEORIGIN");
        assert_eq!(resp.text().await.unwrap(), INDEX);
    }

    let js = app.url("/static-files/static/js/main.0123abcd.js");
    let resp = app.client.get(&js).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(&resp, CACHE_CONTROL), "public, max-age=2419200");
    assert_eq!(header(&resp, CONTENT_ENCODING), "identity", "unless asked");
    let etag = header(&resp, ETAG).to_string();
    assert!(!etag.is_empty());
    assert_eq!(resp.text().await.unwrap(), main_js());

    // Revalidation and ranges, as a browser and a download manager use them.
    let resp = app
        .client
        .get(&js)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let resp = app
        .client
        .get(&js)
        .header(RANGE, "bytes=0-6")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.text().await.unwrap(), "console");

    // Compressed when the browser asks for it, with both encodings; the
    // same bytes and ETag every time (compressed once, then kept), and
    // revalidation of the compressed form.
    for (accept, encoding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let resp = app
                .client
                .get(&js)
                .header(ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(header(&resp, CONTENT_ENCODING), encoding);
            assert_eq!(header(&resp, "vary"), "Accept-Encoding");
            assert_eq!(
                header(&resp, CONTENT_TYPE),
                "text/javascript; charset=utf-8"
            );
            assert_eq!(header(&resp, CACHE_CONTROL), "public, max-age=2419200");
            assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
            let tag = header(&resp, ETAG).to_string();
            assert!(tag.contains(encoding) && tag != etag, "{tag}");
            bodies.push((tag, resp.bytes().await.unwrap()));
        }
        assert_eq!(bodies[0], bodies[1], "{encoding}: kept, not recompressed");
        let (tag, body) = &bodies[0];
        assert!(
            body.len() * 10 < main_js().len(),
            "{encoding}: {} bytes",
            body.len()
        );
        let mut plain = Vec::new();
        if encoding == "br" {
            brotli::Decompressor::new(&body[..], 4096)
                .read_to_end(&mut plain)
                .unwrap();
        } else {
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut plain)
                .unwrap();
        }
        assert_eq!(plain, main_js().as_bytes(), "{encoding}");
        let resp = app
            .client
            .get(&js)
            .header(ACCEPT_ENCODING, accept)
            .header(IF_NONE_MATCH, tag)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 304, "{encoding}");
    }
    // Small files and binary ones go out as they are.
    let resp = app
        .client
        .get(app.url("/static-files/static/media/font.woff2"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, CONTENT_ENCODING), "identity");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), [1u8, 2, 3]);

    for (path, content_type) in [
        (
            "/static-files/static/css/main.0123abcd.css",
            "text/css; charset=utf-8",
        ),
        ("/static-files/favicon.ico", "image/vnd.microsoft.icon"),
        ("/static-files/manifest.json", "application/json"),
        ("/static-files/static/media/font.woff2", "font/woff2"),
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(header(&resp, CONTENT_TYPE), content_type, "{path}");
    }

    // Jupyter embeds the notebook trace renderer: no framing ban there.
    let resp = app
        .client
        .get(app.url("/static-files/lib/notebook-trace-renderer/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-frame-options"), "");
    app.cleanup().await;
}

#[tokio::test]
async fn nothing_outside_the_build_and_no_fallback_route() {
    let app = spawn_ui("").await;
    for path in [
        "/static-files/",
        "/static-files/missing.js",
        "/static-files/static",
        "/static-files/%2e%2e/secret.txt",
        "/static-files/static/%2e%2e/%2e%2e/secret.txt",
        "/static-files/..%2fsecret.txt",
        "/static-files/static%5c..%5c..%5csecret.txt",
        "/static-files//etc/passwd",
        "/static-files/%2fetc%2fpasswd",
        // A hash-routed app never asks for these; `mlflow server` 404s too.
        "/experiments/1",
        "/index.html",
        "/favicon.ico",
    ] {
        let (status, body) = app.request_raw(Method::GET, path, &[], None).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("do not serve"), "{path}: {body}");
        // The client may fold `%2e%2e` segments before sending, so a path
        // can land outside /static-files (ENDPOINT_NOT_FOUND): either way a
        // JSON 404.
        let body: Value = serde_json::from_str(&body).unwrap();
        let code = body["error_code"].as_str().unwrap_or("");
        assert!(
            ["RESOURCE_DOES_NOT_EXIST", "ENDPOINT_NOT_FOUND"].contains(&code),
            "{path}: {body}"
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn static_prefix_moves_every_route() {
    let app = spawn_ui("/mlflow").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects.get(app.url("/mlflow")).send().await.unwrap();
    assert_eq!(resp.status(), 308);
    assert_eq!(header(&resp, LOCATION), "/mlflow/");

    for path in [
        "/mlflow/",
        "/mlflow/static-files/static/js/main.0123abcd.js",
        "/mlflow/health",
        "/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0",
        "/mlflow/ajax-api/2.0/mlflow/experiments/get?experiment_id=0",
        "/mlflow/ajax-api/3.0/mlflow/server-info",
        "/mlflow/ajax-api/3.0/mlflow/ui-telemetry",
    ] {
        let (status, _) = app.request(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}");
    }
    for path in [
        "/",
        "/health",
        "/static-files/static/js/main.0123abcd.js",
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        "/mlflowx/health",
    ] {
        let (status, _) = app.request(Method::GET, path, None).await;
        assert_eq!(status, 404, "{path}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn without_a_build_the_api_still_serves_and_root_explains() {
    let app = common::spawn_app(Backend::Sqlite).await;
    let resp = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, CONTENT_TYPE), "text/plain; charset=utf-8");
    let text = resp.text().await.unwrap();
    assert!(text.contains("Unable to display MLflow UI"), "{text}");
    assert!(text.contains("scripts/setup-ui.sh"), "{text}");
    let resp = app
        .client
        .get(app.url("/static-files/static/js/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (status, _) = app.get("experiments/get?experiment_id=0").await;
    assert_eq!(status, 200);
    app.cleanup().await;
}

// ---------------------------------------------------------------------------
// UI-only routes, on both databases
// ---------------------------------------------------------------------------

async fn log_metric(app: &TestApp, run_id: &str, key: &str, value: f64, step: i64, ts: i64) {
    let (status, body) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run_id, "key": key, "value": value, "step": step, "timestamp": ts}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn history_bulk(app: &TestApp) {
    let exp = app.create_experiment("bulk").await;
    let run_b = app.create_run(&exp, "b").await;
    let run_a = app.create_run(&exp, "a").await;
    for step in 0..3 {
        log_metric(
            app,
            &run_a,
            "loss",
            1.0 / (step + 1) as f64,
            step,
            100 + step,
        )
        .await;
        log_metric(
            app,
            &run_b,
            "loss",
            2.0 / (step + 1) as f64,
            step,
            200 + step,
        )
        .await;
    }
    log_metric(app, &run_a, "other", 5.0, 0, 100).await;
    let base = "/ajax-api/2.0/mlflow/metrics/get-history-bulk";
    let (status, body) = app
        .request(
            reqwest::Method::GET,
            &format!("{base}?run_id={run_b}&run_id={run_a}&run_id=unknown&metric_key=loss"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let metrics = body["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 6, "{body}");
    // Ordered by run id, then timestamp; every point names its run.
    let mut runs: Vec<&str> = vec![&run_a, &run_b];
    runs.sort();
    for (i, m) in metrics.iter().enumerate() {
        assert_eq!(m["run_id"], runs[i / 3], "{body}");
        assert_eq!(m["key"], "loss");
        assert_eq!(m["step"], (i % 3) as i64);
    }
    let (status, body) = app
        .request(
            reqwest::Method::GET,
            &format!("{base}?run_id={run_a}&run_id={run_b}&metric_key=loss&max_results=4"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["metrics"].as_array().unwrap().len(), 4);

    for (query, message) in [
        ("metric_key=loss", "must specify at least one run_id"),
        (&*format!("run_id={run_a}"), "must specify a metric_key"),
        (
            &*format!("run_id={run_a}&metric_key=loss&max_results=x"),
            "max_results",
        ),
    ] {
        let (status, body) = app
            .request(reqwest::Method::GET, &format!("{base}?{query}"), None)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
    let many: String = (0..101).map(|i| format!("run_id=r{i}&")).collect();
    let (status, body) = app
        .request(
            reqwest::Method::GET,
            &format!("{base}?{many}metric_key=loss"),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("more than 100 run_ids"),
        "{body}"
    );
}
on_both_backends!(get_history_bulk, history_bulk);

async fn datasets(app: &TestApp) {
    let path = "/ajax-api/2.0/mlflow/experiments/search-datasets";
    let exp = app.create_experiment("with-data").await;
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            path,
            Some(json!({"experiment_ids": [exp]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({}),
        "an experiment without inputs lists nothing"
    );

    let run = app.create_run(&exp, "r").await;
    let dataset = |name: &str, digest: &str| json!({"name": name, "digest": digest, "source_type": "local", "source": "{}"});
    let (status, body) = app
        .post(
            "runs/log-inputs",
            json!({"run_id": run, "datasets": [
                {"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset("mnist", "d1")},
                {"tags": [], "dataset": dataset("extra", "d2")},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let other = app.create_experiment("other").await;
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            path,
            Some(json!({"experiment_ids": [exp, other]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"dataset_summaries": [
            {"experiment_id": exp, "name": "extra", "digest": "d2"},
            {"experiment_id": exp, "name": "mnist", "digest": "d1", "context": "training"},
        ]})
    );

    let (status, body) = app
        .request(reqwest::Method::POST, path, Some(json!({})))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("at least one experiment_id"),
        "{body}"
    );
    let ids: Vec<String> = (0..21).map(|i| i.to_string()).collect();
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            path,
            Some(json!({"experiment_ids": ids})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("more than 20"),
        "{body}"
    );
}
on_both_backends!(search_datasets, datasets);

async fn upload(app: &TestApp) {
    let exp = app.create_experiment("uploads").await;
    let run = app.create_run(&exp, "r").await;
    let upload = |query: &str, body: Vec<u8>| {
        let path = format!("/ajax-api/2.0/mlflow/upload-artifact?{query}");
        async move {
            app.request_raw(Method::POST, &path, &[], Some(body.into()))
                .await
        }
    };
    let (status, _) = upload(
        &format!("run_uuid={run}&path=notes/from-ui.txt"),
        b"written by the UI".to_vec(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .get(&format!("artifacts/list?run_id={run}&path=notes"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["files"][0]["path"], "notes/from-ui.txt", "{body}");
    let (status, text) = app
        .request_raw(
            Method::GET,
            &format!("/get-artifact?run_uuid={run}&path=notes/from-ui.txt"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(text, "written by the UI");

    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    for (query, body, status, message) in [
        ("path=a.txt".to_string(), b"x".to_vec(), 400, "run_uuid"),
        (format!("run_uuid={run}"), b"x".to_vec(), 400, "path"),
        (
            format!("run_uuid={run}&path=a.txt"),
            Vec::new(),
            400,
            "data",
        ),
        (
            format!("run_uuid={run}&path=a.txt"),
            big,
            400,
            "Max size is 10MB",
        ),
        (
            format!("run_uuid={run}&path=../escape.txt"),
            b"x".to_vec(),
            400,
            "",
        ),
        (
            format!("run_uuid={run}&path=%2e%2e%2fescape.txt"),
            b"x".to_vec(),
            400,
            "",
        ),
        (
            "run_uuid=0123456789abcdef&path=a.txt".to_string(),
            b"x".to_vec(),
            404,
            "",
        ),
    ] {
        let (got, text) = upload(&query, body).await;
        assert_eq!(got, status, "{query}");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{query}: {text}"));
        assert!(
            json["message"].as_str().unwrap().contains(message),
            "{query}: {json}"
        );
    }
    let (_, body) = app.get(&format!("artifacts/list?run_id={run}")).await;
    let names: Vec<&str> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["notes"], "nothing else was written: {body}");
}
on_both_backends!(upload_artifact, upload);

async fn genai_and_assistant_panels(app: &TestApp) {
    for (method, path, body, want) in [
        (
            Method::GET,
            "/ajax-api/2.0/mlflow/gateway-proxy?gateway_path=api/2.0/endpoints/",
            None,
            json!({"endpoints": []}),
        ),
        (
            Method::GET,
            "/ajax-api/3.0/mlflow/ui-telemetry",
            None,
            json!({"disable_ui_events": [], "disable_ui_telemetry": true, "ui_rollout_percentage": 0}),
        ),
        (
            Method::POST,
            "/ajax-api/3.0/mlflow/ui-telemetry",
            Some(json!({"records": []})),
            json!({"status": "disabled"}),
        ),
        (
            Method::GET,
            "/ajax-api/3.0/mlflow/assistant/config",
            None,
            json!({"providers": {}, "projects": {}, "remote_access_allowed": false}),
        ),
        (
            Method::GET,
            "/ajax-api/3.0/mlflow/assistant/providers",
            None,
            json!({"providers": []}),
        ),
        (
            Method::POST,
            "/ajax-api/3.0/mlflow/traces/search",
            Some(json!({"max_results": 25})),
            json!({}),
        ),
        (
            Method::POST,
            "/ajax-api/3.0/mlflow/traces/metrics",
            Some(json!({})),
            json!({}),
        ),
        (
            Method::POST,
            "/ajax-api/3.0/mlflow/datasets/search",
            Some(json!({"experiment_ids": ["0"]})),
            json!({}),
        ),
    ] {
        let (status, got) = app.request(method, path, body).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(got, want, "{path}");
    }
    // Without basic auth there is no current user, as in `mlflow server`.
    let (status, _) = app
        .request(Method::GET, "/ajax-api/2.0/mlflow/users/current", None)
        .await;
    assert_eq!(status, 404);
}
on_both_backends!(ui_panels, genai_and_assistant_panels);
