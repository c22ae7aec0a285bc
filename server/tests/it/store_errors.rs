//! Unique violations answer by constraint, with the same text on SQLite and
//! PostgreSQL (never the driver's): each key of `error::UNIQUE_KEYS` is
//! violated by a direct INSERT on both databases and converted.

use crate::common;

use common::{Backend, TestApp};
use ferroflow::config::DatabaseUri;
use ferroflow::error::{ApiError, ErrorCode, UNIQUE_KEYS, UNKNOWN_UNIQUE_KEY};
use ferroflow::store::sql::SqlStore;
use serde_json::json;
use sqlx::Connection;

/// Rows the duplicates below hang from (their foreign keys need them).
const PARENT_ROWS: &[&str] = &[
    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, \
     creation_time, last_update_time, workspace) VALUES (1, 'parent', 'a', 'active', 0, 0, 'default')",
    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, \
     status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, \
     deleted_time) VALUES ('r1', 'r', 'UNKNOWN', '', '', 'u', 'RUNNING', 0, NULL, '', 'active', 'a', 1, NULL)",
    "INSERT INTO registered_models (name, creation_time, last_updated_time, workspace) \
     VALUES ('m', 0, 0, 'default')",
    "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, \
     source, status, workspace) VALUES ('m', 1, 0, 0, 'None', 's', 'READY', 'default')",
    "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
     creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage) \
     VALUES ('lm1', 1, 'lm', 'a', 0, 0, 1, 'active')",
];

/// `(constraint, first INSERT, second INSERT)`: the second breaks the key
/// the first wrote, and only that key.
const VIOLATIONS: &[(&str, &str, &str)] = &[
    (
        "experiment_pk",
        "INSERT INTO experiments (experiment_id, name, workspace) VALUES (10, 'ten', 'default')",
        "INSERT INTO experiments (experiment_id, name, workspace) VALUES (10, 'other', 'default')",
    ),
    (
        "uq_experiments_workspace_name",
        "INSERT INTO experiments (experiment_id, name, workspace) VALUES (11, 'same', 'default')",
        "INSERT INTO experiments (experiment_id, name, workspace) VALUES (12, 'same', 'default')",
    ),
    (
        "experiment_tag_pk",
        "INSERT INTO experiment_tags (key, value, experiment_id) VALUES ('k', 'v', 1)",
        "INSERT INTO experiment_tags (key, value, experiment_id) VALUES ('k', 'w', 1)",
    ),
    (
        "run_pk",
        "INSERT INTO runs (run_uuid, experiment_id) VALUES ('r2', 1)",
        "INSERT INTO runs (run_uuid, experiment_id) VALUES ('r2', 1)",
    ),
    (
        "tag_pk",
        "INSERT INTO tags (key, value, run_uuid) VALUES ('k', 'v', 'r1')",
        "INSERT INTO tags (key, value, run_uuid) VALUES ('k', 'w', 'r1')",
    ),
    (
        "param_pk",
        "INSERT INTO params (key, value, run_uuid) VALUES ('k', 'v', 'r1')",
        "INSERT INTO params (key, value, run_uuid) VALUES ('k', 'w', 'r1')",
    ),
    (
        "metric_pk",
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) \
         VALUES ('k', 1.5, 7, 'r1', 2, false)",
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) \
         VALUES ('k', 1.5, 7, 'r1', 2, false)",
    ),
    (
        "latest_metric_pk",
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
         VALUES ('k', 1.5, 7, 2, false, 'r1')",
        "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
         VALUES ('k', 2.5, 8, 3, false, 'r1')",
    ),
    (
        "dataset_pk",
        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, \
         dataset_source) VALUES ('d1', 1, 'ds', 'abc', 'local', 's')",
        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, \
         dataset_source) VALUES ('d2', 1, 'ds', 'abc', 'local', 's')",
    ),
    (
        "inputs_pk",
        "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
         destination_id, step) VALUES ('i1', 'DATASET', 'd1', 'RUN', 'r1', 0)",
        "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
         destination_id, step) VALUES ('i2', 'DATASET', 'd1', 'RUN', 'r1', 0)",
    ),
    (
        "input_tags_pk",
        "INSERT INTO input_tags (input_uuid, name, value) VALUES ('i1', 'n', 'v')",
        "INSERT INTO input_tags (input_uuid, name, value) VALUES ('i1', 'n', 'w')",
    ),
    (
        "registered_model_pk",
        "INSERT INTO registered_models (name, workspace) VALUES ('m2', 'default')",
        "INSERT INTO registered_models (name, workspace) VALUES ('m2', 'default')",
    ),
    (
        "registered_model_tag_pk",
        "INSERT INTO registered_model_tags (key, value, name, workspace) \
         VALUES ('k', 'v', 'm', 'default')",
        "INSERT INTO registered_model_tags (key, value, name, workspace) \
         VALUES ('k', 'w', 'm', 'default')",
    ),
    (
        "registered_model_alias_pk",
        "INSERT INTO registered_model_aliases (alias, version, name, workspace) \
         VALUES ('champion', 1, 'm', 'default')",
        "INSERT INTO registered_model_aliases (alias, version, name, workspace) \
         VALUES ('champion', 1, 'm', 'default')",
    ),
    (
        "model_version_pk",
        "INSERT INTO model_versions (name, version, workspace) VALUES ('m', 2, 'default')",
        "INSERT INTO model_versions (name, version, workspace) VALUES ('m', 2, 'default')",
    ),
    (
        "model_version_tag_pk",
        "INSERT INTO model_version_tags (key, value, name, version, workspace) \
         VALUES ('k', 'v', 'm', 1, 'default')",
        "INSERT INTO model_version_tags (key, value, name, version, workspace) \
         VALUES ('k', 'w', 'm', 1, 'default')",
    ),
    (
        "logged_models_pk",
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
         creation_timestamp_ms, last_updated_timestamp_ms, status) \
         VALUES ('lm2', 1, 'lm', 'a', 0, 0, 1)",
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
         creation_timestamp_ms, last_updated_timestamp_ms, status) \
         VALUES ('lm2', 1, 'other', 'a', 0, 0, 1)",
    ),
    (
        "logged_model_params_pk",
        "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) \
         VALUES ('lm1', 1, 'k', 'v')",
        "INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) \
         VALUES ('lm1', 1, 'k', 'w')",
    ),
    (
        "logged_model_tags_pk",
        "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
         VALUES ('lm1', 1, 'k', 'v')",
        "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
         VALUES ('lm1', 1, 'k', 'w')",
    ),
    (
        "logged_model_metrics_pk",
        "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
         metric_step, metric_value, experiment_id, run_id) VALUES ('lm1', 'k', 7, 2, 1.5, 1, 'r1')",
        "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
         metric_step, metric_value, experiment_id, run_id) VALUES ('lm1', 'k', 7, 2, 2.5, 1, 'r1')",
    ),
];

