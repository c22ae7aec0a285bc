//! The auth middleware, mounted once around the whole application (every
//! scope, the UI, `/graphql`, the artifact proxy, unknown paths):
//!
//! 1. the route's policy from `auth::policy` (none: refused);
//! 2. `Public` routes and CORS preflights pass without credentials;
//! 3. Basic credentials are checked before any body is read: 401 with
//!    `WWW-Authenticate: Basic realm="mlflow"` without valid ones;
//! 4. admins pass; for others the policy's requirements are resolved
//!    against their grants (a resource that cannot be found is refused,
//!    403, so answers reveal no ids);
//! 5. after the handler: creators get MANAGE on what they created, a deleted
//!    registered model's grants go, a renamed one's follow it, and
//!    searches are filtered to what the caller may read.

use super::access::Access;
use super::api::{param, request_params, Caller};
use super::permission::{Action, RESOURCE_TYPES};
use super::policy::{self, Listing, Locator, Policy};
use super::store::User;
use super::{Auth, Refusal};
use crate::request::MAX_JSON_BODY;
use crate::security::StaticPrefix;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::sync::Arc;

const NOT_AUTHENTICATED: &str = "You are not authenticated. Please see \
    https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to \
    authenticate.";
const PERMISSION_DENIED: &str = "Permission denied";

fn unauthenticated() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"mlflow\""),
        ))
        .content_type("text/html; charset=utf-8")
        .body(NOT_AUTHENTICATED)
}

fn forbidden() -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("text/html; charset=utf-8")
        .body(PERMISSION_DENIED)
}

fn too_many_failures() -> HttpResponse {
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, "60"))
        .content_type("text/plain; charset=utf-8")
        .body("Too many failed logins for this user; try again in a minute.")
}

/// What the policy decided before the handler runs.
enum Verdict {
    Allow,
    Deny,
}

/// The middleware, for `App::wrap(from_fn(auth::middleware::authorize))`.
pub async fn authorize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(auth) = state.auth.clone() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let prefix = req
        .app_data::<web::Data<StaticPrefix>>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let pattern = req.match_pattern();
    let policy = pattern.as_deref().and_then(|pattern| {
        let relative = match pattern.strip_prefix(prefix.as_str()) {
            Some(rest) if !prefix.is_empty() => rest,
            _ => pattern,
        };
        policy::lookup(req.method(), relative)
    });
    // (CORS preflights were answered by the security middleware.)
    if policy == Some(Policy::Public) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let user = match auth.authenticate(header.as_deref()).await {
        Ok(user) => user,
        Err(Refusal::Unauthenticated) => {
            return Ok(req.into_response(unauthenticated()).map_into_boxed_body())
        }
        Err(Refusal::TooManyFailures) => {
            return Ok(req.into_response(too_many_failures()).map_into_boxed_body())
        }
    };
    req.extensions_mut().insert(Caller(user.clone()));
    let Some(policy) = policy else {
        // No policy: an unknown path or method. Admins see the router's
        // 404/405; everyone else is refused.
        if user.is_admin {
            return Ok(next.call(req).await?.map_into_boxed_body());
        }
        return Ok(req.into_response(forbidden()).map_into_boxed_body());
    };
    let access = if user.is_admin {
        None
    } else {
        match auth.grants_of(&user).await {
            Ok(grants) => Some(Access { grants }),
            Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
        }
    };
    // The parameters the policy needs (a JSON body is read and put back).
    let params = if needs_params(policy) {
        match read_params(&mut req).await {
            Ok(params) => params,
            Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
        }
    } else {
        Map::new()
    };
    if let Some(access) = &access {
        let pattern = pattern.as_deref().unwrap_or("");
        match decide(policy, access, &user, &req, pattern, &params, &state).await {
            Verdict::Allow => {}
            Verdict::Deny => return Ok(req.into_response(forbidden()).map_into_boxed_body()),
        }
        if policy == Policy::SearchRuns {
            let ids = string_list(params.get("experiment_ids"));
            let readable = readable_experiment_ids(access, &ids);
            if readable.is_empty() && !ids.is_empty() {
                // Nothing readable: MLflow answers an empty search.
                let empty = HttpResponse::Ok()
                    .content_type("application/json")
                    .body("{}");
                return Ok(req.into_response(empty).map_into_boxed_body());
            }
            if readable.len() != ids.len() {
                let mut body = params.clone();
                body.insert("experiment_ids".into(), Value::from(readable));
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                req.set_payload(Payload::from(Bytes::from(bytes)));
            }
        }
        req.extensions_mut().insert(access.clone());
    }
    let response = next.call(req).await?.map_into_boxed_body();
    if !response.status().is_success() {
        return Ok(response);
    }
    after(policy, &auth, &user, access.as_ref(), &params, response).await
}

