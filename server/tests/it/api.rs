//! HTTP-level tests of the tracking API against the real app, on SQLite and
//! PostgreSQL. Each test body runs once per backend with a fresh database.

use crate::common;

use common::TestApp;
use serde_json::{json, Value};

async fn experiments_lifecycle(app: &TestApp) {
    // The default experiment exists from the first start.
    let (status, body) = app.get("experiments/get?experiment_id=0").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["experiment"]["name"], "Default");
    assert_eq!(
        body["experiment"]["artifact_location"],
        "mlflow-artifacts:/0"
    );

    let id = app.create_experiment("exp-a").await;
    let (status, body) = app
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(status, 200);
    let e = &body["experiment"];
    assert_eq!(e["name"], "exp-a");
    assert_eq!(e["artifact_location"], format!("mlflow-artifacts:/{id}"));
    assert_eq!(e["lifecycle_stage"], "active");
    assert_eq!(e["workspace"], "default");
    assert!(e["creation_time"].is_i64());
    assert!(e.get("tags").is_none(), "empty lists are omitted: {e}");

    // Duplicate name → 400 RESOURCE_ALREADY_EXISTS (not 409).
    let (status, body) = app
        .post("experiments/create", json!({"name": "exp-a"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "RESOURCE_ALREADY_EXISTS");

    // get-by-name: known → 200, unknown → 404 RESOURCE_DOES_NOT_EXIST.
    let (status, _) = app
        .get("experiments/get-by-name?experiment_name=exp-a")
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .get("experiments/get-by-name?experiment_name=nope")
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    // Tags, rename, delete, restore.
    let (status, _) = app
        .post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": id, "key": "team", "value": "ml"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            "experiments/update",
            json!({"experiment_id": id, "new_name": "exp-b"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, body) = app
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(body["experiment"]["name"], "exp-b");
    assert_eq!(
        body["experiment"]["tags"],
        json!([{"key": "team", "value": "ml"}])
    );
    let (status, _) = app
        .post(
            "experiments/delete-experiment-tag",
            json!({"experiment_id": id, "key": "team"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post("experiments/delete", json!({"experiment_id": id}))
        .await;
    assert_eq!(status, 200);
    let (_, body) = app
        .get(&format!("experiments/get?experiment_id={id}"))
        .await;
    assert_eq!(body["experiment"]["lifecycle_stage"], "deleted");
    // A deleted experiment still holds its name.
    let (status, body) = app
        .post("experiments/create", json!({"name": "exp-b"}))
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS"))
    );
    // No runs in a deleted experiment.
    let (status, body) = app.post("runs/create", json!({"experiment_id": id})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!("The experiment {id} must be in the 'active' state. Current state is deleted.")
    );
    let (status, _) = app
        .post("experiments/restore", json!({"experiment_id": id}))
        .await;
    assert_eq!(status, 200);

    // Unknown and malformed ids.
    let (status, body) = app.get("experiments/get?experiment_id=999999").await;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("No Experiment with id=999999 exists"))
    );
    let (status, body) = app.get("experiments/get?experiment_id=abc").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."
    );
}
on_both_backends!(experiments, experiments_lifecycle);

async fn search_experiments(app: &TestApp) {
    for name in ["s-1", "s-2", "s-3"] {
        app.create_experiment(name).await;
    }
    let (status, body) = app
        .post(
            "experiments/search",
            json!({"max_results": 2, "order_by": ["name ASC"], "filter": "name LIKE 's-%'"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s-1", "s-2"]);
    let token = body["next_page_token"].as_str().expect("token").to_string();
    assert_eq!(token, "eyJvZmZzZXQiOiAyfQ==");
    let (_, body) = app
        .post(
            "experiments/search",
            json!({"max_results": 2, "order_by": ["name ASC"], "filter": "name LIKE 's-%'", "page_token": token}),
        )
        .await;
    assert_eq!(body["experiments"][0]["name"], "s-3");
    assert!(body.get("next_page_token").is_none());
    // No hits → {}.
    let (status, body) = app
        .get("experiments/search?max_results=10&filter=name%20%3D%20%27none%27")
        .await;
    assert_eq!((status, body), (200, json!({})));
    // max_results is required.
    let (status, body) = app.post("experiments/search", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
}
on_both_backends!(experiment_search, search_experiments);

async fn run_logging(app: &TestApp) {
    let exp = app.create_experiment("runs").await;
    let (status, body) = app
        .post(
            "runs/create",
            json!({"experiment_id": exp, "user_id": "alice", "run_name": "r1", "start_time": "1795893346239",
                   "tags": [{"key": "mlflow.user", "value": "alice"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let info = &body["run"]["info"];
    let run_id = info["run_id"].as_str().unwrap().to_string();
    assert_eq!(run_id.len(), 32);
    assert_eq!(info["run_uuid"], info["run_id"]);
    assert_eq!(
        info["start_time"],
        json!(1795893346239i64),
        "int64 comes back as a number"
    );
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/{exp}/{run_id}/artifacts")
    );
    assert_eq!(body["run"]["inputs"], json!({}));
    let tags = body["run"]["data"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!({"key": "mlflow.runName", "value": "r1"})));

    // Metrics with numbers, numeric strings and non-finite spellings.
    for (value, step) in [(json!(0.5), 0), (json!("0.25"), 1), (json!("NaN"), 2)] {
        let (status, body) = app
            .post(
                "runs/log-metric",
                json!({"run_id": run_id, "key": "loss", "value": value, "timestamp": "100", "step": step}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_uuid": run_id, "key": "big", "value": "Infinity", "timestamp": 5}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id,
            "params": [{"key": "lr", "value": "0.01"}, {"key": "bs", "value": "64"}],
            "metrics": [{"key": "acc", "value": 0.9, "timestamp": 10, "step": 3},
                        {"key": "acc", "value": 0.7, "timestamp": 11, "step": 1}],
            "tags": [{"key": "team", "value": "ml"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({}));

    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    let data = &body["run"]["data"];
    let metric = |k: &str| {
        data["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(metric("acc")["value"], json!(0.9), "latest = greatest step");
    assert_eq!(metric("loss")["value"], json!("NaN"));
    assert_eq!(metric("loss")["step"], json!(2));
    assert_eq!(metric("big")["value"], json!(f64::MAX));
    assert!(data["params"]
        .as_array()
        .unwrap()
        .contains(&json!({"key": "lr", "value": "0.01"})));
    assert!(data["tags"]
        .as_array()
        .unwrap()
        .contains(&json!({"key": "team", "value": "ml"})));
    assert_eq!(body["run"]["outputs"], json!({}));

    // Same param value again is fine; a different one is refused with MLflow's text.
    let (status, _) = app
        .post(
            "runs/log-parameter",
            json!({"run_id": run_id, "key": "lr", "value": "0.01"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            "runs/log-parameter",
            json!({"run_id": run_id, "key": "lr", "value": "0.02"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!("Changing param values is not allowed. Param with key='lr' was already logged with value='0.01' for run ID='{run_id}'. Attempted logging new value '0.02'.")
    );
    // log-batch reports every changed param (MLflow's `_log_params`), and
    // writes nothing of the batch.
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "params": [
                {"key": "fresh", "value": "1"},
                {"key": "lr", "value": "it's"},
            ]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!(
            "Changing param values is not allowed. Params were already logged='[{{'key': 'lr', \
             'old_value': '0.01', 'new_value': \"it's\"}}]' for run ID='{run_id}'."
        )
    );
    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    let params = body["run"]["data"]["params"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(params.iter().all(|p| p["key"] != "fresh"), "{params:?}");

    // History, with paging.
    let (_, body) = app
        .get(&format!(
            "metrics/get-history?run_id={run_id}&metric_key=loss"
        ))
        .await;
    let steps: Vec<i64> = body["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, [0, 1, 2]);
    assert!(body.get("next_page_token").is_none());
    let (_, body) = app
        .get(&format!(
            "metrics/get-history?run_id={run_id}&metric_key=loss&max_results=2"
        ))
        .await;
    assert_eq!(body["metrics"].as_array().unwrap().len(), 2);
    let token = body["next_page_token"].as_str().unwrap().to_string();
    let (_, body) = app
        .get(&format!(
            "metrics/get-history?run_id={run_id}&metric_key=loss&max_results=2&page_token={token}"
        ))
        .await;
    assert_eq!(body["metrics"][0]["value"], "NaN");

    // Update, tags, delete/restore and writes to a deleted run.
    let (status, body) = app
        .post(
            "runs/update",
            json!({"run_id": run_id, "status": "FINISHED", "end_time": 2000}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["run_info"]["status"], "FINISHED");
    assert_eq!(body["run_info"]["end_time"], 2000);
    let (status, _) = app
        .post("runs/delete-tag", json!({"run_id": run_id, "key": "team"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post("runs/delete-tag", json!({"run_id": run_id, "key": "team"}))
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (status, _) = app.post("runs/delete", json!({"run_id": run_id})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            "runs/set-tag",
            json!({"run_id": run_id, "key": "x", "value": "y"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        format!("The run {run_id} must be in the 'active' state. Current state is deleted.")
    );
    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert_eq!(body["run"]["info"]["lifecycle_stage"], "deleted");
    let (status, _) = app.post("runs/restore", json!({"run_id": run_id})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .get("runs/get?run_id=0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
}
on_both_backends!(runs, run_logging);

async fn run_validation(app: &TestApp) {
    let exp = app.create_experiment("validation").await;
    let run_id = app.create_run(&exp, "v").await;
    // Bad metric key (path rule).
    let (status, body) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run_id, "key": "../up", "value": 1, "timestamp": 1}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    // Missing timestamp.
    let (status, body) = app
        .post(
            "runs/log-metric",
            json!({"run_id": run_id, "key": "m", "value": 1}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Missing value for required parameter 'timestamp'. See the API docs for more information about request parameters."
    );
    // String field given a number.
    let (status, body) = app.post("experiments/create", json!({"name": 123})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."
    );
    // Batch limits and duplicate keys.
    let metrics: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "m", "value": i, "timestamp": i}))
        .collect();
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": metrics}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000 metrics"),
        "{body}"
    );
    let params: Vec<Value> = (0..101)
        .map(|i| json!({"key": format!("p{i}"), "value": "v"}))
        .collect();
    let (status, _) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "params": params}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = app
        .post("runs/log-batch", json!({"run_id": run_id, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("['d']"),
        "{body}"
    );
    // Nothing from the refused batches was written.
    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert!(body["run"]["data"].get("metrics").is_none(), "{body}");
    assert!(body["run"]["data"].get("params").is_none(), "{body}");
    // A failing element inside a batch rolls the whole batch back.
    let (status, _) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id,
            "params": [{"key": "ok", "value": "1"}],
            "metrics": [{"key": "m", "value": 1, "timestamp": 1}, {"key": "m", "value": 1}]}),
        )
        .await;
    assert_eq!(status, 400);
    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert!(body["run"]["data"].get("params").is_none(), "{body}");
    // Content type rules.
    let resp = app
        .client
        .post(app.url("/api/2.0/mlflow/experiments/create"))
        .body(r#"{"name": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Bad Request. Content-Type header is missing."
    );
    // Unknown experiment for a run.
    let (status, body) = app
        .post("runs/create", json!({"experiment_id": "424242"}))
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    // search-runs max_results bound.
    let (status, _) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 50001}),
        )
        .await;
    assert_eq!(status, 400);
}
on_both_backends!(validation, run_validation);

async fn search_runs(app: &TestApp) {
    let exp = app.create_experiment("search").await;
    let mut ids = Vec::new();
    for (i, (lr, acc, model)) in [
        ("0.1", 0.5, "mlp"),
        ("0.01", 0.9, "cnn"),
        ("0.001", 0.7, "mlp"),
    ]
    .iter()
    .enumerate()
    {
        let (_, body) = app
            .post("runs/create", json!({"experiment_id": exp, "run_name": format!("run-{i}"), "start_time": 1000 + i}))
            .await;
        let id = body["run"]["info"]["run_id"].as_str().unwrap().to_string();
        let (status, body) = app
            .post(
                "runs/log-batch",
                json!({"run_id": id,
                "params": [{"key": "lr", "value": lr}],
                "metrics": [{"key": "acc", "value": acc, "timestamp": 1, "step": 0}],
                "tags": [{"key": "model", "value": model}]}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        ids.push(id);
    }
    let names = |body: &Value| -> Vec<String> {
        body["runs"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|r| r["info"]["run_name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let search = |filter: &str, order: Vec<&str>| json!({"experiment_ids": [exp], "filter": filter, "order_by": order, "max_results": 100});
    // Default order: start_time DESC.
    let (_, body) = app.post("runs/search", search("", vec![])).await;
    assert_eq!(names(&body), ["run-2", "run-1", "run-0"]);
    let (_, body) = app
        .post(
            "runs/search",
            search("metrics.acc > 0.6", vec!["metrics.acc DESC"]),
        )
        .await;
    assert_eq!(names(&body), ["run-1", "run-2"]);
    let (_, body) = app
        .post("runs/search", search("params.lr = '0.01'", vec![]))
        .await;
    assert_eq!(names(&body), ["run-1"]);
    let (_, body) = app
        .post(
            "runs/search",
            search("tags.model = 'mlp'", vec!["params.lr ASC"]),
        )
        .await;
    assert_eq!(names(&body), ["run-2", "run-0"]);
    let (_, body) = app
        .post(
            "runs/search",
            search(
                "attributes.run_name LIKE 'run-%' AND metrics.acc <= 0.7",
                vec!["attributes.start_time ASC"],
            ),
        )
        .await;
    assert_eq!(names(&body), ["run-0", "run-2"]);
    let (_, body) = app
        .post(
            "runs/search",
            search("attributes.run_name ILIKE 'RUN-1'", vec![]),
        )
        .await;
    assert_eq!(names(&body), ["run-1"]);
    let (_, body) = app
        .post(
            "runs/search",
            search("attributes.run_name LIKE 'RUN-1'", vec![]),
        )
        .await;
    assert_eq!(names(&body), Vec::<String>::new(), "LIKE is case-sensitive");
    let (_, body) = app
        .post(
            "runs/search",
            search(
                &format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[2]),
                vec!["tags.model DESC", "start_time ASC"],
            ),
        )
        .await;
    assert_eq!(names(&body), ["run-0", "run-2"]);
    let (_, body) = app
        .post(
            "runs/search",
            search("tags.`mlflow.runName` = 'run-0'", vec![]),
        )
        .await;
    assert_eq!(names(&body), ["run-0"]);
    let (_, body) = app
        .post("runs/search", search("params.missing IS NULL", vec![]))
        .await;
    assert_eq!(names(&body).len(), 3);
    // Paging.
    let (_, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 2}),
        )
        .await;
    assert_eq!(names(&body), ["run-2", "run-1"]);
    let token = body["next_page_token"].as_str().unwrap().to_string();
    let (_, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "max_results": 2, "page_token": token}),
        )
        .await;
    assert_eq!(names(&body), ["run-0"]);
    // View types.
    app.post("runs/delete", json!({"run_id": ids[0]})).await;
    let (_, body) = app
        .post("runs/search", json!({"experiment_ids": [exp]}))
        .await;
    assert_eq!(names(&body).len(), 2);
    let (_, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "run_view_type": "DELETED_ONLY"}),
        )
        .await;
    assert_eq!(names(&body), ["run-0"]);
    let (_, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "run_view_type": 3}),
        )
        .await;
    assert_eq!(names(&body).len(), 3);
    // The ajax twin answers the same; runs/search is POST only, as in
    // `mlflow server` (a GET is 405 on both prefixes).
    let (status, ajax_body) = app
        .request(
            reqwest::Method::POST,
            "/ajax-api/2.0/mlflow/runs/search",
            Some(json!({"experiment_ids": [exp, "0"], "max_results": 10})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(names(&ajax_body).len(), 2);
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        let resp = app
            .client
            .get(app.url(&format!(
                "{prefix}/runs/search?experiment_ids={exp}&max_results=10"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 405, "{prefix}");
    }
    // Bad filters are 400, never 5xx.
    for bad in [
        "metrics.acc > 'a'",
        "params.lr = 1",
        "a = 'b' OR c = 'd'",
        "foo.bar = 'x'",
    ] {
        let (status, body) = app.post("runs/search", search(bad, vec![])).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    }
    let (status, _) = app
        .post("runs/search", search("", vec!["metrics.acc SIDEWAYS"]))
        .await;
    assert_eq!(status, 400);
    let (status, body) = app
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "page_token": "!!!"}),
        )
        .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
}
on_both_backends!(run_search, search_runs);

async fn concurrent_metrics(app: &TestApp) {
    let exp = app.create_experiment("concurrency").await;
    let run_id = app.create_run(&exp, "c").await;
    let mut tasks = Vec::new();
    for thread in 0..8i64 {
        let client = app.client.clone();
        let url = app.url("/api/2.0/mlflow/runs/log-metric");
        let run_id = run_id.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..200i64 {
                let step = thread * 200 + i;
                let resp = client
                    .post(&url)
                    .json(&json!({"run_id": run_id, "key": "m", "value": step as f64, "timestamp": 1, "step": step}))
                    .send()
                    .await
                    .expect("request");
                let status = resp.status().as_u16();
                assert_eq!(status, 200, "{}", resp.text().await.unwrap_or_default());
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer task");
    }
    let (_, body) = app
        .get(&format!("metrics/get-history?run_id={run_id}&metric_key=m"))
        .await;
    assert_eq!(body["metrics"].as_array().unwrap().len(), 1600);
    let (_, body) = app.get(&format!("runs/get?run_id={run_id}")).await;
    assert_eq!(body["run"]["data"]["metrics"][0]["value"], json!(1599.0));
    assert_eq!(body["run"]["data"]["metrics"][0]["step"], json!(1599));
}
on_both_backends!(concurrency, concurrent_metrics);

async fn bulk_interval(app: &TestApp) {
    let exp = app.create_experiment("bulk").await;
    let run_id = app.create_run(&exp, "b").await;
    let metrics: Vec<Value> = (0..500)
        .map(|i| json!({"key": "m", "value": i, "timestamp": i, "step": i}))
        .collect();
    let (status, _) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": metrics}),
        )
        .await;
    assert_eq!(status, 200);
    let resp = app
        .client
        .get(app.url(&format!(
            "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids={run_id}&metric_key=m&max_results=10"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let points = body["metrics"].as_array().unwrap();
    assert_eq!(points.len(), 10);
    assert_eq!(points[0]["step"], 0);
    assert_eq!(points[9]["step"], 499);
    assert_eq!(points[0]["run_id"], run_id.as_str());
}
on_both_backends!(bulk_history, bulk_interval);

async fn meta_endpoints(app: &TestApp) {
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "OK");
    let resp = app.client.get(app.url("/version")).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), ferroflow::MLFLOW_VERSION);
    let resp = app
        .client
        .get(app.url("/api/3.0/mlflow/server-info"))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["store_type"], "SqlStore");
    assert_eq!(body["multipart_uploads_enabled"], false);
    let resp = app
        .client
        .get(app.url("/api/2.0/mlflow/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
on_both_backends!(meta, meta_endpoints);

/// A legal log-batch of 100 params with 6000-character values (~620 KB, as
/// the client's `log_params` sends) is stored whole; only bodies beyond the
/// server's 32 MiB bound are refused, with a clear 400.
async fn large_log_batch(app: &TestApp) {
    let exp = app.create_experiment("big-batch").await;
    let run = app.create_run(&exp, "r").await;
    let params: Vec<Value> = (0..100)
        .map(|i| json!({"key": format!("p{i:03}"), "value": format!("{i:03}").repeat(2000)}))
        .collect();
    let body = json!({"run_id": run, "params": params});
    assert!(body.to_string().len() > 600_000);
    let (status, reply) = app.post("runs/log-batch", body).await;
    assert_eq!(status, 200, "{reply}");
    let (_, got) = app.get(&format!("runs/get?run_id={run}")).await;
    let stored = got["run"]["data"]["params"].as_array().unwrap();
    assert_eq!(stored.len(), 100);
    assert!(stored
        .iter()
        .all(|p| p["value"].as_str().unwrap().len() == 6000));

    let huge = format!(
        r#"{{"run_id": "{run}", "tags": [{{"key": "t", "value": "{}"}}]}}"#,
        "x".repeat(33 * 1024 * 1024)
    );
    let resp = app
        .client
        .post(app.url("/api/2.0/mlflow/runs/log-batch"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let reply: Value = resp.json().await.unwrap();
    assert_eq!(reply["error_code"], "BAD_REQUEST");
    assert!(
        reply["message"].as_str().unwrap().contains("32 MiB"),
        "{reply}"
    );
    let (_, got) = app.get(&format!("runs/get?run_id={run}")).await;
    assert!(got["run"]["data"].get("tags").is_none_or(|t| t
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["key"] != "t")));
}
on_both_backends!(log_batch_size, large_log_batch);

/// Tag and param values are JSON strings (or absent): every endpoint that
/// takes a list of them refuses a number with the same error, and stores
/// nothing.
async fn non_string_tag_values(app: &TestApp) {
    let exp = app.create_experiment("tag-values").await;
    let run = app.create_run(&exp, "r").await;
    let refused = [
        (
            "experiments/create",
            json!({"name": "numeric-tag", "tags": [{"key": "k", "value": 1}]}),
        ),
        (
            "runs/create",
            json!({"experiment_id": exp, "tags": [{"key": "k", "value": 1}]}),
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "params": [{"key": "p", "value": 1}]}),
        ),
        (
            "runs/log-batch",
            json!({"run_id": run, "tags": [{"key": "t", "value": 1}]}),
        ),
        (
            "runs/log-inputs",
            json!({"run_id": run, "datasets": [{
                "tags": [{"key": "mlflow.data.context", "value": 1}],
                "dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "{}"}
            }]}),
        ),
    ];
    for (endpoint, request) in refused {
        let (status, body) = app.post(endpoint, request).await;
        assert_eq!(status, 400, "{endpoint}: {body}");
        assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE", "{endpoint}");
        assert_eq!(
            body["message"],
            "Invalid value 1 for parameter 'value' supplied: value must be a string.",
            "{endpoint}"
        );
    }
    let (status, _) = app
        .get("experiments/get-by-name?experiment_name=numeric-tag")
        .await;
    assert_eq!(status, 404);
    let (_, got) = app.get(&format!("runs/get?run_id={run}")).await;
    assert!(got["run"]["data"].get("params").is_none(), "{got}");
    assert!(
        got["run"]
            .get("inputs")
            .is_none_or(|i| i.get("dataset_inputs").is_none()),
        "{got}"
    );
}
on_both_backends!(tag_values, non_string_tag_values);