/// A unique key the table does not list: the schema's own bookkeeping.
const UNLISTED_VIOLATION: &str = "INSERT INTO workspaces (name) VALUES ('default')";

/// Each violation's answer on `backend`: `(constraint, error)`, the
/// unlisted one last under the name "".
async fn violations_on(backend: Backend) -> Vec<(&'static str, ApiError)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let (uri, pg_database) = common::fresh_db_uri(backend, dir.path()).await;
    let db = DatabaseUri::parse(&uri).expect("db uri");
    drop(SqlStore::open(&db).await.expect("creates the schema"));
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.connection_url())
        .await
        .expect("connect");
    for sql in PARENT_ROWS {
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
    }
    let mut answers = Vec::new();
    for (constraint, first, second) in VIOLATIONS {
        sqlx::query(first).execute(&mut conn).await.expect(first);
        let err = sqlx::query(second)
            .execute(&mut conn)
            .await
            .expect_err(second);
        answers.push((*constraint, ApiError::from(err)));
    }
    let err = sqlx::query(UNLISTED_VIOLATION)
        .execute(&mut conn)
        .await
        .expect_err(UNLISTED_VIOLATION);
    answers.push(("", ApiError::from(err)));
    drop(conn);
    if let Some(name) = pg_database {
        common::drop_pg_database(&name).await;
    }
    answers
}

#[tokio::test]
async fn unique_violations_answer_by_constraint_on_both_databases() {
    let listed: Vec<&str> = UNIQUE_KEYS.iter().map(|k| k.constraint).collect();
    let tested: Vec<&str> = VIOLATIONS.iter().map(|v| v.0).collect();
    assert_eq!(listed, tested, "one violation per key of UNIQUE_KEYS");

    let sqlite = violations_on(Backend::Sqlite).await;
    let postgres = violations_on(Backend::Postgres).await;
    for ((constraint, on_sqlite), (_, on_postgres)) in sqlite.iter().zip(&postgres) {
        let key = UNIQUE_KEYS
            .iter()
            .find(|k| k.constraint == *constraint)
            .unwrap_or(&UNKNOWN_UNIQUE_KEY);
        for (backend, err) in [("sqlite", on_sqlite), ("postgres", on_postgres)] {
            assert_eq!(
                err.code,
                ErrorCode::ResourceAlreadyExists,
                "{constraint} on {backend}: {err}"
            );
            assert_eq!(err.message, key.message, "{constraint} on {backend}");
            assert_eq!(err.unique_key(), Some(key), "{constraint} on {backend}");
            // The driver's error is kept for the logs, never sent.
            assert!(
                err.cause_chain().is_some(),
                "{constraint} on {backend}: cause kept"
            );
        }
        assert_eq!(on_sqlite, on_postgres, "{constraint}: same answer");
    }
}

/// MLflow answers any integrity error of create-experiment with
/// `Experiment(name=…) already exists. Error: …`; a tag key given twice is
/// one, with the same text on both databases.
async fn duplicate_tag_keys_at_create(app: &TestApp) {
    let (status, body) = app
        .post(
            "experiments/create",
            json!({"name": "twice", "tags": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error_code"], "RESOURCE_ALREADY_EXISTS");
    assert_eq!(
        body["message"],
        "Experiment(name=twice) already exists. Error: The experiment already has a tag with this key."
    );
    // Nothing of the failed call stays.
    let (status, _) = app
        .get("experiments/get-by-name?experiment_name=twice")
        .await;
    assert_eq!(status, 404);
}
on_both_backends!(
    create_experiment_with_a_tag_key_twice,
    duplicate_tag_keys_at_create
);
