//! The basic-auth REST API of MLflow 3.17.2: users (`/api/2.0/mlflow/users/*`)
//! and per-user grants (`/api/3.0/mlflow/users/permissions/*`), each also
//! under `/ajax-api/`. Who may call what is the route's policy
//! (`auth::policy`); the handlers do the work. Without `--app-name
//! basic-auth` these routes answer 404, as `mlflow server` does.
//!
//! Roles (`/api/3.0/mlflow/roles/*`): named sets of grants, assigned to
//! users, in the `default` workspace (workspaces are off).

use super::permission::{valid_pattern, Action, Key, Permission, Requirement};
use super::store::{Assignment, Role, RolePermission, User};
use super::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::handlers::Router;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The authenticated caller, put in the request's extensions by the
/// middleware.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

pub fn routes_v2(r: &mut Router) {
    r.post("/users/create", create_user)
        .get("/users/get", get_user)
        .get("/users/current", current_user)
        .get("/users/list", list_users)
        .patch("/users/update-password", update_password)
        .patch("/users/update-admin", update_admin)
        .delete("/users/delete", delete_user);
}

/// The 3.0 routes, by full path: a `/api/3.0/mlflow` scope would hide the
/// other 3.0 routes registered after it (`server-info`).
pub fn routes_v3(r: &mut Router) {
    for v3 in ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] {
        let path = |p: &str| format!("{v3}{p}");
        r.post(&path("/users/permissions/grant"), grant)
            .post(&path("/users/permissions/revoke"), revoke)
            .get(&path("/users/permissions/get"), get_permission)
            .get(&path("/users/permissions/list"), list_permissions)
            .get(&path("/users/current/permissions"), current_permissions)
            .post(&path("/roles/create"), create_role)
            .get(&path("/roles/get"), get_role)
            .get(&path("/roles/list"), list_roles)
            .patch(&path("/roles/update"), update_role)
            .delete(&path("/roles/delete"), delete_role)
            .post(&path("/roles/permissions/add"), add_role_permission)
            .delete(&path("/roles/permissions/remove"), remove_role_permission)
            .get(&path("/roles/permissions/list"), list_role_permissions)
            .patch(&path("/roles/permissions/update"), update_role_permission)
            .post(&path("/roles/assign"), assign_role)
            .delete(&path("/roles/unassign"), unassign_role)
            .get(&path("/users/roles/list"), list_user_roles)
            .get(&path("/roles/users/list"), list_role_users);
    }
}

/// A request's parameters the way MLflow's auth handlers read them: the
/// query for GET (and a DELETE without a JSON body), else the JSON object
/// body (anything else counts as `{}`).
pub fn request_params(req: &HttpRequest, body: &[u8]) -> Map<String, Value> {
    let from_query = || {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            map.entry(k.into_owned())
                .or_insert(Value::String(v.into_owned()));
        }
        map
    };
    let json_body = || match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let is_json = req.content_type().eq_ignore_ascii_case("application/json");
    match *req.method() {
        Method::GET => from_query(),
        Method::DELETE if !is_json => from_query(),
        _ => json_body(),
    }
}

/// A required parameter, as text (MLflow's message when missing).
pub fn param(params: &Map<String, Value>, name: &str) -> ApiResult<String> {
    match params.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(ApiError::invalid_parameter(format!(
            "Missing value for required parameter '{name}'. See the API docs for more \
             information about request parameters."
        ))),
        Some(other) => Ok(other.to_string()),
    }
}

/// What every handler here starts from: the auth layer (404 without
/// `--app-name basic-auth`), the request's parameters as MLflow's auth
/// handlers read them, and the authenticated caller.
pub struct Call {
    auth: Arc<Auth>,
    params: Map<String, Value>,
    caller: Option<User>,
    json_body: bool,
}

impl Call {
    fn param(&self, name: &str) -> ApiResult<String> {
        param(&self.params, name)
    }

    fn int(&self, name: &str) -> ApiResult<i64> {
        int_param(&self.params, name)
    }

    fn caller(&self) -> ApiResult<&User> {
        self.caller
            .as_ref()
            .ok_or_else(|| ApiError::new(ErrorCode::PermissionDenied, "Permission denied"))
    }

    /// The user a `username` parameter names.
    async fn named_user(&self) -> ApiResult<User> {
        self.auth.store.get_user(&self.param("username")?).await
    }
}

