//! Exact response bodies, as inline `insta` snapshots, on SQLite and
//! PostgreSQL: each snapshot is the JSON `mlflow server` 3.17.2 answered to
//! the same requests (recorded against a fresh SQLite store), with
//! generated run ids and server-stamped times replaced by labels. Key order
//! is part of the snapshot (the app keeps the order it wrote).
//!
//! One deliberate difference from MLflow: its 3.x error bodies also carry
//! `"sqlstate": "KAM00"` and `"error_class"`, which no client reads and
//! ferroflow leaves out (see the README's compatibility notes).
//!
//! A mismatch fails the test; nothing is written back unless a developer
//! asks for it (`INSTA_UPDATE=always` or `cargo insta review`), and CI runs
//! with `CI=true`, where insta never writes.

use crate::common;

use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

/// `insta::assert_json_snapshot!` in a body that runs once per backend:
/// insta takes a second run of one inline assertion for a loop unless told
/// otherwise (both runs must still match the same snapshot).
macro_rules! assert_snapshot {
    ($value:expr, @$snapshot:literal) => {
        insta::allow_duplicates! { insta::assert_json_snapshot!($value, @$snapshot) }
    };
}

/// Replaces each generated id wherever it occurs inside a JSON string
/// (ids also appear inside URIs and messages) with its label.
fn redact_ids(value: &mut Value, ids: &[(&str, &str)]) {
    match value {
        Value::String(text) => {
            for (id, label) in ids {
                if text.contains(id) {
                    *text = text.replace(id, label);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_ids(v, ids)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_ids(v, ids)),
        _ => {}
    }
}

/// Replaces the time at each JSON pointer (milliseconds the server stamps,
/// a number in REST answers and a string in GraphQL ones) with `"[time]"`,
/// after checking it is one: a missing field fails rather than vanishing
/// from the snapshot unnoticed.
fn redact_times(mut value: Value, pointers: &[&str]) -> Value {
    for pointer in pointers {
        let slot = value
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("{pointer} missing"));
        let is_time = slot.is_i64() || slot.as_str().is_some_and(|s| s.parse::<i64>().is_ok());
        assert!(is_time, "{pointer} = {slot}");
        *slot = json!("[time]");
    }
    value
}

/// `POST /api/2.0/mlflow/<path>` that must answer `status`; returns the body.
async fn post(app: &TestApp, path: &str, body: Value, status: u16) -> Value {
    let (got, body) = app.post(path, body).await;
    assert_eq!(got, status, "{path}: {body}");
    body
}

/// `GET /api/2.0/mlflow/<path_and_query>` that must answer `status`.
async fn get(app: &TestApp, path_and_query: &str, status: u16) -> Value {
    let (got, body) = app.get(path_and_query).await;
    assert_eq!(got, status, "{path_and_query}: {body}");
    body
}

async fn experiment_create_and_get(app: &TestApp) {
    let body = post(
        app,
        "experiments/create",
        json!({"name": "snap", "tags": [{"key": "team", "value": "ferro"}]}),
        200,
    )
    .await;
    assert_snapshot!(body, @r#"
    {
      "experiment_id": "1"
    }
    "#);

    let body = get(app, "experiments/get?experiment_id=1", 200).await;
    let body = redact_times(
        body,
        &["/experiment/last_update_time", "/experiment/creation_time"],
    );
    assert_snapshot!(body, @r#"
    {
      "experiment": {
        "experiment_id": "1",
        "name": "snap",
        "artifact_location": "mlflow-artifacts:/1",
        "lifecycle_stage": "active",
        "last_update_time": "[time]",
        "creation_time": "[time]",
        "tags": [
          {
            "key": "team",
            "value": "ferro"
          }
        ],
        "workspace": "default"
      }
    }
    "#);
}
on_both_backends!(experiment, experiment_create_and_get);

/// Experiment 1 (tag team=ferro) with one run: a param, a metric, a tag.
async fn seed_run(app: &TestApp) -> String {
    let body = post(
        app,
        "experiments/create",
        json!({"name": "snap", "tags": [{"key": "team", "value": "ferro"}]}),
        200,
    )
    .await;
    let exp = body["experiment_id"].as_str().expect("id").to_string();
    let body = post(
        app,
        "runs/create",
        json!({"experiment_id": exp, "run_name": "first", "start_time": 1000,
               "tags": [{"key": "team", "value": "ferro"}]}),
        200,
    )
    .await;
    let run = body["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    post(
        app,
        "runs/log-batch",
        json!({"run_id": run,
               "params": [{"key": "alpha", "value": "0.5"}],
               "metrics": [{"key": "rmse", "value": 0.25, "timestamp": 1100, "step": 3}]}),
        200,
    )
    .await;
    run
}

async fn run_lifecycle(app: &TestApp) {
    let exp = app.create_experiment("snap").await;
    let mut body = post(
        app,
        "runs/create",
        json!({"experiment_id": exp, "run_name": "first", "start_time": 1000,
               "tags": [{"key": "team", "value": "ferro"}]}),
        200,
    )
    .await;
    let run = body["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    assert_snapshot!(body, @r#"
    {
      "run": {
        "info": {
          "run_uuid": "[run_id]",
          "experiment_id": "1",
          "run_name": "first",
          "user_id": "",
          "status": "RUNNING",
          "start_time": 1000,
          "artifact_uri": "mlflow-artifacts:/1/[run_id]/artifacts",
          "lifecycle_stage": "active",
          "run_id": "[run_id]"
        },
        "data": {
          "tags": [
            {
              "key": "team",
              "value": "ferro"
            },
            {
              "key": "mlflow.runName",
              "value": "first"
            }
          ]
        },
        "inputs": {}
      }
    }
    "#);

    let body = post(
        app,
        "runs/log-batch",
        json!({"run_id": run,
               "params": [{"key": "alpha", "value": "0.5"}],
               "metrics": [{"key": "rmse", "value": 0.25, "timestamp": 1100, "step": 3}]}),
        200,
    )
    .await;
    assert_snapshot!(body, @"{}");

    let mut body = post(
        app,
        "runs/update",
        json!({"run_id": run, "status": "FINISHED", "end_time": 2000}),
        200,
    )
    .await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    assert_snapshot!(body, @r#"
    {
      "run_info": {
        "run_uuid": "[run_id]",
        "experiment_id": "1",
        "run_name": "first",
        "user_id": "",
        "status": "FINISHED",
        "start_time": 1000,
        "end_time": 2000,
        "artifact_uri": "mlflow-artifacts:/1/[run_id]/artifacts",
        "lifecycle_stage": "active",
        "run_id": "[run_id]"
      }
    }
    "#);

    let mut body = get(app, &format!("runs/get?run_id={run}"), 200).await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    assert_snapshot!(body, @r#"
    {
      "run": {
        "info": {
          "run_uuid": "[run_id]",
          "experiment_id": "1",
          "run_name": "first",
          "user_id": "",
          "status": "FINISHED",
          "start_time": 1000,
          "end_time": 2000,
          "artifact_uri": "mlflow-artifacts:/1/[run_id]/artifacts",
          "lifecycle_stage": "active",
          "run_id": "[run_id]"
        },
        "data": {
          "metrics": [
            {
              "key": "rmse",
              "value": 0.25,
              "timestamp": 1100,
              "step": 3
            }
          ],
          "params": [
            {
              "key": "alpha",
              "value": "0.5"
            }
          ],
          "tags": [
            {
              "key": "team",
              "value": "ferro"
            },
            {
              "key": "mlflow.runName",
              "value": "first"
            }
          ]
        },
        "inputs": {},
        "outputs": {}
      }
    }
    "#);

    let body = get(
        app,
        &format!("metrics/get-history?run_id={run}&metric_key=rmse"),
        200,
    )
    .await;
    assert_snapshot!(body, @r#"
    {
      "metrics": [
        {
          "key": "rmse",
          "value": 0.25,
          "timestamp": 1100,
          "step": 3
        }
      ]
    }
    "#);
}
on_both_backends!(run, run_lifecycle);

async fn tracking_errors(app: &TestApp) {
    let run = seed_run(app).await;
    let mut body = post(
        app,
        "runs/log-parameter",
        json!({"run_id": run, "key": "alpha", "value": "0.7"}),
        400,
    )
    .await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    assert_snapshot!(body, @r#"
    {
      "error_code": "INVALID_PARAMETER_VALUE",
      "message": "Changing param values is not allowed. Param with key='alpha' was already logged with value='0.5' for run ID='[run_id]'. Attempted logging new value '0.7'."
    }
    "#);

    let body = post(
        app,
        "runs/log-batch",
        json!({"run_id": run, "metrics": [{"key": "m", "timestamp": 1, "step": 0}]}),
        400,
    )
    .await;
    assert_snapshot!(body, @r#"
    {
      "error_code": "INVALID_PARAMETER_VALUE",
      "message": "Missing value for required parameter 'metrics[0].value'. See the API docs for more information about request parameters."
    }
    "#);

    let body = get(app, "runs/get?run_id=0123456789abcdef0123456789abcdef", 404).await;
    assert_snapshot!(body, @r#"
    {
      "error_code": "RESOURCE_DOES_NOT_EXIST",
      "message": "Run with id=0123456789abcdef0123456789abcdef not found"
    }
    "#);
}
on_both_backends!(errors, tracking_errors);

async fn search_runs(app: &TestApp) {
    let run = seed_run(app).await;
    post(
        app,
        "runs/update",
        json!({"run_id": run, "status": "FINISHED", "end_time": 2000}),
        200,
    )
    .await;
    post(
        app,
        "runs/create",
        json!({"experiment_id": "1", "run_name": "second", "start_time": 3000}),
        200,
    )
    .await;
    let mut body = post(
        app,
        "runs/search",
        json!({"experiment_ids": ["1"], "max_results": 1,
               "order_by": ["attributes.start_time ASC"]}),
        200,
    )
    .await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    assert_snapshot!(body, @r#"
    {
      "runs": [
        {
          "info": {
            "run_uuid": "[run_id]",
            "experiment_id": "1",
            "run_name": "first",
            "user_id": "",
            "status": "FINISHED",
            "start_time": 1000,
            "end_time": 2000,
            "artifact_uri": "mlflow-artifacts:/1/[run_id]/artifacts",
            "lifecycle_stage": "active",
            "run_id": "[run_id]"
          },
          "data": {
            "metrics": [
              {
                "key": "rmse",
                "value": 0.25,
                "timestamp": 1100,
                "step": 3
              }
            ],
            "params": [
              {
                "key": "alpha",
                "value": "0.5"
              }
            ],
            "tags": [
              {
                "key": "team",
                "value": "ferro"
              },
              {
                "key": "mlflow.runName",
                "value": "first"
              }
            ]
          },
          "inputs": {},
          "outputs": {}
        }
      ],
      "next_page_token": "eyJvZmZzZXQiOiAxfQ=="
    }
    "#);

    let body = post(
        app,
        "runs/search",
        json!({"experiment_ids": ["1"], "filter": "metrics.rmse >"}),
        400,
    )
    .await;
    assert_snapshot!(body, @r#"
    {
      "error_code": "INVALID_PARAMETER_VALUE",
      "message": "Invalid clause(s) in filter string: 'metrics.rmse', '>'"
    }
    "#);
    let body = post(
        app,
        "runs/search",
        json!({"experiment_ids": ["1"], "filter": "params.alpha = 0.5"}),
        400,
    )
    .await;
    assert_snapshot!(body, @r#"
    {
      "error_code": "INVALID_PARAMETER_VALUE",
      "message": "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.5"
    }
    "#);
}
on_both_backends!(search, search_runs);

async fn registered_model_and_version(app: &TestApp) {
    let run = seed_run(app).await;
    let body = post(
        app,
        "registered-models/create",
        json!({"name": "snap-model", "description": "for snapshots"}),
        200,
    )
    .await;
    let body = redact_times(
        body,
        &[
            "/registered_model/creation_timestamp",
            "/registered_model/last_updated_timestamp",
        ],
    );
    assert_snapshot!(body, @r#"
    {
      "registered_model": {
        "name": "snap-model",
        "creation_timestamp": "[time]",
        "last_updated_timestamp": "[time]",
        "description": "for snapshots"
      }
    }
    "#);

    let mut body = post(
        app,
        "model-versions/create",
        json!({"name": "snap-model", "source": format!("runs:/{run}/model"), "run_id": run}),
        200,
    )
    .await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    let body = redact_times(
        body,
        &[
            "/model_version/creation_timestamp",
            "/model_version/last_updated_timestamp",
        ],
    );
    assert_snapshot!(body, @r#"
    {
      "model_version": {
        "name": "snap-model",
        "version": "1",
        "creation_timestamp": "[time]",
        "last_updated_timestamp": "[time]",
        "current_stage": "None",
        "description": "",
        "source": "runs:/[run_id]/model",
        "run_id": "[run_id]",
        "status": "READY",
        "run_link": ""
      }
    }
    "#);

    let mut body = get(app, "registered-models/get?name=snap-model", 200).await;
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    let body = redact_times(
        body,
        &[
            "/registered_model/creation_timestamp",
            "/registered_model/last_updated_timestamp",
            "/registered_model/latest_versions/0/creation_timestamp",
            "/registered_model/latest_versions/0/last_updated_timestamp",
        ],
    );
    assert_snapshot!(body, @r#"
    {
      "registered_model": {
        "name": "snap-model",
        "creation_timestamp": "[time]",
        "last_updated_timestamp": "[time]",
        "description": "for snapshots",
        "latest_versions": [
          {
            "name": "snap-model",
            "version": "1",
            "creation_timestamp": "[time]",
            "last_updated_timestamp": "[time]",
            "current_stage": "None",
            "description": "",
            "source": "runs:/[run_id]/model",
            "run_id": "[run_id]",
            "status": "READY",
            "run_link": ""
          }
        ]
      }
    }
    "#);

    let body = get(app, "registered-models/get?name=nope", 404).await;
    assert_snapshot!(body, @r#"
    {
      "error_code": "RESOURCE_DOES_NOT_EXIST",
      "message": "Registered Model with name=nope not found"
    }
    "#);
}
on_both_backends!(registry, registered_model_and_version);

/// The run page's GraphQL query (the text the UI sends, shared with
/// `graphql.rs` and the bench).
async fn graphql_get_run(app: &TestApp) {
    let run = seed_run(app).await;
    post(
        app,
        "runs/update",
        json!({"run_id": run, "status": "FINISHED", "end_time": 2000}),
        200,
    )
    .await;
    post(
        app,
        "registered-models/create",
        json!({"name": "snap-model"}),
        200,
    )
    .await;
    post(
        app,
        "model-versions/create",
        json!({"name": "snap-model", "source": format!("runs:/{run}/model"), "run_id": run}),
        200,
    )
    .await;
    let query = include_str!("graphql/GetRun.graphql");
    let (status, mut body) = app
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": query, "variables": {"data": {"runId": run}}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    redact_ids(&mut body, &[(&run, "[run_id]")]);
    let body = redact_times(body, &["/data/mlflowGetRun/run/experiment/lastUpdateTime"]);
    assert_snapshot!(body, @r#"
    {
      "data": {
        "mlflowGetRun": {
          "apiError": null,
          "run": {
            "data": {
              "metrics": [
                {
                  "key": "rmse",
                  "step": "3",
                  "timestamp": "1100",
                  "value": 0.25
                }
              ],
              "params": [
                {
                  "key": "alpha",
                  "value": "0.5"
                }
              ],
              "tags": [
                {
                  "key": "team",
                  "value": "ferro"
                },
                {
                  "key": "mlflow.runName",
                  "value": "first"
                }
              ]
            },
            "experiment": {
              "artifactLocation": "mlflow-artifacts:/1",
              "experimentId": "1",
              "lastUpdateTime": "[time]",
              "lifecycleStage": "active",
              "name": "snap",
              "tags": [
                {
                  "key": "team",
                  "value": "ferro"
                }
              ]
            },
            "info": {
              "artifactUri": "mlflow-artifacts:/1/[run_id]/artifacts",
              "endTime": "2000",
              "experimentId": "1",
              "lifecycleStage": "active",
              "runName": "first",
              "runUuid": "[run_id]",
              "startTime": "1000",
              "status": "FINISHED",
              "userId": ""
            },
            "inputs": {
              "datasetInputs": [],
              "modelInputs": []
            },
            "modelVersions": [
              {
                "name": "snap-model",
                "source": "runs:/[run_id]/model",
                "status": "READY",
                "version": "1"
              }
            ],
            "outputs": {
              "modelOutputs": []
            }
          }
        }
      },
      "errors": null
    }
    "#);

    let (status, body) = app
        .request(
            Method::POST,
            "/graphql",
            Some(json!({"query": query, "variables": {"data": {"runId": "nope"}}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_snapshot!(body, @r#"
    {
      "data": {
        "mlflowGetRun": null
      },
      "errors": [
        "Run with id=nope not found"
      ]
    }
    "#);
}
on_both_backends!(graphql, graphql_get_run);
