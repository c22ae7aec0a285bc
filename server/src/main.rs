//! `ferroflow` command line: `ferroflow server …` and `ferroflow db upgrade URI`,
//! with the flags and environment variables of `mlflow server`.

use clap::{ArgAction, Args, Parser, Subcommand};
use ferroflow::auth::config::AuthConfig;
use ferroflow::config::{
    parse_click_bool, parse_mlflow_bool, ArtifactSettings, DatabaseUri, ObservabilitySettings,
    PoolSettings, RequestLimits, S3Settings, Settings, UiSettings,
};
use ferroflow::security::SecuritySettings;
use ferroflow::startup::Application;
use ferroflow::store::sql::SqlStore;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ferroflow",
    version,
    about = "A drop-in MLflow tracking server"
)]
struct Cli {
    /// Log as JSON lines instead of text (filter with RUST_LOG).
    /// FERROFLOW_LOG_JSON takes true/false, 1/0, yes/no, on/off.
    #[arg(
        long,
        global = true,
        env = "FERROFLOW_LOG_JSON",
        action = ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the tracking server.
    Server(ServerArgs),
    /// Database schema management.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Permanently delete runs and experiments in the deleted lifecycle stage
    Gc(ferroflow::gc::GcArgs),
}

#[derive(Subcommand)]
enum DbCommand {
    /// Create MLflow's schema on an empty database, or check that an
    /// existing one is at the revision ferroflow serves.
    Upgrade {
        /// Database URI, e.g. sqlite:///mlflow.db or postgresql://user@host/db.
        url: String,
    },
}

