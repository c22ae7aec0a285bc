//! Reading MLflow requests. Every message declares its fields once, in
//! `message!` (see [`crate::wire`]), which gives both its [`Field`] schema
//! and its serde struct; the [`Msg`] extractor then reads a GET query string
//! or a JSON body the way `mlflow server` does (content-type rules, empty
//! body = `{}`, double-encoded bodies, repeated query parameters,
//! required-field and type checks with MLflow's messages) before serde
//! builds the typed message.

use crate::error::{ApiError, ApiResult};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The JSON type MLflow's handler schema expects for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Bool,
    /// A repeated string field (`run_ids=a&run_ids=b` in a query string).
    StrList,
    /// A repeated message field (list of objects).
    List,
    Object,
    /// An enum: a name or a number; checked by the message's own deserializer.
    Enum,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

impl Field {
    pub const fn opt(name: &'static str, kind: Kind) -> Field {
        Field {
            name,
            kind,
            required: false,
        }
    }
    pub const fn req(name: &'static str, kind: Kind) -> Field {
        Field {
            name,
            kind,
            required: true,
        }
    }
}

/// A request message: its field schema plus serde.
pub trait ApiMessage: DeserializeOwned {
    const FIELDS: &'static [Field];
}

/// Extractor for an MLflow request message.
pub struct Msg<T>(pub T);

/// Largest JSON body accepted. `mlflow server` sets no limit (its log-batch
/// size check measures the parsed object's key count, not its bytes), and a
/// legal log-batch — 100 params of 6000 characters, 1000 metrics — is about
/// 0.7 MB; this bound only keeps one request from holding unbounded memory.
/// The body is read here rather than through actix's `Bytes` extractor,
/// whose default 256 KiB cap refused such batches.
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

impl<T: ApiMessage + 'static> FromRequest for Msg<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = read_body(payload.take(), MAX_JSON_BODY);
        Box::pin(async move {
            let query = req.query_string().to_string();
            let value = if req.method() == Method::GET && !query.is_empty() {
                query_to_json(&query, T::FIELDS)?
            } else {
                if req.method() == Method::POST || req.method() == Method::PUT {
                    check_content_type(&req)?;
                }
                let bytes = body.await?;
                body_to_json(&bytes)?
            };
            Ok(Msg(parse_message::<T>(value)?))
        })
    }
}

/// Collects a request body of at most `limit` bytes.
async fn read_body(mut payload: Payload, limit: usize) -> ApiResult<web::BytesMut> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Could not read request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::bad_request(format!(
                "Request body is too large: ferroflow accepts JSON bodies of at most {} MiB.",
                limit / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn check_content_type(req: &HttpRequest) -> ApiResult<()> {
    let Some(ct) = req.headers().get(actix_web::http::header::CONTENT_TYPE) else {
        return Err(ApiError::invalid_parameter(
            "Bad Request. Content-Type header is missing.",
        ));
    };
    let ct = ct.to_str().unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "Bad Request. Content-Type must be one of ['application/json'].",
        ))
    }
}

/// Parses a JSON body. Empty = `{}`; a JSON string holding JSON (legacy
/// double-encoded clients) is decoded once more.
pub fn body_to_json(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Map::new()));
    }
    let malformed =
        |e: serde_json::Error| ApiError::bad_request(format!("Malformed JSON request body: {e}"));
    let mut value: Value = serde_json::from_slice(bytes).map_err(malformed)?;
    if let Value::String(inner) = &value {
        value = serde_json::from_str(inner).map_err(malformed)?;
    }
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => Err(ApiError::bad_request(
            "Malformed JSON request body: expected a JSON object.",
        )),
    }
}

/// Turns a query string into the JSON object the message schema expects:
/// repeated fields become arrays, booleans are parsed (`true`/`false` in any
/// case), everything else stays a string for the lenient deserializers.
pub fn query_to_json(query: &str, fields: &[Field]) -> ApiResult<Value> {
    let mut map = Map::new();
    for (key, val) in url::form_urlencoded::parse(query.as_bytes()) {
        let key = key.into_owned();
        let val = val.into_owned();
        let kind = fields.iter().find(|f| f.name == key).map(|f| f.kind);
        match kind {
            Some(Kind::StrList) | Some(Kind::List) => {
                let entry = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::String(val));
                }
            }
            Some(Kind::Bool) => {
                let b = match val.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::invalid_parameter(format!(
                            "Invalid value {val} for parameter '{key}' supplied:  Hint: Value was of type 'str'. See the API docs for more information about request parameters."
                        )))
                    }
                };
                map.insert(key, Value::Bool(b));
            }
            _ => {
                // First occurrence wins for scalar fields, as in Flask's `args.get`.
                map.entry(key).or_insert(Value::String(val));
            }
        }
    }
    Ok(Value::Object(map))
}

