//! `ferroflow gc` against a live server's database, on SQLite and
//! PostgreSQL: runs, logged models and experiments made through the REST
//! API, deleted, then collected with `ferroflow::gc::run_to` (and the
//! binary, for exit codes and messages). Every table that refers to a
//! collected run is checked row by row, as are the artifact folders.

use crate::common;

use common::TestApp;
use ferroflow::gc::GcArgs;
use serde_json::{json, Value};
use sqlx::Connection;
use std::path::PathBuf;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

async fn db(app: &TestApp) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = ferroflow::config::DatabaseUri::parse(&app.db_uri)
        .expect("db uri")
        .connection_url();
    sqlx::AnyConnection::connect(&url).await.expect("connect")
}

/// `SELECT COUNT(*) …` with one text parameter.
async fn count(app: &TestApp, sql: &str, param: &str) -> i64 {
    let mut conn = db(app).await;
    let n: i64 = sqlx::query_scalar(sql)
        .bind(param)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
    n
}

async fn exec(app: &TestApp, sql: &str) {
    let mut conn = db(app).await;
    sqlx::query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.ok();
}

fn destination(app: &TestApp) -> PathBuf {
    app.dir.path().join("mlartifacts")
}

fn args(app: &TestApp) -> GcArgs {
    GcArgs {
        backend_store_uri: Some(app.db_uri.clone()),
        artifacts_destination: Some(destination(app).display().to_string()),
        ..GcArgs::default()
    }
}

/// Runs gc; `Ok(report)` or `Err(message)`.
async fn gc(args: GcArgs) -> Result<String, String> {
    let mut out = Vec::new();
    let result = ferroflow::gc::run_to(args, &mut out).await;
    let text = String::from_utf8(out).expect("utf8 report");
    match result {
        Ok(()) => Ok(text),
        Err(e) => Err(e.0),
    }
}

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, body) = app.post(path, body).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn send(app: &TestApp, method: reqwest::Method, path: &str) -> u16 {
    let resp = app
        .client
        .request(method, app.url(path))
        .send()
        .await
        .expect("request");
    resp.status().as_u16()
}

async fn put_artifact(app: &TestApp, path: &str, bytes: &'static [u8]) {
    let resp = app
        .client
        .put(app.url(&format!("/api/2.0/mlflow-artifacts/artifacts/{path}")))
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert_eq!(resp.status().as_u16(), 200, "upload {path}");
}

async fn create_model(app: &TestApp, exp: &str, run: &str) -> String {
    let body = ok(
        app,
        "logged-models",
        json!({"experiment_id": exp, "name": "m", "source_run_id": run,
               "params": [{"key": "alpha", "value": "0.1"}],
               "tags": [{"key": "t", "value": "v"}]}),
    )
    .await;
    body["model"]["info"]["model_id"]
        .as_str()
        .expect("model id")
        .to_string()
}