impl FromRequest for Call {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let auth = req
                .app_data::<web::Data<AppState>>()
                .and_then(|state| state.auth.clone())
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::EndpointNotFound,
                        "No such endpoint on this server.",
                    )
                })?;
            let body = body
                .await
                .map_err(|e| ApiError::bad_request(format!("Could not read request body: {e}")))?;
            Ok(Call {
                auth,
                params: request_params(&req, &body),
                caller: req.extensions().get::<Caller>().map(|c| c.0.clone()),
                json_body: req.content_type().eq_ignore_ascii_case("application/json"),
            })
        })
    }
}

fn user_json(user: &User) -> Value {
    json!({"id": user.id, "is_admin": user.is_admin, "username": user.username})
}

fn empty() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}

fn text(status: u16, message: &'static str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap_or_default())
        .content_type("text/html; charset=utf-8")
        .body(message)
}

async fn create_user(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    if !call.json_body {
        return Ok(text(400, "Invalid content type. Must be application/json"));
    }
    let username = call.param("username").unwrap_or_default();
    let password = call.param("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return Ok(text(400, "Username and password cannot be empty."));
    }
    let hash = Auth::hash_new_password(&password).await?;
    let user = auth.store.create_user(&username, &hash, false).await?;
    Ok(HttpResponse::Ok().json(json!({"user": user_json(&user)})))
}

async fn get_user(call: Call) -> ApiResult<HttpResponse> {
    let user = call.named_user().await?;
    Ok(HttpResponse::Ok().json(json!({"user": user_json(&user)})))
}

async fn current_user(call: Call) -> ApiResult<HttpResponse> {
    let user = call.caller()?;
    Ok(HttpResponse::Ok().json(json!({"is_basic_auth": true, "user": user_json(user)})))
}

async fn list_users(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let mut users = Vec::new();
    for user in auth.store.list_users().await? {
        let roles = roles_json(auth, &user).await?;
        users.push(json!({
            "id": user.id, "is_admin": user.is_admin, "roles": roles, "username": user.username,
        }));
    }
    Ok(HttpResponse::Ok().json(json!({"users": users})))
}

/// The roles a user holds, in MLflow's role JSON.
async fn roles_json(auth: &Auth, user: &User) -> ApiResult<Vec<Value>> {
    let mut roles: Vec<(i64, Value)> = Vec::new();
    for g in auth.store.role_grants(user.id).await? {
        if !roles.iter().any(|(id, _)| *id == g.role_id) {
            roles.push((
                g.role_id,
                json!({"id": g.role_id, "name": g.role_name, "workspace": g.workspace,
                       "description": null, "permissions": []}),
            ));
        }
        if let Some((_, role)) = roles.iter_mut().find(|(id, _)| *id == g.role_id) {
            if let Some(list) = role["permissions"].as_array_mut() {
                list.push(json!({
                    "role_id": g.role_id,
                    "resource_type": g.grant.resource_type,
                    "resource_pattern": g.grant.pattern,
                    "permission": g.grant.permission.name(),
                }));
            }
        }
    }
    Ok(roles.into_iter().map(|(_, r)| r).collect())
}

async fn update_password(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    let password = call.param("password")?;
    let sender = call.caller()?;
    if sender.username == username {
        // Self-service must prove the current password.
        let current = call
            .params
            .get("current_password")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    "Current password is required when changing your own password.",
                )
            })?;
        let me = auth.store.get_user(&username).await?;
        if !Auth::password_matches(&me, current).await {
            return Err(ApiError::invalid_parameter(
                "Current password does not match.",
            ));
        }
        if password == current {
            return Err(ApiError::invalid_parameter(
                "New password must differ from the current password.",
            ));
        }
    }
    auth.store.get_user(&username).await?;
    let hash = Auth::hash_new_password(&password).await?;
    auth.store.set_password_hash(&username, &hash).await?;
    auth.forget(&username);
    Ok(empty())
}

async fn update_admin(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    let is_admin = match call.params.get("is_admin") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "Parameter 'is_admin' must be a boolean. Got: {other}"
            )))
        }
        None => {
            call.param("is_admin")?;
            false
        }
    };
    auth.store.set_admin(&username, is_admin).await?;
    auth.forget(&username);
    Ok(empty())
}

