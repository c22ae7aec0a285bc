//! MLflow's security middleware (`mlflow server` 3.17.2's FastAPI stack), with
//! its flags and defaults: `--allowed-hosts`, `--cors-allowed-origins`,
//! `--x-frame-options`, `--disable-security-middleware`.
//!
//! One middleware, in MLflow's order from the outside in:
//! 1. **Host check** (DNS rebinding): a `Host` header no allowed pattern
//!    matches gets `403 Invalid Host header …` before any handler or the auth
//!    layer runs; `/health` and `/version` are exempt.
//! 2. **CORS**: preflights are answered here (200 `OK` or 400 `Disallowed
//!    CORS …`); allowed origins get `Access-Control-Allow-Origin` on their
//!    responses. Allowed: the `--cors-allowed-origins` list plus
//!    `http://localhost|127.0.0.1|[::1]` on any port.
//! 3. **Cross-origin writes** on the API: a POST/PUT/PATCH/DELETE whose
//!    `Origin` is neither local nor allowed gets `403 Cross-origin request
//!    blocked`, whatever its content type.
//! 4. **Headers** on every response that went through: `X-Content-Type-Options:
//!    nosniff` and `X-Frame-Options` (default `SAMEORIGIN`; `NONE` drops it).
//!
//! `--allowed-hosts '*'` turns the host check off; `--cors-allowed-origins
//! '*'` allows every origin without credentials and lets cross-origin writes
//! through (MLflow's wildcard mode).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

pub const INVALID_HOST_MSG: &str = "Invalid Host header - possible DNS rebinding attack detected";
pub const CORS_BLOCKED_MSG: &str = "Cross-origin request blocked";

/// Methods whose cross-origin use is refused on the API.
const STATE_CHANGING_METHODS: [Method; 4] =
    [Method::POST, Method::PUT, Method::DELETE, Method::PATCH];
/// The methods a credentialed preflight may ask for.
const CORS_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS, PATCH";
/// Every method, for the wildcard mode's preflights (Starlette's list).
const CORS_ALL_METHODS: &str = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, QUERY";
/// Seconds a browser may cache a preflight answer.
const CORS_MAX_AGE: &str = "600";
/// The trace renderer's folder (under the static prefix): Jupyter embeds it
/// in an iframe, so it gets no `X-Frame-Options`.
const NOTEBOOK_RENDERER_PATH: &str = "/static-files/lib/notebook-trace-renderer/";

/// The middleware's configuration, resolved from the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuritySettings {
    /// `false` with `--disable-security-middleware`: nothing below applies.
    pub enabled: bool,
    /// Host patterns (fnmatch); `*` among them turns the check off.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed beyond the local ones (exact, or fnmatch with `*`).
    pub cors_allowed_origins: Vec<String>,
    /// The `X-Frame-Options` value (upper case); `None` for `NONE`.
    pub x_frame_options: Option<String>,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            enabled: true,
            allowed_hosts: default_allowed_hosts(),
            cors_allowed_origins: Vec::new(),
            x_frame_options: Some("SAMEORIGIN".to_string()),
        }
    }
}

impl SecuritySettings {
    /// From the flags' values as `mlflow server` reads them: a comma list
    /// (empty or unset = the default), an `X-Frame-Options` value (`NONE`
    /// drops the header).
    pub fn from_flags(
        disabled: bool,
        allowed_hosts: Option<&str>,
        cors_allowed_origins: Option<&str>,
        x_frame_options: &str,
    ) -> SecuritySettings {
        let list = |value: Option<&str>| -> Option<Vec<String>> {
            value
                .filter(|v| !v.is_empty())
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        };
        let frame = x_frame_options.trim().to_uppercase();
        SecuritySettings {
            enabled: !disabled,
            allowed_hosts: list(allowed_hosts).unwrap_or_else(default_allowed_hosts),
            cors_allowed_origins: list(cors_allowed_origins).unwrap_or_default(),
            x_frame_options: (!frame.is_empty() && frame != "NONE").then_some(frame),
        }
    }

    fn any_host(&self) -> bool {
        self.allowed_hosts.iter().any(|h| h == "*")
    }

    fn any_origin(&self) -> bool {
        self.cors_allowed_origins.iter().any(|o| o == "*")
    }
}

/// Loopback names, their `:port` forms, and the private address ranges
/// (RFC 1918, RFC 4193), as MLflow's default list.
pub fn default_allowed_hosts() -> Vec<String> {
    let local = ["localhost", "127.0.0.1", "[::1]", "0.0.0.0"];
    let mut hosts: Vec<String> = local.iter().map(|h| h.to_string()).collect();
    // `[` opens a character class in fnmatch: `[[]` matches it literally.
    hosts.extend(
        local
            .iter()
            .map(|h| format!("{}:*", h.replacen('[', "[[]", 1))),
    );
    hosts.extend(["192.168.*".to_string(), "10.*".to_string()]);
    hosts.extend((16..32).map(|i| format!("172.{i}.*")));
    hosts.extend(["fc00:*".to_string(), "fd00:*".to_string()]);
    hosts
}