/// A run with a bit of everything: metrics (two steps), params, tags, a
/// dataset input with a tag, a model input and output, a logged-model
/// metric, an issue pointing at it, and two artifact files.
async fn rich_run(app: &TestApp, exp: &str, name: &str, model: &str) -> String {
    let run = app.create_run(exp, name).await;
    ok(
        app,
        "runs/log-batch",
        json!({"run_id": run,
               "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1, "step": 0},
                           {"key": "loss", "value": 0.25, "timestamp": 2, "step": 1}],
               "params": [{"key": "lr", "value": "0.01"}],
               "tags": [{"key": "team", "value": "a"}]}),
    )
    .await;
    ok(
        app,
        "runs/log-inputs",
        json!({"run_id": run,
               "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
                             "dataset": {"name": format!("ds-{name}"), "digest": "d1",
                                         "source_type": "local", "source": "{}"}}],
               "models": [{"model_id": model}]}),
    )
    .await;
    ok(
        app,
        "runs/outputs",
        json!({"run_id": run, "models": [{"model_id": model, "step": 1}]}),
    )
    .await;
    let mut conn = db(app).await;
    sqlx::query(
        "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
         metric_step, metric_value, experiment_id, run_id) VALUES ($1, 'acc', 1, 0, 0.9, $2, $3)",
    )
    .bind(model)
    .bind(exp.parse::<i64>().expect("int id"))
    .bind(&run)
    .execute(&mut conn)
    .await
    .expect("insert logged model metric");
    sqlx::query(
        "INSERT INTO issues (issue_id, experiment_id, name, description, status, \
         source_run_id, created_timestamp, last_updated_timestamp) \
         VALUES ($1, $2, 'i', 'd', 'open', $3, 1, 1)",
    )
    .bind(format!("i-{run}"))
    .bind(exp.parse::<i64>().expect("int id"))
    .bind(&run)
    .execute(&mut conn)
    .await
    .expect("insert issue");
    conn.close().await.ok();
    put_artifact(
        app,
        &format!("{exp}/{run}/artifacts/model/weights.bin"),
        b"w",
    )
    .await;
    put_artifact(app, &format!("{exp}/{run}/artifacts/notes.txt"), b"n").await;
    run
}

/// Rows that refer to `run` in each table (`table`, count).
async fn rows_of_run(app: &TestApp, run: &str) -> Vec<(&'static str, i64)> {
    let checks: [(&str, &str); 9] = [
        ("runs", "SELECT COUNT(*) FROM runs WHERE run_uuid = $1"),
        (
            "metrics",
            "SELECT COUNT(*) FROM metrics WHERE run_uuid = $1",
        ),
        (
            "latest_metrics",
            "SELECT COUNT(*) FROM latest_metrics WHERE run_uuid = $1",
        ),
        ("params", "SELECT COUNT(*) FROM params WHERE run_uuid = $1"),
        ("tags", "SELECT COUNT(*) FROM tags WHERE run_uuid = $1"),
        (
            "inputs",
            "SELECT COUNT(*) FROM inputs WHERE source_id = $1 OR destination_id = $1",
        ),
        (
            "input_tags",
            "SELECT COUNT(*) FROM input_tags WHERE input_uuid IN \
             (SELECT input_uuid FROM inputs WHERE destination_id = $1)",
        ),
        (
            "logged_model_metrics",
            "SELECT COUNT(*) FROM logged_model_metrics WHERE run_id = $1",
        ),
        (
            "issues",
            "SELECT COUNT(*) FROM issues WHERE source_run_id = $1",
        ),
    ];
    let mut out = Vec::new();
    for (table, sql) in checks {
        out.push((table, count(app, sql, run).await));
    }
    out
}

/// The `inputs` rows linking `run` (its datasets, model inputs, outputs).
async fn input_uuids(app: &TestApp, run: &str) -> Vec<String> {
    let mut conn = db(app).await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT input_uuid FROM inputs WHERE source_id = $1 OR destination_id = $1 \
         ORDER BY input_uuid",
    )
    .bind(run)
    .fetch_all(&mut conn)
    .await
    .expect("inputs");
    conn.close().await.ok();
    ids
}

async fn input_tags_of(app: &TestApp, input_uuids: &[String]) -> i64 {
    let mut n = 0;
    for id in input_uuids {
        n += count(
            app,
            "SELECT COUNT(*) FROM input_tags WHERE input_uuid = $1",
            id,
        )
        .await;
    }
    n
}

fn run_dir(app: &TestApp, exp: &str, run: &str) -> PathBuf {
    destination(app).join(exp).join(run)
}

async fn delete_run(app: &TestApp, run: &str) {
    ok(app, "runs/delete", json!({"run_id": run})).await;
}

