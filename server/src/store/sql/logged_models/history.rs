//! The run tag `mlflow.log-model.history` that the 2.x `runs/log-model`
//! call appends to.

use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::logged_models::{HistoryCheck, LogModelHistoryStore, LOG_MODEL_HISTORY_TAG};
use crate::store::sql::query::Sql;
use crate::store::sql::SqlStore;
use async_trait::async_trait;
use serde_json::{Map, Value};
use sqlx::Row;

#[async_trait]
impl LogModelHistoryStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_logged_model(
        &self,
        run_id: &str,
        model: Map<String, Value>,
        check: &HistoryCheck<'_>,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        let mut q = Sql::new("SELECT lifecycle_stage FROM runs WHERE run_uuid = ");
        // Concurrent log-model calls on one run append in turn.
        q.str(run_id).push(self.dialect.lock_selected_rows());
        let Some(row) = q.query().fetch_optional(&mut *tx).await? else {
            return Err(ApiError::not_found(format!(
                "Run with id={run_id} not found"
            )));
        };
        let stage = row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default();
        if stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The run {run_id} must be in the 'active' state. Current state is {stage}."
            )));
        }
        let previous: Option<Option<String>> =
            sqlx::query_scalar("SELECT value FROM tags WHERE run_uuid = $1 AND key = $2")
                .bind(run_id)
                .bind(LOG_MODEL_HISTORY_TAG)
                .fetch_optional(&mut *tx)
                .await?;
        let mut history = match previous.flatten() {
            Some(text) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => items,
                _ => {
                    return Err(ApiError::invalid_parameter(format!(
                        "The run tag '{LOG_MODEL_HISTORY_TAG}' of run {run_id} does not hold a JSON list."
                    )))
                }
            },
            None => Vec::new(),
        };
        history.push(Value::Object(model));
        let value = py::json_dumps(&Value::Array(history));
        check(&value)?;
        sqlx::query(
            "INSERT INTO tags (key, value, run_uuid) VALUES ($1, $2, $3) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
        )
        .bind(LOG_MODEL_HISTORY_TAG)
        .bind(&value)
        .bind(run_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUri;
    use crate::store::{NewRun, RunStore};

    async fn history(store: &SqlStore, run_id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT value FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(LOG_MODEL_HISTORY_TAG)
            .fetch_optional(&store.writer)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_check_sees_the_whole_history_and_can_refuse_it() {
        let store = SqlStore::open(&DatabaseUri::Sqlite { path: None })
            .await
            .unwrap();
        store
            .ensure_default_experiment("mlflow-artifacts:/0")
            .await
            .unwrap();
        let run = store
            .create_run(NewRun {
                experiment_id: "0".into(),
                user_id: String::new(),
                run_name: "r".into(),
                start_time: 1,
                tags: Vec::new(),
            })
            .await
            .unwrap()
            .info
            .run_id;
        let model = |n: i64| {
            let mut m = Map::new();
            m.insert("n".into(), Value::from(n));
            m
        };
        let accept = |_: &str| -> ApiResult<()> { Ok(()) };
        store
            .record_logged_model(&run, model(1), &accept)
            .await
            .unwrap();
        let seen = std::sync::Mutex::new(String::new());
        let refuse = |value: &str| -> ApiResult<()> {
            *seen.lock().unwrap() = value.to_string();
            Err(ApiError::invalid_parameter("too long"))
        };
        let err = store
            .record_logged_model(&run, model(2), &refuse)
            .await
            .unwrap_err();
        assert_eq!(err.message, "too long");
        assert_eq!(*seen.lock().unwrap(), r#"[{"n": 1}, {"n": 2}]"#);
        assert_eq!(
            history(&store, &run).await.as_deref(),
            Some(r#"[{"n": 1}]"#)
        );
        let err = store
            .record_logged_model("nope", model(3), &accept)
            .await
            .unwrap_err();
        assert_eq!(err.message, "Run with id=nope not found");
    }
}