/// Whether deciding (or the after-step) reads request parameters.
fn needs_params(policy: Policy) -> bool {
    !matches!(
        policy,
        Policy::Authenticated | Policy::Admin | Policy::Filtered(_) | Policy::GraphQl
    )
}

/// MLflow's `_get_request_param` sources: the query for GET, a JSON body
/// otherwise (any other body, such as an uploaded file, is not read and
/// the query is used).
async fn read_params(
    req: &mut ServiceRequest,
) -> Result<Map<String, Value>, crate::error::ApiError> {
    let json = req.content_type().eq_ignore_ascii_case("application/json");
    if req.method() == Method::GET || !json {
        let mut params = request_params(req.request(), b"");
        if req.method() != Method::GET {
            // Not JSON: the query (upload-artifact's run_uuid).
            for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
                params
                    .entry(k.into_owned())
                    .or_insert(Value::String(v.into_owned()));
            }
        }
        return Ok(params);
    }
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            crate::error::ApiError::bad_request(format!("Could not read request body: {e}"))
        })?;
        if body.len() + chunk.len() > MAX_JSON_BODY {
            return Err(crate::error::ApiError::bad_request(format!(
                "Request body is too large: ferroflow accepts JSON bodies of at most {} MiB.",
                MAX_JSON_BODY / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let params = request_params(req.request(), &body);
    req.set_payload(Payload::from(body));
    Ok(params)
}

fn text_param(params: &Map<String, Value>, name: &str) -> Option<String> {
    param(params, name).ok().filter(|s| !s.is_empty())
}

/// The experiment a request's resource belongs to.
async fn locate_experiment(
    locator: Locator,
    req: &ServiceRequest,
    pattern: &str,
    params: &Map<String, Value>,
    state: &AppState,
) -> Option<String> {
    match locator {
        Locator::ExperimentId => text_param(params, "experiment_id"),
        Locator::RunId => {
            let run_id = text_param(params, "run_id").or_else(|| text_param(params, "run_uuid"))?;
            state.store.run_experiment_id(&run_id).await.ok().flatten()
        }
        Locator::LoggedModelPath => {
            let model_id = path_param(pattern, req.path(), "model_id")?;
            let model = state
                .registry
                .get_logged_model_ref(&model_id)
                .await
                .ok()
                .flatten()?;
            Some(model.experiment_id.to_string())
        }
        Locator::ArtifactPath => {
            let path = match path_param(pattern, req.path(), "path") {
                Some(path) => path,
                None => text_param(params, "path")?,
            };
            let first = path.trim_start_matches('/').split('/').next()?;
            (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
                .then(|| first.to_string())
        }
        Locator::ExperimentName | Locator::ExperimentIds | Locator::RunIds | Locator::ModelName => {
            None
        }
    }
}

/// The value of `{name}` (or of a tail `{name:.*}`) of `pattern` in
/// `path`, percent-decoded. The middleware runs before routing, so the
/// request's match info is not filled in yet.
fn path_param(pattern: &str, path: &str, name: &str) -> Option<String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let mut segments = path.split('/');
    for part in pattern.split('/') {
        let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
            segments.next()?;
            continue;
        };
        let (param, tail) = match inner.split_once(':') {
            Some((param, regex)) => (param, regex == ".*"),
            None => (inner, false),
        };
        if tail {
            let rest: Vec<&str> = segments.collect();
            return (param == name).then(|| decode(&rest.join("/")));
        }
        let value = segments.next()?;
        if param == name {
            return Some(decode(value));
        }
    }
    None
}

/// The tier a locator's resource sits in under its experiment.
fn tier_of(locator: Locator) -> Option<&'static str> {
    match locator {
        Locator::RunId | Locator::RunIds => Some("run"),
        Locator::LoggedModelPath => Some("logged_model"),
        _ => None,
    }
}

async fn decide(
    policy: Policy,
    access: &Access,
    user: &User,
    req: &ServiceRequest,
    pattern: &str,
    params: &Map<String, Value>,
    state: &AppState,
) -> Verdict {
    let allow = |ok: bool| if ok { Verdict::Allow } else { Verdict::Deny };
    match policy {
        Policy::Public | Policy::Authenticated | Policy::Filtered(_) | Policy::GraphQl => {
            Verdict::Allow
        }
        Policy::Admin => Verdict::Deny,
        Policy::Experiment(action, Locator::ExperimentName) => {
            let Some(name) = text_param(params, "experiment_name") else {
                return Verdict::Allow; // the handler answers the missing name
            };
            match state.store.get_experiment_by_name(&name).await {
                Ok(Some(e)) => allow(access.experiment(&e.experiment_id, action)),
                // Not found: the handler's 404 is what `set_experiment` needs.
                Ok(None) => Verdict::Allow,
                Err(_) => Verdict::Deny,
            }
        }
        Policy::Experiment(action, Locator::ExperimentIds) => {
            let ids = string_list(params.get("experiment_ids"));
            allow(ids.iter().all(|id| access.experiment(id, action)))
        }
        Policy::Experiment(action, Locator::RunIds) => {
            let run_ids: Vec<String> = url::form_urlencoded::parse(req.query_string().as_bytes())
                .filter(|(k, _)| k == "run_id" || k == "run_ids")
                .map(|(_, v)| v.into_owned())
                .collect();
            for run_id in run_ids {
                match state.store.run_experiment_id(&run_id).await {
                    Ok(Some(e)) if access.in_experiment("run", &e, action) => {}
                    _ => return Verdict::Deny,
                }
            }
            Verdict::Allow
        }
        Policy::Experiment(action, locator) => {
            let Some(experiment_id) = locate_experiment(locator, req, pattern, params, state).await
            else {
                return Verdict::Deny;
            };
            allow(match tier_of(locator) {
                Some(tier) => access.in_experiment(tier, &experiment_id, action),
                None => access.experiment(&experiment_id, action),
            })
        }
        Policy::DeleteExperiment => match text_param(params, "experiment_id") {
            Some(id) => allow(access.delete_experiment(&id)),
            None => Verdict::Deny,
        },
        Policy::CreateExperiment => allow(access.create("experiment", "*")),
        Policy::CreateInExperiment(tier) => match text_param(params, "experiment_id") {
            Some(id) => allow(access.create_in_experiment(tier, &id)),
            None => Verdict::Deny,
        },
        Policy::RegisteredModel(action) => match text_param(params, "name") {
            Some(name) => allow(access.model(&name, action)),
            None => Verdict::Deny,
        },
        Policy::ModelVersion(action) => match text_param(params, "name") {
            Some(name) => allow(access.model_version(&name, action)),
            None => Verdict::Deny,
        },
        Policy::CreateRegisteredModel => {
            let name = text_param(params, "name").unwrap_or_else(|| "*".into());
            allow(access.create("registered_model", &name))
        }
        Policy::CreateModelVersion => {
            let Some(name) = text_param(params, "name") else {
                return Verdict::Deny;
            };
            if !access.create_model_version(&name) {
                return Verdict::Deny;
            }
            // The source run must be readable too.
            match text_param(params, "run_id") {
                Some(run_id) => match state.store.run_experiment_id(&run_id).await {
                    Ok(Some(e)) => allow(access.in_experiment("run", &e, Action::Read)),
                    _ => Verdict::Deny,
                },
                None => Verdict::Allow,
            }
        }
        Policy::SearchRuns => Verdict::Allow,
        Policy::SelfOrAdmin => {
            allow(text_param(params, "username").as_deref() == Some(&user.username))
        }
        Policy::ManageGrantTarget => {
            let (Some(resource_type), Some(id)) = (
                text_param(params, "resource_type"),
                text_param(params, "resource_id"),
            ) else {
                return Verdict::Deny;
            };
            match RESOURCE_TYPES.iter().find(|(t, _)| *t == resource_type) {
                Some((t, _)) => allow(access.manage(t, &id)),
                None => Verdict::Deny,
            }
        }
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The step after a successful handler.
async fn after(
    policy: Policy,
    auth: &Arc<Auth>,
    user: &User,
    access: Option<&Access>,
    params: &Map<String, Value>,
    response: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match policy {
        Policy::CreateExperiment | Policy::CreateRegisteredModel => {
            let (response, body) = read_response(response).await?;
            let created = match policy {
                Policy::CreateExperiment => body
                    .get("experiment_id")
                    .and_then(Value::as_str)
                    .map(|id| ("experiment", id.to_string())),
                _ => body
                    .pointer("/registered_model/name")
                    .and_then(Value::as_str)
                    .map(|name| ("registered_model", name.to_string())),
            };
            if let Some((resource_type, id)) = created {
                let permission = super::permission::Permission::Manage;
                if let Err(e) = auth
                    .store
                    .grant(user, resource_type, &id, permission, true)
                    .await
                {
                    tracing::error!(error = %e.message, resource_type, id, "could not grant the creator MANAGE");
                }
            }
            Ok(response)
        }
        Policy::RegisteredModel(Action::Delete) | Policy::RegisteredModel(Action::Update) => {
            let name = text_param(params, "name");
            let new_name = text_param(params, "new_name");
            let result = match (policy, name, new_name) {
                // registered-models/delete (no alias): the model is gone, so
                // are its grants; a new model of that name starts clean.
                (Policy::RegisteredModel(Action::Delete), Some(name), _)
                    if params.get("alias").is_none() =>
                {
                    auth.store.delete_grants_on("registered_model", &name).await
                }
                (Policy::RegisteredModel(Action::Update), Some(name), Some(new_name)) => {
                    auth.store
                        .rename_grants("registered_model", &name, &new_name)
                        .await
                }
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!(error = %e.message, "could not update the grants of a registered model");
            }
            Ok(response)
        }
        Policy::Filtered(listing) => match access {
            Some(access) => {
                let (response, body) = read_response(response).await?;
                let filtered = filter_listing(listing, access, body);
                Ok(replace_json(response, &filtered))
            }
            None => Ok(response),
        },
        _ => Ok(response),
    }
}

/// Reads a JSON answer's body; the response comes back unchanged.
async fn read_response(
    response: ServiceResponse<BoxBody>,
) -> Result<(ServiceResponse<BoxBody>, Value), actix_web::Error> {
    let (req, res) = response.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("could not read the response"))?;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let res = head.set_body(BoxBody::new(bytes));
    Ok((ServiceResponse::new(req, res), value))
}

fn replace_json(response: ServiceResponse<BoxBody>, body: &Value) -> ServiceResponse<BoxBody> {
    let text = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let (req, res) = response.into_parts();
    let mut res = res.set_body(BoxBody::new(text));
    res.headers_mut().remove(header::CONTENT_LENGTH);
    ServiceResponse::new(req, res)
}

/// A search answer without the items the caller may not read (an empty
/// list is left out, as MLflow leaves out empty repeated fields).
fn filter_listing(listing: Listing, access: &Access, mut body: Value) -> Value {
    let field = match listing {
        Listing::Experiments => "experiments",
        Listing::RegisteredModels => "registered_models",
        Listing::ModelVersions => "model_versions",
        Listing::LoggedModels => "models",
    };
    let readable = |item: &Value| match listing {
        Listing::Experiments => item["experiment_id"]
            .as_str()
            .is_some_and(|id| access.experiment(id, Action::Read)),
        Listing::RegisteredModels => item["name"]
            .as_str()
            .is_some_and(|n| access.model(n, Action::Read)),
        Listing::ModelVersions => item["name"]
            .as_str()
            .is_some_and(|n| access.model_version(n, Action::Read)),
        Listing::LoggedModels => item
            .pointer("/info/experiment_id")
            .and_then(Value::as_str)
            .is_some_and(|e| access.in_experiment("logged_model", e, Action::Read)),
    };
    if let Some(object) = body.as_object_mut() {
        if let Some(Value::Array(items)) = object.get_mut(field) {
            items.retain(readable);
            if items.is_empty() {
                object.remove(field);
            }
        }
    }
    body
}

/// runs/search's `experiment_ids` reduced to the caller's readable ones.
fn readable_experiment_ids(access: &Access, ids: &[String]) -> Vec<String> {
    ids.iter()
        .filter(|id| access.in_experiment("run", id, Action::Read))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::path_param;

    #[test]
    fn path_params_are_read_from_the_pattern() {
        let p = "/api/2.0/mlflow-artifacts/artifacts/{path:.*}";
        assert_eq!(
            path_param(
                p,
                "/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/a%20b.txt",
                "path"
            )
            .as_deref(),
            Some("1/abc/artifacts/a b.txt")
        );
        let p = "/mlflow/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}";
        let path = "/mlflow/api/2.0/mlflow/logged-models/m-1/tags/k";
        assert_eq!(path_param(p, path, "model_id").as_deref(), Some("m-1"));
        assert_eq!(path_param(p, path, "tag_key").as_deref(), Some("k"));
        assert_eq!(path_param(p, path, "other"), None);
    }
}