async fn run_status(app: &TestApp, run: &str) -> (u16, Value) {
    app.get(&format!("runs/get?run_id={run}")).await
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

async fn collects_every_row_and_artifact_of_deleted_runs(app: &TestApp) {
    let exp = app.create_experiment("gc").await;
    let seed = app.create_run(&exp, "seed").await;
    let model = create_model(app, &exp, &seed).await;
    let gone = rich_run(app, &exp, "gone", &model).await;
    let live = rich_run(app, &exp, "live", &model).await;
    let before_live = rows_of_run(app, &live).await;
    let before_gone = rows_of_run(app, &gone).await;
    for (table, n) in before_gone.iter().chain(before_live.iter()) {
        assert!(*n > 0, "the test run has rows in {table}");
    }
    assert!(run_dir(app, &exp, &gone)
        .join("artifacts/notes.txt")
        .exists());
    let gone_inputs = input_uuids(app, &gone).await;
    assert_eq!(
        gone_inputs.len(),
        3,
        "a dataset, a model input and a model output"
    );
    assert_eq!(input_tags_of(app, &gone_inputs).await, 1);
    let live_inputs = input_uuids(app, &live).await;
    delete_run(app, &gone).await;

    let report = gc(args(app)).await.expect("gc");
    assert_eq!(
        report,
        format!("Run with ID {gone} has been permanently deleted.\n")
    );
    for (table, n) in rows_of_run(app, &gone).await {
        assert_eq!(n, 0, "rows of the collected run left in {table}");
    }
    assert_eq!(
        input_tags_of(app, &gone_inputs).await,
        0,
        "input_tags of the collected run's inputs"
    );
    assert_eq!(input_uuids(app, &live).await, live_inputs);
    assert_eq!(input_tags_of(app, &live_inputs).await, 1);
    assert_eq!(
        rows_of_run(app, &live).await,
        before_live,
        "live run untouched"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM issues WHERE issue_id = $1 AND source_run_id IS NULL",
            &format!("i-{gone}")
        )
        .await,
        1,
        "the issue stays, without its source run (ON DELETE SET NULL)"
    );
    // the experiment's datasets, the logged model and the seed run stay
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM datasets WHERE name = $1",
            "ds-gone"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM logged_models WHERE model_id = $1",
            &model
        )
        .await,
        1
    );
    assert!(!run_dir(app, &exp, &gone).exists(), "artifacts removed");
    assert!(run_dir(app, &exp, &live)
        .join("artifacts/notes.txt")
        .exists());
    let (status, body) = run_status(app, &gone).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");
    let (status, body) = run_status(app, &live).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["run"]["data"]["params"],
        json!([{"key": "lr", "value": "0.01"}])
    );

    // nothing left to collect
    assert_eq!(gc(args(app)).await.expect("gc again"), "");
}
on_both_backends!(
    collects_deleted_runs,
    collects_every_row_and_artifact_of_deleted_runs
);

async fn refuses_runs_that_are_not_deleted(app: &TestApp) {
    let exp = app.create_experiment("refuse").await;
    let active = app.create_run(&exp, "active").await;
    let deleted = app.create_run(&exp, "deleted").await;
    put_artifact(app, &format!("{exp}/{deleted}/artifacts/a.txt"), b"a").await;
    delete_run(app, &deleted).await;

    let err = gc(GcArgs {
        run_ids: Some(format!("{deleted},{active}")),
        ..args(app)
    })
    .await
    .expect_err("active run refused");
    assert_eq!(
        err,
        format!(
            "Run {active} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle \
             stage can be deleted."
        )
    );
    // nothing deleted, not even the deleted run listed first
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM runs WHERE run_uuid = $1",
            &deleted
        )
        .await,
        1
    );
    assert!(run_dir(app, &exp, &deleted)
        .join("artifacts/a.txt")
        .exists());

    let err = gc(GcArgs {
        run_ids: Some("0123456789abcdef0123456789abcdef".into()),
        ..args(app)
    })
    .await
    .expect_err("unknown run");
    assert_eq!(
        err,
        "Run with id=0123456789abcdef0123456789abcdef not found"
    );

    // only the listed run goes
    let other = app.create_run(&exp, "other").await;
    delete_run(app, &other).await;
    let report = gc(GcArgs {
        run_ids: Some(deleted.clone()),
        ..args(app)
    })
    .await
    .expect("gc one run");
    assert_eq!(
        report,
        format!("Run with ID {deleted} has been permanently deleted.\n")
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM runs WHERE run_uuid = $1", &other).await,
        1
    );
    assert_eq!(run_status(app, &active).await.0, 200);
}
on_both_backends!(refuses_active_runs, refuses_runs_that_are_not_deleted);

