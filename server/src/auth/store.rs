//! The auth database: MLflow's basic-auth schema (users, roles, role
//! permissions, role assignments) on SQLite or PostgreSQL, created by our
//! migrations (`migrations/auth-<backend>/`) at MLflow's Alembic head, so one
//! database serves `mlflow server --app-name basic-auth` and ferroflow.
//!
//! Per-user grants live, as in MLflow, on a synthetic role named
//! `__user_<id>__` in workspace `default`, assigned to that user.

use super::permission::{Grant, Permission};
use crate::config::DatabaseUri;
use crate::error::{ApiError, ApiResult, ErrorCode};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};

/// The Alembic head of MLflow 3.17.2's auth schema.
pub const AUTH_ALEMBIC_HEAD: &str = "f1a2b3c4d5e6";
/// The workspace every grant lives in while workspaces are off.
pub const DEFAULT_WORKSPACE: &str = "default";

static POSTGRES: Migrator = sqlx::migrate!("../migrations/auth-postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/auth-sqlite");

/// A row of `users` (the hash never leaves the auth module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub is_admin: bool,
}

/// One grant with the role it sits on (`users/permissions/list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub role_id: i64,
    pub role_name: String,
    pub workspace: String,
    pub grant: Grant,
}

pub struct AuthStore {
    pool: AnyPool,
}

const USER_COLUMNS: &str =
    "id, username, password_hash, CASE WHEN is_admin THEN 'true' ELSE 'false' END";

fn user_from_row(row: &sqlx::any::AnyRow) -> ApiResult<User> {
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
        password_hash: row.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        is_admin: row.try_get::<String, _>(3)? == "true",
    })
}

