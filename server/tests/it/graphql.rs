//! `/graphql` against the real app on SQLite and PostgreSQL: the queries
//! the MLflow web UI sends (copied from its bundle), answered with the
//! JSON `mlflow server` 3.17.2 gives for the same data (ids and times
//! substituted), and its error behaviour.

use crate::common;

use common::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

// The UI's operations, one file each; bench/compare.py sends the same
// files (GetRun with the `__typename` fields Apollo adds).
const GET_EXPERIMENT: &str = include_str!("graphql/GetExperiment.graphql");
const GET_RUN: &str = include_str!("graphql/GetRun.graphql");
const SEARCH_RUNS: &str = include_str!("graphql/SearchRuns.graphql");
const GET_METRIC_HISTORY_BULK_INTERVAL: &str =
    include_str!("graphql/GetMetricHistoryBulkInterval.graphql");
const LIST_ARTIFACTS: &str = include_str!("graphql/ListArtifacts.graphql");
const SEARCH_MODEL_VERSIONS: &str = include_str!("graphql/SearchModelVersions.graphql");

/// POSTs a GraphQL request; returns the status and the body as JSON (or
/// as a string when it is not JSON).
async fn gql_body(app: &TestApp, body: Value) -> (u16, Value) {
    app.request(Method::POST, "/graphql", Some(body)).await
}

