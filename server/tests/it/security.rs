//! MLflow's security middleware: the Host check, CORS, cross-origin writes
//! and the security headers, with the defaults and with each flag, as
//! `mlflow server` 3.17.2 answers (values measured on the reference, see
//! compat-tests/test_security_middleware.py).

use crate::common::{self, Backend, TestApp};
use ferroflow::security::SecuritySettings;
use reqwest::Method;

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_the_allowed_list_are_refused_before_any_handler() {
    let app = common::spawn_app(Backend::Sqlite).await;
    let search = "/api/2.0/mlflow/experiments/search?max_results=1";
    for host in [
        "evil.example.com",
        "evil.example.com:5000",
        "localhost.evil.com",
        "8.8.8.8",
    ] {
        let resp = send(&app, Method::GET, search, &[("Host", host)]).await;
        assert_eq!(resp.status(), 403, "{host}");
        assert_eq!(header(&resp, "content-type").as_deref(), Some("text/plain"));
        assert_eq!(
            resp.text().await.unwrap(),
            "Invalid Host header - possible DNS rebinding attack detected"
        );
    }
    for host in [
        "localhost:5000",
        "127.0.0.1",
        "[::1]:80",
        "10.0.0.7:5000",
        "192.168.1.2",
        "172.20.0.1:1",
    ] {
        let resp = send(&app, Method::GET, search, &[("Host", host)]).await;
        assert_eq!(resp.status(), 200, "{host}");
    }
    // Health checks come from anywhere (load balancers use their own names).
    let resp = send(
        &app,
        Method::GET,
        "/health",
        &[("Host", "evil.example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let resp = send(
        &app,
        Method::GET,
        "/version",
        &[("Host", "evil.example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Unknown paths are refused too.
    let resp = send(&app, Method::GET, "/nope", &[("Host", "evil.example.com")]).await;
    assert_eq!(resp.status(), 403);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_replace_the_default_list() {
    let app = common::spawn_app_with(Backend::Sqlite, |s, _| {
        s.security = SecuritySettings::from_flags(
            false,
            Some("mlflow.team.io,*.internal"),
            None,
            "SAMEORIGIN",
        );
    })
    .await;
    let path = "/api/2.0/mlflow/experiments/search?max_results=1";
    assert_eq!(
        send(&app, Method::GET, path, &[("Host", "mlflow.team.io")])
            .await
            .status(),
        200
    );
    assert_eq!(
        send(&app, Method::GET, path, &[("Host", "a.internal")])
            .await
            .status(),
        200
    );
    // Exact entries are exact: the port is part of the Host.
    assert_eq!(
        send(&app, Method::GET, path, &[("Host", "mlflow.team.io:5000")])
            .await
            .status(),
        403
    );
    assert_eq!(
        send(&app, Method::GET, path, &[("Host", "localhost")])
            .await
            .status(),
        403
    );
    app.cleanup().await;
    let app = common::spawn_app_with(Backend::Sqlite, |s, _| {
        s.security = SecuritySettings::from_flags(false, Some("*"), None, "SAMEORIGIN");
    })
    .await;
    assert_eq!(
        send(&app, Method::GET, path, &[("Host", "evil.example.com")])
            .await
            .status(),
        200
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_answer() {
    let app = common::spawn_app(Backend::Sqlite).await;
    for path in [
        "/api/2.0/mlflow/experiments/search?max_results=1",
        "/health",
        "/nope",
    ] {
        let resp = send(&app, Method::GET, path, &[]).await;
        assert_eq!(
            header(&resp, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header(&resp, "x-frame-options").as_deref(),
            Some("SAMEORIGIN"),
            "{path}"
        );
    }
    app.cleanup().await;
    for (flag, expected) in [("deny", Some("DENY")), ("NONE", None)] {
        let app = common::spawn_app_with(Backend::Sqlite, move |s, _| {
            s.security = SecuritySettings::from_flags(false, None, None, flag);
        })
        .await;
        let resp = send(&app, Method::GET, "/health", &[]).await;
        assert_eq!(header(&resp, "x-frame-options").as_deref(), expected);
        app.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_local_origins_and_blocks_cross_origin_writes() {
    let app = common::spawn_app(Backend::Sqlite).await;
    let create = "/api/2.0/mlflow/experiments/create";
    // Preflight from a local origin: 200 OK with the credentialed headers.
    let resp = send(
        &app,
        Method::OPTIONS,
        create,
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("http://localhost:3000")
    );
    assert_eq!(
        header(&resp, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&resp, "access-control-allow-headers").as_deref(),
        Some("content-type")
    );
    assert_eq!(resp.text().await.unwrap(), "OK");
    // Preflight from elsewhere: 400, no allow-origin.
    let resp = send(
        &app,
        Method::OPTIONS,
        create,
        &[
            ("Origin", "http://evil.example.com"),
            ("Access-Control-Request-Method", "POST"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    assert_eq!(resp.text().await.unwrap(), "Disallowed CORS origin");
    // A cross-origin write is refused whatever its content type (a simple
    // form post included); the experiment is not created.
    for content_type in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
    ] {
        let resp = app
            .client
            .post(app.url(create))
            .header("Origin", "http://evil.example.com")
            .header("Content-Type", content_type)
            .body(r#"{"name": "csrf"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{content_type}");
        assert_eq!(resp.text().await.unwrap(), "Cross-origin request blocked");
    }
    let (status, body) = app
        .get("experiments/get-by-name?experiment_name=csrf")
        .await;
    assert_eq!(status, 404, "{body}");
    // Reads from elsewhere go through, without an allow-origin for the
    // browser; local origins get theirs.
    let search = "/api/2.0/mlflow/experiments/search?max_results=1";
    let resp = send(
        &app,
        Method::GET,
        search,
        &[("Origin", "http://evil.example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), None);
    let resp = send(
        &app,
        Method::GET,
        search,
        &[("Origin", "http://127.0.0.1:8080")],
    )
    .await;
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    // Same-origin writes (no Origin, or a local one) work.
    let (status, _) = app
        .post("experiments/create", serde_json::json!({"name": "ok"}))
        .await;
    assert_eq!(status, 200);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_origins_and_the_switch_off() {
    let app = common::spawn_app_with(Backend::Sqlite, |s, _| {
        s.security =
            SecuritySettings::from_flags(false, None, Some("https://app.team.io"), "SAMEORIGIN");
    })
    .await;
    let resp = app
        .client
        .post(app.url("/api/2.0/mlflow/experiments/create"))
        .header("Origin", "https://app.team.io")
        .header("Content-Type", "application/json")
        .body(r#"{"name": "from-app"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        header(&resp, "access-control-allow-origin").as_deref(),
        Some("https://app.team.io")
    );
    app.cleanup().await;
    let app = common::spawn_app_with(Backend::Sqlite, |s, _| {
        s.security = SecuritySettings::from_flags(true, None, None, "SAMEORIGIN");
    })
    .await;
    let resp = send(
        &app,
        Method::GET,
        "/api/2.0/mlflow/experiments/search?max_results=1",
        &[("Host", "evil.example.com")],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-frame-options"), None);
    app.cleanup().await;
}