async fn older_than_filters_by_deleted_time(app: &TestApp) {
    let exp = app.create_experiment("age").await;
    let recent = app.create_run(&exp, "recent").await;
    let old = app.create_run(&exp, "old").await;
    delete_run(app, &recent).await;
    delete_run(app, &old).await;
    let two_days_ago = ferroflow_now() - 2 * 86_400_000;
    exec(
        app,
        &format!("UPDATE runs SET deleted_time = {two_days_ago} WHERE run_uuid = '{old}'"),
    )
    .await;

    let err = gc(GcArgs {
        older_than: Some("1d".into()),
        run_ids: Some(recent.clone()),
        ..args(app)
    })
    .await
    .expect_err("too recent");
    assert_eq!(
        err,
        format!(
            "Run {recent} is not older than the required age. Only runs older than 1d can be \
             deleted."
        )
    );
    let err = gc(GcArgs {
        older_than: Some("1 day".into()),
        ..args(app)
    })
    .await
    .expect_err("bad format");
    assert_eq!(
        err,
        "Could not parse any time information from '1 day'. Examples of valid strings: '8h', \
         '2d8h5m20s', '2m4s'"
    );

    let report = gc(GcArgs {
        older_than: Some("1d12h".into()),
        ..args(app)
    })
    .await
    .expect("gc old");
    assert_eq!(
        report,
        format!("Run with ID {old} has been permanently deleted.\n")
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM runs WHERE run_uuid = $1",
            &recent
        )
        .await,
        1
    );
    // a deleted run without deleted_time is never selected by age, as in MLflow
    exec(
        app,
        &format!("UPDATE runs SET deleted_time = NULL WHERE run_uuid = '{recent}'"),
    )
    .await;
    assert_eq!(gc(args(app)).await.expect("gc"), "");
    // … but is collected when named
    let report = gc(GcArgs {
        run_ids: Some(recent.clone()),
        ..args(app)
    })
    .await
    .expect("named");
    assert!(report.contains(&recent), "{report}");
}
on_both_backends!(older_than, older_than_filters_by_deleted_time);

