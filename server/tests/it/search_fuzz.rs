//! Generated filters and `order_by` entries through the search endpoints,
//! on both databases: every answer is 200 or 400, never a 5xx. The unit
//! fuzz (`search::fuzz`) proves the parser never panics; this one proves
//! the SQL built from odd but valid clauses (unicode keys, `LIKE` patterns
//! with escapes, infinite numbers, long `IN` lists) runs on SQLite and
//! PostgreSQL. The inputs come from a fixed seed, so a failure reproduces.

use crate::common;

use common::TestApp;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

/// Filters per endpoint and backend (`PROPTEST_CASES` overrides).
const DEFAULT_CASES: usize = 150;

fn cases() -> usize {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

const KEYS: &[&str] = &[
    "a",
    "acc",
    "lr",
    "team",
    "`a b`",
    "`mlflow.runName`",
    "'quoted key'",
    "\"dq\"",
    "`é中🦀`",
    "`%_\\`",
    "`'`",
];

const STRINGS: &[&str] = &[
    "'ml'",
    "'m%'",
    "'%'",
    "'_'",
    "'%\\%%'",
    "'\\\\'",
    "''",
    "'it''s'",
    "'a\\'b'",
    "'é中🦀'",
    "\"dq\"",
    "'0.01'",
    "'FINISHED'",
    "'RUNNING'",
    "'1'",
    "' 12 '",
    "'99999999999999999999'",
    "'\u{0}'",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "0.9",
    ".5",
    "1.",
    "1e400",
    "-1e400",
    "1e-400",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999",
    "-0.0",
];

const LISTS: &[&str] = &[
    "('a')",
    "('a', 'b')",
    "('1', ' 2 ')",
    "('é', '%', '''')",
    "('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11')",
];

const STRING_OPS: &[&str] = &["=", "!=", "LIKE", "ILIKE", "like", "ilike"];
const NUMBER_OPS: &[&str] = &["=", "!=", "<", "<=", ">", ">="];
const LIST_OPS: &[&str] = &["IN", "NOT IN", "in", "not in"];

/// `<key> <op> <value>` with the value type the key wants most of the time
/// (so the clause gets as far as the SQL) and a mismatched one sometimes.
fn clause(
    prefixes: &'static [&'static str],
    attributes: &'static [&'static str],
) -> impl Strategy<Value = String> {
    let key = prop_oneof![
        (select(prefixes), select(KEYS)).prop_map(|(p, k)| format!("{p}{k}")),
        select(attributes).prop_map(str::to_string),
    ];
    let tail = prop_oneof![
        3 => (select(STRING_OPS), select(STRINGS)).prop_map(|(o, v)| format!("{o} {v}")),
        3 => (select(NUMBER_OPS), select(NUMBERS)).prop_map(|(o, v)| format!("{o} {v}")),
        2 => (select(LIST_OPS), select(LISTS)).prop_map(|(o, v)| format!("{o} {v}")),
        1 => select(&["IS NULL", "IS NOT NULL", "is null"][..]).prop_map(str::to_string),
    ];
    (key, tail).prop_map(|(k, t)| format!("{k} {t}"))
}

fn filter(
    prefixes: &'static [&'static str],
    attributes: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop::collection::vec(clause(prefixes, attributes), 1..4).prop_map(|c| c.join(" AND "))
}

fn order_by(
    prefixes: &'static [&'static str],
    attributes: &'static [&'static str],
) -> impl Strategy<Value = Vec<String>> {
    let key = prop_oneof![
        (select(prefixes), select(KEYS)).prop_map(|(p, k)| format!("{p}{k}")),
        select(attributes).prop_map(str::to_string),
    ];
    prop::collection::vec(
        (key, select(&["", " ASC", " DESC", " desc"][..])).prop_map(|(k, d)| format!("{k}{d}")),
        0..3,
    )
}