/// A query that must answer HTTP 200; returns the body.
async fn gql(app: &TestApp, query: &str, variables: Value) -> Value {
    let (status, body) = gql_body(app, json!({"query": query, "variables": variables})).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Replaces the string at each JSON pointer (a time MLflow stamps) with
/// `"<t>"` after checking it is an integer written as a string.
fn stamp(mut v: Value, pointers: &[&str]) -> Value {
    for p in pointers {
        let slot = v.pointer_mut(p).unwrap_or_else(|| panic!("{p} missing"));
        let text = slot.as_str().unwrap_or_else(|| panic!("{p} not a string"));
        assert!(text.parse::<i64>().is_ok(), "{p} = {text}");
        *slot = json!("<t>");
    }
    v
}

struct Seeded {
    exp: String,
    run: String,
}

/// One experiment (tag team=ferro) with a finished run: two params, rmse
/// and accuracy over three steps, a tag, two artifacts and a registered
/// model version.
async fn seed(app: &TestApp) -> Seeded {
    let (status, body) = app
        .post(
            "experiments/create",
            json!({"name": "gql-exp", "tags": [{"key": "team", "value": "ferro"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let exp = body["experiment_id"].as_str().expect("id").to_string();
    let run = app.create_run(&exp, "run-1").await;
    let mut metrics = Vec::new();
    for step in 0..3 {
        metrics.push(json!({"key": "rmse", "value": 1.0 / (step as f64 + 1.0), "timestamp": 1100 + step, "step": step}));
        metrics.push(json!({"key": "accuracy", "value": step as f64 / 2.0, "timestamp": 1200 + step, "step": step}));
    }
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({
                "run_id": run,
                "metrics": metrics,
                "params": [{"key": "alpha", "value": "0.5"}, {"key": "l1_ratio", "value": "0.1"}],
                "tags": [{"key": "team", "value": "ferro"}],
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "runs/update",
            json!({"run_id": run, "status": "FINISHED", "end_time": 2000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (path, content) in [("notes/readme.txt", "hello"), ("config.json", "{}")] {
        let (status, body) = app
            .request_raw(
                Method::PUT,
                &format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/{path}"),
                &[],
                Some(content.into()),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app
        .post("registered-models/create", json!({"name": "gql-model"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "gql-model", "source": format!("runs:/{run}/model"), "run_id": run}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    Seeded { exp, run }
}

async fn ui_get_experiment(app: &TestApp) {
    let s = seed(app).await;
    let body = gql(
        app,
        GET_EXPERIMENT,
        json!({"input": {"experimentId": s.exp}}),
    )
    .await;
    let body = stamp(
        body,
        &[
            "/data/mlflowGetExperiment/experiment/creationTime",
            "/data/mlflowGetExperiment/experiment/lastUpdateTime",
        ],
    );
    assert_eq!(
        body,
        json!({"data": {"mlflowGetExperiment": {"apiError": null, "experiment": {
            "artifactLocation": format!("mlflow-artifacts:/{}", s.exp),
            "creationTime": "<t>",
            "effectiveTraceArchivalRetention": "",
            "experimentId": s.exp,
            "lastUpdateTime": "<t>",
            "lifecycleStage": "active",
            "name": "gql-exp",
            "tags": [{"key": "team", "value": "ferro"}],
        }}}, "errors": null})
    );
    // Keys come sorted, as Flask's jsonify writes them.
    let (_, raw) = app
        .request_raw(
            Method::POST,
            "/graphql",
            &[("Content-Type", "application/json")],
            Some(
                json!({"query": "{ zz: __typename mlflowGetExperiment(input: {experimentId: \"0\"}) { experiment { name experimentId } } }"})
                    .to_string()
                    .into(),
            ),
        )
        .await;
    assert_eq!(
        raw,
        r#"{"data":{"mlflowGetExperiment":{"experiment":{"experimentId":"0","name":"Default"}},"zz":"Query"},"errors":null}"#
    );

    // Missing experiment: the field is null and MLflow's message listed.
    let body = gql(
        app,
        GET_EXPERIMENT,
        json!({"input": {"experimentId": "999"}}),
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowGetExperiment": null}, "errors": ["No Experiment with id=999 exists"]})
    );
}

fn expected_run(s: &Seeded) -> Value {
    json!({
        "data": {
            "metrics": [
                {"key": "accuracy", "step": "2", "timestamp": "1202", "value": 1.0},
                {"key": "rmse", "step": "2", "timestamp": "1102", "value": 1.0 / 3.0},
            ],
            "params": [{"key": "alpha", "value": "0.5"}, {"key": "l1_ratio", "value": "0.1"}],
            "tags": [{"key": "mlflow.runName", "value": "run-1"}, {"key": "team", "value": "ferro"}],
        },
        "experiment": {
            "artifactLocation": format!("mlflow-artifacts:/{}", s.exp),
            "experimentId": s.exp,
            "lastUpdateTime": "<t>",
            "lifecycleStage": "active",
            "name": "gql-exp",
            "tags": [{"key": "team", "value": "ferro"}],
        },
        "info": {
            "artifactUri": format!("mlflow-artifacts:/{}/{}/artifacts", s.exp, s.run),
            "endTime": "2000",
            "experimentId": s.exp,
            "lifecycleStage": "active",
            "runName": "run-1",
            "runUuid": s.run,
            "startTime": "1000",
            "status": "FINISHED",
            "userId": "",
        },
        "inputs": {"datasetInputs": [], "modelInputs": []},
        "outputs": {"modelOutputs": []},
    })
}

/// Metrics and tags in name order: the order between backends is not
/// part of the contract, so the test fixes one.
fn sort_run(run: &mut Value) {
    for list in ["metrics", "tags"] {
        if let Some(Value::Array(items)) = run.pointer_mut(&format!("/data/{list}")) {
            items.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
        }
    }
}

async fn ui_get_run(app: &TestApp) {
    let s = seed(app).await;
    let body = gql(app, GET_RUN, json!({"data": {"runId": s.run}})).await;
    let mut body = stamp(body, &["/data/mlflowGetRun/run/experiment/lastUpdateTime"]);
    let run = body.pointer_mut("/data/mlflowGetRun/run").expect("run");
    sort_run(run);
    let mut expected = expected_run(&s);
    expected["modelVersions"] = json!([{
        "name": "gql-model",
        "source": format!("runs:/{}/model", s.run),
        "status": "READY",
        "version": "1",
    }]);
    assert_eq!(
        body,
        json!({"data": {"mlflowGetRun": {"apiError": null, "run": expected}}, "errors": null})
    );

    // runUuid works as runId does.
    let body = gql(
        app,
        "query Q($d: MlflowGetRunInput!) { mlflowGetRun(input: $d) { run { info { runId } } } }",
        json!({"d": {"runUuid": s.run}}),
    )
    .await;
    assert_eq!(body["data"]["mlflowGetRun"]["run"]["info"]["runId"], s.run);

    // Missing run.
    let body = gql(app, GET_RUN, json!({"data": {"runId": "nonexistent"}})).await;
    assert_eq!(
        body,
        json!({"data": {"mlflowGetRun": null}, "errors": ["Run with id=nonexistent not found"]})
    );
    // No input at all: the Python resolver's own complaint.
    let body = gql(
        app,
        "{ mlflowGetRun { run { info { runId } } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowGetRun": null}, "errors": ["QueryType.resolve_mlflow_get_run() missing 1 required positional argument: 'input'"]})
    );
}

async fn ui_search_runs(app: &TestApp) {
    let s = seed(app).await;
    let vars = json!({"data": {"experimentIds": [s.exp], "orderBy": ["attributes.start_time DESC"], "maxResults": 10}});
    let body = gql(app, SEARCH_RUNS, vars.clone()).await;
    let mut body = stamp(
        body,
        &[
            "/data/mlflowSearchRuns/runs/0/experiment/lastUpdateTime",
            "/data/mlflowSearchRuns/runs/0/modelVersions/0/creationTimestamp",
        ],
    );
    let run = body
        .pointer_mut("/data/mlflowSearchRuns/runs/0")
        .expect("run");
    sort_run(run);
    let mut expected = expected_run(&s);
    expected["modelVersions"] = json!([{
        "creationTimestamp": "<t>",
        "name": "gql-model",
        "source": format!("runs:/{}/model", s.run),
        "status": "READY",
        "version": "1",
    }]);
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchRuns": {"apiError": null, "runs": [expected]}}, "errors": null})
    );

    // The same field on the mutation root.
    let body = gql(
        app,
        "mutation S($data: MlflowSearchRunsInput!) { mlflowSearchRuns(input: $data) { nextPageToken runs { info { runId } } } }",
        vars,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchRuns": {"nextPageToken": "", "runs": [{"info": {"runId": s.run}}]}}, "errors": null})
    );
    // The store's checks word the errors.
    let body = gql(
        app,
        "{ mlflowSearchRuns(input: {maxResults: 60000}) { runs { info { runId } } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchRuns": null}, "errors": ["Invalid value 60000 for parameter 'max_results' supplied. It must be at most 50000"]})
    );
    let body = gql(
        app,
        "{ mlflowSearchRuns(input: {experimentIds: [\"0\"], filter: \"bad filter\"}) { runs { info { runId } } } }",
        Value::Null,
    )
    .await;
    assert_eq!(body["data"], json!({"mlflowSearchRuns": null}));
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1));
}

async fn ui_metric_history_bulk_interval(app: &TestApp) {
    let s = seed(app).await;
    let body = gql(
        app,
        GET_METRIC_HISTORY_BULK_INTERVAL,
        json!({"data": {"runIds": [s.run], "metricKey": "rmse", "maxResults": 320}}),
    )
    .await;
    let point = |step: i64, value: f64| json!({"key": "rmse", "runId": s.run, "step": step.to_string(), "timestamp": (1100 + step).to_string(), "value": value});
    assert_eq!(
        body,
        json!({"data": {"mlflowGetMetricHistoryBulkInterval": {
            "__typename": "MlflowGetMetricHistoryBulkIntervalResponse",
            "apiError": null,
            "metrics": [point(0, 1.0), point(1, 0.5), point(2, 1.0 / 3.0)],
        }}, "errors": null})
    );

    // NaN: null in a run's latest metrics, a field error in a history.
    let (status, _) = app
        .post(
            "runs/log-metric",
            json!({"run_id": s.run, "key": "nanm", "value": "NaN", "timestamp": 5, "step": 0}),
        )
        .await;
    assert_eq!(status, 200);
    let body = gql(
        app,
        GET_METRIC_HISTORY_BULK_INTERVAL,
        json!({"data": {"runIds": [s.run], "metricKey": "nanm"}}),
    )
    .await;
    assert_eq!(
        body["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"],
        json!([{"key": "nanm", "runId": s.run, "step": "0", "timestamp": "5", "value": null}])
    );
    assert_eq!(
        body["errors"],
        json!(["Float cannot represent non numeric value: nan"])
    );
    let body = gql(
        app,
        "query Q($r: String!) { mlflowGetRun(input: {runId: $r}) { run { data { metrics { key value } } } } }",
        json!({"r": s.run}),
    )
    .await;
    let metrics = body["data"]["mlflowGetRun"]["run"]["data"]["metrics"]
        .as_array()
        .expect("metrics")
        .clone();
    assert!(
        metrics.contains(&json!({"key": "nanm", "value": null})),
        "{body}"
    );
    assert_eq!(body["errors"], Value::Null);
}

async fn list_artifacts_and_model_versions(app: &TestApp) {
    let s = seed(app).await;
    let root = format!("mlflow-artifacts:/{}/{}/artifacts", s.exp, s.run);
    let body = gql(app, LIST_ARTIFACTS, json!({"data": {"runId": s.run}})).await;
    assert_eq!(
        body,
        json!({"data": {"mlflowListArtifacts": {
            "__typename": "MlflowListArtifactsResponse",
            "apiError": null,
            "files": [
                {"fileSize": "2", "isDir": false, "path": "config.json"},
                {"fileSize": "0", "isDir": true, "path": "notes"},
            ],
            "nextPageToken": "",
            "rootUri": root,
        }}, "errors": null})
    );
    let body = gql(
        app,
        LIST_ARTIFACTS,
        json!({"data": {"runId": s.run, "path": "notes"}}),
    )
    .await;
    assert_eq!(
        body["data"]["mlflowListArtifacts"]["files"],
        json!([{"fileSize": "5", "isDir": false, "path": "notes/readme.txt"}])
    );
    let body = gql(
        app,
        LIST_ARTIFACTS,
        json!({"data": {"runId": s.run, "path": "../x"}}),
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowListArtifacts": null}, "errors": ["Invalid path"]})
    );

    let body = gql(
        app,
        SEARCH_MODEL_VERSIONS,
        json!({"data": {"filter": "name='gql-model'"}}),
    )
    .await;
    let body = stamp(
        body,
        &[
            "/data/mlflowSearchModelVersions/modelVersions/0/creationTimestamp",
            "/data/mlflowSearchModelVersions/modelVersions/0/lastUpdatedTimestamp",
        ],
    );
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchModelVersions": {
            "apiError": null,
            "modelVersions": [{
                "aliases": [],
                "creationTimestamp": "<t>",
                "currentStage": "None",
                "description": "",
                "lastUpdatedTimestamp": "<t>",
                "modelId": "",
                "name": "gql-model",
                "runId": s.run,
                "runLink": "",
                "source": format!("runs:/{}/model", s.run),
                "status": "READY",
                "statusMessage": "",
                "tags": [],
                "userId": "",
                "version": "1",
            }],
            "nextPageToken": "",
        }}, "errors": null})
    );
    // An unset deployment job state holds enum zeros graphene cannot name.
    let body = gql(
        app,
        "{ mlflowSearchModelVersions(input: {}) { modelVersions { deploymentJobState { jobId jobState runState } } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchModelVersions": {"modelVersions": [{"deploymentJobState": {"jobId": "", "jobState": null, "runState": null}}]}},
               "errors": ["Enum 'MlflowDeploymentJobConnectionState' cannot represent value: 0",
                          "Enum 'MlflowModelVersionDeploymentJobStateDeploymentJobRunState' cannot represent value: 0"]})
    );
    let body = gql(
        app,
        "{ mlflowSearchModelVersions(input: {maxResults: 0}) { modelVersions { name } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchModelVersions": null}, "errors": ["Invalid value for max_results. It must be a positive integer, but got 0"]})
    );

    let body = gql(
        app,
        "mutation { mlflowSearchDatasets(input: {experimentIds: [\"0\"]}) { __typename datasetSummaries { name } apiError { code } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchDatasets": {"__typename": "MlflowSearchDatasetsResponse", "apiError": null, "datasetSummaries": []}}, "errors": null})
    );
    let body = gql(
        app,
        "mutation { mlflowSearchDatasets(input: {}) { datasetSummaries { name } } }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"mlflowSearchDatasets": null}, "errors": ["SearchDatasets request must specify at least one experiment_id."]})
    );
}

