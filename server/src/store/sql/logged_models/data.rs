//! A logged model's params (immutable) and tags.

use super::{
    check_unique_keys, insert_key_values, model_experiment_in, KeyValueTable, IDS_PER_QUERY,
};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::store::logged_models::LoggedModelDataStore;
use crate::store::sql::query::Sql;
use crate::store::sql::SqlStore;
use crate::wire::KeyValue;
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl LoggedModelDataStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue]) -> ApiResult<()> {
        check_unique_keys("param", params)?;
        let mut tx = self.writer.begin().await?;
        let experiment_id = model_experiment_in(&mut tx, model_id).await?;
        if !params.is_empty() {
            let keys: Vec<&str> = params.iter().map(|p| p.key.as_str()).collect();
            for chunk in keys.chunks(IDS_PER_QUERY) {
                let mut q = Sql::new("SELECT param_key FROM logged_model_params WHERE model_id = ");
                q.str(model_id).push(" AND param_key IN ").str_list(chunk);
                if let Some(row) = q.query().fetch_optional(&mut *tx).await? {
                    let key: String = row.try_get("param_key")?;
                    return Err(ApiError::bad_request(format!(
                        "Param with key {} was already logged for logged model with ID {}. \
                         Logged model params cannot be changed.",
                        py::repr_str(&key),
                        py::repr_str(model_id)
                    )));
                }
            }
            insert_key_values(
                &mut tx,
                KeyValueTable::Params,
                model_id,
                experiment_id,
                params,
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> ApiResult<()> {
        // Last value wins for a repeated key (PostgreSQL refuses to upsert
        // one row twice in a statement).
        let mut unique: Vec<KeyValue> = Vec::with_capacity(tags.len());
        for tag in tags {
            match unique.iter_mut().find(|t| t.key == tag.key) {
                Some(slot) => slot.value = tag.value.clone(),
                None => unique.push(tag.clone()),
            }
        }
        let mut tx = self.writer.begin().await?;
        let experiment_id = model_experiment_in(&mut tx, model_id).await?;
        insert_key_values(
            &mut tx,
            KeyValueTable::Tags,
            model_id,
            experiment_id,
            &unique,
            true,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_experiment_in(&mut tx, model_id).await?;
        let done =
            sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND tag_key = $2")
                .bind(model_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::not_found(format!(
                "No tag with key {} found for model with ID {}.",
                py::repr_str(key),
                py::repr_str(model_id)
            )));
        }
        tx.commit().await?;
        Ok(())
    }
}
