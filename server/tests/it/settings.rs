//! The policies `mlflow server` reads from environment variables are
//! settings here: set in `config::Settings` (the CLI fills them from the
//! same variables), they change what the handlers do; the CLI refuses a bad
//! value at start-up.

use crate::common;

use common::Backend;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_values_are_truncated_by_default_and_refused_when_truncation_is_off() {
    let app = common::spawn_app(Backend::Sqlite).await;
    let exp = app.create_experiment("truncating").await;
    let run_id = app.create_run(&exp, "r").await;
    let long = "v".repeat(6001);
    let (status, body) = app
        .post(
            "runs/log-parameter",
            json!({"run_id": run_id, "key": "p", "value": long}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, run) = app.get(&format!("runs/get?run_id={run_id}")).await;
    let stored = run["run"]["data"]["params"][0]["value"]
        .as_str()
        .expect("param value");
    assert_eq!(stored.len(), 6000);
    app.cleanup().await;

    let app = common::spawn_app_with(Backend::Sqlite, |settings, _| {
        settings.limits.truncate_long_values = false;
    })
    .await;
    let exp = app.create_experiment("strict").await;
    let run_id = app.create_run(&exp, "r").await;
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "params": [{"key": "p", "value": long}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert_eq!(
        body["message"],
        "'Param value' exceeds the maximum length of 6000 characters"
    );
    let (status, body) = app
        .post(
            "runs/set-tag",
            json!({"run_id": run_id, "key": "t", "value": "x".repeat(8001)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "'value' exceeds the maximum length of 8000 characters"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_location_length_and_graphql_caps_come_from_the_settings() {
    let app = common::spawn_app_with(Backend::Sqlite, |settings, _| {
        settings.limits.artifact_location_max_length = 40;
        settings.limits.graphql_max_root_fields = 2;
    })
    .await;
    let (status, body) = app
        .post(
            "experiments/create",
            json!({"name": "e", "artifact_location": format!("mlflow-artifacts:/{}", "a".repeat(40))}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("cannot be greater than 40 characters"),
        "{body}"
    );
    let (status, body) = app
        .request(
            reqwest::Method::POST,
            "/graphql",
            Some(json!({"query": "query { a: test(inputString: \"x\") { output } b: test(inputString: \"y\") { output } c: test(inputString: \"z\") { output } }"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["errors"][0],
        "GraphQL queries should have at most 2 root fields, got 3 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable."
    );
    app.cleanup().await;
}

/// The CLI reads the variables once and refuses a value MLflow would
/// refuse, instead of failing requests later.
#[test]
fn the_cli_refuses_a_bad_boolean_at_start_up() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferroflow"))
        .args(["server", "--port", "0"])
        .env("MLFLOW_TRUNCATE_LONG_VALUES", "sometimes")
        .output()
        .expect("run ferroflow");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MLFLOW_TRUNCATE_LONG_VALUES") || stderr.contains("--truncate-long-values"),
        "{stderr}"
    );
    assert!(stderr.contains("sometimes"), "{stderr}");
}