/// Python's name for a JSON value's type, as MLflow's hints print it.
fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn python_repr(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn invalid_type(name: &str, v: &Value) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Invalid value {} for parameter '{}' supplied:  Hint: Value was of type '{}'. See the API docs for more information about request parameters.",
        python_repr(v),
        name,
        python_type(v)
    ))
}

/// `run_id` → `runId`.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn is_numeric_string(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

/// Checks required fields and JSON types, then builds the message.
pub fn parse_message<T: ApiMessage>(value: Value) -> ApiResult<T> {
    let obj = match &value {
        Value::Object(o) => o,
        _ => return Err(ApiError::bad_request("Expected a JSON object.")),
    };
    for field in T::FIELDS {
        // Protobuf also knows the lowerCamel spelling; MLflow refuses a
        // request that gives both, and its required checks read only the
        // snake_case key, so a camelCase value alone is not used.
        let camel = lower_camel(field.name);
        if camel != field.name && obj.contains_key(&camel) && obj.contains_key(field.name) {
            return Err(ApiError::invalid_parameter(format!(
                "Request specifies both '{}' and '{camel}'; provide only one of them.",
                field.name
            )));
        }
        let v = obj.get(field.name);
        let absent = match v {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if absent {
            if field.required {
                return Err(ApiError::missing_parameter(field.name));
            }
            continue;
        }
        let Some(v) = v else { continue };
        let ok = match field.kind {
            Kind::Str => v.is_string(),
            Kind::Int => match v {
                Value::Number(n) => {
                    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
                }
                Value::String(s) => s.trim().parse::<i64>().is_ok(),
                _ => false,
            },
            Kind::Float => match v {
                Value::Number(_) | Value::Bool(_) => true,
                Value::String(s) => is_numeric_string(s),
                _ => false,
            },
            Kind::Bool => v.is_boolean(),
            Kind::StrList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Kind::List => v.is_array(),
            Kind::Object => v.is_object(),
            Kind::Enum => v.is_string() || v.is_number(),
        };
        if !ok {
            return Err(invalid_type(field.name, v));
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid_parameter(format!("Invalid request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Probe {
        name: String,
        #[serde(default)]
        ids: Vec<String>,
        #[serde(default, deserialize_with = "crate::wire::de::opt_i64")]
        max_results: Option<i64>,
        #[serde(default)]
        flag: Option<bool>,
    }

    impl ApiMessage for Probe {
        const FIELDS: &'static [Field] = &[
            Field::req("name", Kind::Str),
            Field::opt("ids", Kind::StrList),
            Field::opt("max_results", Kind::Int),
            Field::opt("flag", Kind::Bool),
        ];
    }

    #[test]
    fn query_repeated_fields_become_lists() {
        let v = query_to_json("name=a&ids=1&ids=2&max_results=5&flag=TRUE", Probe::FIELDS).unwrap();
        let p: Probe = parse_message(v).unwrap();
        assert_eq!(p.name, "a");
        assert_eq!(p.ids, vec!["1", "2"]);
        assert_eq!(p.max_results, Some(5));
        assert_eq!(p.flag, Some(true));
    }

    #[test]
    fn bad_bool_in_query_is_rejected() {
        let err = query_to_json("name=a&flag=yes", Probe::FIELDS).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn missing_and_empty_required_fields() {
        let err = parse_message::<Probe>(serde_json::json!({})).unwrap_err();
        assert!(err
            .message
            .starts_with("Missing value for required parameter 'name'"));
        let err = parse_message::<Probe>(serde_json::json!({"name": ""})).unwrap_err();
        assert!(err
            .message
            .starts_with("Missing value for required parameter 'name'"));
    }

    #[test]
    fn number_for_string_field_gets_python_hint() {
        let err = parse_message::<Probe>(serde_json::json!({"name": 123})).unwrap_err();
        assert_eq!(
            err.message,
            "Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."
        );
    }

    #[test]
    fn int_fields_accept_numeric_strings() {
        let p: Probe = parse_message(serde_json::json!({"name": "x", "max_results": "7"})).unwrap();
        assert_eq!(p.max_results, Some(7));
        assert!(
            parse_message::<Probe>(serde_json::json!({"name": "x", "max_results": "seven"}))
                .is_err()
        );
    }

    #[test]
    fn camel_case_duplicates_are_refused() {
        let err = parse_message::<Probe>(
            serde_json::json!({"name": "a", "max_results": 1, "maxResults": 2}),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Request specifies both 'max_results' and 'maxResults'; provide only one of them."
        );
        assert_eq!(lower_camel("run_id"), "runId");
    }

    #[test]
    fn bodies() {
        assert_eq!(body_to_json(b"").unwrap(), serde_json::json!({}));
        assert_eq!(
            body_to_json(br#""{\"name\": \"x\"}""#).unwrap(),
            serde_json::json!({"name": "x"})
        );
        assert!(body_to_json(b"[1]").is_err());
        assert!(body_to_json(b"{").is_err());
    }
}