fn ferroflow_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn collects_deleted_experiments(app: &TestApp) {
    let doomed = app.create_experiment("doomed").await;
    let kept = app.create_experiment("kept").await;
    ok(
        app,
        "experiments/set-experiment-tag",
        json!({"experiment_id": doomed, "key": "k", "value": "v"}),
    )
    .await;
    let r1 = app.create_run(&doomed, "r1").await;
    let model = create_model(app, &doomed, &r1).await;
    let r2 = rich_run(app, &doomed, "r2", &model).await;
    put_artifact(app, &format!("{doomed}/{r1}/artifacts/x.txt"), b"x").await;
    put_artifact(
        app,
        &format!("{doomed}/models/{model}/artifacts/MLmodel"),
        b"m",
    )
    .await;
    let kept_run = app.create_run(&kept, "k").await;
    let stray = app.create_run(&kept, "stray").await;
    // a trace with tags and a span, as mlflow server would store them
    exec(
        app,
        &format!(
            "INSERT INTO trace_info (request_id, experiment_id, timestamp_ms, status) \
             VALUES ('tr-1', {doomed}, 1, 'OK')"
        ),
    )
    .await;
    exec(
        app,
        "INSERT INTO trace_tags (key, value, request_id) VALUES ('k', 'v', 'tr-1')",
    )
    .await;
    exec(
        app,
        &format!(
            "INSERT INTO spans (trace_id, experiment_id, span_id, name, status, \
             start_time_unix_nano, content) VALUES ('tr-1', {doomed}, 's1', 'n', 'OK', 1, '{{}}')"
        ),
    )
    .await;

    // an active experiment is refused, with MLflow's message; nothing goes
    ok(app, "runs/delete", json!({"run_id": stray})).await;
    let r2_inputs = input_uuids(app, &r2).await;
    assert_eq!(input_tags_of(app, &r2_inputs).await, 1);
    ok(app, "experiments/delete", json!({"experiment_id": doomed})).await;
    let err = gc(GcArgs {
        experiment_ids: Some(format!("{doomed},{kept}")),
        ..args(app)
    })
    .await
    .expect_err("active experiment");
    assert_eq!(
        err,
        format!(
            "Experiments ['{kept}'] are not in the deleted lifecycle stage. Only experiments in \
             the deleted lifecycle stage can be hard-deleted."
        )
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM runs WHERE run_uuid = $1", &r1).await,
        1
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM runs WHERE run_uuid = $1", &stray).await,
        1
    );
    // --older-than applies to the experiment's last update
    let err = gc(GcArgs {
        experiment_ids: Some(doomed.clone()),
        older_than: Some("1h".into()),
        ..args(app)
    })
    .await
    .expect_err("recent experiment");
    assert_eq!(
        err,
        format!(
            "Experiments ['{doomed}'] are not older than the required age. Only experiments \
             older than 1h can be deleted."
        )
    );

    let report = gc(GcArgs {
        experiment_ids: Some(doomed.clone()),
        ..args(app)
    })
    .await
    .expect("gc experiment");
    // As in mlflow gc, the other categories fall back to "everything
    // deleted": the deleted run of the kept experiment goes too.
    for line in [
        format!("Run with ID {r1} has been permanently deleted."),
        format!("Run with ID {r2} has been permanently deleted."),
        format!("Run with ID {stray} has been permanently deleted."),
        format!("Logged model with ID {model} has been permanently deleted."),
        format!("Experiment with ID {doomed} has been permanently deleted."),
    ] {
        assert!(report.contains(&line), "{line} in:\n{report}");
    }
    assert!(
        report.ends_with(&format!(
            "Experiment with ID {doomed} has been permanently deleted.\n"
        )),
        "{report}"
    );
    let (status, body) = app
        .get(&format!("experiments/get?experiment_id={doomed}"))
        .await;
    assert_eq!(status, 404, "{body}");
    for (table, column) in [
        ("experiments", "experiment_id"),
        ("experiment_tags", "experiment_id"),
        ("runs", "experiment_id"),
        ("logged_models", "experiment_id"),
        ("logged_model_params", "experiment_id"),
        ("logged_model_tags", "experiment_id"),
        ("logged_model_metrics", "experiment_id"),
        ("datasets", "experiment_id"),
        ("issues", "experiment_id"),
        ("trace_info", "experiment_id"),
        ("spans", "experiment_id"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE CAST({column} AS TEXT) = $1");
        assert_eq!(count(app, &sql, &doomed).await, 0, "{table} rows left");
    }
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM trace_tags WHERE request_id = $1",
            "tr-1"
        )
        .await,
        0
    );
    assert_eq!(input_tags_of(app, &r2_inputs).await, 0);
    for run in [&r1, &r2] {
        for (table, n) in rows_of_run(app, run).await {
            assert_eq!(n, 0, "{table} rows of {run} left");
        }
    }
    assert!(
        !destination(app).join(&doomed).exists(),
        "the experiment's artifact folder is gone once empty"
    );
    assert_eq!(run_status(app, &kept_run).await.0, 200);
    let (status, _) = app
        .get(&format!("experiments/get?experiment_id={kept}"))
        .await;
    assert_eq!(status, 200);
}
on_both_backends!(deleted_experiments, collects_deleted_experiments);

