//! Building and running the application: open the store (creating or
//! checking MLflow's schema), seed the default experiment, bind (port 0 picks
//! a free port, which the tests use), serve until SIGTERM/SIGINT.

use crate::artifacts::local::LocalArtifactRepository;
use crate::artifacts::s3::{is_s3_uri, S3ArtifactRepository};
use crate::artifacts::ArtifactRepository;
use crate::auth::{self, Auth};
use crate::config::Settings;
use crate::handlers::{self, RouteEntry, Router};
use crate::observe::{self, metrics::Metrics, Scrape};
use crate::security::{self, StaticPrefix};
use crate::state::AppState;
use crate::store::sql::SqlStore;
use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;

pub struct Application {
    port: u16,
    server: Server,
    /// The separate `--metrics-address` listener, when configured.
    metrics_server: Option<(u16, Server)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow_like::Result<Application> {
        let store = SqlStore::open_with(&settings.database, &settings.pool)
            .await?
            .with_default_artifact_root(&settings.artifacts.default_artifact_root);
        store
            .ensure_default_experiment(&settings.artifacts.experiment_location("0"))
            .await?;
        // The proxy's destination: an S3 bucket/prefix or a local directory.
        let destination = &settings.artifacts.artifacts_destination;
        let artifacts: Option<Arc<dyn ArtifactRepository>> = if !settings.artifacts.serve_artifacts
        {
            None
        } else if is_s3_uri(destination) {
            Some(Arc::new(S3ArtifactRepository::new(
                &settings.artifacts.s3,
                destination,
            )?))
        } else {
            Some(Arc::new(LocalArtifactRepository::new(destination)?))
        };
        let auth = match &settings.auth {
            Some(config) => Some(Arc::new(Auth::start(config).await?)),
            None => None,
        };
        let prefix = settings.ui.static_prefix.clone();
        let observability = settings.observability.clone();
        let metrics_on_api_port =
            observability.prometheus && observability.metrics_address.is_none();
        check_route_policies(&prefix, metrics_on_api_port)?;
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            database = %settings.database,
            artifacts_destination = %settings.artifacts.artifacts_destination,
            default_artifact_root = %settings.artifacts.default_artifact_root,
            serve_artifacts = settings.artifacts.serve_artifacts,
            basic_auth = auth.is_some(),
            security_middleware = settings.security.enabled,
            static_prefix = %settings.ui.static_prefix,
            host = %settings.host,
            port,
            "ferroflow listening"
        );
        let workers = settings.workers;
        let store = Arc::new(store);
        let scrape = Scrape {
            metrics: Arc::new(Metrics::default()),
            source: store.clone(),
        };
        // HTTP metrics are only recorded when someone can read them.
        let recorded_metrics = observability
            .prometheus
            .then(|| web::Data::from(scrape.metrics.clone()));
        let scrape_data = web::Data::new(scrape);
        let scrape_data_for_metrics = scrape_data.clone();
        let state = web::Data::new(AppState {
            store: store.clone(),
            registry: store.clone(),
            logged_models: store,
            artifacts,
            auth,
            settings,
        });
        let security_settings = web::Data::new(state.settings.security.clone());
        let static_prefix = web::Data::new(StaticPrefix(prefix.clone()));
        // The UI's text assets, compressed once per encoding.
        let ui_assets = web::Data::new(handlers::ui::CompressedAssets::default());
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .app_data(state.clone())
                .app_data(ui_assets.clone())
                .app_data(security_settings.clone())
                .app_data(static_prefix.clone());
            if let Some(metrics) = &recorded_metrics {
                app = app.app_data(metrics.clone());
            }
            if metrics_on_api_port {
                app = app.app_data(scrape_data.clone());
            }
            app.configure(|cfg| register_routes(cfg, &prefix, metrics_on_api_port, &mut Vec::new()))
                .default_service(web::to(handlers::not_found))
                // Inside out: the auth layer sees only requests the
                // security middleware let through (Host, CORS).
                .wrap(actix_web::middleware::from_fn(auth::middleware::authorize))
                .wrap(actix_web::middleware::from_fn(security::protect))
                .wrap(actix_web::middleware::Compress::default())
                // Outermost: it sees every response, 404s included, as sent
                // (compressed) on the wire.
                .wrap(actix_web::middleware::from_fn(observe::access::observe))
        })
        // Without TCP_NODELAY a response written in two segments (headers,
        // then a compressed or larger body) waits for the client's delayed
        // ACK: ~40 ms on every such request with a keep-alive client.
        .on_connect(|conn, _ext| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                if let Err(e) = tcp.set_nodelay(true) {
                    tracing::debug!(error = %e, "could not set TCP_NODELAY");
                }
            }
        })
        .workers(workers.max(1))
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        let metrics_server = match &observability.metrics_address {
            Some(address) => Some(metrics_server(address, scrape_data_for_metrics)?),
            None => None,
        };
        Ok(Application {
            port,
            server,
            metrics_server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(port, _)| *port)
    }

    /// Runs until the server stops (SIGTERM/SIGINT trigger a graceful stop);
    /// the metrics listener stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        match self.metrics_server {
            None => self.server.await,
            Some((_, metrics)) => {
                let handle = metrics.handle();
                let metrics_task = tokio::spawn(metrics);
                let result = self.server.await;
                handle.stop(true).await;
                let _ = metrics_task.await;
                result
            }
        }
    }
}