#[derive(Args)]
#[command(disable_help_flag = true)]
struct ServerArgs {
    /// Print help (`-h` is --host, as in `mlflow server`).
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
    /// URI of the tracking database.
    #[arg(
        long,
        env = "MLFLOW_BACKEND_STORE_URI",
        default_value = "sqlite:///mlflow.db"
    )]
    backend_store_uri: String,
    /// Prefix of new experiments' artifact locations (default:
    /// mlflow-artifacts:/ when serving artifacts, else ./mlruns).
    #[arg(long, env = "MLFLOW_DEFAULT_ARTIFACT_ROOT")]
    default_artifact_root: Option<String>,
    /// Where the artifact proxy stores files.
    #[arg(
        long,
        env = "MLFLOW_ARTIFACTS_DESTINATION",
        default_value = "./mlartifacts"
    )]
    artifacts_destination: String,
    /// Serve the mlflow-artifacts proxy (default).
    #[arg(long, overrides_with = "no_serve_artifacts", action = ArgAction::SetTrue)]
    serve_artifacts: bool,
    /// Do not serve the proxy; clients read and write the artifact root themselves.
    #[arg(long, overrides_with = "serve_artifacts", action = ArgAction::SetTrue)]
    no_serve_artifacts: bool,
    /// Address to listen on.
    #[arg(short = 'h', long, env = "MLFLOW_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on.
    #[arg(short, long, env = "MLFLOW_PORT", default_value_t = 5000)]
    port: u16,
    /// Number of HTTP worker threads (default: one per CPU core).
    #[arg(short, long, env = "MLFLOW_WORKERS")]
    workers: Option<usize>,
    /// A prefix prepended to every route, UI and API (e.g. /mlflow).
    #[arg(long, env = "MLFLOW_STATIC_PREFIX")]
    static_prefix: Option<String>,
    /// The MLflow web UI build folder (default: ui/ beside the executable,
    /// else .ui/mlflow-3.17.2/build in the checkout; see scripts/setup-ui.sh).
    #[arg(long, env = "FERROFLOW_UI_DIR")]
    ui_dir: Option<std::path::PathBuf>,
    /// Serve Prometheus metrics on /metrics, as `mlflow server
    /// --expose-prometheus DIR`. The directory is created if missing; one
    /// ferroflow process keeps its metrics in memory and writes nothing there.
    #[arg(long, env = "MLFLOW_EXPOSE_PROMETHEUS", value_name = "DIR")]
    expose_prometheus: Option<std::path::PathBuf>,
    /// Serve /metrics on this separate address (e.g. 0.0.0.0:9090) instead of
    /// the API port; implies the Prometheus endpoint.
    #[arg(long, env = "FERROFLOW_METRICS_ADDRESS", value_name = "HOST:PORT")]
    metrics_address: Option<String>,
    /// `MLFLOW_SERVE_ARTIFACTS`, read as `mlflow server`'s click flag reads
    /// it (true/false, 1/0, yes/no, on/off).
    #[arg(long = "serve-artifacts-env", hide = true, env = "MLFLOW_SERVE_ARTIFACTS",
          value_name = "MLFLOW_SERVE_ARTIFACTS", value_parser = parse_serve_artifacts_env)]
    serve_artifacts_env: Option<bool>,
    /// Truncate param values over 6000 and tag values over 8000 characters
    /// (true) or refuse them (false), as MLflow's variable.
    #[arg(long, env = "MLFLOW_TRUNCATE_LONG_VALUES", default_value = "true",
          value_name = "BOOL", action = ArgAction::Set, value_parser = parse_mlflow_bool)]
    truncate_long_values: bool,
    /// Longest experiment artifact_location accepted.
    #[arg(long, env = "MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", default_value_t =
          ferroflow::validation::DEFAULT_ARTIFACT_LOCATION_MAX_LENGTH)]
    artifact_location_max_length: usize,
    /// Comma-separated host-addressed URI schemes (e.g. http,https) whose
    /// artifact URIs may name hosts other than the server's own storage.
    #[arg(
        long,
        env = "MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES",
        default_value = "",
        value_name = "SCHEMES"
    )]
    allowed_host_addressed_artifact_schemes: String,
    /// Most root fields of one /graphql query.
    #[arg(
        long,
        env = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS",
        default_value_t = 10
    )]
    graphql_max_root_fields: usize,
    /// Most aliases at one level of a /graphql query.
    #[arg(long, env = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES", default_value_t = 10)]
    graphql_max_aliases: usize,
    /// Database connections (PostgreSQL: per process, default 16; SQLite:
    /// readers, default 4, plus one writer).
    #[arg(long, env = "FERROFLOW_DB_MAX_CONNECTIONS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    db_max_connections: Option<u32>,
    /// Seconds a request waits for a database connection, connecting
    /// included (default: PostgreSQL 5, SQLite 60); then 503.
    #[arg(long, env = "FERROFLOW_DB_ACQUIRE_TIMEOUT", value_name = "SECONDS",
          value_parser = parse_seconds)]
    db_acquire_timeout: Option<std::time::Duration>,
    /// `basic-auth`: users, passwords and permissions, configured as MLflow's
    /// (MLFLOW_AUTH_CONFIG_PATH, MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD).
    #[arg(long, value_parser = ["basic-auth"])]
    app_name: Option<String>,
    /// Comma-separated Host headers (fnmatch patterns) the server answers;
    /// others get 403. Default: localhost and private addresses. `*`: all.
    #[arg(long, env = "MLFLOW_SERVER_ALLOWED_HOSTS")]
    allowed_hosts: Option<String>,
    /// Comma-separated origins allowed cross-origin (beyond http://localhost,
    /// 127.0.0.1 and [::1] on any port). `*`: all, without credentials.
    #[arg(long, env = "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS")]
    cors_allowed_origins: Option<String>,
    /// X-Frame-Options header: SAMEORIGIN, DENY, or NONE (no header).
    #[arg(
        long,
        env = "MLFLOW_SERVER_X_FRAME_OPTIONS",
        default_value = "SAMEORIGIN"
    )]
    x_frame_options: String,
    /// DANGEROUS: no Host check, no CORS protection, no security headers.
    #[arg(
        long,
        env = "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE",
        action = ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    disable_security_middleware: bool,
}

/// `MLFLOW_SERVE_ARTIFACTS`: empty counts as unset (click's rule), so the
/// default (serve) applies.
fn parse_serve_artifacts_env(value: &str) -> Result<bool, String> {
    if value.trim().is_empty() {
        return Ok(true);
    }
    parse_click_bool(value)
}

/// A positive number of seconds (fractions allowed).
fn parse_seconds(value: &str) -> Result<std::time::Duration, String> {
    match value.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(std::time::Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "expected a positive number of seconds, got '{value}'"
        )),
    }
}