async fn delete_user(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    if call.caller()?.username == username {
        return Err(ApiError::bad_request(
            "Users cannot delete their own account. Ask another admin to delete this user instead.",
        ));
    }
    auth.store.delete_user(&username).await?;
    auth.forget(&username);
    Ok(empty())
}

/// `resource_type`, `resource_id` of a grant request, checked.
pub fn grant_target(params: &Map<String, Value>) -> ApiResult<(String, String)> {
    let resource_type = param(params, "resource_type")?;
    let resource_id = param(params, "resource_id")?;
    valid_pattern(&resource_type, &resource_id).map_err(ApiError::invalid_parameter)?;
    Ok((resource_type, resource_id))
}

async fn grant(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    let (resource_type, resource_id) = grant_target(&call.params)?;
    let permission = grantable(&resource_type, &call.param("permission")?)?;
    let user = auth.store.get_user(&username).await?;
    auth.store
        .grant(&user, &resource_type, &resource_id, permission, false)
        .await?;
    Ok(empty())
}

async fn revoke(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    let (resource_type, resource_id) = grant_target(&call.params)?;
    let user = auth.store.get_user(&username).await?;
    auth.store
        .revoke(&user, &resource_type, &resource_id)
        .await?;
    Ok(empty())
}

async fn get_permission(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let username = call.param("username")?;
    let (resource_type, resource_id) = grant_target(&call.params)?;
    let user = auth.store.get_user(&username).await?;
    let permission = if user.is_admin {
        Permission::Manage
    } else {
        let grants = auth.grants_of(&user).await?;
        let key = Key::new(static_type(&resource_type), resource_id);
        grants.governing(&Requirement::on(key, Action::Read))
    };
    Ok(HttpResponse::Ok().json(json!({
        "allowed": permission.can_use(),
        "permission": permission.name(),
    })))
}

/// The `&'static` name of a resource type already checked by
/// [`valid_pattern`].
fn static_type(resource_type: &str) -> &'static str {
    super::permission::RESOURCE_TYPES
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(t, _)| *t)
        .unwrap_or("experiment")
}

async fn permissions_json(auth: &Auth, user: &User) -> ApiResult<Value> {
    let rows: Vec<Value> = auth
        .store
        .role_grants(user.id)
        .await?
        .into_iter()
        .map(|g| {
            json!({
                "permission": g.grant.permission.name(),
                "resource_pattern": g.grant.pattern,
                "resource_type": g.grant.resource_type,
                "role_id": g.role_id,
                "role_name": g.role_name,
                "workspace": g.workspace,
            })
        })
        .collect();
    Ok(json!({"is_admin": user.is_admin, "permissions": rows}))
}

async fn list_permissions(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let user = call.named_user().await?;
    Ok(HttpResponse::Ok().json(permissions_json(auth, &user).await?))
}

async fn current_permissions(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let user = auth.store.get_user(&call.caller()?.username).await?;
    Ok(HttpResponse::Ok().json(permissions_json(auth, &user).await?))
}

/// An integer parameter (MLflow's `_get_int_request_param`).
fn int_param(params: &Map<String, Value>, name: &str) -> ApiResult<i64> {
    let raw = param(params, name)?;
    raw.trim().parse().map_err(|_| {
        ApiError::invalid_parameter(format!(
            "Parameter '{name}' must be an integer. Got: '{raw}'"
        ))
    })
}

/// A grantable level for `resource_type`: not NO_PERMISSIONS; `workspace`
/// takes only USE and MANAGE.
fn grantable(resource_type: &str, permission: &str) -> ApiResult<Permission> {
    let level = Permission::parse(permission)
        .filter(|p| *p != Permission::NoPermissions)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Invalid permission '{permission}'. Valid permissions are: READ, USE, EDIT, \
                 MANAGE, DENY."
            ))
        })?;
    if resource_type == "workspace" && !matches!(level, Permission::Use | Permission::Manage) {
        return Err(ApiError::invalid_parameter(format!(
            "Permission '{permission}' is not valid for resource type 'workspace': use USE or MANAGE."
        )));
    }
    Ok(level)
}

fn role_permission_json(p: &RolePermission) -> Value {
    json!({"id": p.id, "role_id": p.role_id, "resource_type": p.resource_type,
           "resource_pattern": p.resource_pattern, "permission": p.permission})
}

fn role_json(role: &Role) -> Value {
    json!({
        "id": role.id, "name": role.name, "workspace": role.workspace,
        "description": role.description,
        "permissions": role.permissions.iter().map(role_permission_json).collect::<Vec<_>>(),
    })
}

