//! `/graphql` (GET and POST), answered as `mlflow server` 3.17.2 answers
//! it: the body `{query, variables, operationName}`; MLflow's safety
//! limits, then validation, then execution against MLflow's schema
//! ([`schema`]); HTTP 200 with `{"data": …, "errors": [messages] | null}`,
//! keys sorted as Flask's `jsonify` writes them. Every root field resolves
//! through the function its REST route uses ([`resolve`]).
//!
//! One deliberate difference: a body that is not a JSON object with a
//! `query` string, or a query that does not parse, gets a 400 JSON error
//! (`BAD_REQUEST`) where MLflow answers a bare HTML 500.

mod exec;
mod limits;
mod parser;
mod resolve;
mod schema;
mod suggest;
mod validate;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value as Json};

pub fn routes(r: &mut crate::handlers::Router) {
    r.resource("/graphql", |m| {
        m.get(graphql).post(graphql);
    });
}

/// graphql-core stops validating after this many errors.
const MAX_VALIDATION_ERRORS: usize = 100;

/// MLflow checks the content type of POSTs only (a GET's body is read
/// whatever its type).
fn check_content_type(req: &HttpRequest) -> ApiResult<()> {
    if req.method() != Method::POST {
        return Ok(());
    }
    let Some(ct) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return Err(ApiError::invalid_parameter(
            "Bad Request. Content-Type header is missing.",
        ));
    };
    let mime = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if mime == "application/json" {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "Bad Request. Content-Type must be one of ['application/json'].",
        ))
    }
}

struct GraphqlRequest {
    query: String,
    variables: Map<String, Json>,
    operation_name: Option<String>,
}

fn read_request(body: &[u8]) -> ApiResult<GraphqlRequest> {
    let bad = |m: &str| ApiError::bad_request(m.to_string());
    let value: Json = serde_json::from_slice(body).map_err(|_| {
        bad("The GraphQL request body must be a JSON object with a 'query' string.")
    })?;
    let Json::Object(mut obj) = value else {
        return Err(bad(
            "The GraphQL request body must be a JSON object with a 'query' string.",
        ));
    };
    let Some(Json::String(query)) = obj.remove("query") else {
        return Err(bad("The GraphQL request must have a 'query' string."));
    };
    let variables = match obj.remove("variables") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(m)) => m,
        Some(_) => return Err(bad("The GraphQL 'variables' must be a JSON object.")),
    };
    let operation_name = match obj.remove("operationName") {
        Some(Json::String(s)) => Some(s),
        _ => None,
    };
    Ok(GraphqlRequest {
        query,
        variables,
        operation_name,
    })
}

fn answer(data: Option<Json>, errors: Vec<String>) -> HttpResponse {
    let errors = if errors.is_empty() {
        Json::Null
    } else {
        json!(errors)
    };
    let body = exec::sort_keys(json!({
        "data": data.unwrap_or(Json::Null),
        "errors": errors,
    }));
    HttpResponse::Ok().json(body)
}

async fn graphql(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    check_content_type(&req)?;
    let request = read_request(&body)?;
    let doc = parser::parse(&request.query).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Err(message) = limits::check(&doc, limits::Caps::from_settings(&state.settings.limits)) {
        return Ok(answer(None, vec![message]));
    }
    let mut errors = validate::validate(&doc);
    if !errors.is_empty() {
        if errors.len() > MAX_VALIDATION_ERRORS {
            errors.truncate(MAX_VALIDATION_ERRORS);
            errors.push(
                "Too many validation errors, error limit reached. Validation aborted.".into(),
            );
        }
        return Ok(answer(None, errors));
    }
    let access = {
        use actix_web::HttpMessage;
        req.extensions()
            .get::<crate::auth::access::Access>()
            .cloned()
    };
    let resolver = resolve::Resolver {
        state: &state,
        query: req.query_string(),
        access,
    };
    let outcome = exec::execute(
        &doc,
        request.operation_name.as_deref(),
        &request.variables,
        &resolver,
    )
    .await;
    Ok(answer(outcome.data, outcome.errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies() {
        let r = read_request(br#"{"query":"{ __typename }","variables":null,"operationName":"X"}"#)
            .unwrap();
        assert_eq!(r.query, "{ __typename }");
        assert!(r.variables.is_empty());
        assert_eq!(r.operation_name.as_deref(), Some("X"));
        assert!(read_request(b"").is_err());
        assert!(read_request(b"{}").is_err());
        assert!(read_request(br#"{"query": 1}"#).is_err());
        assert!(read_request(br#"{"query": "{a}", "variables": [1]}"#).is_err());
        assert!(read_request(br#""{\"query\":\"{a}\"}""#).is_err());
    }
}