async fn dry_run_deletes_nothing(app: &TestApp) {
    let exp = app.create_experiment("dry").await;
    let run = app.create_run(&exp, "r").await;
    put_artifact(app, &format!("{exp}/{run}/artifacts/a.txt"), b"a").await;
    delete_run(app, &run).await;
    let exp2 = app.create_experiment("dry2").await;
    let run2 = app.create_run(&exp2, "r2").await;
    ok(app, "experiments/delete", json!({"experiment_id": exp2})).await;
    let runs_before = count(app, "SELECT COUNT(*) FROM runs WHERE $1 = $1", "x").await;

    let report = gc(GcArgs {
        dry_run: true,
        ..args(app)
    })
    .await
    .expect("dry run");
    for line in [
        format!("Run with ID {run} would be permanently deleted. (artifacts: mlflow-artifacts:/{exp}/{run}/artifacts)"),
        format!("Run with ID {run2} would be permanently deleted."),
        format!("Experiment with ID {exp2} would be permanently deleted."),
        "Dry run: nothing was deleted.".to_string(),
    ] {
        assert!(report.contains(&line), "{line} in:\n{report}");
    }
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM runs WHERE $1 = $1", "x").await,
        runs_before
    );
    assert!(run_dir(app, &exp, &run).join("artifacts/a.txt").exists());
    let (status, _) = app
        .get(&format!("experiments/get?experiment_id={exp2}"))
        .await;
    assert_eq!(status, 200);

    // a dry run checks like a real one
    let active = app.create_run(&exp, "active").await;
    let err = gc(GcArgs {
        dry_run: true,
        run_ids: Some(active.clone()),
        ..args(app)
    })
    .await
    .expect_err("active");
    assert!(
        err.starts_with(&format!("Run {active} is not in `deleted`")),
        "{err}"
    );
}
on_both_backends!(dry_run, dry_run_deletes_nothing);

async fn collects_deleted_logged_models(app: &TestApp) {
    let exp = app.create_experiment("models").await;
    let run = app.create_run(&exp, "r").await;
    let gone = create_model(app, &exp, &run).await;
    let live = create_model(app, &exp, &run).await;
    for m in [&gone, &live] {
        put_artifact(app, &format!("{exp}/models/{m}/artifacts/MLmodel"), b"m").await;
    }
    let status = send(
        app,
        reqwest::Method::DELETE,
        &format!("/api/2.0/mlflow/logged-models/{gone}"),
    )
    .await;
    assert_eq!(status, 200);

    let err = gc(GcArgs {
        logged_model_ids: Some(live.clone()),
        ..args(app)
    })
    .await
    .expect_err("active model");
    assert_eq!(
        err,
        format!(
            "Logged model {live} is not in `deleted` lifecycle stage. Only logged models in \
             `deleted` lifecycle stage can be deleted."
        )
    );
    let err = gc(GcArgs {
        logged_model_ids: Some("m-missing".into()),
        ..args(app)
    })
    .await
    .expect_err("missing model");
    assert_eq!(err, "Logged model with ID 'm-missing' not found.");

    let report = gc(args(app)).await.expect("gc");
    assert_eq!(
        report,
        format!("Logged model with ID {gone} has been permanently deleted.\n")
    );
    for table in ["logged_models", "logged_model_params", "logged_model_tags"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE model_id = $1");
        assert_eq!(count(app, &sql, &gone).await, 0, "{table}");
        assert_eq!(
            count(app, &sql, &live).await,
            1,
            "{table} of the live model"
        );
    }
    let models = destination(app).join(&exp).join("models");
    assert!(!models.join(&gone).exists());
    assert!(models.join(&live).join("artifacts/MLmodel").exists());
}
on_both_backends!(deleted_logged_models, collects_deleted_logged_models);