/// Python's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`, `[!seq]`.
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    fnmatch_from(&name, &pattern)
}

fn fnmatch_from(name: &[char], pattern: &[char]) -> bool {
    let Some((&first, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match first {
        '*' => (0..=name.len()).any(|skip| fnmatch_from(&name[skip..], rest)),
        '?' => !name.is_empty() && fnmatch_from(&name[1..], rest),
        '[' => match character_class(rest) {
            Some((negated, members, after)) => match name.first() {
                Some(c) => {
                    let hit = class_contains(members, *c);
                    hit != negated && fnmatch_from(&name[1..], after)
                }
                None => false,
            },
            // An unclosed `[` is a literal, as in Python.
            None => name.first() == Some(&'[') && fnmatch_from(&name[1..], rest),
        },
        c => name.first() == Some(&c) && fnmatch_from(&name[1..], rest),
    }
}

/// The class after a `[`: negation, its members, the pattern after `]`.
/// A `]` right after `[` or `[!` is a member.
fn character_class(pattern: &[char]) -> Option<(bool, &[char], &[char])> {
    let negated = pattern.first() == Some(&'!');
    let start = usize::from(negated);
    let search_from = (start + usize::from(pattern.get(start) == Some(&']'))).min(pattern.len());
    let close = search_from + pattern[search_from..].iter().position(|c| *c == ']')?;
    Some((negated, &pattern[start..close], &pattern[close + 1..]))
}

fn class_contains(members: &[char], c: char) -> bool {
    let mut i = 0;
    while i < members.len() {
        if i + 2 < members.len() && members[i + 1] == '-' {
            if members[i] <= c && c <= members[i + 2] {
                return true;
            }
            i += 3;
        } else {
            if members[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

/// MLflow's `is_allowed_host_header`: a pattern with `*` is matched with
/// fnmatch, any other compared exactly.
fn host_allowed(allowed: &[String], host: &str) -> bool {
    !host.is_empty()
        && allowed.iter().any(|pattern| {
            if pattern.contains('*') {
                fnmatch(host, pattern)
            } else {
                host == pattern
            }
        })
}

/// The local origins every configuration allows (`^http://localhost(:N)?$`
/// and the same for 127.0.0.1 and [::1]).
fn is_local_origin_pattern(origin: &str) -> bool {
    ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|base| match origin.strip_prefix(base) {
            Some("") => true,
            Some(rest) => rest
                .strip_prefix(':')
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())),
            None => false,
        })
}

/// MLflow's `is_localhost_origin` (used by the write block): any scheme and
/// port, the host one of the loopback names.
fn is_localhost_origin(origin: &str) -> bool {
    match url::Url::parse(origin) {
        Ok(url) => matches!(
            url.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
        ),
        Err(_) => false,
    }
}

impl SecuritySettings {
    /// Starlette's `is_allowed_origin` with MLflow's configuration.
    fn cors_origin_allowed(&self, origin: &str) -> bool {
        self.any_origin()
            || self.cors_allowed_origins.iter().any(|o| o == origin)
            || is_local_origin_pattern(origin)
    }

    /// MLflow's `should_block_cors_request`.
    fn blocks_cross_origin_write(&self, origin: Option<&str>, method: &Method) -> bool {
        let Some(origin) = origin.filter(|o| !o.is_empty()) else {
            return false;
        };
        if !STATE_CHANGING_METHODS.contains(method) || is_localhost_origin(origin) {
            return false;
        }
        !self.cors_allowed_origins.iter().any(|allowed| {
            if allowed.contains('*') {
                fnmatch(origin, allowed)
            } else {
                origin == allowed
            }
        })
    }
}

/// MLflow's `is_api_endpoint`: the REST prefixes (under the static prefix)
/// and the artifact proxy.
fn is_api_endpoint(path: &str, prefix: &str) -> bool {
    let path_in_prefix = path.strip_prefix(prefix).unwrap_or("");
    (path_in_prefix.starts_with("/api/")
        || path_in_prefix.starts_with("/ajax-api/")
        || path.starts_with("/api/2.0/mlflow-artifacts/artifacts")
        || path.starts_with("/ajax-api/2.0/mlflow-artifacts/artifacts"))
        && path != "/test"
        && path != "/api/test"
}

fn text_response(status: StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain")
        .body(body)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// The preflight answer (Starlette's `preflight_response`).
fn preflight(settings: &SecuritySettings, headers: &HeaderMap) -> HttpResponse {
    let origin = header_str(headers, &header::ORIGIN).unwrap_or("");
    let method = header_str(headers, &header::ACCESS_CONTROL_REQUEST_METHOD).unwrap_or("");
    let requested_headers = header_str(headers, &header::ACCESS_CONTROL_REQUEST_HEADERS);
    let wildcard = settings.any_origin();
    let mut response_headers = HeaderMap::new();
    if wildcard {
        set(&mut response_headers, "access-control-allow-origin", "*");
    } else {
        set(&mut response_headers, "vary", "Origin");
    }
    let methods = if wildcard {
        CORS_ALL_METHODS
    } else {
        CORS_METHODS
    };
    set(
        &mut response_headers,
        "access-control-allow-methods",
        methods,
    );
    set(
        &mut response_headers,
        "access-control-max-age",
        CORS_MAX_AGE,
    );
    if !wildcard {
        set(
            &mut response_headers,
            "access-control-allow-credentials",
            "true",
        );
    }
    let mut failures = Vec::new();
    if settings.cors_origin_allowed(origin) {
        if !wildcard {
            set(&mut response_headers, "access-control-allow-origin", origin);
        }
    } else {
        failures.push("origin");
    }
    if !methods.split(", ").any(|m| m == method) {
        failures.push("method");
    }
    if let Some(requested) = requested_headers {
        set(
            &mut response_headers,
            "access-control-allow-headers",
            requested,
        );
    }
    let mut response = if failures.is_empty() {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("OK")
    } else {
        HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(format!("Disallowed CORS {}", failures.join(", ")))
    };
    for (name, value) in response_headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// CORS headers on an answer to a request that carried `Origin` (Starlette's
/// `simple_response`).
fn add_cors_headers(
    settings: &SecuritySettings,
    origin: &str,
    has_cookie: bool,
    headers: &mut HeaderMap,
) {
    let wildcard = settings.any_origin();
    if wildcard {
        set(headers, "access-control-allow-origin", "*");
    } else {
        set(headers, "access-control-allow-credentials", "true");
    }
    set(headers, "access-control-expose-headers", "*");
    let explicit = if wildcard {
        has_cookie
    } else {
        settings.cors_origin_allowed(origin)
    };
    if explicit {
        set(headers, "access-control-allow-origin", origin);
        let vary = match header_str(headers, &header::VARY) {
            Some(existing) if !existing.is_empty() => format!("{existing}, Origin"),
            _ => "Origin".to_string(),
        };
        set(headers, "vary", &vary);
    }
}

/// The middleware, for `App::wrap(from_fn(security::protect))`; reads
/// [`SecuritySettings`] and the static prefix from app data.
pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let settings = req
        .app_data::<web::Data<SecuritySettings>>()
        .map(|s| s.clone().into_inner())
        .filter(|s| s.enabled);
    let Some(settings) = settings else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let prefix = req
        .app_data::<web::Data<StaticPrefix>>()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let path = req.path().to_string();
    // 1. Host.
    let health = path == format!("{prefix}/health") || path == format!("{prefix}/version");
    if !settings.any_host() && !health {
        let host = header_str(req.headers(), &header::HOST).unwrap_or("");
        if !host_allowed(&settings.allowed_hosts, host) {
            tracing::warn!(
                host,
                "refused a request with a Host header no --allowed-hosts pattern matches"
            );
            let response = text_response(StatusCode::FORBIDDEN, INVALID_HOST_MSG);
            return Ok(req.into_response(response).map_into_boxed_body());
        }
    }
    // 2. CORS preflight.
    let origin = header_str(req.headers(), &header::ORIGIN).map(str::to_string);
    if origin.is_some()
        && req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        let response = preflight(&settings, req.headers());
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    let has_cookie = req.headers().contains_key(header::COOKIE);
    let api = is_api_endpoint(&path, &prefix);
    let method = req.method().clone();
    let routed = req.match_pattern().is_some();
    // 3. Cross-origin writes on the API.
    let mut response = if !settings.any_origin()
        && api
        && settings.blocks_cross_origin_write(origin.as_deref(), &method)
    {
        tracing::warn!(
            origin = origin.as_deref().unwrap_or(""),
            "blocked a cross-origin write"
        );
        let response = text_response(StatusCode::FORBIDDEN, CORS_BLOCKED_MSG);
        req.into_response(response).map_into_boxed_body()
    } else {
        let mut res = next.call(req).await?.map_into_boxed_body();
        // Flask answers OPTIONS on every route it has (204 through MLflow's
        // middleware); this router knows only each route's own methods.
        let unrouted = matches!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND
        );
        if method == Method::OPTIONS
            && api
            && (res.status() == StatusCode::OK || (routed && unrouted))
        {
            let (req, _) = res.into_parts();
            res = ServiceResponse::new(req, HttpResponse::NoContent().finish());
        }
        // 4. Headers on what the application answered.
        let headers = res.headers_mut();
        set(headers, "x-content-type-options", "nosniff");
        if let Some(frame) = &settings.x_frame_options {
            let in_prefix = path.strip_prefix(prefix.as_str()).unwrap_or(&path);
            if !in_prefix.starts_with(NOTEBOOK_RENDERER_PATH) {
                set(headers, "x-frame-options", frame);
            }
        }
        res
    };
    if let Some(origin) = &origin {
        add_cors_headers(&settings, origin, has_cookie, response.headers_mut());
    }
    Ok(response)
}

/// The `--static-prefix`, as app data for the middlewares that match paths.
#[derive(Debug, Clone, Default)]
pub struct StaticPrefix(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_python() {
        assert!(fnmatch("localhost:5000", "localhost:*"));
        assert!(fnmatch("[::1]:5000", "[[]::1]:*"));
        assert!(!fnmatch("[::1]:5000", "[::1]:*"));
        assert!(fnmatch("172.20.1.1:80", "172.20.*"));
        assert!(fnmatch("a", "?"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("b", "[a-c]"));
        assert!(!fnmatch("b", "[!a-c]"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("[x", "[x"));
        assert!(fnmatch("app-1.internal.com", "app-*.internal.com"));
        assert!(!fnmatch("evil.example.com", "*.internal.com"));
    }

    #[test]
    fn default_hosts_are_local_and_private() {
        let hosts = default_allowed_hosts();
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:80",
            "[::1]:5000",
            "0.0.0.0",
            "10.1.2.3",
            "192.168.0.1:5000",
            "172.16.0.1",
            "172.31.255.1:1",
            "fd00::1",
        ] {
            assert!(host_allowed(&hosts, ok), "{ok}");
        }
        for bad in [
            "evil.example.com",
            "172.32.0.1",
            "11.0.0.1",
            "",
            "localhost.evil.com",
            "8.8.8.8",
        ] {
            assert!(!host_allowed(&hosts, bad), "{bad}");
        }
    }

    #[test]
    fn flags_parse_as_mlflow_reads_them() {
        let s = SecuritySettings::from_flags(false, Some("a.com, b.com"), None, "deny");
        assert_eq!(s.allowed_hosts, vec!["a.com", "b.com"]);
        assert_eq!(s.x_frame_options.as_deref(), Some("DENY"));
        let s = SecuritySettings::from_flags(false, Some(""), Some("https://x.io"), "none");
        assert_eq!(s.allowed_hosts, default_allowed_hosts());
        assert_eq!(s.cors_allowed_origins, vec!["https://x.io"]);
        assert_eq!(s.x_frame_options, None);
        assert_eq!(
            SecuritySettings::from_flags(false, None, None, "SAMEORIGIN"),
            SecuritySettings::default()
        );
    }

    #[test]
    fn cross_origin_writes_are_blocked_unless_allowed() {
        let s = SecuritySettings::from_flags(
            false,
            None,
            Some("https://app.co,https://*.team.co"),
            "SAMEORIGIN",
        );
        assert!(s.blocks_cross_origin_write(Some("https://evil.com"), &Method::POST));
        assert!(!s.blocks_cross_origin_write(Some("https://evil.com"), &Method::GET));
        assert!(!s.blocks_cross_origin_write(None, &Method::POST));
        assert!(!s.blocks_cross_origin_write(Some("http://localhost:3000"), &Method::POST));
        assert!(!s.blocks_cross_origin_write(Some("https://127.0.0.1"), &Method::DELETE));
        assert!(!s.blocks_cross_origin_write(Some("https://app.co"), &Method::PUT));
        assert!(!s.blocks_cross_origin_write(Some("https://x.team.co"), &Method::PATCH));
        assert!(s.cors_origin_allowed("http://localhost:3000"));
        assert!(!s.cors_origin_allowed("https://localhost:3000"));
        assert!(!s.cors_origin_allowed("http://localhost:"));
        assert!(s.cors_origin_allowed("https://app.co"));
    }

    #[test]
    fn api_endpoints_include_the_artifact_proxy() {
        assert!(is_api_endpoint("/api/2.0/mlflow/runs/get", ""));
        assert!(is_api_endpoint("/ajax-api/2.0/mlflow/runs/get", ""));
        assert!(is_api_endpoint(
            "/mlflow/api/2.0/mlflow/runs/get",
            "/mlflow"
        ));
        assert!(!is_api_endpoint("/api/2.0/mlflow/runs/get", "/mlflow"));
        assert!(is_api_endpoint(
            "/api/2.0/mlflow-artifacts/artifacts/x",
            "/mlflow"
        ));
        assert!(!is_api_endpoint("/graphql", ""));
        assert!(!is_api_endpoint("/api/test", ""));
    }
}
