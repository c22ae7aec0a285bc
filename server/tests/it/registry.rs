//! HTTP-level tests of the model registry (`registered-models/*`,
//! `model-versions/*`, `GET /model-versions/get-artifact`) against the real
//! app, on SQLite and PostgreSQL. Each test body runs once per backend with a
//! fresh database.

use crate::common;

use common::TestApp;
use ferroflow::config::DatabaseUri;
use serde_json::{json, Value};
use sqlx::Connection;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .request(method, app.url(&format!("/api/2.0/mlflow/{path}")))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn patch(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::PATCH, path, body).await
}

async fn delete(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::DELETE, path, body).await
}

fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn create_model(app: &TestApp, name: &str) {
    let (status, body) = app
        .post("registered-models/create", json!({"name": name}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A run in a fresh experiment; returns (experiment id, run id).
async fn new_run(app: &TestApp, experiment: &str) -> (String, String) {
    let exp = app.create_experiment(experiment).await;
    let run = app.create_run(&exp, "r").await;
    (exp, run)
}

/// Registers a version from the run's `model` directory (the 2.x flow).
async fn create_version(app: &TestApp, name: &str, exp: &str, run: &str) -> Value {
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({
                "name": name,
                "source": format!("mlflow-artifacts:/{exp}/{run}/artifacts/model"),
                "run_id": run,
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["model_version"].clone()
}

fn assert_error(result: (u16, Value), status: u16, code: &str, message: &str) {
    let (s, body) = result;
    assert_eq!(s, status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(body["message"], message, "{body}");
}

fn assert_code(result: (u16, Value), status: u16, code: &str) {
    let (s, body) = result;
    assert_eq!(
        (s, body["error_code"].as_str()),
        (status, Some(code)),
        "{body}"
    );
}

async fn db(app: &TestApp) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = DatabaseUri::parse(&app.db_uri)
        .expect("db uri")
        .connection_url();
    sqlx::AnyConnection::connect(&url)
        .await
        .expect("connect to the test database")
}

/// Inserts a logged model (the 3.x client creates one through the
/// logged-models API before registering it).
async fn insert_logged_model(app: &TestApp, exp: &str, run: &str) -> (String, String) {
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let location = format!("mlflow-artifacts:/{exp}/models/{model_id}/artifacts");
    let mut conn = db(app).await;
    sqlx::query(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
         creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, \
         source_run_id) VALUES ($1, $2, 'lm', $3, 1, 1, 2, 'active', '', $4)",
    )
    .bind(&model_id)
    .bind(exp.parse::<i64>().expect("numeric experiment id"))
    .bind(&location)
    .bind(run)
    .execute(&mut conn)
    .await
    .expect("insert logged model");
    conn.close().await.ok();
    (model_id, location)
}

fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn versions(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["version"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// registered models
// ---------------------------------------------------------------------------

async fn registered_models(app: &TestApp) {
    // Create with tags and description: MLflow's shape (P78).
    let (status, body) = app
        .post(
            "registered-models/create",
            json!({"name": "m1", "tags": [{"key": "k", "value": "v"}], "description": "d"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let m = &body["registered_model"];
    assert_eq!(m["name"], "m1");
    assert_eq!(m["description"], "d");
    assert_eq!(m["tags"], json!([{"key": "k", "value": "v"}]));
    assert!(m["creation_timestamp"].is_i64());
    assert_eq!(m["creation_timestamp"], m["last_updated_timestamp"]);
    assert!(
        m.get("latest_versions").is_none() && m.get("aliases").is_none(),
        "{m}"
    );

    // Without a description there is no `description` key (#17).
    let (_, body) = app
        .post("registered-models/create", json!({"name": "plain"}))
        .await;
    let keys: Vec<&String> = body["registered_model"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["name", "creation_timestamp", "last_updated_timestamp"]
    );

    assert_error(
        app.post("registered-models/create", json!({"name": "m1"}))
            .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Registered Model (name=m1) already exists.",
    );
    assert_error(
        app.post("registered-models/create", json!({"name": "a/b"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid model name 'a/b'. Names cannot contain '/' or ':'.",
    );
    assert_error(
        app.post("registered-models/create", json!({})).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
    );
    assert_code(
        app.post(
            "registered-models/create",
            json!({"name": "t", "tags": [{"key": "../x", "value": "v"}]}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    // Get, unknown → 404 (P94).
    let (status, body) = app.get("registered-models/get?name=m1").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["registered_model"]["tags"],
        json!([{"key": "k", "value": "v"}])
    );
    assert_error(
        app.get("registered-models/get?name=nope").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=nope not found",
    );

    // Update: the description changes, the timestamp moves.
    let (status, body) = patch(
        app,
        "registered-models/update",
        json!({"name": "m1", "description": "new"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["registered_model"]["description"], "new");
    assert_code(
        patch(
            app,
            "registered-models/update",
            json!({"name": "zz", "description": "x"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Tags: set (overwrite), delete (missing tag is fine), unknown model 404.
    let (status, _) = app
        .post(
            "registered-models/set-tag",
            json!({"name": "m1", "key": "k", "value": "v2"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "registered-models/set-tag",
            json!({"name": "m1", "key": "task", "value": "cls"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get("registered-models/get?name=m1").await;
    assert_eq!(
        body["registered_model"]["tags"],
        json!([{"key": "k", "value": "v2"}, {"key": "task", "value": "cls"}])
    );
    let (status, body) = delete(
        app,
        "registered-models/delete-tag",
        json!({"name": "m1", "key": "k"}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, _) = delete(
        app,
        "registered-models/delete-tag",
        json!({"name": "m1", "key": "nope"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_error(
        delete(
            app,
            "registered-models/delete-tag",
            json!({"name": "zz", "key": "k"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=zz not found",
    );
    assert_error(
        app.post(
            "registered-models/set-tag",
            json!({"name": "zz", "key": "k", "value": "v"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Registered Model with name=zz not found",
    );

    // Rename carries versions, tags and aliases along.
    let (exp, run) = new_run(app, "e").await;
    create_version(app, "m1", &exp, &run).await;
    let (status, _) = app
        .post(
            "registered-models/alias",
            json!({"name": "m1", "alias": "champ", "version": "1"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            "registered-models/rename",
            json!({"name": "m1", "new_name": "m1-r"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let m = &body["registered_model"];
    assert_eq!(m["name"], "m1-r");
    assert_eq!(m["latest_versions"][0]["name"], "m1-r");
    assert_eq!(
        m["latest_versions"][0]["last_updated_timestamp"],
        m["last_updated_timestamp"]
    );
    assert_eq!(m["tags"], json!([{"key": "task", "value": "cls"}]));
    assert_eq!(m["aliases"], json!([{"alias": "champ", "version": "1"}]));
    let (status, body) = app.get("model-versions/get?name=m1-r&version=1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["aliases"], json!(["champ"]));
    assert_code(
        app.get("registered-models/get?name=m1").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_error(
        app.post(
            "registered-models/rename",
            json!({"name": "m1-r", "new_name": "plain"}),
        )
        .await,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Registered Model (name=plain) already exists.",
    );
    assert_code(
        app.post(
            "registered-models/rename",
            json!({"name": "nope", "new_name": "x"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_error(
        app.post("registered-models/rename", json!({"name": "m1-r"})).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Missing value for required parameter 'new_name'. See the API docs for more information about request parameters.",
    );

    // Hard delete: model, versions, tags and aliases go; the name is free and
    // numbering starts again.
    let (status, body) = delete(app, "registered-models/delete", json!({"name": "m1-r"})).await;
    assert_eq!((status, &body), (200, &json!({})));
    assert_code(
        app.get("registered-models/get?name=m1-r").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, body) = app
        .get(&format!(
            "model-versions/search?filter={}",
            q("name='m1-r'")
        ))
        .await;
    assert_eq!(body, json!({}));
    assert_code(
        delete(app, "registered-models/delete", json!({"name": "m1-r"})).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    create_model(app, "m1-r").await;
    let mv = create_version(app, "m1-r", &exp, &run).await;
    assert_eq!(mv["version"], "1");
    let (_, body) = app.get("registered-models/get?name=m1-r").await;
    assert!(body["registered_model"].get("tags").is_none(), "{body}");
    assert!(body["registered_model"].get("aliases").is_none(), "{body}");

    // The UI's prefix answers the same.
    let resp = app
        .client
        .get(app.url("/ajax-api/2.0/mlflow/registered-models/get?name=plain"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
}

on_both_backends!(registered_model_crud, registered_models);

// ---------------------------------------------------------------------------
// model versions
// ---------------------------------------------------------------------------

async fn model_versions(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    create_model(app, "mv").await;
    let source = format!("mlflow-artifacts:/{exp}/{run}/artifacts/model");
    let v1 = create_version(app, "mv", &exp, &run).await;
    // The response of MLflow's create (P80), field for field.
    let keys: Vec<&String> = v1.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "name",
            "version",
            "creation_timestamp",
            "last_updated_timestamp",
            "current_stage",
            "description",
            "source",
            "run_id",
            "status",
            "run_link"
        ]
    );
    assert_eq!(v1["version"], "1");
    assert_eq!(v1["current_stage"], "None");
    assert_eq!(v1["description"], "");
    assert_eq!(v1["run_link"], "");
    assert_eq!(v1["status"], "READY");
    assert_eq!(v1["source"], source.as_str());
    assert_eq!(v1["run_id"], run.as_str());

    // Tags, description and run_link at creation.
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "mv", "source": source, "run_id": run, "description": "two",
                   "run_link": "http://x/run", "tags": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let v2 = &body["model_version"];
    assert_eq!(v2["version"], "2");
    assert_eq!(v2["description"], "two");
    assert_eq!(v2["run_link"], "http://x/run");
    assert_eq!(v2["tags"], json!([{"key": "a", "value": "2"}]));

    // Creating a version touches the model's timestamp.
    let (_, body) = app.get("registered-models/get?name=mv").await;
    assert_eq!(
        body["registered_model"]["last_updated_timestamp"],
        v2["creation_timestamp"]
    );
    assert_eq!(
        versions(&body["registered_model"]["latest_versions"]),
        ["2"]
    );

    // Get; bad and missing versions (P83, P84).
    let (status, body) = app.get("model-versions/get?name=mv&version=1").await;
    assert_eq!(status, 200);
    assert_eq!(body["model_version"], v1);
    assert_error(
        app.get("model-versions/get?name=mv&version=x").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Parameter 'version' must be an integer, got 'x'.",
    );
    assert_error(
        app.get("model-versions/get?name=mv&version=99").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=mv, version=99) not found",
    );
    assert_code(
        app.post(
            "model-versions/create",
            json!({"name": "nope", "source": source, "run_id": run}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_code(
        app.post("model-versions/create", json!({"name": "mv", "source": source, "run_id": run, "tags": [{"key": "a", "value": 1}]}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    // Update: with a description, then without one (MLflow clears it).
    let (status, body) = patch(
        app,
        "model-versions/update",
        json!({"name": "mv", "version": "1", "description": "first cut"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["description"], "first cut");
    assert!(
        body["model_version"]["last_updated_timestamp"].as_i64()
            >= v1["last_updated_timestamp"].as_i64()
    );
    let (_, body) = patch(
        app,
        "model-versions/update",
        json!({"name": "mv", "version": "1"}),
    )
    .await;
    assert!(body["model_version"].get("description").is_none(), "{body}");

    // Version tags (#28); deleting a missing tag is fine (P99).
    let (status, _) = app
        .post(
            "model-versions/set-tag",
            json!({"name": "mv", "version": "1", "key": "validated", "value": "true"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get("model-versions/get?name=mv&version=1").await;
    assert_eq!(
        body["model_version"]["tags"],
        json!([{"key": "validated", "value": "true"}])
    );
    let (status, body) = delete(
        app,
        "model-versions/delete-tag",
        json!({"name": "mv", "version": "1", "key": "nope"}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, _) = delete(
        app,
        "model-versions/delete-tag",
        json!({"name": "mv", "version": "1", "key": "validated"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = app.get("model-versions/get?name=mv&version=1").await;
    assert!(body["model_version"].get("tags").is_none(), "{body}");
    assert_code(
        app.post(
            "model-versions/set-tag",
            json!({"name": "mv", "version": "9", "key": "k", "value": "v"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    // Download URI = storage location (= the source here, P97).
    let (status, body) = app
        .get("model-versions/get-download-uri?name=mv&version=2")
        .await;
    assert_eq!((status, &body), (200, &json!({"artifact_uri": source})));
    assert_error(
        app.get("model-versions/get-download-uri?name=mv").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Parameter 'version' must be an integer, got ''.",
    );

    // Soft delete: hidden from reads, numbering never reuses a version.
    let (status, body) = delete(
        app,
        "model-versions/delete",
        json!({"name": "mv", "version": "2"}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    assert_code(
        app.get("model-versions/get?name=mv&version=2").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_code(
        app.get("model-versions/get-download-uri?name=mv&version=2")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_code(
        delete(
            app,
            "model-versions/delete",
            json!({"name": "mv", "version": "2"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, body) = app.get("registered-models/get?name=mv").await;
    assert_eq!(
        versions(&body["registered_model"]["latest_versions"]),
        ["1"]
    );
    let v3 = create_version(app, "mv", &exp, &run).await;
    assert_eq!(v3["version"], "3");
    // Deleting the newest version still counts it.
    delete(
        app,
        "model-versions/delete",
        json!({"name": "mv", "version": "3"}),
    )
    .await;
    assert_eq!(create_version(app, "mv", &exp, &run).await["version"], "4");
    // MLflow redacts the deleted row but keeps it (and its tags).
    let mut conn = db(app).await;
    let row: (String, String, String) = sqlx::query_as(
        "SELECT current_stage, source, run_id FROM model_versions WHERE name = 'mv' AND version = 2",
    )
    .fetch_one(&mut conn)
    .await
    .expect("deleted row kept");
    assert_eq!(
        row,
        (
            "Deleted_Internal".into(),
            "REDACTED-SOURCE-PATH".into(),
            "REDACTED-RUN-ID".into()
        )
    );
    conn.close().await.ok();
}

on_both_backends!(model_version_lifecycle, model_versions);

/// Concurrent registrations of one model get distinct, gap-free numbers.
async fn concurrent_versions(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    create_model(app, "busy").await;
    let calls = (0..8).map(|_| create_version(app, "busy", &exp, &run));
    let mut got: Vec<i64> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|v| v["version"].as_str().unwrap().parse().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, (1..=8).collect::<Vec<i64>>());
}

on_both_backends!(model_version_concurrency, concurrent_versions);

// ---------------------------------------------------------------------------
// aliases
// ---------------------------------------------------------------------------

async fn aliases(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    create_model(app, "am").await;
    for _ in 0..3 {
        create_version(app, "am", &exp, &run).await;
    }
    let (status, body) = app
        .post(
            "registered-models/alias",
            json!({"name": "am", "alias": "prod", "version": "2"}),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, body) = app.get("registered-models/alias?name=am&alias=prod").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["version"], "2");
    assert_eq!(body["model_version"]["aliases"], json!(["prod"]));

    // Setting it again moves it.
    app.post(
        "registered-models/alias",
        json!({"name": "am", "alias": "prod", "version": "3"}),
    )
    .await;
    app.post(
        "registered-models/alias",
        json!({"name": "am", "alias": "beta", "version": "3"}),
    )
    .await;
    let (_, body) = app.get("registered-models/alias?name=am&alias=prod").await;
    assert_eq!(body["model_version"]["version"], "3");
    assert_eq!(body["model_version"]["aliases"], json!(["beta", "prod"]));
    let (_, body) = app.get("model-versions/get?name=am&version=2").await;
    assert!(body["model_version"].get("aliases").is_none(), "{body}");
    let (_, body) = app.get("registered-models/get?name=am").await;
    assert_eq!(
        body["registered_model"]["aliases"],
        json!([{"alias": "beta", "version": "3"}, {"alias": "prod", "version": "3"}])
    );
    // Latest versions of a registered model carry no aliases (as in MLflow).
    assert!(body["registered_model"]["latest_versions"][0]
        .get("aliases")
        .is_none());

    // Reserved and malformed names (P86, P87).
    assert_error(
        app.post(
            "registered-models/alias",
            json!({"name": "am", "alias": "latest", "version": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "'latest' alias name (case insensitive) is reserved.",
    );
    assert_error(
        app.post(
            "registered-models/alias",
            json!({"name": "am", "alias": "v1", "version": "1"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Version alias name 'v1' is reserved.",
    );
    assert_error(
        app.post("registered-models/alias", json!({"name": "am", "alias": "bad alias", "version": "1"}))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid alias name: 'bad alias'. Names may only contain alphanumerics, underscores (_), and dashes (-).",
    );
    assert_error(
        app.post(
            "registered-models/alias",
            json!({"name": "am", "alias": "x", "version": "one"}),
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Parameter 'version' must be an integer, got 'one'.",
    );
    assert_error(
        app.post(
            "registered-models/alias",
            json!({"name": "am", "alias": "x", "version": "99"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=am, version=99) not found",
    );
    // Unknown alias → 400, not 404 (P89).
    assert_error(
        app.get("registered-models/alias?name=am&alias=nope").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Registered model alias nope not found.",
    );
    assert_code(
        app.get("registered-models/alias?name=zz&alias=prod").await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    // `latest` is the highest live version.
    let (status, body) = app
        .get("registered-models/alias?name=am&alias=Latest")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["version"], "3");

    // Deleting a version removes the aliases pointing at it.
    delete(
        app,
        "model-versions/delete",
        json!({"name": "am", "version": "3"}),
    )
    .await;
    assert_error(
        app.get("registered-models/alias?name=am&alias=prod").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Registered model alias prod not found.",
    );
    let (_, body) = app.get("registered-models/get?name=am").await;
    assert!(body["registered_model"].get("aliases").is_none(), "{body}");
    let (_, body) = app
        .get("registered-models/alias?name=am&alias=latest")
        .await;
    assert_eq!(body["model_version"]["version"], "2");

    // Delete (DELETE with a JSON body, #36); a missing alias is fine.
    app.post(
        "registered-models/alias",
        json!({"name": "am", "alias": "c", "version": "1"}),
    )
    .await;
    let (status, body) = delete(
        app,
        "registered-models/alias",
        json!({"name": "am", "alias": "c"}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, _) = delete(
        app,
        "registered-models/alias",
        json!({"name": "am", "alias": "c"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_code(
        app.get("registered-models/alias?name=am&alias=c").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        delete(
            app,
            "registered-models/alias",
            json!({"name": "zz", "alias": "c"}),
        )
        .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

on_both_backends!(registered_model_aliases, aliases);

// ---------------------------------------------------------------------------
// stages
// ---------------------------------------------------------------------------

async fn stages(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    create_model(app, "sm").await;
    for _ in 0..4 {
        create_version(app, "sm", &exp, &run).await;
    }
    let transition = |version: &str, stage: &str, archive: bool| {
        app.post(
            "model-versions/transition-stage",
            json!({"name": "sm", "version": version, "stage": stage, "archive_existing_versions": archive}),
        )
    };
    let (status, body) = transition("1", "staging", false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["current_stage"], "Staging");
    let (_, body) = transition("2", "PRODUCTION", false).await;
    assert_eq!(body["model_version"]["current_stage"], "Production");
    let (_, body) = transition("3", "Production", false).await;
    assert_eq!(body["model_version"]["current_stage"], "Production");

    // Latest per stage (P92): None → 4, Staging → 1, Production → 3.
    let (status, body) = app
        .get("registered-models/get-latest-versions?name=sm")
        .await;
    assert_eq!(status, 200, "{body}");
    let mut latest: Vec<(String, String)> = body["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["current_stage"].as_str().unwrap().into(),
                v["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    latest.sort();
    assert_eq!(
        latest,
        [
            ("None".to_string(), "4".to_string()),
            ("Production".into(), "3".into()),
            ("Staging".into(), "1".into())
        ]
    );
    let (status, body) = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "sm", "stages": ["production"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(versions(&body["model_versions"]), ["3"]);
    let (_, body) = app
        .get("registered-models/get-latest-versions?name=sm&stages=Staging&stages=None")
        .await;
    let mut v = versions(&body["model_versions"]);
    v.sort();
    assert_eq!(v, ["1", "4"]);
    let (_, body) = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "sm", "stages": ["Archived"]}),
        )
        .await;
    assert_eq!(body, json!({}));
    assert_error(
        app.get("registered-models/get-latest-versions?name=sm&stages=bogus").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.",
    );
    assert_code(
        app.get("registered-models/get-latest-versions?name=zz")
            .await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    // get-latest-versions fills in aliases.
    app.post(
        "registered-models/alias",
        json!({"name": "sm", "alias": "champ", "version": "3"}),
    )
    .await;
    let (_, body) = app
        .post(
            "registered-models/get-latest-versions",
            json!({"name": "sm", "stages": ["Production"]}),
        )
        .await;
    assert_eq!(body["model_versions"][0]["aliases"], json!(["champ"]));

    // archive_existing_versions: the other Production versions are archived.
    let (status, body) = transition("4", "Production", true).await;
    assert_eq!(status, 200, "{body}");
    for (version, stage) in [
        ("1", "Staging"),
        ("2", "Archived"),
        ("3", "Archived"),
        ("4", "Production"),
    ] {
        let (_, body) = app
            .get(&format!("model-versions/get?name=sm&version={version}"))
            .await;
        assert_eq!(
            body["model_version"]["current_stage"], stage,
            "version {version}"
        );
    }
    let (_, body) = app.get("registered-models/get?name=sm").await;
    let mut latest = versions(&body["registered_model"]["latest_versions"]);
    latest.sort();
    assert_eq!(latest, ["1", "3", "4"]);

    // Bad stages and archiving from a non-active stage.
    assert_error(
        transition("1", "bogus", false).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid Model Version stage: bogus. Value must be one of None, Staging, Production, Archived.",
    );
    assert_error(
        transition("1", "None", true).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Model version transition cannot archive existing model versions because 'None' is not an Active stage. Valid stages are ['Staging', 'Production']",
    );
    assert_code(
        transition("9", "Staging", false).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    // archive_existing_versions may be left out.
    let (status, body) = app
        .post(
            "model-versions/transition-stage",
            json!({"name": "sm", "version": "1", "stage": "archived"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["current_stage"], "Archived");
}

on_both_backends!(stage_transitions, stages);

// ---------------------------------------------------------------------------
// sources
// ---------------------------------------------------------------------------

async fn sources(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    let (_, other_run) = new_run(app, "e2").await;
    create_model(app, "src").await;
    let create = |source: String, run_id: Option<&str>, model_id: Option<&str>| {
        let mut body = json!({"name": "src", "source": source});
        if let Some(r) = run_id {
            body["run_id"] = json!(r);
        }
        if let Some(m) = model_id {
            body["model_id"] = json!(m);
        }
        app.post("model-versions/create", body)
    };
    let local_msg = |s: &str| {
        format!(
            "Invalid model version source: '{s}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id."
        )
    };
    let relative_msg = |s: &str| {
        format!(
            "Invalid model version source: '{s}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path."
        )
    };
    let run_msg = |s: &str| {
        format!(
            "Invalid model version source: '{s}'. The run_id request parameter must identify the resource that contains the source."
        )
    };
    let model_msg = |s: &str| {
        format!(
            "Invalid model version source: '{s}'. The model_id request parameter must identify the resource that contains the source."
        )
    };

    // Local paths, file://, scheme-less hosts.
    for s in [
        "/etc/passwd",
        "file:///etc/passwd",
        "//evil-host/share/model",
        "relative/model",
    ] {
        assert_error(
            create(s.into(), Some(run.as_str()), None).await,
            400,
            "INVALID_PARAMETER_VALUE",
            &local_msg(s),
        );
    }
    // Path traversal, also percent-encoded.
    let traversal = [
        format!("mlflow-artifacts:/{exp}/{run}/artifacts/../../../x"),
        format!("mlflow-artifacts:/{exp}/{run}/artifacts/%2E%2E/%2E%2E/x"),
        "s3://bucket/a/../b".to_string(),
    ];
    for s in traversal {
        assert_error(
            create(s.clone(), Some(run.as_str()), None).await,
            400,
            "INVALID_PARAMETER_VALUE",
            &relative_msg(&s),
        );
    }
    // Proxied artifacts need the run that holds them.
    let in_run = format!("mlflow-artifacts:/{exp}/{run}/artifacts/model");
    assert_error(
        create(in_run.clone(), None, None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &run_msg(&in_run),
    );
    assert_error(
        create(in_run.clone(), Some(other_run.as_str()), None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &run_msg(&in_run),
    );
    assert_error(
        create(
            in_run.clone(),
            Some("0123456789abcdef0123456789abcdef"),
            None,
        )
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
        &run_msg(&in_run),
    );
    // runs:/ must name the given run.
    let runs_uri = format!("runs:/{run}/model");
    assert_error(
        create(runs_uri.clone(), None, None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &run_msg(&runs_uri),
    );
    assert_error(
        create(runs_uri.clone(), Some(other_run.as_str()), None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &run_msg(&runs_uri),
    );
    // models:/<model_id> needs the model_id.
    assert_error(
        create("models:/m-123".into(), None, None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &model_msg("models:/m-123"),
    );
    // Remote URIs outside the artifact root, and hosts the server would
    // connect to.
    assert_code(
        create("s3://elsewhere/model".into(), Some(run.as_str()), None).await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let (_, body) = create("http://169.254.169.254/latest/meta-data".into(), None, None).await;
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("'source' cannot use the 'http' scheme"),
        "{body}"
    );
    // Nothing was registered by the refused calls.
    let (_, body) = app.get("registered-models/get?name=src").await;
    assert!(
        body["registered_model"].get("latest_versions").is_none(),
        "{body}"
    );

    // Accepted: proxied artifacts of the run, runs:/ of the run.
    let v1 = create(in_run.clone(), Some(run.as_str()), None).await;
    assert_eq!(v1.0, 200, "{}", v1.1);
    let v2 = create(runs_uri.clone(), Some(run.as_str()), None).await;
    assert_eq!(v2.0, 200, "{}", v2.1);
    assert_eq!(v2.1["model_version"]["source"], runs_uri.as_str());

    // The 3.x flow (#18): source models:/<model_id> + model_id.
    let (model_id, location) = insert_logged_model(app, &exp, &run).await;
    let (status, body) = create(format!("models:/{model_id}"), None, Some(model_id.as_str())).await;
    assert_eq!(status, 200, "{body}");
    let mv = &body["model_version"];
    assert_eq!(mv["version"], "3");
    assert_eq!(mv["source"], format!("models:/{model_id}"));
    assert_eq!(mv["run_id"], run.as_str(), "run id from the logged model");
    assert!(
        mv.get("model_id").is_none(),
        "MLflow does not return model_id: {mv}"
    );
    let (_, body) = app
        .get("model-versions/get-download-uri?name=src&version=3")
        .await;
    assert_eq!(body["artifact_uri"], location.as_str());
    // Files under the logged model's location, with the model id.
    let under_model = format!("{location}/sub");
    let (status, body) = create(under_model.clone(), None, Some(model_id.as_str())).await;
    assert_eq!(status, 200, "{body}");
    assert_error(
        create(in_run.clone(), None, Some(model_id.as_str())).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &model_msg(&in_run),
    );
    assert_error(
        create(format!("models:/{model_id}"), None, Some("m-other")).await,
        400,
        "INVALID_PARAMETER_VALUE",
        &model_msg(&format!("models:/{model_id}")),
    );
    assert_code(
        create("models:/m-missing".into(), None, Some("m-missing")).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    // The logged model lists its registrations (MLflow's
    // `mlflow.modelVersions` tag, Python `json.dumps`).
    let mut conn = db(app).await;
    let tag: String = sqlx::query_scalar(
        "SELECT tag_value FROM logged_model_tags WHERE model_id = $1 AND tag_key = 'mlflow.modelVersions'",
    )
    .bind(&model_id)
    .fetch_one(&mut conn)
    .await
    .expect("mlflow.modelVersions tag");
    assert_eq!(
        tag,
        r#"[{"name": "src", "version": 3}, {"name": "src", "version": 4}]"#
    );
    conn.close().await.ok();

    // models:/<name>/<version|alias> sources resolve to a version of this
    // registry; the storage location is the referenced version's.
    app.post(
        "registered-models/alias",
        json!({"name": "src", "alias": "best", "version": "3"}),
    )
    .await;
    let (status, body) = create("models:/src@best".into(), None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model_version"]["source"], "models:/src/3");
    assert_eq!(body["model_version"]["run_id"], run.as_str());
    let version = body["model_version"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = app
        .get(&format!(
            "model-versions/get-download-uri?name=src&version={version}"
        ))
        .await;
    assert_eq!(body["artifact_uri"], location.as_str());
    assert_error(
        create("models:/src/1".into(), Some(other_run.as_str()), None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid model version source: 'models:/src/1'. The run_id and model_id request parameters must match the referenced model version.",
    );
    assert_code(
        create("models:/nope/1".into(), None, None).await,
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_error(
        create("models://other/src/1".into(), None, None).await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid model version source: 'models://other/src/1'. Registered model sources must use the active model registry.",
    );
}

on_both_backends!(model_version_sources, sources);

// ---------------------------------------------------------------------------
// search
// ---------------------------------------------------------------------------

async fn search(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    let (exp2, run2) = new_run(app, "e2").await;
    for name in ["alpha", "Beta", "gamma", "delta-x"] {
        create_model(app, name).await;
    }
    app.post(
        "registered-models/set-tag",
        json!({"name": "alpha", "key": "team", "value": "vision"}),
    )
    .await;
    app.post(
        "registered-models/set-tag",
        json!({"name": "gamma", "key": "team", "value": "nlp"}),
    )
    .await;
    // A prompt (as `mlflow.genai.register_prompt` creates it).
    let (status, body) = app
        .post(
            "registered-models/create",
            json!({"name": "my-prompt", "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_error(
        app.post("registered-models/create", json!({"name": "my-prompt"})).await,
        400,
        "RESOURCE_ALREADY_EXISTS",
        "Tried to create a registered model with name 'my-prompt', but the name is already taken by a prompt. MLflow does not allow creating a model and a prompt with the same name.",
    );

    let search = |query: String| async move {
        let (status, body) = app.get(&format!("registered-models/search?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    };
    // Default: all models but the prompt, by name (binary order on SQLite,
    // the database collation on PostgreSQL: compare as a set).
    let body = search(String::new()).await;
    let mut all = names(&body["registered_models"]);
    all.sort();
    assert_eq!(all, ["Beta", "alpha", "delta-x", "gamma"]);
    let f = |filter: &str| format!("filter={}", q(filter));
    // The filter the 2.22+/3.x client appends (#24).
    let body = search(f(
        "name = 'alpha' AND tag.`mlflow.prompt.is_prompt` != 'true'",
    ))
    .await;
    assert_eq!(names(&body["registered_models"]), ["alpha"]);
    let body = search(f("tags.`mlflow.prompt.is_prompt` != 'true'")).await;
    assert_eq!(names(&body["registered_models"]).len(), 4);
    let body = search(f("tags.`mlflow.prompt.is_prompt` = 'true'")).await;
    assert_eq!(names(&body["registered_models"]), ["my-prompt"]);
    // Name comparators.
    let body = search(f("name LIKE '%a%'")).await;
    let mut got = names(&body["registered_models"]);
    got.sort();
    assert_eq!(got, ["Beta", "alpha", "delta-x", "gamma"]);
    let body = search(f("name LIKE 'b%'")).await;
    assert_eq!(body, json!({}), "LIKE is case-sensitive");
    let body = search(f("name ILIKE 'b%'")).await;
    assert_eq!(names(&body["registered_models"]), ["Beta"]);
    let body = search(f("name IN ('alpha', 'gamma')")).await;
    assert_eq!(names(&body["registered_models"]), ["alpha", "gamma"]);
    let body = search(f("name != 'alpha' AND name != 'Beta'")).await;
    assert_eq!(names(&body["registered_models"]), ["delta-x", "gamma"]);
    // Tags.
    let body = search(f("tags.team = 'nlp'")).await;
    assert_eq!(names(&body["registered_models"]), ["gamma"]);
    let body = search(f("tags.team LIKE '%i%' AND name = 'alpha'")).await;
    assert_eq!(names(&body["registered_models"]), ["alpha"]);
    let body = search(f("tags.team != 'nlp'")).await;
    assert_eq!(names(&body["registered_models"]), ["alpha"]);
    // No match: `{}` (P73).
    assert_eq!(
        search(format!("max_results=1&{}", f("name='zz'"))).await,
        json!({})
    );
    // Order: name DESC, last update.
    let body = search(format!(
        "order_by={}&{}",
        q("name DESC"),
        f("name IN ('alpha', 'gamma')")
    ))
    .await;
    assert_eq!(names(&body["registered_models"]), ["gamma", "alpha"]);
    app.post(
        "registered-models/set-tag",
        json!({"name": "gamma", "key": "x", "value": "y"}),
    )
    .await;
    patch(
        app,
        "registered-models/update",
        json!({"name": "alpha", "description": "latest"}),
    )
    .await;
    let body = search(format!("order_by={}", q("last_updated_timestamp DESC"))).await;
    assert_eq!(names(&body["registered_models"])[0], "alpha");

    // Paging: base64 {"offset": N} tokens.
    let body = search(format!("max_results=2&{}", f("name != 'zz'"))).await;
    let first = names(&body["registered_models"]);
    assert_eq!(first.len(), 2);
    assert_eq!(body["next_page_token"], "eyJvZmZzZXQiOiAyfQ==");
    let body = search(format!(
        "max_results=2&page_token={}&{}",
        q("eyJvZmZzZXQiOiAyfQ=="),
        f("name != 'zz'")
    ))
    .await;
    let second = names(&body["registered_models"]);
    assert_eq!(second.len(), 2);
    assert!(body.get("next_page_token").is_none(), "{body}");
    assert!(first.iter().all(|n| !second.contains(n)));

    // Limits and bad input.
    assert_error(
        app.get("registered-models/search?max_results=1001").await,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid value \"1001\" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters.",
    );
    assert_code(
        app.get("registered-models/search?max_results=0").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get(&format!("registered-models/search?{}", f("run_id = 'x'")))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get(&format!("registered-models/search?order_by={}", q("bogus")))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get("registered-models/search?page_token=notatoken")
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    // ---- model versions ----
    // (a few milliseconds apart, so that timestamp orderings have no ties)
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(5));
    for _ in 0..3 {
        create_version(app, "alpha", &exp, &run).await;
        pause().await;
    }
    create_version(app, "gamma", &exp2, &run2).await;
    pause().await;
    let (status, _) = app
        .post(
            "model-versions/create",
            json!({"name": "my-prompt", "source": "dummy-source",
                   "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}, {"key": "mlflow.prompt.text", "value": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200);
    app.post(
        "model-versions/set-tag",
        json!({"name": "alpha", "version": "2", "key": "ok", "value": "yes"}),
    )
    .await;
    delete(
        app,
        "model-versions/delete",
        json!({"name": "alpha", "version": "3"}),
    )
    .await;
    let search_mv = |query: String| async move {
        let (status, body) = app.get(&format!("model-versions/search?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    };
    let ids = |body: &Value| -> Vec<String> {
        body["model_versions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| {
                        format!(
                            "{}/{}",
                            v["name"].as_str().unwrap(),
                            v["version"].as_str().unwrap()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // Default order: last update DESC; deleted versions and prompts hidden.
    let body = search_mv("max_results=10000".into()).await;
    assert_eq!(ids(&body), ["gamma/1", "alpha/2", "alpha/1"]);
    let body = search_mv(f("name='alpha'")).await;
    assert_eq!(ids(&body), ["alpha/2", "alpha/1"]);
    // Search results carry tags but no aliases (#25).
    assert_eq!(
        body["model_versions"][0]["tags"],
        json!([{"key": "ok", "value": "yes"}])
    );
    let body = search_mv(f(&format!("run_id = '{run}'"))).await;
    assert_eq!(ids(&body), ["alpha/2", "alpha/1"]);
    let body = search_mv(f(&format!("run_id IN ('{run}', '{run2}')"))).await;
    assert_eq!(ids(&body).len(), 3);
    let body = search_mv(format!(
        "{}&order_by={}",
        f("name = 'alpha' AND version_number >= 2"),
        q("version_number")
    ))
    .await;
    assert_eq!(ids(&body), ["alpha/2"]);
    let body = search_mv(f("version_number < 2")).await;
    assert_eq!(ids(&body), ["gamma/1", "alpha/1"]);
    let body = search_mv(f(&format!(
        "source_path = 'mlflow-artifacts:/{exp2}/{run2}/artifacts/model'"
    )))
    .await;
    assert_eq!(ids(&body), ["gamma/1"]);
    let body = search_mv(f("tags.ok = 'yes'")).await;
    assert_eq!(ids(&body), ["alpha/2"]);
    let body = search_mv(f("tags.`mlflow.prompt.is_prompt` = 'true'")).await;
    assert_eq!(ids(&body), ["my-prompt/1"]);
    let body = search_mv(format!(
        "order_by={}&order_by={}",
        q("name DESC"),
        q("version_number ASC")
    ))
    .await;
    assert_eq!(ids(&body), ["gamma/1", "alpha/1", "alpha/2"]);
    // Paging.
    let body = search_mv(format!(
        "max_results=2&order_by={}",
        q("creation_timestamp ASC")
    ))
    .await;
    assert_eq!(ids(&body), ["alpha/1", "alpha/2"]);
    assert_eq!(body["next_page_token"], "eyJvZmZzZXQiOiAyfQ==");
    let body = search_mv(format!(
        "max_results=2&order_by={}&page_token={}",
        q("creation_timestamp ASC"),
        q("eyJvZmZzZXQiOiAyfQ==")
    ))
    .await;
    assert_eq!(ids(&body), ["gamma/1"]);
    assert!(body.get("next_page_token").is_none());
    // Bad input.
    assert_code(
        app.get("model-versions/search?max_results=200001").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get("model-versions/search?max_results=0").await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get(&format!(
            "model-versions/search?{}",
            f("source_path IN ('a')")
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get(&format!(
            "model-versions/search?{}",
            f("name = 'a' OR name = 'b'")
        ))
        .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert_code(
        app.get(&format!("model-versions/search?order_by={}", q("run_id")))
            .await,
        400,
        "INVALID_PARAMETER_VALUE",
    );

    // Registered models list their latest versions in searches too.
    let body = search(f("name = 'alpha'")).await;
    assert_eq!(
        versions(&body["registered_models"][0]["latest_versions"]),
        ["2"]
    );
}

on_both_backends!(registry_search, search);

// ---------------------------------------------------------------------------
// UI artifact download
// ---------------------------------------------------------------------------

/// Serves `registry::ui_routes` on its own port against the app's database
/// and artifact directory (the root-level route is mounted by the app's
/// route table; this checks the handler itself).
async fn ui_server(app: &TestApp) -> String {
    use actix_web::{web, App, HttpServer};
    use ferroflow::artifacts::local::LocalArtifactRepository;
    use ferroflow::artifacts::ArtifactRepository;
    use ferroflow::config::{ArtifactSettings, Settings};
    use ferroflow::handlers::Router;
    use ferroflow::state::AppState;
    use ferroflow::store::sql::SqlStore;
    use std::sync::Arc;

    let destination = app.dir.path().join("mlartifacts").display().to_string();
    let settings = Settings {
        database: DatabaseUri::parse(&app.db_uri).expect("db uri"),
        artifacts: ArtifactSettings::resolve(None, Some(destination.clone()), true),
        host: "127.0.0.1".into(),
        port: 0,
        workers: 1,
        ui: Default::default(),
        observability: Default::default(),
        limits: Default::default(),
        pool: Default::default(),
        security: Default::default(),
        auth: None,
    };
    let store = Arc::new(SqlStore::open(&settings.database).await.expect("store"));
    let artifacts: Arc<dyn ArtifactRepository> =
        Arc::new(LocalArtifactRepository::new(&destination).expect("artifact repository"));
    let state = web::Data::new(AppState {
        store: store.clone(),
        registry: store.clone(),
        logged_models: store,
        artifacts: Some(artifacts),
        auth: None,
        settings,
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).configure(|cfg| {
            let mut routes = Vec::new();
            ferroflow::handlers::registry::ui_routes(&mut Router::new(cfg, &mut routes));
        })
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

async fn get_artifact(app: &TestApp) {
    let (exp, run) = new_run(app, "e").await;
    let model_dir = app
        .dir
        .path()
        .join("mlartifacts")
        .join(&exp)
        .join(&run)
        .join("artifacts/model");
    std::fs::create_dir_all(&model_dir).expect("mkdir");
    std::fs::write(model_dir.join("MLmodel"), "flavors: {}\n").expect("write");
    create_model(app, "art").await;
    create_version(app, "art", &exp, &run).await;
    // A 2.x-style runs:/ source resolves through the run.
    app.post(
        "model-versions/create",
        json!({"name": "art", "source": format!("runs:/{run}/model"), "run_id": run}),
    )
    .await;

    let base = ui_server(app).await;
    let fetch = |query: &str| {
        let url = format!("{base}/model-versions/get-artifact?{query}");
        let client = app.client.clone();
        async move { client.get(url).send().await.expect("request") }
    };
    for version in ["1", "2"] {
        let resp = fetch(&format!("path=MLmodel&name=art&version={version}")).await;
        assert_eq!(resp.status().as_u16(), 200, "version {version}");
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert_eq!(
            resp.headers()["content-disposition"],
            "attachment; filename=MLmodel"
        );
        assert_eq!(resp.text().await.unwrap(), "flavors: {}\n");
    }
    let resp = fetch("path=../../../../etc/passwd&name=art&version=1").await;
    assert_eq!(resp.status().as_u16(), 400);
    let resp = fetch("path=missing.txt&name=art&version=1").await;
    assert_eq!(resp.status().as_u16(), 404);
    let resp = fetch("path=MLmodel&name=art&version=9").await;
    assert_eq!(resp.status().as_u16(), 404);
    let resp = fetch("name=art&version=1").await;
    assert_eq!(resp.status().as_u16(), 400);
}

on_both_backends!(model_version_artifact, get_artifact);
