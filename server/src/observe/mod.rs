//! Operating the server: request ids, the access log and tracing spans
//! ([`access`]), Prometheus metrics ([`metrics`]) and the `/metrics` route.

pub mod access;
pub mod metrics;

use actix_web::{web, HttpResponse};
use metrics::{Metrics, ScrapeSource};
use std::sync::Arc;

/// What `/metrics` renders: the HTTP counters and the store it reads gauges
/// from. Shared by the API server and a separate `--metrics-address` one.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Arc<Metrics>,
    pub source: Arc<dyn ScrapeSource>,
}

/// `GET /metrics` in Prometheus' text exposition format.
pub fn metrics_route(r: &mut crate::handlers::Router) {
    r.get("/metrics", render);
}

async fn render(scrape: web::Data<Scrape>) -> HttpResponse {
    let body = scrape.metrics.render(scrape.source.as_ref()).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}