async fn table_exists(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    count_tables: &str,
    table: &str,
) -> ApiResult<bool> {
    let n: i64 = sqlx::query_scalar(count_tables)
        .bind(table)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

fn synthetic_role_name(user_id: i64) -> String {
    format!("__user_{user_id}__")
}

impl AuthStore {
    /// Connects, then creates the schema on an empty database or checks that
    /// an existing one is at [`AUTH_ALEMBIC_HEAD`].
    pub async fn open(uri: &DatabaseUri) -> ApiResult<AuthStore> {
        sqlx::any::install_default_drivers();
        if let DatabaseUri::Sqlite { path: Some(path) } = uri {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
        }
        let sqlite = uri.is_sqlite();
        let pool = AnyPoolOptions::new()
            // SQLite: one connection, so writes never meet "database is locked".
            .max_connections(if sqlite { 1 } else { 4 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&uri.connection_url())
            .await?;
        let store = AuthStore { pool };
        store.ensure_schema(sqlite).await?;
        Ok(store)
    }

    async fn ensure_schema(&self, sqlite: bool) -> ApiResult<()> {
        let count_tables = if sqlite {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
        } else {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        };
        // One transaction: replicas starting together on one PostgreSQL
        // queue on the lock, and the first one creates the schema.
        let mut tx = self.pool.begin().await?;
        if !sqlite {
            sqlx::query("SELECT pg_advisory_xact_lock(7746392)")
                .execute(&mut *tx)
                .await?;
        }
        if table_exists(&mut tx, count_tables, "alembic_version_auth").await? {
            let revision: Option<String> =
                sqlx::query_scalar("SELECT version_num FROM alembic_version_auth")
                    .fetch_optional(&mut *tx)
                    .await?;
            return match revision.as_deref() {
                Some(AUTH_ALEMBIC_HEAD) => Ok(()),
                other => Err(ApiError::internal(format!(
                    "The auth database is at MLflow auth schema revision '{}', but ferroflow \
                     serves revision '{AUTH_ALEMBIC_HEAD}' (MLflow 3.17.2). Back up the \
                     database, start `mlflow server --app-name basic-auth` 3.17.2 on it once \
                     to upgrade it, then start ferroflow again.",
                    other.unwrap_or("none")
                ))),
            };
        }
        if table_exists(&mut tx, count_tables, "users").await? {
            return Err(ApiError::internal(
                "The auth database has a users table but no alembic_version_auth: it was made \
                 by an MLflow older than 3.6. Start `mlflow server --app-name basic-auth` \
                 3.17.2 on it once to upgrade it, then start ferroflow again.",
            ));
        }
        let migrator = if sqlite { &SQLITE } else { &POSTGRES };
        for migration in migrator.iter() {
            tx.execute(&*migration.sql).await?;
        }
        tx.commit().await?;
        tracing::info!(revision = AUTH_ALEMBIC_HEAD, "created the auth schema");
        Ok(())
    }

    pub async fn count_users(&self) -> ApiResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn find_user(&self, username: &str) -> ApiResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user, or MLflow's 404.
    pub async fn get_user(&self, username: &str) -> ApiResult<User> {
        self.find_user(username)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("User with username={username} not found")))
    }

    pub async fn list_users(&self) -> ApiResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Inserts a user whose password is already hashed.
    pub async fn create_user(&self, username: &str, hash: &str, is_admin: bool) -> ApiResult<User> {
        let taken =
            || ApiError::already_exists(format!("User (username={username}) already exists."));
        if self.find_user(username).await?.is_some() {
            return Err(taken());
        }
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, is_admin) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(username)
        .bind(hash)
        .bind(is_admin)
        .fetch_one(&self.pool)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            // Created by a concurrent request between the check and here.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Err(taken()),
            Err(e) => return Err(e.into()),
        };
        Ok(User {
            id,
            username: username.to_string(),
            password_hash: hash.to_string(),
            is_admin,
        })
    }

    pub async fn set_password_hash(&self, username: &str, hash: &str) -> ApiResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&self.pool)
            .await?;
        self.expect_one(done.rows_affected(), username)
    }

    pub async fn set_admin(&self, username: &str, is_admin: bool) -> ApiResult<()> {
        let done = sqlx::query("UPDATE users SET is_admin = $1 WHERE username = $2")
            .bind(is_admin)
            .bind(username)
            .execute(&self.pool)
            .await?;
        self.expect_one(done.rows_affected(), username)
    }

    fn expect_one(&self, rows: u64, username: &str) -> ApiResult<()> {
        if rows == 0 {
            return Err(ApiError::not_found(format!(
                "User with username={username} not found"
            )));
        }
        Ok(())
    }

    /// Deletes a user with their synthetic role, its grants, their role
    /// assignments and the rows MLflow's legacy tables hold for them, in one
    /// transaction.
    pub async fn delete_user(&self, username: &str) -> ApiResult<()> {
        let user = self.get_user(username).await?;
        let mut tx = self.pool.begin().await?;
        let role_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM roles WHERE name = $1 AND workspace = $2")
                .bind(synthetic_role_name(user.id))
                .bind(DEFAULT_WORKSPACE)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM user_role_assignments WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        if let Some(role_id) = role_id {
            for sql in [
                "DELETE FROM user_role_assignments WHERE role_id = $1",
                "DELETE FROM role_permissions WHERE role_id = $1",
                "DELETE FROM roles WHERE id = $1",
            ] {
                sqlx::query(sql).bind(role_id).execute(&mut *tx).await?;
            }
        }
        for table in [
            "experiment_permissions",
            "registered_model_permissions",
            "scorer_permissions",
            "gateway_secret_permissions",
            "gateway_endpoint_permissions",
            "gateway_model_definition_permissions",
            "workspace_permissions",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every grant the user holds through any role in the default workspace.
    pub async fn grants(&self, user_id: i64) -> ApiResult<Vec<Grant>> {
        Ok(self
            .role_grants(user_id)
            .await?
            .into_iter()
            .filter(|g| g.workspace == DEFAULT_WORKSPACE)
            .map(|g| g.grant)
            .collect())
    }

    /// Every grant the user holds, with its role.
    pub async fn role_grants(&self, user_id: i64) -> ApiResult<Vec<RoleGrant>> {
        let rows = sqlx::query(
            "SELECT r.id, r.name, r.workspace, rp.resource_type, rp.resource_pattern, rp.permission \
             FROM user_role_assignments ura \
             JOIN roles r ON r.id = ura.role_id \
             JOIN role_permissions rp ON rp.role_id = r.id \
             WHERE ura.user_id = $1 ORDER BY r.id, rp.id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let mut grants = Vec::with_capacity(rows.len());
        for row in rows {
            let permission: String = row.try_get(5)?;
            // A level this server does not know grants nothing.
            let Some(permission) = Permission::parse(&permission) else {
                continue;
            };
            grants.push(RoleGrant {
                role_id: row.try_get(0)?,
                role_name: row.try_get(1)?,
                workspace: row.try_get(2)?,
                grant: Grant {
                    resource_type: row.try_get(3)?,
                    pattern: row.try_get(4)?,
                    permission,
                },
            });
        }
        Ok(grants)
    }

    /// The user's synthetic role, created and assigned when missing.
    async fn synthetic_role<'c>(
        tx: &mut sqlx::Transaction<'c, sqlx::Any>,
        user_id: i64,
    ) -> ApiResult<i64> {
        let name = synthetic_role_name(user_id);
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM roles WHERE name = $1 AND workspace = $2")
                .bind(&name)
                .bind(DEFAULT_WORKSPACE)
                .fetch_optional(&mut **tx)
                .await?;
        let role_id = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO roles (name, workspace) VALUES ($1, $2) RETURNING id",
                )
                .bind(&name)
                .bind(DEFAULT_WORKSPACE)
                .fetch_one(&mut **tx)
                .await?
            }
        };
        let assigned: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM user_role_assignments WHERE user_id = $1 AND role_id = $2",
        )
        .bind(user_id)
        .bind(role_id)
        .fetch_optional(&mut **tx)
        .await?;
        if assigned.is_none() {
            sqlx::query("INSERT INTO user_role_assignments (user_id, role_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(role_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(role_id)
    }

    /// Adds a grant on the user's synthetic role. With `replace`, an existing
    /// grant on the same key is overwritten (creator grants); without it,
    /// MLflow's `RESOURCE_ALREADY_EXISTS`.
    pub async fn grant(
        &self,
        user: &User,
        resource_type: &str,
        pattern: &str,
        permission: Permission,
        replace: bool,
    ) -> ApiResult<()> {
        let mut tx = self.pool.begin().await?;
        let role_id = Self::synthetic_role(&mut tx, user.id).await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM role_permissions \
             WHERE role_id = $1 AND resource_type = $2 AND resource_pattern = $3",
        )
        .bind(role_id)
        .bind(resource_type)
        .bind(pattern)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some(_) if !replace => {
                return Err(ApiError::already_exists(format!(
                    "Permission for user={} on resource_type={resource_type}, \
                     resource_id={pattern} already exists.",
                    user.username
                )))
            }
            Some(id) => {
                sqlx::query("UPDATE role_permissions SET permission = $1 WHERE id = $2")
                    .bind(permission.name())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO role_permissions \
                     (role_id, resource_type, resource_pattern, permission) VALUES ($1, $2, $3, $4)",
                )
                .bind(role_id)
                .bind(resource_type)
                .bind(pattern)
                .bind(permission.name())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a grant from the user's synthetic role; MLflow's 404 when
    /// there is none.
    pub async fn revoke(&self, user: &User, resource_type: &str, pattern: &str) -> ApiResult<()> {
        let done = sqlx::query(
            "DELETE FROM role_permissions WHERE resource_type = $1 AND resource_pattern = $2 \
             AND role_id IN (SELECT id FROM roles WHERE name = $3 AND workspace = $4)",
        )
        .bind(resource_type)
        .bind(pattern)
        .bind(synthetic_role_name(user.id))
        .bind(DEFAULT_WORKSPACE)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::new(
                ErrorCode::ResourceDoesNotExist,
                format!(
                    "Permission for user={} on resource_type={resource_type}, \
                     resource_id={pattern} not found.",
                    user.username
                ),
            ));
        }
        Ok(())
    }

    /// Drops every grant on one resource (a deleted registered model, so a
    /// new model under the same name starts clean).
    pub async fn delete_grants_on(&self, resource_type: &str, pattern: &str) -> ApiResult<()> {
        sqlx::query(
            "DELETE FROM role_permissions WHERE resource_type = $1 AND resource_pattern = $2",
        )
        .bind(resource_type)
        .bind(pattern)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves every grant on one resource to its new id (a renamed model).
    pub async fn rename_grants(&self, resource_type: &str, from: &str, to: &str) -> ApiResult<()> {
        sqlx::query(
            "UPDATE role_permissions SET resource_pattern = $1 \
             WHERE resource_type = $2 AND resource_pattern = $3",
        )
        .bind(to)
        .bind(resource_type)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// A role with its permissions (MLflow's `Role` JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub workspace: String,
    pub description: Option<String>,
    pub permissions: Vec<RolePermission>,
}

/// One row of `role_permissions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePermission {
    pub id: i64,
    pub role_id: i64,
    pub resource_type: String,
    pub resource_pattern: String,
    pub permission: String,
}