async fn validation_and_limits(app: &TestApp) {
    let cases = [
        (
            r#"{ mlflowGetExperiment(input: {experimentId: "0"}) { experiment { bogus } } }"#,
            "Cannot query field 'bogus' on type 'MlflowExperiment'. Did you mean 'tags'?",
        ),
        (
            "{ mlflowGetExperiment(input: {}) @include(if: true) { __typename } }",
            "Unknown directive '@include'.",
        ),
        (
            r#"{ __typename @component(name: "x") }"#,
            "Directive '@component' may not be used on field.",
        ),
        (
            &format!("{}{}", "{ a ".repeat(11), "}".repeat(11)),
            "Query exceeds maximum depth of 10",
        ),
        (
            &format!("{{ a {{ {} }} }}", "b ".repeat(1001)),
            "Query exceeds maximum total selections of 1000",
        ),
        (
            &format!("{{ {} }}", (0..11).map(|i| format!("t{i}: __typename ")).collect::<String>()),
            "GraphQL queries should have at most 10 root fields, got 11 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable.",
        ),
        (
            "query A { __typename } query B { __typename }",
            "Must provide operation name if query contains multiple operations.",
        ),
        (
            "subscription { __typename }",
            "Schema is not configured to execute subscription operation.",
        ),
    ];
    for (query, message) in cases {
        let body = gql(app, query, Value::Null).await;
        assert_eq!(body, json!({"data": null, "errors": [message]}), "{query}");
    }
    let body = gql(app, GET_RUN, json!({"data": {"runId": 5}})).await;
    assert_eq!(
        body,
        json!({"data": null, "errors": ["Variable '$data' got invalid value 5 at 'data.runId'; String cannot represent a non string value: 5"]})
    );

    // @component on the operation, __typename at every level, fragments,
    // aliases, operationName.
    let (status, body) = gql_body(
        app,
        json!({
            "query": "query A { __typename } query B @component(name: \"x\") { t: test(inputString: \"hi\") { ...F __typename } } fragment F on Test { output }",
            "operationName": "B",
        }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"data": {"t": {"__typename": "Test", "output": "hi"}}, "errors": null})
    );
    let body = gql(
        app,
        "mutation { testMutation(inputString: \"hi\") { output } __typename }",
        Value::Null,
    )
    .await;
    assert_eq!(
        body,
        json!({"data": {"__typename": "Mutation", "testMutation": null}, "errors": null})
    );
}

