//! HTTP-level tests of MLflow 3's logged models (`logged-models…`) and the
//! 2.x `runs/log-model` call, on SQLite and PostgreSQL.

use crate::common;

use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;

async fn patch(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.request(
        Method::PATCH,
        &format!("/api/2.0/mlflow/{path}"),
        Some(body),
    )
    .await
}

async fn delete(app: &TestApp, path: &str) -> (u16, Value) {
    app.request(Method::DELETE, &format!("/api/2.0/mlflow/{path}"), None)
        .await
}

async fn create_model(app: &TestApp, body: Value) -> Value {
    let (status, body) = app.post("logged-models", body).await;
    assert_eq!(status, 200, "{body}");
    body["model"].clone()
}

fn model_id(model: &Value) -> String {
    model["info"]["model_id"]
        .as_str()
        .expect("model_id")
        .to_string()
}

/// Names of the models a search returned, in order.
fn names(body: &Value) -> Vec<String> {
    body["models"]
        .as_array()
        .map(|models| {
            models
                .iter()
                .map(|m| m["info"]["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn search(app: &TestApp, body: Value) -> Value {
    let (status, body) = app.post("logged-models/search", body).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Inserts a `logged_model_metrics` row straight into the database.
#[allow(clippy::too_many_arguments)]
async fn insert_model_metric(
    app: &TestApp,
    model_id: &str,
    experiment_id: &str,
    run_id: &str,
    key: &str,
    value: f64,
    timestamp: i64,
    dataset: Option<(&str, &str)>,
) {
    sqlx::any::install_default_drivers();
    let url = ferroflow::config::DatabaseUri::parse(&app.db_uri)
        .expect("db uri")
        .connection_url();
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    sqlx::query(
        "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, \
         metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest) \
         VALUES ($1, $2, $3, 0, $4, $5, $6, NULL, $7, $8)",
    )
    .bind(model_id)
    .bind(key)
    .bind(timestamp)
    .bind(value)
    .bind(experiment_id.parse::<i64>().unwrap())
    .bind(run_id)
    .bind(dataset.map(|d| d.0.to_string()))
    .bind(dataset.map(|d| d.1.to_string()))
    .execute(&mut conn)
    .await
    .expect("insert metric");
    conn.close().await.ok();
}

async fn create_get_update(app: &TestApp) {
    let exp = app.create_experiment("lm").await;
    let run = app.create_run(&exp, "train").await;

    // What the 3.x client sends on log_model (example #11).
    let model = create_model(
        app,
        json!({
            "experiment_id": exp,
            "name": "model",
            "source_run_id": run,
            "params": [{"key": "lr", "value": "0.01"}, {"key": "batch_size", "value": "64"}],
            "tags": [{"key": "mlflow.user", "value": "root"}, {"key": "mlflow.source.type", "value": "LOCAL"}]
        }),
    )
    .await;
    let id = model_id(&model);
    assert!(id.starts_with("m-") && id.len() == 34, "{id}");
    assert!(id[2..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let info = &model["info"];
    assert_eq!(info["experiment_id"], exp);
    assert_eq!(info["name"], "model");
    assert_eq!(info["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(info["model_type"], "");
    assert_eq!(info["source_run_id"], run);
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/models/{id}/artifacts")
    );
    let created = info["creation_timestamp_ms"]
        .as_i64()
        .expect("creation time");
    assert_eq!(info["last_updated_timestamp_ms"], created);
    assert_eq!(
        info["tags"],
        json!([{"key": "mlflow.source.type", "value": "LOCAL"}, {"key": "mlflow.user", "value": "root"}])
    );
    assert_eq!(
        model["data"],
        json!({"params": [{"key": "batch_size", "value": "64"}, {"key": "lr", "value": "0.01"}]})
    );
    // Key order of `info` follows the proto.
    let keys: Vec<&String> = info.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "model_id",
            "experiment_id",
            "name",
            "creation_timestamp_ms",
            "last_updated_timestamp_ms",
            "artifact_uri",
            "status",
            "model_type",
            "source_run_id",
            "tags"
        ]
    );

    // Get returns the same model, also under the UI prefix.
    let (status, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], model);
    let (status, _) = app
        .request(
            Method::GET,
            &format!("/ajax-api/2.0/mlflow/logged-models/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Without a name: generated like run names; no tags, empty data.
    let unnamed = create_model(app, json!({"experiment_id": exp})).await;
    let name = unnamed["info"]["name"].as_str().unwrap();
    let parts: Vec<&str> = name.split('-').collect();
    assert_eq!(parts.len(), 3, "{name}");
    assert!(parts[2].parse::<u32>().is_ok(), "{name}");
    assert_eq!(unnamed["info"]["source_run_id"], "");
    assert!(unnamed["info"].get("tags").is_none());
    assert_eq!(unnamed["data"], json!({}));
    let blank = create_model(
        app,
        json!({"experiment_id": exp, "name": "", "model_type": "sklearn"}),
    )
    .await;
    assert_ne!(blank["info"]["name"], "");
    assert_eq!(blank["info"]["model_type"], "sklearn");

    // runs/outputs links the model to the run; runs/get shows it.
    let (status, _) = app
        .post(
            "runs/outputs",
            json!({"run_id": run, "models": [{"model_id": id, "step": 0}]}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get(&format!("runs/get?run_id={run}")).await;
    assert_eq!(
        body["run"]["outputs"]["model_outputs"],
        json!([{"model_id": id, "step": 0}])
    );

    // Params: more keys are fine; a key the model has is refused.
    let (status, body) = app
        .post(
            &format!("logged-models/{id}/params"),
            json!({"model_id": id, "params": [{"key": "epochs", "value": "2"}]}),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, body) = app
        .post(
            &format!("logged-models/{id}/params"),
            json!({"model_id": id, "params": [{"key": "lr", "value": "0.02"}]}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "{body}"
    );
    let (status, body) = app
        .post(&format!("logged-models/{id}/params"), json!({"params": []}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'model_id'. See the API docs for more information about request parameters."
    );
    let (status, body) = app
        .post(
            "logged-models/m-0000/params",
            json!({"model_id": "m-0000", "params": [{"key": "a", "value": "1"}]}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Logged model with ID 'm-0000' not found."))
    );

    // Tags: upsert (last value wins), delete, delete again → 404.
    let (status, body) = patch(
        app,
        &format!("logged-models/{id}/tags"),
        json!({"tags": [{"key": "t1", "value": "a"}, {"key": "t1", "value": "b"}, {"key": "t2"}]}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, _) = patch(
        app,
        &format!("logged-models/{id}/tags"),
        json!({"tags": [{"key": "mlflow.modelVersions", "value": "[{\"name\": \"m\", \"version\": 1}]"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = app.get(&format!("logged-models/{id}")).await;
    let tags = &body["model"]["info"]["tags"];
    assert_eq!(
        tags[0],
        json!({"key": "mlflow.modelVersions", "value": "[{\"name\": \"m\", \"version\": 1}]"})
    );
    assert!(tags
        .as_array()
        .unwrap()
        .contains(&json!({"key": "t1", "value": "b"})));
    assert!(tags
        .as_array()
        .unwrap()
        .contains(&json!({"key": "t2", "value": ""})));
    assert_eq!(
        body["model"]["data"]["params"],
        json!([
            {"key": "batch_size", "value": "64"},
            {"key": "epochs", "value": "2"},
            {"key": "lr", "value": "0.01"}
        ])
    );
    let (status, body) = delete(app, &format!("logged-models/{id}/tags/t2")).await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, body) = delete(app, &format!("logged-models/{id}/tags/t2")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        format!("No tag with key 't2' found for model with ID '{id}'.")
    );
    let (status, _) = delete(app, "logged-models/m-0000/tags/t1").await;
    assert_eq!(status, 404);
    let (status, _) = patch(app, "logged-models/m-0000/tags", json!({"tags": []})).await;
    assert_eq!(status, 404);

    // Finalize (example #15).
    let (status, body) = patch(
        app,
        &format!("logged-models/{id}"),
        json!({"model_id": id, "status": "LOGGED_MODEL_READY"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let info = &body["model"]["info"];
    assert_eq!(info["status"], "LOGGED_MODEL_READY");
    assert!(info["last_updated_timestamp_ms"].as_i64().unwrap() >= created);
    assert_eq!(body["model"]["data"]["params"].as_array().unwrap().len(), 3);
    let (status, body) = patch(
        app,
        &format!("logged-models/{id}"),
        json!({"model_id": id, "status": 3}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["model"]["info"]["status"],
        "LOGGED_MODEL_UPLOAD_FAILED"
    );
    // Bad, missing status; unknown model.
    let (status, body) = patch(
        app,
        &format!("logged-models/{id}"),
        json!({"model_id": id, "status": "BOGUS"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, body) = patch(
        app,
        &format!("logged-models/{id}"),
        json!({"model_id": id, "status": 9}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, body) = patch(app, &format!("logged-models/{id}"), json!({"model_id": id})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'status'. See the API docs for more information about request parameters."
    );
    let (status, body) = patch(
        app,
        "logged-models/m-0000",
        json!({"model_id": "m-0000", "status": "LOGGED_MODEL_READY"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (_, body) = patch(
        app,
        &format!("logged-models/{id}"),
        json!({"model_id": id, "status": "LOGGED_MODEL_READY"}),
    )
    .await;
    assert_eq!(body["model"]["info"]["status"], "LOGGED_MODEL_READY");

    // Soft delete: hidden from get (unless allow_deleted) and search.
    let (status, body) = delete(app, &format!("logged-models/{id}")).await;
    assert_eq!((status, &body), (200, &json!({})));
    let (status, body) = app.get(&format!("logged-models/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        format!("Logged model with ID '{id}' not found.")
    );
    let (status, body) = app
        .get(&format!("logged-models/{id}?allow_deleted=true"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["model"]["info"]["model_id"], id);
    let body = search(
        app,
        json!({"experiment_ids": [exp], "filter": "name = 'model'"}),
    )
    .await;
    assert_eq!(body, json!({}));
    let (status, _) = delete(app, "logged-models/m-0000").await;
    assert_eq!(status, 404);
}
on_both_backends!(lifecycle, create_get_update);

async fn create_errors(app: &TestApp) {
    let (status, body) = app
        .post("logged-models", json!({"experiment_id": "999999"}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(body["message"], "No Experiment with id=999999 exists");
    let (status, body) = app
        .post("logged-models", json!({"experiment_id": "abc"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."
    );
    let (status, body) = app.post("logged-models", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters."
    );
    let (status, body) = app.post("logged-models", json!({"experiment_id": 1})).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    let (status, body) = app
        .post(
            "logged-models",
            json!({"experiment_id": "0", "name": "a.b"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid model name ('a.b') provided."));
    let (status, body) = app
        .post(
            "logged-models",
            json!({"experiment_id": "0", "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    // Nothing was written by the failed request.
    let body = search(app, json!({"experiment_ids": ["0"]})).await;
    assert_eq!(body, json!({}));

    let exp = app.create_experiment("gone").await;
    let (status, _) = app
        .post("experiments/delete", json!({"experiment_id": exp}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post("logged-models", json!({"experiment_id": exp}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!("The experiment {exp} must be in the 'active' state. Current state is deleted.")
    );

    let (status, body) = app.get("logged-models/m-0123").await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
}
on_both_backends!(errors, create_errors);

async fn search_models(app: &TestApp) {
    let exp = app.create_experiment("search").await;
    let other = app.create_experiment("other").await;
    let run = app.create_run(&exp, "r").await;
    let mut ids = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma", "delta"].iter().enumerate() {
        let m = create_model(
            app,
            json!({
                "experiment_id": exp,
                "name": name,
                "model_type": if i % 2 == 0 { "even" } else { "odd" },
                "source_run_id": run,
                "params": [{"key": "p", "value": i.to_string()}],
                "tags": [{"key": "t", "value": format!("tag-{i}")}]
            }),
        )
        .await;
        ids.push(model_id(&m));
        // Distinct creation times.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    create_model(app, json!({"experiment_id": other, "name": "elsewhere"})).await;
    let (status, _) = patch(
        app,
        &format!("logged-models/{}", ids[1]),
        json!({"model_id": ids[1], "status": "LOGGED_MODEL_READY"}),
    )
    .await;
    assert_eq!(status, 200);
    insert_model_metric(
        app,
        &ids[0],
        &exp,
        &run,
        "acc",
        0.5,
        10,
        Some(("eval", "d1")),
    )
    .await;
    insert_model_metric(app, &ids[0], &exp, &run, "acc", 0.6, 20, None).await;
    insert_model_metric(
        app,
        &ids[1],
        &exp,
        &run,
        "acc",
        0.9,
        10,
        Some(("eval", "d1")),
    )
    .await;
    insert_model_metric(
        app,
        &ids[2],
        &exp,
        &run,
        "acc",
        0.7,
        10,
        Some(("train", "d2")),
    )
    .await;

    // Default order: newest first; only the requested experiments.
    let body = search(app, json!({"experiment_ids": [exp]})).await;
    assert_eq!(names(&body), ["delta", "gamma", "beta", "alpha"]);
    assert!(body.get("next_page_token").is_none());
    let alpha = &body["models"][3];
    assert_eq!(alpha["data"]["params"], json!([{"key": "p", "value": "0"}]));
    let metrics = alpha["data"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 2);
    let with_dataset = metrics.iter().find(|m| m["timestamp"] == 10).unwrap();
    assert_eq!(
        with_dataset,
        &json!({
            "key": "acc", "value": 0.5, "timestamp": 10, "step": 0,
            "dataset_name": "eval", "dataset_digest": "d1", "model_id": ids[0], "run_id": run
        })
    );
    let body = search(app, json!({"experiment_ids": [exp, other]})).await;
    assert_eq!(names(&body).len(), 5);
    assert_eq!(search(app, json!({"experiment_ids": []})).await, json!({}));

    // Filters.
    let f = |filter: &str| json!({"experiment_ids": [exp], "filter": filter});
    assert_eq!(names(&search(app, f("name = 'beta'")).await), ["beta"]);
    assert_eq!(
        names(&search(app, f("name LIKE '%a'")).await),
        ["delta", "gamma", "beta", "alpha"]
    );
    assert_eq!(names(&search(app, f("name ILIKE 'AL%'")).await), ["alpha"]);
    assert_eq!(
        names(&search(app, f("name != 'beta' AND model_type = 'even'")).await),
        ["gamma", "alpha"]
    );
    let in_filter = format!("attributes.model_id IN ('{}', '{}')", ids[0], ids[3]);
    assert_eq!(names(&search(app, f(&in_filter)).await), ["delta", "alpha"]);
    assert_eq!(
        names(&search(app, f("status = 'LOGGED_MODEL_READY'")).await),
        ["beta"]
    );
    assert_eq!(
        names(&search(app, f("status != 'LOGGED_MODEL_READY'")).await).len(),
        3
    );
    assert_eq!(names(&search(app, f("params.p = '2'")).await), ["gamma"]);
    assert_eq!(
        names(&search(app, f("tags.t LIKE 'tag-%' AND params.p != '0'")).await),
        ["delta", "gamma", "beta"]
    );
    assert_eq!(
        names(&search(app, f("metrics.acc > 0.65")).await),
        ["gamma", "beta"]
    );
    assert_eq!(
        names(&search(app, f("metrics.acc <= 0.5")).await),
        ["alpha"]
    );
    assert_eq!(names(&search(app, f("creation_time > 0")).await).len(), 4);
    assert_eq!(
        names(&search(app, f("last_updated_timestamp < 0")).await).len(),
        0
    );
    assert_eq!(
        names(&search(app, f(&format!("source_run_id = '{run}'"))).await).len(),
        4
    );
    // datasets restrict the metrics (and, alone, the models).
    let body = search(
        app,
        json!({"experiment_ids": [exp], "filter": "metrics.acc > 0.55", "datasets": [{"dataset_name": "eval"}]}),
    )
    .await;
    assert_eq!(names(&body), ["beta"]);
    let body = search(app, json!({"experiment_ids": [exp], "datasets": [{"dataset_name": "train", "dataset_digest": "d2"}]})).await;
    assert_eq!(names(&body), ["gamma"]);
    let (status, body) = app
        .post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "datasets": [{"dataset_digest": "d2"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "`dataset_name` in the `datasets` clause must be specified."
    );

    // Structured order_by.
    let o = |order: Value| json!({"experiment_ids": [exp], "order_by": order});
    assert_eq!(
        names(&search(app, o(json!([{"field_name": "name"}]))).await),
        ["alpha", "beta", "delta", "gamma"]
    );
    assert_eq!(
        names(
            &search(
                app,
                o(json!([{"field_name": "creation_time", "ascending": true}]))
            )
            .await
        ),
        ["alpha", "beta", "gamma", "delta"]
    );
    // Latest value per model (alpha: 0.6 at t=20); models without the metric last.
    assert_eq!(
        names(
            &search(
                app,
                o(json!([{"field_name": "metrics.acc", "ascending": false}]))
            )
            .await
        ),
        ["beta", "gamma", "alpha", "delta"]
    );
    assert_eq!(
        names(&search(app, o(json!([{"field_name": "metrics.acc", "ascending": true, "dataset_name": "eval"}]))).await),
        ["alpha", "beta", "delta", "gamma"]
    );
    for (order, message) in [
        (
            json!([{"field_name": "bogus"}]),
            "Invalid order by field name: bogus",
        ),
        (
            json!([{"field_name": "params.p"}]),
            "Invalid order by field name: params.p. Only metrics are supported.",
        ),
    ] {
        let (status, body) = app.post("logged-models/search", o(order)).await;
        assert_eq!((status, body["message"].as_str()), (400, Some(message)));
    }

    // Bad filters are 400.
    for filter in [
        "bogus = 'x'",
        "name = 'a' OR name = 'b'",
        "metrics.acc LIKE 'x'",
    ] {
        let (status, body) = app.post("logged-models/search", f(filter)).await;
        assert_eq!(
            (status, body["error_code"].as_str()),
            (400, Some("INVALID_PARAMETER_VALUE")),
            "{filter}"
        );
    }

    // Paging: tokens carry the query; a token of another query is refused.
    let query =
        json!({"experiment_ids": [exp], "max_results": 3, "order_by": [{"field_name": "name"}]});
    let first = search(app, query.clone()).await;
    assert_eq!(names(&first), ["alpha", "beta", "delta"]);
    let token = first["next_page_token"]
        .as_str()
        .expect("token")
        .to_string();
    let mut second_query = query.clone();
    second_query["page_token"] = json!(token);
    let second = search(app, second_query).await;
    assert_eq!(names(&second), ["gamma"]);
    assert!(second.get("next_page_token").is_none());
    let (status, body) = app
        .post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "max_results": 3, "page_token": token}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Order by in the page token does not match"));
    let (status, _) = app
        .post(
            "logged-models/search",
            json!({"experiment_ids": [exp], "page_token": "garbage"}),
        )
        .await;
    assert_eq!(status, 400);
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = json!({"experiment_ids": [exp], "max_results": 1});
        if let Some(t) = &token {
            q["page_token"] = json!(t);
        }
        let page = search(app, q).await;
        all.extend(names(&page));
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(all, ["delta", "gamma", "beta", "alpha"]);

    // Required experiment_ids.
    let (status, body) = app.post("logged-models/search", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters."
    );
}
on_both_backends!(search, search_models);

async fn log_model_history(app: &TestApp) {
    let exp = app.create_experiment("v2").await;
    let run = app.create_run(&exp, "r").await;
    // What the 2.8.1 client sends (example 2.8.1 #1).
    let model_json = json!({
        "run_id": run,
        "artifact_path": "model",
        "utc_time_created": "2026-11-28 19:17:04.806663",
        "flavors": {"python_function": {"config": {"x": 1}, "python_model": "python_model.pkl", "loader_module": "mlflow.pyfunc.model"}},
        "model_uuid": "fe1b628e2eb04dbb99f40b6c623234a1",
        "mlflow_version": "2.8.1",
        "model_size_bytes": 1234
    });
    let (status, body) = app
        .post(
            "runs/log-model",
            json!({"run_id": run, "model_json": model_json.to_string()}),
        )
        .await;
    assert_eq!((status, &body), (200, &json!({})));
    let second =
        json!({"run_id": run, "artifact_path": "other", "utc_time_created": "t", "flavors": {}});
    let (status, _) = app
        .post(
            "runs/log-model",
            json!({"run_id": run, "model_json": second.to_string()}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get(&format!("runs/get?run_id={run}")).await;
    let tag = body["run"]["data"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "mlflow.log-model.history")
        .expect("history tag")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        tag,
        format!(
            "[{{\"run_id\": \"{run}\", \"artifact_path\": \"model\", \"utc_time_created\": \"2026-11-28 19:17:04.806663\", \
             \"model_uuid\": \"fe1b628e2eb04dbb99f40b6c623234a1\", \"flavors\": {{\"python_function\": \
             {{\"python_model\": \"python_model.pkl\", \"loader_module\": \"mlflow.pyfunc.model\"}}}}}}, \
             {{\"run_id\": \"{run}\", \"artifact_path\": \"other\", \"utc_time_created\": \"t\", \"model_uuid\": null, \
             \"flavors\": {{}}}}]"
        )
    );

    let (status, body) = app
        .post(
            "runs/log-model",
            json!({"run_id": run, "model_json": "{\"artifact_path\": \"m\"}"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Model json is missing mandatory fields: {'flavors', 'utc_time_created', 'run_id'}"
    );
    let (status, _) = app
        .post(
            "runs/log-model",
            json!({"run_id": run, "model_json": "not json"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = app
        .post(
            "runs/log-model",
            json!({"run_id": "0123", "model_json": second.to_string()}),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("Run with id=0123 not found"))
    );
    let (status, _) = app.post("runs/log-model", json!({"run_id": run})).await;
    assert_eq!(status, 400);
    let (status, _) = app.post("runs/delete", json!({"run_id": run})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            "runs/log-model",
            json!({"run_id": run, "model_json": second.to_string()}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
}
on_both_backends!(log_model, log_model_history);

async fn model_artifacts(app: &TestApp) {
    let exp = app.create_experiment("arts").await;
    let model = create_model(app, json!({"experiment_id": exp, "name": "m"})).await;
    let id = model_id(&model);
    for (path, bytes) in [("MLmodel", "abc"), ("sub/x.txt", "abcd")] {
        let (status, _) = app
            .request_raw(
                Method::PUT,
                &format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/models/{id}/artifacts/{path}"),
                &[],
                Some(bytes.into()),
            )
            .await;
        assert_eq!(status, 200);
    }
    let root = format!("mlflow-artifacts:/{exp}/models/{id}/artifacts");
    let (status, body) = app
        .get(&format!("logged-models/{id}/artifacts/directories"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"root_uri": root, "files": [
            {"path": "MLmodel", "is_dir": false, "file_size": 3},
            {"path": "sub", "is_dir": true}
        ]})
    );
    let (_, body) = app
        .get(&format!(
            "logged-models/{id}/artifacts/directories?artifact_directory_path=sub"
        ))
        .await;
    assert_eq!(
        body,
        json!({"root_uri": root, "files": [{"path": "sub/x.txt", "is_dir": false, "file_size": 4}]})
    );
    let (_, body) = app
        .get(&format!(
            "logged-models/{id}/artifacts/directories?artifact_directory_path=nope"
        ))
        .await;
    assert_eq!(body, json!({"root_uri": root}));
    let (status, body) = app
        .get(&format!(
            "logged-models/{id}/artifacts/directories?artifact_directory_path=../x"
        ))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid path"))
    );
    let (status, _) = app.get("logged-models/m-0000/artifacts/directories").await;
    assert_eq!(status, 404);

    // The UI's file download.
    let (status, text) = app
        .request_raw(
            Method::GET,
            &format!(
                "/ajax-api/2.0/mlflow/logged-models/{id}/artifacts/files?artifact_file_path=sub/x.txt"
            ),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(text, "abcd");
    let (status, _) = app
        .get(&format!("logged-models/{id}/artifacts/files"))
        .await;
    assert_eq!(status, 400);
}
on_both_backends!(artifacts, model_artifacts);

/// Metrics logged with `model_id` through `log-batch` and `log-metric` show
/// up in the model's `data.metrics` (needs `SqlStore::log_model_metrics_in`
/// called from `log_batch_impl`).
async fn metrics_from_runs(app: &TestApp) {
    let exp = app.create_experiment("met").await;
    let run = app.create_run(&exp, "r").await;
    let model = create_model(
        app,
        json!({"experiment_id": exp, "name": "m", "source_run_id": run}),
    )
    .await;
    let id = model_id(&model);
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run, "metrics": [
                {"key": "acc", "value": 0.5, "timestamp": 10, "step": 1, "model_id": id, "dataset_name": "ds", "dataset_digest": "dg"},
                {"key": "loss", "value": "NaN", "timestamp": 10, "step": 1, "model_id": id},
                {"key": "plain", "value": 1.0, "timestamp": 10, "step": 1}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "acc", "value": 0.7, "timestamp": 20, "step": 2, "model_id": id}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get(&format!("logged-models/{id}")).await;
    let metrics = body["model"]["data"]["metrics"]
        .as_array()
        .expect("metrics")
        .clone();
    assert_eq!(metrics.len(), 3, "{metrics:?}");
    assert!(metrics.contains(&json!({
        "key": "acc", "value": 0.5, "timestamp": 10, "step": 1, "dataset_name": "ds",
        "dataset_digest": "dg", "model_id": id, "run_id": run
    })));
    assert!(metrics.contains(&json!({
        "key": "loss", "value": 0.0, "timestamp": 10, "step": 1, "model_id": id, "run_id": run
    })));
    // The same point again is a no-op; a metric for an unknown model fails.
    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "acc", "value": 0.7, "timestamp": 20, "step": 2, "model_id": id}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run, "key": "acc", "value": 0.7, "timestamp": 20, "step": 2, "model_id": "m-0000"}),
        )
        .await;
    assert_eq!(status, 400);
}

on_both_backends!(metrics_from_log_batch, metrics_from_runs);