/// One row of `user_role_assignments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub user_id: i64,
    pub role_id: i64,
}

fn role_not_found(role_id: i64) -> ApiError {
    ApiError::not_found(format!("Role with id={role_id} not found"))
}

/// Roles (`/api/3.0/mlflow/roles/*`): named sets of grants assigned to users.
impl AuthStore {
    async fn role_permissions_of(&self, role_ids: &[i64]) -> ApiResult<Vec<RolePermission>> {
        let mut out = Vec::new();
        for role_id in role_ids {
            let rows = sqlx::query(
                "SELECT id, role_id, resource_type, resource_pattern, permission \
                 FROM role_permissions WHERE role_id = $1 ORDER BY id",
            )
            .bind(role_id)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                out.push(RolePermission {
                    id: row.try_get(0)?,
                    role_id: row.try_get(1)?,
                    resource_type: row.try_get(2)?,
                    resource_pattern: row.try_get(3)?,
                    permission: row.try_get(4)?,
                });
            }
        }
        Ok(out)
    }

    /// Roles matching `filter` (a WHERE clause on `roles`, `$1` bound to
    /// `bind` when given), each with its permissions.
    async fn roles_where(
        &self,
        filter: &str,
        bind: Option<&str>,
        id: Option<i64>,
    ) -> ApiResult<Vec<Role>> {
        let sql =
            format!("SELECT id, name, workspace, description FROM roles {filter} ORDER BY id");
        let mut query = sqlx::query(&sql);
        if let Some(value) = bind {
            query = query.bind(value.to_string());
        }
        if let Some(value) = id {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut roles = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get(0)?;
            roles.push(Role {
                id,
                name: row.try_get(1)?,
                workspace: row.try_get(2)?,
                description: row.try_get(3)?,
                permissions: self.role_permissions_of(&[id]).await?,
            });
        }
        Ok(roles)
    }

    pub async fn get_role(&self, role_id: i64) -> ApiResult<Role> {
        self.roles_where("WHERE id = $1", None, Some(role_id))
            .await?
            .pop()
            .ok_or_else(|| role_not_found(role_id))
    }

    /// Every role, or those of one workspace.
    pub async fn list_roles(&self, workspace: Option<&str>) -> ApiResult<Vec<Role>> {
        match workspace {
            Some(w) => {
                self.roles_where("WHERE workspace = $1", Some(w), None)
                    .await
            }
            None => self.roles_where("", None, None).await,
        }
    }

    pub async fn create_role(
        &self,
        name: &str,
        workspace: &str,
        description: Option<&str>,
    ) -> ApiResult<Role> {
        check_role_name(name)?;
        let taken = || {
            ApiError::already_exists(format!(
                "Role (name={name}, workspace={workspace}) already exists."
            ))
        };
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM roles WHERE name = $1 AND workspace = $2")
                .bind(name)
                .bind(workspace)
                .fetch_optional(&self.pool)
                .await?;
        if existing.is_some() {
            return Err(taken());
        }
        let id: i64 = match sqlx::query_scalar(
            "INSERT INTO roles (name, workspace, description) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(workspace)
        .bind(description)
        .fetch_one(&self.pool)
        .await
        {
            Ok(id) => id,
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => return Err(taken()),
            Err(e) => return Err(e.into()),
        };
        self.get_role(id).await
    }

    pub async fn update_role(
        &self,
        role_id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> ApiResult<Role> {
        let role = self.get_role(role_id).await?;
        if let Some(name) = name {
            check_role_name(name)?;
            if name != role.name {
                let clash: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM roles WHERE name = $1 AND workspace = $2")
                        .bind(name)
                        .bind(&role.workspace)
                        .fetch_optional(&self.pool)
                        .await?;
                if clash.is_some() {
                    return Err(ApiError::already_exists(format!(
                        "Role with name={name} already exists in workspace={}",
                        role.workspace
                    )));
                }
            }
        }
        sqlx::query("UPDATE roles SET name = $1, description = $2 WHERE id = $3")
            .bind(name.unwrap_or(&role.name))
            .bind(description.or(role.description.as_deref()))
            .bind(role_id)
            .execute(&self.pool)
            .await?;
        self.get_role(role_id).await
    }

    /// Deletes a role with its permissions and assignments, in one transaction.
    pub async fn delete_role(&self, role_id: i64) -> ApiResult<()> {
        self.get_role(role_id).await?;
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM user_role_assignments WHERE role_id = $1",
            "DELETE FROM role_permissions WHERE role_id = $1",
            "DELETE FROM roles WHERE id = $1",
        ] {
            sqlx::query(sql).bind(role_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_role_permission(
        &self,
        role_id: i64,
        resource_type: &str,
        pattern: &str,
        permission: Permission,
    ) -> ApiResult<RolePermission> {
        self.get_role(role_id).await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM role_permissions \
             WHERE role_id = $1 AND resource_type = $2 AND resource_pattern = $3",
        )
        .bind(role_id)
        .bind(resource_type)
        .bind(pattern)
        .fetch_optional(&self.pool)
        .await?;
        if exists.is_some() {
            return Err(ApiError::already_exists(format!(
                "Role permission (role_id={role_id}, resource_type={resource_type}, \
                 resource_pattern={pattern}) already exists."
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO role_permissions (role_id, resource_type, resource_pattern, permission) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(role_id)
        .bind(resource_type)
        .bind(pattern)
        .bind(permission.name())
        .fetch_one(&self.pool)
        .await?;
        Ok(RolePermission {
            id,
            role_id,
            resource_type: resource_type.to_string(),
            resource_pattern: pattern.to_string(),
            permission: permission.name().to_string(),
        })
    }

    pub async fn role_permission(&self, id: i64) -> ApiResult<RolePermission> {
        let row = sqlx::query(
            "SELECT id, role_id, resource_type, resource_pattern, permission \
             FROM role_permissions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Role permission with id={id} not found")))?;
        Ok(RolePermission {
            id: row.try_get(0)?,
            role_id: row.try_get(1)?,
            resource_type: row.try_get(2)?,
            resource_pattern: row.try_get(3)?,
            permission: row.try_get(4)?,
        })
    }

    pub async fn remove_role_permission(&self, id: i64) -> ApiResult<()> {
        self.role_permission(id).await?;
        sqlx::query("DELETE FROM role_permissions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn update_role_permission(
        &self,
        id: i64,
        permission: Permission,
    ) -> ApiResult<RolePermission> {
        self.role_permission(id).await?;
        sqlx::query("UPDATE role_permissions SET permission = $1 WHERE id = $2")
            .bind(permission.name())
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.role_permission(id).await
    }

    pub async fn list_role_permissions(&self, role_id: i64) -> ApiResult<Vec<RolePermission>> {
        self.get_role(role_id).await?;
        self.role_permissions_of(&[role_id]).await
    }

    pub async fn assign_role(&self, user: &User, role_id: i64) -> ApiResult<Assignment> {
        self.get_role(role_id).await?;
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM user_role_assignments WHERE user_id = $1 AND role_id = $2",
        )
        .bind(user.id)
        .bind(role_id)
        .fetch_optional(&self.pool)
        .await?;
        if exists.is_some() {
            return Err(ApiError::already_exists(format!(
                "User role assignment (user_id={}, role_id={role_id}) already exists",
                user.id
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO user_role_assignments (user_id, role_id) VALUES ($1, $2) RETURNING id",
        )
        .bind(user.id)
        .bind(role_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Assignment {
            id,
            user_id: user.id,
            role_id,
        })
    }

    pub async fn unassign_role(&self, user: &User, role_id: i64) -> ApiResult<()> {
        let done =
            sqlx::query("DELETE FROM user_role_assignments WHERE user_id = $1 AND role_id = $2")
                .bind(user.id)
                .bind(role_id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::not_found(format!(
                "User role assignment (user_id={}, role_id={role_id}) not found",
                user.id
            )));
        }
        Ok(())
    }

    /// The roles assigned to a user.
    pub async fn user_roles(&self, user: &User) -> ApiResult<Vec<Role>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT role_id FROM user_role_assignments WHERE user_id = $1 ORDER BY role_id",
        )
        .bind(user.id)
        .fetch_all(&self.pool)
        .await?;
        let mut roles = Vec::with_capacity(ids.len());
        for id in ids {
            roles.push(self.get_role(id).await?);
        }
        Ok(roles)
    }

    pub async fn role_users(&self, role_id: i64) -> ApiResult<Vec<Assignment>> {
        self.get_role(role_id).await?;
        let rows = sqlx::query(
            "SELECT id, user_id, role_id FROM user_role_assignments WHERE role_id = $1 ORDER BY id",
        )
        .bind(role_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Assignment {
                    id: row.try_get(0)?,
                    user_id: row.try_get(1)?,
                    role_id: row.try_get(2)?,
                })
            })
            .collect()
    }
}

/// A role name: non-empty, not the reserved prefix of per-user roles.
fn check_role_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(ApiError::invalid_parameter("Role name cannot be empty."));
    }
    if name.starts_with("__user_") {
        return Err(ApiError::invalid_parameter(format!(
            "Role name '{name}' uses the reserved '__user_' prefix, which is reserved for \
             per-user permission roles."
        )));
    }
    Ok(())
}