/// Every route, through [`Router`]: the UI and API under the static
/// prefix, and `/metrics` when it is served on the API port.
fn register_routes(
    cfg: &mut web::ServiceConfig,
    prefix: &str,
    metrics_on_api_port: bool,
    routes: &mut Vec<RouteEntry>,
) {
    let mut router = Router::new(cfg, routes);
    // Before the prefix scope: an empty-prefix scope matches every path and
    // never falls through to what is registered after it.
    if metrics_on_api_port {
        observe::metrics_route(&mut router);
    }
    router.scope(prefix, |r| {
        handlers::configure(r);
        if !prefix.is_empty() {
            handlers::ui::prefix_redirect(r, prefix);
        }
    });
}

/// The routes the server registers, paths relative to the static prefix
/// (what the auth policy table is keyed by).
pub fn registered_routes(prefix: &str, metrics_on_api_port: bool) -> Vec<RouteEntry> {
    let mut routes = Vec::new();
    let _ =
        App::new().configure(|cfg| register_routes(cfg, prefix, metrics_on_api_port, &mut routes));
    for route in &mut routes {
        if let Some(rest) = route
            .path
            .strip_prefix(prefix)
            .filter(|_| !prefix.is_empty())
        {
            route.path = rest.to_string();
        }
    }
    routes
}

/// Refuses to start when a route has no row in the auth policy table: a
/// route nobody gave a policy must never be served.
fn check_route_policies(prefix: &str, metrics_on_api_port: bool) -> anyhow_like::Result<()> {
    let missing: Vec<String> = registered_routes(prefix, metrics_on_api_port)
        .into_iter()
        .filter(|r| auth::policy::lookup(&r.method, &r.path).is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "routes without an auth policy (add them to auth::policy::ROUTES): {}",
            missing.join(", ")
        )
        .into())
    }
}

/// `/metrics` alone on its own address, one worker: scrapes are rare and
/// must not compete with the API's workers.
fn metrics_server(address: &str, scrape: web::Data<Scrape>) -> anyhow_like::Result<(u16, Server)> {
    let listener =
        TcpListener::bind(address).map_err(|e| format!("--metrics-address {address}: {e}"))?;
    let port = listener.local_addr()?.port();
    tracing::info!(address, port, "serving Prometheus metrics");
    let server = HttpServer::new(move || {
        App::new()
            .app_data(scrape.clone())
            .configure(|cfg| observe::metrics_route(&mut Router::new(cfg, &mut Vec::new())))
            .default_service(web::to(handlers::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((port, server))
}

/// A small boxed-error alias for start-up paths (no request is involved).
pub mod anyhow_like {
    pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;
    pub type Result<T> = std::result::Result<T, Error>;
}
