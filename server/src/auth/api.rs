//! The basic-auth REST API of MLflow 3.17.2: users (`/api/2.0/mlflow/users/*`)
//! and per-user grants (`/api/3.0/mlflow/users/permissions/*`), each also
//! under `/ajax-api/`. Who may call what is the route's policy
//! (`auth::policy`); the handlers do the work. Without `--app-name
//! basic-auth` these routes answer 404, as `mlflow server` does.
//!
//! Roles (`/api/3.0/mlflow/roles/*`) answer `NOT_IMPLEMENTED`.

use super::permission::{valid_pattern, Action, Key, Permission, Requirement};
use super::store::User;
use super::Auth;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::handlers::Router;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
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
            .post(&path("/roles/create"), roles_not_implemented)
            .get(&path("/roles/get"), roles_not_implemented)
            .get(&path("/roles/list"), roles_not_implemented)
            .patch(&path("/roles/update"), roles_not_implemented)
            .delete(&path("/roles/delete"), roles_not_implemented);
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

fn auth_of(state: &AppState) -> ApiResult<&Arc<Auth>> {
    state.auth.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::EndpointNotFound,
            "No such endpoint on this server.",
        )
    })
}

fn caller(req: &HttpRequest) -> ApiResult<User> {
    req.extensions()
        .get::<Caller>()
        .map(|c| c.0.clone())
        .ok_or_else(|| ApiError::new(ErrorCode::PermissionDenied, "Permission denied"))
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

async fn create_user(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    if !req.content_type().eq_ignore_ascii_case("application/json") {
        return Ok(text(400, "Invalid content type. Must be application/json"));
    }
    let params = request_params(&req, &body);
    let username = param(&params, "username").unwrap_or_default();
    let password = param(&params, "password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return Ok(text(400, "Username and password cannot be empty."));
    }
    let hash = Auth::hash_new_password(&password).await?;
    let user = auth.store.create_user(&username, &hash, false).await?;
    Ok(HttpResponse::Ok().json(json!({"user": user_json(&user)})))
}

async fn get_user(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let username = param(&request_params(&req, &body), "username")?;
    let user = auth.store.get_user(&username).await?;
    Ok(HttpResponse::Ok().json(json!({"user": user_json(&user)})))
}

async fn current_user(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    auth_of(&state)?;
    let user = caller(&req)?;
    Ok(HttpResponse::Ok().json(json!({"is_basic_auth": true, "user": user_json(&user)})))
}

async fn list_users(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
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

async fn update_password(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let params = request_params(&req, &body);
    let username = param(&params, "username")?;
    let password = param(&params, "password")?;
    let sender = caller(&req)?;
    if sender.username == username {
        // Self-service must prove the current password.
        let current = params
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

async fn update_admin(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let params = request_params(&req, &body);
    let username = param(&params, "username")?;
    let is_admin = match params.get("is_admin") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "Parameter 'is_admin' must be a boolean. Got: {other}"
            )))
        }
        None => {
            param(&params, "is_admin")?;
            false
        }
    };
    auth.store.set_admin(&username, is_admin).await?;
    auth.forget(&username);
    Ok(empty())
}

async fn delete_user(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let username = param(&request_params(&req, &body), "username")?;
    if caller(&req)?.username == username {
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

async fn grant(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let params = request_params(&req, &body);
    let username = param(&params, "username")?;
    let (resource_type, resource_id) = grant_target(&params)?;
    let permission = param(&params, "permission")?;
    let permission = Permission::parse(&permission)
        .filter(|p| *p != Permission::NoPermissions)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "Invalid permission '{permission}'. Valid permissions are: READ, USE, EDIT, \
                 MANAGE, DENY."
            ))
        })?;
    let user = auth.store.get_user(&username).await?;
    auth.store
        .grant(&user, &resource_type, &resource_id, permission, false)
        .await?;
    Ok(empty())
}

async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let params = request_params(&req, &body);
    let username = param(&params, "username")?;
    let (resource_type, resource_id) = grant_target(&params)?;
    let user = auth.store.get_user(&username).await?;
    auth.store
        .revoke(&user, &resource_type, &resource_id)
        .await?;
    Ok(empty())
}

async fn get_permission(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let params = request_params(&req, &body);
    let username = param(&params, "username")?;
    let (resource_type, resource_id) = grant_target(&params)?;
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

async fn list_permissions(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let username = param(&request_params(&req, &body), "username")?;
    let user = auth.store.get_user(&username).await?;
    Ok(HttpResponse::Ok().json(permissions_json(auth, &user).await?))
}

async fn current_permissions(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let auth = auth_of(&state)?;
    let user = caller(&req)?;
    let user = auth.store.get_user(&user.username).await?;
    Ok(HttpResponse::Ok().json(permissions_json(auth, &user).await?))
}

async fn roles_not_implemented(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    auth_of(&state)?;
    Err(ApiError::new(
        ErrorCode::NotImplemented,
        "Roles are not implemented by ferroflow; grant permissions per user with \
         /api/3.0/mlflow/users/permissions/grant.",
    ))
}