async fn transport(app: &TestApp) {
    // A GET carrying the JSON body is answered like a POST.
    let (status, body) = app
        .request_raw(
            Method::GET,
            "/graphql",
            &[("Content-Type", "application/json")],
            Some(r#"{"query": "{ __typename }"}"#.into()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"data": {"__typename": "Query"}, "errors": null})
    );
    // Deliberately clearer than MLflow's bare HTML 500: a 400 JSON error
    // for a body without a query, and for a query that does not parse.
    let (status, body) = app.request(Method::GET, "/graphql", None).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "BAD_REQUEST");
    let (status, body) = gql_body(
        app,
        json!({"query": "{ mlflowGetRun(input: {runId: \"x\"}) { run "}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "BAD_REQUEST");
    assert_eq!(
        body["message"],
        "Syntax Error: Expected Name, found <EOF>. (line 1, column 43)"
    );
    // The content type is checked on POSTs, with MLflow's message.
    let (status, body) = app
        .request_raw(
            Method::POST,
            "/graphql",
            &[("Content-Type", "text/plain")],
            Some(r#"{"query": "{ __typename }"}"#.into()),
        )
        .await;
    assert_eq!(status, 400);
    let body: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        body["message"],
        "Bad Request. Content-Type must be one of ['application/json']."
    );
    // Other methods: 405, as Flask answers.
    let (status, _) = app.request(Method::PUT, "/graphql", None).await;
    assert_eq!(status, 405);
}

on_both_backends!(ui_get_experiment_query, ui_get_experiment);
on_both_backends!(ui_get_run_query, ui_get_run);
on_both_backends!(ui_search_runs_query, ui_search_runs);
on_both_backends!(ui_bulk_interval_query, ui_metric_history_bulk_interval);
on_both_backends!(artifacts_and_registry, list_artifacts_and_model_versions);
on_both_backends!(validation, validation_and_limits);
on_both_backends!(http, transport);

/// A document nested far beyond any real query is refused as a syntax
/// error, and the server (whose workers would otherwise overflow their
/// stacks while parsing it) keeps answering.
async fn deep_nesting(app: &TestApp) {
    let n = 50_000;
    for query in [
        format!("{{{}x{}}}", "a{".repeat(n), "}".repeat(n)),
        format!(
            "{{ test(inputString: {}) }}",
            "[".repeat(n) + &"]".repeat(n)
        ),
    ] {
        let (status, body) = gql_body(app, json!({ "query": query })).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error_code"], "BAD_REQUEST", "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("nested too deeply"),
            "{body}"
        );
    }
    let (status, _) = app.get("experiments/get?experiment_id=0").await;
    assert_eq!(status, 200);
}
on_both_backends!(nesting, deep_nesting);