/// `cases()` values of `strategy` from a fixed seed.
fn sample<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>) -> Vec<T> {
    let mut runner = TestRunner::deterministic();
    (0..cases())
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

fn assert_not_5xx(what: &str, input: &Value, (status, body): (u16, Value)) {
    assert!(
        status == 200 || status == 400,
        "{what} {input} answered {status}: {body}"
    );
    if status == 400 {
        assert_eq!(
            body["error_code"], "INVALID_PARAMETER_VALUE",
            "{what} {input}: {body}"
        );
    }
}

fn query(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const RUN_PREFIXES: &[&str] = &[
    "metrics.",
    "params.",
    "tags.",
    "attributes.",
    "dataset.",
    "`tags`.",
];
const RUN_ATTRIBUTES: &[&str] = &[
    "run_id",
    "run_name",
    "`run name`",
    "status",
    "user_id",
    "artifact_uri",
    "start_time",
    "end_time",
    "created",
    "dataset.name",
    "dataset.digest",
    "dataset.context",
];
const EXPERIMENT_PREFIXES: &[&str] = &["tags.", "tag.", "attribute."];
const EXPERIMENT_ATTRIBUTES: &[&str] =
    &["name", "experiment_id", "creation_time", "last_update_time"];
const REGISTRY_PREFIXES: &[&str] = &["tags.", "tag.", "attribute."];
const MODEL_VERSION_ATTRIBUTES: &[&str] = &["name", "version_number", "run_id", "source_path"];
const LOGGED_MODEL_PREFIXES: &[&str] = &["metrics.", "params.", "tags.", "attributes."];
const LOGGED_MODEL_ATTRIBUTES: &[&str] = &[
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
];

/// A run with a metric, a param and a tag, a registered model with one
/// version, and a logged model, so that every join has rows to compare.
async fn populate(app: &TestApp) -> String {
    let exp = app.create_experiment("fuzz").await;
    let run = app.create_run(&exp, "fuzz-run").await;
    let (status, body) = app
        .post(
            "runs/log-batch",
            json!({"run_id": run,
            "params": [{"key": "lr", "value": "0.01"}, {"key": "a b", "value": "é"}],
            "metrics": [{"key": "acc", "value": 0.9, "timestamp": 10, "step": 1}],
            "tags": [{"key": "team", "value": "ml"}, {"key": "a_b c", "value": "%_\\'"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post("registered-models/create", json!({"name": "fuzz-model"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "model-versions/create",
            json!({"name": "fuzz-model", "run_id": run,
                   "source": format!("mlflow-artifacts:/{exp}/{run}/artifacts/model")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            "logged-models",
            json!({"experiment_id": exp, "name": "fuzz-logged", "source_run_id": run}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    exp
}

async fn generated_searches_never_answer_5xx(app: &TestApp) {
    let exp = populate(app).await;

    let filters = sample(filter(RUN_PREFIXES, RUN_ATTRIBUTES));
    let orders = sample(order_by(RUN_PREFIXES, RUN_ATTRIBUTES));
    for (filter, order_by) in filters.iter().zip(&orders) {
        let body = json!({"experiment_ids": [exp], "filter": filter, "order_by": order_by});
        assert_not_5xx(
            "runs/search",
            &body,
            app.post("runs/search", body.clone()).await,
        );
    }

    let filters = sample(filter(EXPERIMENT_PREFIXES, EXPERIMENT_ATTRIBUTES));
    let orders = sample(order_by(EXPERIMENT_PREFIXES, EXPERIMENT_ATTRIBUTES));
    for (filter, order_by) in filters.iter().zip(&orders) {
        let body = json!({"filter": filter, "order_by": order_by});
        let answer = app.post("experiments/search", body.clone()).await;
        assert_not_5xx("experiments/search", &body, answer);
    }

    for filter in sample(filter(REGISTRY_PREFIXES, &["name"])) {
        let answer = app
            .get(&format!(
                "registered-models/search?filter={}",
                query(&filter)
            ))
            .await;
        assert_not_5xx("registered-models/search", &json!(filter), answer);
    }

    for filter in sample(filter(REGISTRY_PREFIXES, MODEL_VERSION_ATTRIBUTES)) {
        let answer = app
            .get(&format!("model-versions/search?filter={}", query(&filter)))
            .await;
        assert_not_5xx("model-versions/search", &json!(filter), answer);
    }

    for filter in sample(filter(LOGGED_MODEL_PREFIXES, LOGGED_MODEL_ATTRIBUTES)) {
        let body = json!({"experiment_ids": [exp], "filter": filter});
        let answer = app.post("logged-models/search", body.clone()).await;
        assert_not_5xx("logged-models/search", &body, answer);
    }
}

on_both_backends!(generated_searches, generated_searches_never_answer_5xx);
