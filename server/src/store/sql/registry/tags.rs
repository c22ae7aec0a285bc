//! Tags of registered models and model versions, and aliases.

use super::model_versions::{load_model_version, model_version_row};
use super::registered_models::require_registered_model;
use crate::error::{ApiError, ApiResult};
use crate::store::registry::{RegisteredModelStore, RegistryTagStore};
use crate::store::sql::SqlStore;
use crate::wire::registry::ModelVersion;
use async_trait::async_trait;

#[async_trait]
impl RegistryTagStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query(
            "INSERT INTO registered_model_tags (workspace, name, key, value) VALUES ('default', $1, $2, $3) \
             ON CONFLICT (workspace, key, name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE workspace = 'default' AND name = $1 AND key = $2")
            .bind(name)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "INSERT INTO model_version_tags (workspace, name, version, key, value) \
             VALUES ('default', $1, $2, $3, $4) \
             ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(version)
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "DELETE FROM model_version_tags WHERE workspace = 'default' AND name = $1 AND version = $2 AND key = $3",
        )
        .bind(name)
        .bind(version)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        model_version_row(&mut tx, name, version).await?;
        sqlx::query(
            "INSERT INTO registered_model_aliases (workspace, name, alias, version) VALUES ('default', $1, $2, $3) \
             ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(name)
        .bind(alias)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> ApiResult<()> {
        let mut tx = self.writer.begin().await?;
        require_registered_model(&mut tx, name).await?;
        sqlx::query(
            "DELETE FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> ApiResult<ModelVersion> {
        if alias.to_lowercase() == "latest" {
            let latest = self.get_latest_versions(name, &[]).await?;
            return latest
                .into_iter()
                .max_by_key(|v| v.version.parse::<i64>().unwrap_or(0))
                .ok_or_else(|| {
                    ApiError::not_found(format!("Latest version not found for model {name}."))
                });
        }
        let mut conn = self.pool.acquire().await?;
        require_registered_model(&mut conn, name).await?;
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM registered_model_aliases WHERE workspace = 'default' AND name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?;
        let version = version.ok_or_else(|| {
            ApiError::invalid_parameter(format!("Registered model alias {alias} not found."))
        })?;
        load_model_version(&mut conn, name, version).await
    }
}
