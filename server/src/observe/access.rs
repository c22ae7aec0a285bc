//! The request middleware: a request id, a tracing span around the handler
//! (so every event from the handler down to the store carries the id), one
//! access-log line per request and the HTTP metrics.
//!
//! The line is written when the response body has been sent (or the client
//! went away), so `duration_ms` and `bytes` describe the whole exchange,
//! streamed downloads included. It never contains headers, query strings or
//! bodies: credentials (the `Authorization` header, passwords in JSON) can
//! not reach the log.

use super::metrics::Metrics;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use bytes::Bytes;
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

/// The header a request id is read from (when a proxy set one) and echoed in.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The tracing target of access-log lines (`RUST_LOG=ferroflow::access=off`
/// silences them).
pub const ACCESS_TARGET: &str = "ferroflow::access";

/// Route label of requests no route matched (their paths are not used as
/// labels: arbitrary paths would make unbounded metric series).
const UNMATCHED: &str = "unmatched";

/// The middleware, for `App::wrap(actix_web::middleware::from_fn(observe))`.
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<Metrics>>()
        .map(|m| m.clone().into_inner());
    let request_id = incoming_request_id(&req).unwrap_or_else(new_request_id);
    let method = req.method().as_str().to_string();
    let route = req.match_pattern().unwrap_or_else(|| UNMATCHED.to_string());
    let path = req.path().to_string();
    let remote = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let artifact_data = is_artifact_data_route(&route);
    if let (Some(m), true) = (&metrics, artifact_data) {
        count_request_body(&mut req, m.clone());
    }
    if let Some(m) = &metrics {
        m.request_started();
    }
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let finish = Finish {
        metrics,
        request_id: request_id.clone(),
        method,
        route,
        path,
        remote,
        started,
        status: 0,
        bytes: 0,
        complete: false,
        artifact_data,
    };
    let result = next.call(req).instrument(span).await;
    match result {
        Ok(mut res) => {
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            let mut finish = finish;
            finish.status = res.status().as_u16();
            Ok(res.map_body(move |_, body| {
                // An empty body may never be polled: it is sent with the head.
                finish.complete = matches!(body.size(), BodySize::None | BodySize::Sized(0));
                LoggedBody { body, finish }
            }))
        }
        Err(err) => {
            let mut finish = finish;
            finish.status = err.as_response_error().status_code().as_u16();
            finish.complete = true;
            drop(finish);
            Err(err)
        }
    }
}

/// A proxy's `X-Request-Id` when it is a reasonable token (so log lines
/// cannot be forged with control characters or made huge).
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| value.to_string())
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Routes whose bodies are artifact bytes: the proxy's files, the
/// `get-artifact` downloads and the UI's upload.
fn is_artifact_data_route(route: &str) -> bool {
    route.contains("/mlflow-artifacts/artifacts/")
        || route.ends_with("/get-artifact")
        || route.ends_with("/upload-artifact")
}

/// Counts upload bytes as the handler reads them (chunked bodies have no
/// Content-Length to trust).
fn count_request_body(req: &mut ServiceRequest, metrics: Arc<Metrics>) {
    let payload = req.take_payload();
    let counted = payload.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            metrics.add_artifact_bytes_in(bytes.len() as u64);
        }
    });
    req.set_payload(Payload::Stream {
        payload: Box::pin(counted),
    });
}

/// What the access-log line and the metrics need, recorded when dropped:
/// after the last byte of the body, or when the client goes away.
struct Finish {
    metrics: Option<Arc<Metrics>>,
    request_id: String,
    method: String,
    route: String,
    path: String,
    remote: String,
    started: Instant,
    status: u16,
    bytes: u64,
    complete: bool,
    artifact_data: bool,
}

impl Drop for Finish {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        if let Some(m) = &self.metrics {
            m.request_finished();
            m.observe_request(&self.method, &self.route, self.status, elapsed);
            if self.artifact_data && self.method == "GET" {
                m.add_artifact_bytes_out(self.bytes);
            }
        }
        let duration_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
        let probe =
            super::metrics::excluded_from_http_metrics(&self.route) && self.route != "/metrics";
        // `tracing`'s level must be a constant at each call site, hence one
        // macro for the field list and two call sites.
        macro_rules! access_line {
            ($level:expr) => {
                tracing::event!(
                    target: ACCESS_TARGET,
                    $level,
                    request_id = %self.request_id,
                    method = %self.method,
                    route = %self.route,
                    path = %self.path,
                    status = self.status,
                    duration_ms,
                    bytes = self.bytes,
                    complete = self.complete,
                    remote = %self.remote,
                    "request"
                )
            };
        }
        // Probes arrive every few seconds from Kubernetes: keep them out of
        // the default log level.
        if probe {
            access_line!(tracing::Level::DEBUG);
        } else {
            access_line!(tracing::Level::INFO);
        }
    }
}

pin_project_lite::pin_project! {
    /// The response body, counting what is sent.
    struct LoggedBody<B> {
        #[pin]
        body: B,
        finish: Finish,
    }
}

impl<B: MessageBody> MessageBody for LoggedBody<B> {
    type Error = B::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => this.finish.bytes += chunk.len() as u64,
            Poll::Ready(None) => this.finish.complete = true,
            _ => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_data_routes() {
        assert!(is_artifact_data_route(
            "/api/2.0/mlflow-artifacts/artifacts/{path:.*}"
        ));
        assert!(is_artifact_data_route("/get-artifact"));
        assert!(is_artifact_data_route("/model-versions/get-artifact"));
        assert!(is_artifact_data_route(
            "/ajax-api/2.0/mlflow/upload-artifact"
        ));
        assert!(!is_artifact_data_route("/api/2.0/mlflow/artifacts/list"));
        assert!(!is_artifact_data_route(
            "/api/2.0/mlflow-artifacts/artifacts"
        ));
    }
}
