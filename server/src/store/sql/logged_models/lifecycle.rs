//! A logged model's life: created pending (with its params and tags),
//! read, finalized, soft-deleted.

use super::{
    check_unique_keys, fetch_info, insert_key_values, not_found, read_back, with_data,
    KeyValueTable,
};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::logged_models::{LoggedModelLifecycleStore, NewLoggedModel};
use crate::store::sql::experiments::parse_experiment_id;
use crate::store::sql::query::Sql;
use crate::store::sql::{now_millis, SqlStore};
use crate::wire::logged_models::{LoggedModel, LoggedModelStatus};
use async_trait::async_trait;
use sqlx::Row;

/// `append_to_uri_path(location, "models", model_id, "artifacts")`.
fn model_artifact_location(experiment_location: &str, model_id: &str) -> String {
    let sep = if experiment_location.ends_with('/') {
        ""
    } else {
        "/"
    };
    format!("{experiment_location}{sep}models/{model_id}/artifacts")
}

#[async_trait]
impl LoggedModelLifecycleStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_logged_model(&self, new: NewLoggedModel) -> ApiResult<LoggedModel> {
        let experiment_id = parse_experiment_id(&new.experiment_id)?;
        check_unique_keys("param", &new.params)?;
        check_unique_keys("tag", &new.tags)?;
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(
            "SELECT artifact_location, lifecycle_stage FROM experiments WHERE experiment_id = $1",
        )
        .bind(experiment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(ApiError::not_found(format!(
                "No Experiment with id={} exists",
                new.experiment_id
            )));
        };
        let stage: String = row
            .try_get::<Option<String>, _>("lifecycle_stage")?
            .unwrap_or_default();
        if stage != "active" {
            return Err(ApiError::invalid_parameter(format!(
                "The experiment {} must be in the 'active' state. Current state is {stage}.",
                new.experiment_id
            )));
        }
        let location: String = row
            .try_get::<Option<String>, _>("artifact_location")?
            .unwrap_or_default();
        let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
        let name = new
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(py::names::random_name);
        let now = now_millis();
        let mut q = Sql::new(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
             creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, \
             source_run_id, status_message) VALUES (",
        );
        q.str(&model_id)
            .push(", ")
            .i64(experiment_id)
            .push(", ")
            .str(&name)
            .push(", ")
            .str(&model_artifact_location(&location, &model_id))
            .push(", ")
            .i64(now)
            .push(", ")
            .i64(now)
            .push(", ")
            .i64(LoggedModelStatus::Pending.to_int())
            .push(", 'active', ")
            .opt_str(new.model_type.as_deref())
            .push(", ")
            .opt_str(new.source_run_id.as_deref())
            .push(", NULL)");
        q.query().execute(&mut *tx).await?;
        insert_key_values(
            &mut tx,
            KeyValueTable::Params,
            &model_id,
            experiment_id,
            &new.params,
            false,
        )
        .await?;
        insert_key_values(
            &mut tx,
            KeyValueTable::Tags,
            &model_id,
            experiment_id,
            &new.tags,
            false,
        )
        .await?;
        let model = read_back(&mut tx, &model_id).await?;
        tx.commit().await?;
        Ok(model)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_logged_model(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> ApiResult<LoggedModel> {
        let mut conn = self.pool.acquire().await?;
        let info = fetch_info(&mut conn, model_id, allow_deleted)
            .await?
            .ok_or_else(|| not_found(model_id))?;
        Ok(with_data(&mut conn, vec![info]).await?.remove(0))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> ApiResult<LoggedModel> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE logged_models SET status = $1, last_updated_timestamp_ms = $2 WHERE model_id = $3",
        )
        .bind(status.to_int())
        .bind(now_millis())
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(model_id));
        }
        let model = read_back(&mut tx, model_id).await?;
        tx.commit().await?;
        Ok(model)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_logged_model(&self, model_id: &str) -> ApiResult<()> {
        let done = sqlx::query(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $1 \
             WHERE model_id = $2",
        )
        .bind(now_millis())
        .bind(model_id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(model_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_locations() {
        assert_eq!(
            model_artifact_location("mlflow-artifacts:/1", "m-1"),
            "mlflow-artifacts:/1/models/m-1/artifacts"
        );
        assert_eq!(
            model_artifact_location("/tmp/mlruns/1/", "m-1"),
            "/tmp/mlruns/1/models/m-1/artifacts"
        );
    }
}
