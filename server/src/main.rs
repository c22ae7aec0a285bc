//! `ferroflow` command line: `ferroflow server …` and `ferroflow db upgrade URI`,
//! with the flags and environment variables of `mlflow server`.

use clap::{ArgAction, Args, Parser, Subcommand};
use ferroflow::config::{
    ArtifactSettings, DatabaseUri, ObservabilitySettings, Settings, UiSettings,
};
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
}

impl ServerArgs {
    fn serve_artifacts(&self) -> bool {
        if self.no_serve_artifacts {
            return false;
        }
        if self.serve_artifacts {
            return true;
        }
        // MLflow reads MLFLOW_SERVE_ARTIFACTS as a boolean switch.
        match std::env::var("MLFLOW_SERVE_ARTIFACTS") {
            Ok(v) => !matches!(
                v.to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            ),
            Err(_) => true,
        }
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
    let settings = Settings {
        database: DatabaseUri::parse(&args.backend_store_uri)?,
        artifacts: ArtifactSettings::resolve(
            args.default_artifact_root.clone(),
            Some(args.artifacts_destination.clone()),
            args.serve_artifacts(),
        ),
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
    };
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

async fn db_upgrade(url: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let uri = DatabaseUri::parse(url)?;
    SqlStore::open(&uri).await?;
    println!(
        "{uri}: schema at MLflow revision {}",
        ferroflow::store::migrate::ALEMBIC_HEAD
    );
    Ok(())
}