async fn collects_finalized_jobs(app: &TestApp) {
    let now = ferroflow_now();
    for (id, status, created) in [
        ("job-ok", 2, now - 3 * 86_400_000),
        ("job-failed", 3, now),
        ("job-running", 1, now - 3 * 86_400_000),
    ] {
        exec(
            app,
            &format!(
                "INSERT INTO jobs (id, creation_time, job_name, params, status, retry_count, \
                 last_update_time) VALUES ('{id}', {created}, 'n', '{{}}', {status}, 0, {created})"
            ),
        )
        .await;
    }
    exec(
        app,
        "INSERT INTO job_locks (lock_key, job_id, acquired_at) VALUES ('l', 'job-ok', 1)",
    )
    .await;
    // without --jobs, jobs are left alone
    assert_eq!(gc(args(app)).await.expect("gc"), "");
    let report = gc(GcArgs {
        jobs: true,
        older_than: Some("1d".into()),
        ..args(app)
    })
    .await
    .expect("gc jobs");
    assert_eq!(report, "Job with ID job-ok has been permanently deleted.\n");
    let report = gc(GcArgs {
        job_ids: Some("job-failed,job-running".into()),
        ..args(app)
    })
    .await
    .expect("gc job ids");
    assert_eq!(
        report,
        "Job with ID job-failed has been permanently deleted.\n"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM jobs WHERE id <> $1", "").await,
        1,
        "the running job stays"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM job_locks WHERE job_id = $1",
            "job-ok"
        )
        .await,
        0
    );
}
on_both_backends!(finalized_jobs, collects_finalized_jobs);

/// The binary: exit status, stdout and stderr.
fn ferroflow_gc(cwd: &std::path::Path, extra: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferroflow"))
        .arg("gc")
        .args(extra)
        .current_dir(cwd)
        .env_remove("MLFLOW_BACKEND_STORE_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_ARTIFACTS_DESTINATION")
        .env_remove("MLFLOW_WORKSPACE")
        .output()
        .expect("run ferroflow gc");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reports_and_refuses_like_mlflow_gc() {
    let app = common::spawn_app(common::Backend::Sqlite).await;
    let exp = app.create_experiment("cli").await;
    let active = app.create_run(&exp, "active").await;
    let deleted = app.create_run(&exp, "deleted").await;
    put_artifact(&app, &format!("{exp}/{deleted}/artifacts/a.txt"), b"a").await;
    delete_run(&app, &deleted).await;
    let dest = destination(&app).display().to_string();
    let base = [
        "--backend-store-uri",
        app.db_uri.as_str(),
        "--artifacts-destination",
        dest.as_str(),
    ];

    let (success, stdout, stderr) = ferroflow_gc(
        app.dir.path(),
        &[&base[..], &["--run-ids", active.as_str()]].concat(),
    );
    assert!(!success);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!(
            "Run {active} is not in `deleted` lifecycle stage. Only runs in `deleted` lifecycle \
             stage can be deleted."
        )),
        "{stderr}"
    );
    let (success, _, stderr) = ferroflow_gc(
        app.dir.path(),
        &[&base[..], &["--tracking-uri", "http://127.0.0.1:5000"]].concat(),
    );
    assert!(!success);
    assert!(
        stderr.contains("--tracking-uri is not supported"),
        "{stderr}"
    );
    let (success, _, stderr) = ferroflow_gc(
        app.dir.path(),
        &[&base[..], &["--older-than", "2x"]].concat(),
    );
    assert!(!success);
    assert!(
        stderr.contains("Could not parse any time information from '2x'."),
        "{stderr}"
    );

    // the default database is ./mlflow.db, the default destination
    // ./mlartifacts: the test app's own layout, so a plain `gc` in its
    // folder collects its run
    let (success, stdout, stderr) = ferroflow_gc(app.dir.path(), &["--dry-run"]);
    assert!(success, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Run with ID {deleted} would be permanently deleted."
        )),
        "{stdout}"
    );
    let (success, stdout, stderr) = ferroflow_gc(app.dir.path(), &[]);
    assert!(success, "{stderr}");
    assert_eq!(
        stdout,
        format!("Run with ID {deleted} has been permanently deleted.\n")
    );
    assert!(!run_dir(&app, &exp, &deleted).exists());
    assert_eq!(run_status(&app, &active).await.0, 200);
    app.cleanup().await;
}