fn assignment_json(a: &Assignment) -> Value {
    json!({"id": a.id, "user_id": a.user_id, "role_id": a.role_id})
}

async fn create_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let name = call.param("name")?;
    let workspace = call.param("workspace")?;
    if workspace.trim().is_empty() {
        return Err(ApiError::invalid_parameter("Workspace cannot be empty."));
    }
    let description = match call.params.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(d)) => Some(d.as_str()),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "Role description must be a string or null.",
            ))
        }
    };
    let role = auth
        .store
        .create_role(&name, &workspace, description)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"role": role_json(&role)})))
}

async fn get_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let role = auth.store.get_role(call.int("role_id")?).await?;
    Ok(HttpResponse::Ok().json(json!({"role": role_json(&role)})))
}

async fn list_roles(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let workspace = call.params.get("workspace").and_then(Value::as_str);
    if workspace.is_some_and(|w| w.trim().is_empty()) {
        return Err(ApiError::invalid_parameter(
            "Parameter 'workspace' must be a non-empty string when provided.",
        ));
    }
    let roles = auth.store.list_roles(workspace).await?;
    Ok(HttpResponse::Ok().json(json!({"roles": roles.iter().map(role_json).collect::<Vec<_>>()})))
}

async fn update_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let role_id = call.int("role_id")?;
    let text = |key: &str| -> ApiResult<Option<String>> {
        match call.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_parameter(format!(
                "Role {key} must be a string."
            ))),
        }
    };
    let (name, description) = (text("name")?, text("description")?);
    if name.is_none() && description.is_none() {
        return Err(ApiError::invalid_parameter(
            "At least one of 'name' or 'description' must be provided to update a role.",
        ));
    }
    let role = auth
        .store
        .update_role(role_id, name.as_deref(), description.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(json!({"role": role_json(&role)})))
}

async fn delete_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    auth.store.delete_role(call.int("role_id")?).await?;
    Ok(empty())
}

async fn add_role_permission(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let role_id = call.int("role_id")?;
    let resource_type = call.param("resource_type")?;
    let pattern = call.param("resource_pattern")?;
    valid_pattern(&resource_type, &pattern).map_err(ApiError::invalid_parameter)?;
    let level = grantable(&resource_type, &call.param("permission")?)?;
    let rp = auth
        .store
        .add_role_permission(role_id, &resource_type, &pattern, level)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"role_permission": role_permission_json(&rp)})))
}

async fn remove_role_permission(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let id = call.int("role_permission_id")?;
    auth.store.remove_role_permission(id).await?;
    Ok(empty())
}

async fn list_role_permissions(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let role_id = call.int("role_id")?;
    let perms = auth.store.list_role_permissions(role_id).await?;
    Ok(HttpResponse::Ok().json(
        json!({"role_permissions": perms.iter().map(role_permission_json).collect::<Vec<_>>()}),
    ))
}

async fn update_role_permission(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let id = call.int("role_permission_id")?;
    let current = auth.store.role_permission(id).await?;
    let level = grantable(&current.resource_type, &call.param("permission")?)?;
    let rp = auth.store.update_role_permission(id, level).await?;
    Ok(HttpResponse::Ok().json(json!({"role_permission": role_permission_json(&rp)})))
}

async fn assign_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let user = auth.store.get_user(&call.param("username")?).await?;
    let assignment = auth.store.assign_role(&user, call.int("role_id")?).await?;
    Ok(HttpResponse::Ok().json(json!({"assignment": assignment_json(&assignment)})))
}

async fn unassign_role(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let user = auth.store.get_user(&call.param("username")?).await?;
    auth.store
        .unassign_role(&user, call.int("role_id")?)
        .await?;
    Ok(empty())
}

async fn list_user_roles(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let user = auth.store.get_user(&call.param("username")?).await?;
    let roles = auth.store.user_roles(&user).await?;
    Ok(HttpResponse::Ok().json(json!({"roles": roles.iter().map(role_json).collect::<Vec<_>>()})))
}

async fn list_role_users(call: Call) -> ApiResult<HttpResponse> {
    let auth = &call.auth;
    let role_id = call.int("role_id")?;
    let assignments = auth.store.role_users(role_id).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"assignments": assignments.iter().map(assignment_json).collect::<Vec<_>>()})))
}