impl ServerArgs {
    /// The flags win over `MLFLOW_SERVE_ARTIFACTS`; on by default.
    fn serve_artifacts(&self) -> bool {
        if self.no_serve_artifacts {
            return false;
        }
        self.serve_artifacts || self.serve_artifacts_env.unwrap_or(true)
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    ferroflow::telemetry::init(cli.log_json);
    let result = match cli.command {
        Command::Server(args) => run_server(args).await,
        Command::Db {
            command: DbCommand::Upgrade { url },
        } => db_upgrade(&url).await,
        Command::Gc(args) => ferroflow::gc::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferroflow: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(args: ServerArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut artifacts = ArtifactSettings::resolve(
        args.default_artifact_root.clone(),
        Some(args.artifacts_destination.clone()),
        args.serve_artifacts(),
    );
    // The S3 client's variables are boto3's and MLflow's own (AWS_*,
    // MLFLOW_S3_*); this is the one place they are read.
    artifacts.s3 = S3Settings::from_env();
    artifacts.allowed_host_addressed_schemes =
        ArtifactSettings::parse_schemes(&args.allowed_host_addressed_artifact_schemes);
    let settings = Settings {
        database: DatabaseUri::parse(&args.backend_store_uri)?,
        artifacts,
        host: args.host.clone(),
        port: args.port,
        workers: args.workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        ui: UiSettings {
            dir: UiSettings::locate_dir(args.ui_dir.clone()),
            static_prefix: UiSettings::parse_static_prefix(args.static_prefix.as_deref())?,
        },
        observability: ObservabilitySettings {
            prometheus: args.expose_prometheus.is_some() || args.metrics_address.is_some(),
            metrics_address: args.metrics_address.clone(),
        },
        limits: RequestLimits {
            truncate_long_values: args.truncate_long_values,
            artifact_location_max_length: args.artifact_location_max_length,
            graphql_max_root_fields: args.graphql_max_root_fields,
            graphql_max_aliases: args.graphql_max_aliases,
        },
        pool: PoolSettings {
            max_connections: args.db_max_connections,
            acquire_timeout: args.db_acquire_timeout,
        },
        security: SecuritySettings::from_flags(
            args.disable_security_middleware,
            args.allowed_hosts.as_deref(),
            args.cors_allowed_origins.as_deref(),
            &args.x_frame_options,
        ),
        auth: match args.app_name.as_deref() {
            Some("basic-auth") => Some(auth_config()?),
            _ => None,
        },
    };
    log_security(&settings.security);
    if let Some(dir) = &args.expose_prometheus {
        // `mlflow server` creates the directory; keep that contract.
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--expose-prometheus {}: {e}", dir.display()))?;
    }
    match &settings.ui.dir {
        Some(dir) => tracing::info!(ui_dir = %dir.display(), "serving the MLflow web UI"),
        None => tracing::warn!(
            "no MLflow UI build found: the API is served, `/` explains how to fetch the UI \
             (scripts/setup-ui.sh, or --ui-dir / FERROFLOW_UI_DIR)"
        ),
    }
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    tracing::info!("ferroflow stopped");
    Ok(())
}

/// MLflow's auth variables; a variable that is set wins over the file even
/// when empty.
fn auth_config() -> Result<AuthConfig, Box<dyn std::error::Error + Send + Sync>> {
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let path = var("MLFLOW_AUTH_CONFIG_PATH")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    Ok(AuthConfig::load(
        path.as_deref(),
        var("MLFLOW_AUTH_ADMIN_USERNAME"),
        var("MLFLOW_AUTH_ADMIN_PASSWORD"),
    )?)
}

/// The start-up lines `mlflow server` prints about its security middleware.
fn log_security(security: &SecuritySettings) {
    if !security.enabled {
        tracing::warn!(
            "Security middleware is DISABLED. Your MLflow server is vulnerable to various attacks."
        );
    } else if security.allowed_hosts.iter().any(|h| h == "*") {
        tracing::warn!(
            "Accepting ALL hosts. This may leave the server vulnerable to DNS rebinding attacks."
        );
    }
    if security.enabled && security.cors_allowed_origins.iter().any(|o| o == "*") {
        tracing::warn!(
            "Allowing ALL origins for CORS. This allows ANY website to access your MLflow data."
        );
    }
}

async fn db_upgrade(url: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let uri = DatabaseUri::parse(url)?;
    SqlStore::open(&uri).await?;
    println!(
        "{uri}: schema at MLflow revision {}",
        ferroflow::store::migrate::ALEMBIC_HEAD
    );
    Ok(())
}
