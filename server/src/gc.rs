//! `ferroflow gc`: MLflow 3.17.2's `mlflow gc` on ferroflow's databases.
//!
//! Permanently deletes the runs, logged models and experiments in the
//! `deleted` lifecycle stage (and, with `--jobs` / `--job-ids`, finalized
//! jobs), with their artifacts. Selection follows `mlflow gc` exactly:
//!
//! * runs: `--run-ids`, else every deleted run whose `deleted_time` is at or
//!   before now − `--older-than`; plus the deleted runs of the experiments
//!   being deleted;
//! * logged models: `--logged-model-ids`, else every deleted logged model
//!   last updated at or before now − `--older-than`;
//! * experiments: `--experiment-ids` (each must be deleted, and older than
//!   `--older-than` by `last_update_time`), else every deleted experiment
//!   (last updated before now − `--older-than` when given).
//!
//! Each category falls back to "everything deleted" when its own ids are
//! not given, as in MLflow: `--run-ids a` also collects deleted experiments
//! and logged models.
//!
//! Everything is checked before anything is deleted: a run, model or
//! experiment that does not exist, is not in the `deleted` stage or is too
//! recent stops the command with MLflow's message and nothing is deleted
//! (MLflow checks runs one by one while deleting). Then each run goes in
//! this order: its artifacts, then its rows in every table, in one
//! transaction; logged models likewise; then each experiment with whatever
//! it still holds, in one transaction.
//!
//! Artifacts are deleted by ferroflow itself, never through a tracking
//! server: `mlflow-artifacts:/…` (and `http(s)://…/api/2.0/mlflow-artifacts/
//! artifacts/…`) URIs under `--artifacts-destination` (a directory or
//! `s3://bucket/prefix`), `s3://` URIs with the S3 settings of
//! `ferroflow server` (`MLFLOW_S3_ENDPOINT_URL`, `AWS_*`), local paths and
//! `file:` URIs on disk.

use crate::artifacts::local::LocalArtifactRepository;
use crate::artifacts::s3::{is_s3_uri, shared_client, S3ArtifactRepository, S3Location};
use crate::artifacts::{resolve_uri, ArtifactPath, ArtifactRepository};
use crate::config::{ArtifactSettings, DatabaseUri, S3Settings};
use crate::error::{ApiError, ErrorCode};
use crate::store::sql::gc::{GcExperiment, GcLoggedModel, GcRun};
use crate::store::sql::SqlStore;
use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `ferroflow gc`: the options of `mlflow gc`, plus `--dry-run`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GcArgs {
    /// Only remove runs (logged models, experiments, jobs) deleted longer
    /// ago than this, in #d#h#m#s format; float values are allowed
    /// (e.g. 1d2h3m4s, 1.2d3h4m5s, 30d).
    #[arg(long, value_name = "#d#h#m#s")]
    pub older_than: Option<String>,
    /// The database to collect (default: MLFLOW_BACKEND_STORE_URI, else
    /// MLFLOW_TRACKING_URI, as `mlflow gc` reads it, else
    /// sqlite:///mlflow.db).
    #[arg(long, env = "MLFLOW_BACKEND_STORE_URI", value_name = "URI")]
    pub backend_store_uri: Option<String>,
    /// Where `mlflow-artifacts:/` artifact URIs are stored: the server's
    /// --artifacts-destination, a directory or s3://bucket/prefix
    /// (default: ./mlartifacts, as for `ferroflow server`).
    #[arg(long, env = "MLFLOW_ARTIFACTS_DESTINATION", value_name = "URI")]
    pub artifacts_destination: Option<String>,
    /// Comma-separated ids of the runs to delete (each must be in the
    /// `deleted` stage); default: every deleted run.
    #[arg(long, value_name = "IDS")]
    pub run_ids: Option<String>,
    /// Comma-separated ids of the experiments to delete with all their runs
    /// (each must be in the `deleted` stage); default: every deleted
    /// experiment.
    #[arg(long, value_name = "IDS")]
    pub experiment_ids: Option<String>,
    /// Comma-separated ids of the logged models to delete (each must be in
    /// the `deleted` stage); default: every deleted logged model.
    #[arg(long, value_name = "IDS")]
    pub logged_model_ids: Option<String>,
    /// Also delete finalized jobs (all of them unless filtered by
    /// --older-than or --job-ids).
    #[arg(long)]
    pub jobs: bool,
    /// Comma-separated ids of finalized jobs to delete (with or without
    /// --jobs).
    #[arg(long, value_name = "IDS")]
    pub job_ids: Option<String>,
    /// Not supported: ferroflow gc deletes artifacts itself (proxied ones
    /// under --artifacts-destination), not through a tracking server.
    #[arg(long, value_name = "URI")]
    pub tracking_uri: Option<String>,
    /// Not supported: ferroflow has no workspaces.
    #[arg(long, env = "MLFLOW_WORKSPACE")]
    pub workspace: Option<String>,
    /// Not supported: ferroflow has no workspaces.
    #[arg(long)]
    pub all_workspaces: bool,
    /// List what would be deleted, and delete nothing (ferroflow only).
    #[arg(long)]
    pub dry_run: bool,
}

/// Why `ferroflow gc` stopped: the message MLflow prints, without its
/// exception class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcError(pub String);

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GcError {}

impl From<ApiError> for GcError {
    fn from(e: ApiError) -> Self {
        GcError(e.message)
    }
}

impl From<std::io::Error> for GcError {
    fn from(e: std::io::Error) -> Self {
        GcError(format!("Cannot write the report: {e}"))
    }
}

pub type GcResult<T> = Result<T, GcError>;

/// `mlflow gc`'s default database.
pub const DEFAULT_BACKEND_STORE_URI: &str = "sqlite:///mlflow.db";
/// `ferroflow server`'s default proxy destination.
pub const DEFAULT_ARTIFACTS_DESTINATION: &str = "./mlartifacts";

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

/// A parsed `--older-than`: the text as given (MLflow's age checks apply
/// only when it is not empty) and the age in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct OlderThan {
    pub text: String,
    pub millis: i64,
}

impl OlderThan {
    fn active(older: &Option<OlderThan>) -> Option<&OlderThan> {
        older.as_ref().filter(|o| !o.text.is_empty())
    }
}

/// Parses `#d#h#m#s` as `mlflow gc` does (the regular expression
/// `^((\d|.)+?d)?((\d|.)+?h)?((\d|.)+?m)?((\d|.)+?s)?$`, each number a
/// Python float), returning milliseconds (`int(timedelta(...)
/// .total_seconds() * 1000)`). The empty string is zero.
pub fn parse_older_than(text: &str) -> GcResult<i64> {
    let invalid = || {
        GcError(format!(
            "Could not parse any time information from '{text}'. Examples of valid strings: \
             '8h', '2d8h5m20s', '2m4s'"
        ))
    };
    const UNITS: [(char, f64); 4] = [('d', 86_400.0), ('h', 3_600.0), ('m', 60.0), ('s', 1.0)];
    let mut rest = text;
    let mut seconds = 0.0f64;
    for (unit, scale) in UNITS {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 || !rest[digits..].starts_with(unit) {
            continue;
        }
        let value: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        seconds += value * scale;
        rest = &rest[digits + 1..];
    }
    if !rest.is_empty() {
        return Err(invalid());
    }
    // timedelta keeps whole microseconds (rounded half to even) and allows
    // at most 999,999,999 days.
    let micros = (seconds * 1e6).round_ties_even();
    if !micros.is_finite() || micros >= 999_999_999.0 * 86_400.0 * 1e6 {
        return Err(GcError(format!(
            "--older-than '{text}' is out of range (at most 999999999 days)"
        )));
    }
    Ok((micros as i64) / 1000)
}

/// `"a,b"` → `["a", "b"]` (None or empty → None). Blanks around ids are
/// dropped, as are empty items.
pub fn parse_id_list(text: Option<&str>) -> Option<Vec<String>> {
    let text = text.filter(|t| !t.is_empty())?;
    Some(
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The database `mlflow gc` would collect: `--backend-store-uri` (or
/// MLFLOW_BACKEND_STORE_URI, through clap), else MLFLOW_TRACKING_URI, else
/// `sqlite:///mlflow.db`; with where it came from, for messages.
pub fn resolve_backend_store_uri(
    flag: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> (String, &'static str) {
    if let Some(uri) = flag.filter(|u| !u.trim().is_empty()) {
        return (uri.to_string(), "--backend-store-uri");
    }
    match var("MLFLOW_TRACKING_URI").filter(|u| !u.trim().is_empty()) {
        Some(uri) => (uri, "MLFLOW_TRACKING_URI"),
        None => (DEFAULT_BACKEND_STORE_URI.to_string(), "the default"),
    }
}

fn open_uri(uri: &str, source: &str) -> GcResult<DatabaseUri> {
    let scheme = uri
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(
        scheme.as_str(),
        "http" | "https" | "databricks" | "databricks-uc" | "uc"
    ) {
        return Err(GcError(format!(
            "This cli can only be used with a backend that allows hard-deleting runs \
             (the backend store '{}' from {source} is a tracking server; pass the server's \
             database with --backend-store-uri)",
            crate::config::redact(uri)
        )));
    }
    Ok(DatabaseUri::parse(uri)?)
}

/// Refuses the `mlflow gc` options ferroflow does not have.
fn check_unsupported(args: &GcArgs) -> GcResult<()> {
    if args.workspace.is_some() || args.all_workspaces {
        return Err(GcError(
            "Workspace selection flags are only supported when the tracking store supports \
             workspaces. (ferroflow has no workspaces: drop --workspace / --all-workspaces \
             and MLFLOW_WORKSPACE.)"
                .into(),
        ));
    }
    if args.tracking_uri.is_some() {
        return Err(GcError(
            "--tracking-uri is not supported by ferroflow gc: it does not delete artifacts \
             through a tracking server but itself, proxied ones (mlflow-artifacts:/ URIs) \
             under --artifacts-destination, which must be the server's \
             --artifacts-destination. Drop --tracking-uri."
                .into(),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// artifacts
// ---------------------------------------------------------------------------

/// What deleting one artifact URI means.
enum Artifacts {
    /// An empty URI: nothing to delete.
    Nothing,
    /// MLflow's `InvalidUrlException` case: warn and go on without
    /// deleting artifacts.
    Invalid { uri: String, error: String },
    /// A path inside a repository: the proxy destination (local or S3) or
    /// an `s3://` location. `prune`: the repository has real directories
    /// (local), so emptied parent folders can be removed.
    Repo {
        repo: Arc<dyn ArtifactRepository>,
        path: ArtifactPath,
        prune: bool,
    },
    /// A local directory (a local path or `file:` URI).
    Local { dir: PathBuf },
}

/// The artifact stores `gc` deletes from.
struct ArtifactStores {
    settings: ArtifactSettings,
    proxy: Arc<dyn ArtifactRepository>,
    proxy_is_s3: bool,
}

/// The URI scheme (RFC 3986), ignoring one-letter schemes (Windows drives).
fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then_some(scheme)
}

impl ArtifactStores {
    fn new(destination: &str, s3: S3Settings) -> GcResult<ArtifactStores> {
        let proxy_is_s3 = is_s3_uri(destination);
        let proxy: Arc<dyn ArtifactRepository> = if proxy_is_s3 {
            Arc::new(S3ArtifactRepository::new(&s3, destination)?)
        } else {
            Arc::new(LocalArtifactRepository::lazy(destination)?)
        };
        Ok(ArtifactStores {
            settings: ArtifactSettings {
                default_artifact_root: "mlflow-artifacts:/".into(),
                serve_artifacts: true,
                artifacts_destination: destination.to_string(),
                s3,
                allowed_host_addressed_schemes: Vec::new(),
            },
            proxy,
            proxy_is_s3,
        })
    }

    /// How to delete `uri`, the artifact location of `what` (`run <id>` …).
    /// Unsupported schemes, and locations that are a whole store (the
    /// destination, a bucket, `/`), are refused.
    fn resolve(&self, what: &str, uri: &str) -> GcResult<Artifacts> {
        let uri = uri.trim();
        if uri.is_empty() {
            return Ok(Artifacts::Nothing);
        }
        let invalid = |error: String| {
            Ok(Artifacts::Invalid {
                uri: uri.to_string(),
                error,
            })
        };
        let whole_store = || {
            GcError(format!(
                "Refusing to delete the artifacts of {what}: its artifact location '{uri}' is \
                 a whole artifact store, not a folder of its own. Nothing was deleted."
            ))
        };
        let unsupported = || {
            GcError(format!(
                "Cannot delete the artifacts of {what} at '{uri}': ferroflow gc deletes \
                 artifacts on local paths, file: URIs, s3:// and mlflow-artifacts:/ (under \
                 --artifacts-destination) only. Nothing was deleted."
            ))
        };
        match uri_scheme(uri).map(str::to_ascii_lowercase).as_deref() {
            None => {
                if uri.contains('\0') {
                    return invalid("the path contains a NUL character".into());
                }
                self.local(PathBuf::from(uri), whole_store)
            }
            Some("file") => match url::Url::parse(uri).map(|u| u.to_file_path()) {
                Ok(Ok(path)) => self.local(path, whole_store),
                Ok(Err(())) => invalid("not a local file URI".into()),
                Err(e) => invalid(e.to_string()),
            },
            Some("s3") => {
                let location = match S3Location::parse(uri) {
                    Ok(l) => l,
                    Err(e) => return invalid(e.message),
                };
                if location.prefix.is_root() {
                    return Err(whole_store());
                }
                let client = shared_client(&self.settings.s3)?;
                let repo = S3ArtifactRepository::with_client(client, location, &self.settings.s3);
                Ok(Artifacts::Repo {
                    repo: Arc::new(repo),
                    path: ArtifactPath::root(),
                    prune: false,
                })
            }
            Some("mlflow-artifacts" | "http" | "https") => {
                match resolve_uri(&self.settings, Some(&self.proxy), uri) {
                    Ok((_, path)) if path.is_root() => Err(whole_store()),
                    Ok((repo, path)) => Ok(Artifacts::Repo {
                        repo,
                        path,
                        prune: !self.proxy_is_s3,
                    }),
                    Err(e) if e.code == ErrorCode::NotImplemented => Err(unsupported()),
                    Err(e) => invalid(e.message),
                }
            }
            Some(_) => Err(unsupported()),
        }
    }

    fn local(&self, path: PathBuf, whole_store: impl Fn() -> GcError) -> GcResult<Artifacts> {
        let absolute = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map(|d| d.join(&path))
                .unwrap_or(path)
        };
        if absolute.parent().is_none() {
            return Err(whole_store());
        }
        Ok(Artifacts::Local { dir: absolute })
    }
}

/// Deletes a local artifact directory without following symlinks: a link
/// is removed, not its target; a directory is emptied through
/// [`LocalArtifactRepository`], then removed.
async fn delete_local(dir: &Path) -> GcResult<()> {
    let fail = |e: std::io::Error| {
        GcError(format!(
            "Cannot delete the artifacts at '{}': {e}",
            dir.display()
        ))
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(e)),
        Ok(meta) if meta.is_dir() => {
            let text = dir.to_string_lossy();
            LocalArtifactRepository::lazy(&text)?
                .delete(&ArtifactPath::root())
                .await?;
            match std::fs::remove_dir(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
                _ => Ok(()),
            }
        }
        Ok(_) => std::fs::remove_file(dir).map_err(fail),
    }
}

/// Removes `path` from the repository when it is an empty folder.
async fn prune_repo(repo: &Arc<dyn ArtifactRepository>, path: &ArtifactPath) {
    if path.is_root() {
        return;
    }
    if let Ok(children) = repo.list(path).await {
        if children.is_empty() {
            let _ = repo.delete(path).await;
        }
    }
}

/// The folders an entity's artifact location lives in that are its own
/// and may be removed once empty: `<id>` of `…/<id>/artifacts`, and for a
/// logged model also `models` of `…/models/<id>/artifacts`.
fn own_folders(segments: &[&str], id: &str) -> usize {
    let n = segments.len();
    if n >= 2 && segments[n - 1] == "artifacts" && segments[n - 2] == id {
        if n >= 3 && segments[n - 3] == "models" {
            2
        } else {
            1
        }
    } else {
        0
    }
}

impl Artifacts {
    /// Deletes the artifacts; an invalid URI is reported and skipped, as
    /// `mlflow gc` does. Then removes the entity's own emptied folders.
    async fn delete(&self, id: &str, out: &mut dyn Write) -> GcResult<()> {
        match self {
            Artifacts::Nothing => Ok(()),
            Artifacts::Invalid { uri, error } => {
                writeln!(
                    out,
                    "An exception InvalidUrlException({}) was raised during the deletion of a \
                     model artifact",
                    crate::pycompat::repr_str(error)
                )?;
                writeln!(
                    out,
                    "Unable to resolve the provided artifact URL: '{uri}'. The gc process will \
                     continue and bypass artifact deletion. Please ensure that the artifact \
                     exists and consider manually deleting any unused artifacts. "
                )?;
                Ok(())
            }
            Artifacts::Repo { repo, path, prune } => {
                repo.delete(path).await.map_err(|e| {
                    GcError(format!(
                        "Cannot delete the artifacts at '{path}': {}",
                        e.message
                    ))
                })?;
                if *prune {
                    let segments: Vec<&str> = path.segments().collect();
                    let mut folder = path.parent();
                    for _ in 0..own_folders(&segments, id) {
                        let Some(f) = folder else { break };
                        prune_repo(repo, &f).await;
                        folder = f.parent();
                    }
                }
                Ok(())
            }
            Artifacts::Local { dir } => {
                delete_local(dir).await?;
                let text = dir.to_string_lossy();
                let segments: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
                let mut folder = dir.parent();
                for _ in 0..own_folders(&segments, id) {
                    let Some(f) = folder else { break };
                    // Fails (and is left) when not empty.
                    let _ = std::fs::remove_dir(f);
                    folder = f.parent();
                }
                Ok(())
            }
        }
    }

    /// Removes an experiment's artifact folder once it is empty.
    async fn prune_experiment_folder(&self) {
        match self {
            Artifacts::Repo {
                repo,
                path,
                prune: true,
            } => prune_repo(repo, path).await,
            Artifacts::Local { dir } => {
                let _ = std::fs::remove_dir(dir);
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// the plan
// ---------------------------------------------------------------------------

struct PlannedRun {
    run: GcRun,
    artifacts: Artifacts,
}

struct PlannedModel {
    model: GcLoggedModel,
    artifacts: Artifacts,
}

struct PlannedExperiment {
    experiment: GcExperiment,
    /// Runs and logged models the experiment still holds that are not
    /// collected on their own (not in the `deleted` stage): their rows go
    /// with the experiment, and so do their artifacts.
    runs: Vec<PlannedRun>,
    models: Vec<PlannedModel>,
    artifacts: Artifacts,
}

/// Everything one `gc` deletes, checked.
struct Plan {
    runs: Vec<PlannedRun>,
    models: Vec<PlannedModel>,
    experiments: Vec<PlannedExperiment>,
    jobs: Vec<String>,
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// Selects and checks what to delete, as `_gc_tracking_resources` does,
/// without deleting anything.
async fn plan(store: &SqlStore, args: &GcArgs, stores: &ArtifactStores) -> GcResult<Plan> {
    let older = match &args.older_than {
        Some(text) => Some(OlderThan {
            text: text.clone(),
            millis: parse_older_than(text)?,
        }),
        None => None,
    };
    let time_delta = older.as_ref().map_or(0, |o| o.millis);
    let age_check = OlderThan::active(&older);

    let run_ids = parse_id_list(args.run_ids.as_deref());
    let experiment_ids = parse_id_list(args.experiment_ids.as_deref());
    let model_ids = parse_id_list(args.logged_model_ids.as_deref());

    let deleted_runs_older = store.gc_deleted_run_ids(time_delta).await?;
    let mut run_ids_to_delete = run_ids.unwrap_or_else(|| deleted_runs_older.clone());
    let deleted_runs_older: HashSet<String> = deleted_runs_older.into_iter().collect();

    let deleted_models_older = store.gc_deleted_logged_model_ids(time_delta).await?;
    let model_ids_to_delete = model_ids.unwrap_or_else(|| deleted_models_older.clone());
    let deleted_models_older: HashSet<String> = deleted_models_older.into_iter().collect();

    let threshold = crate::store::sql::now_millis() - time_delta;
    let experiment_ids_to_delete =
        experiments_to_delete(store, experiment_ids, age_check, threshold).await?;
    for id in &experiment_ids_to_delete {
        run_ids_to_delete.extend(
            store
                .gc_experiment_runs(id, true)
                .await?
                .into_iter()
                .map(|r| r.run_id),
        );
    }

    let runs = plan_runs(
        store,
        stores,
        run_ids_to_delete,
        &deleted_runs_older,
        age_check,
    )
    .await?;
    let models = plan_models(
        store,
        stores,
        model_ids_to_delete,
        &deleted_models_older,
        age_check,
    )
    .await?;
    let experiments =
        plan_experiments(store, stores, &experiment_ids_to_delete, &runs, &models).await?;

    let job_ids = parse_id_list(args.job_ids.as_deref());
    let jobs = if args.jobs || job_ids.is_some() {
        store
            .gc_finalized_job_ids(time_delta, job_ids.as_deref())
            .await?
    } else {
        Vec::new()
    };
    Ok(Plan {
        runs,
        models,
        experiments,
        jobs,
    })
}

/// The experiments to delete: those named (each must be deleted, and old
/// enough under `--older-than`), else every deleted one old enough.
async fn experiments_to_delete(
    store: &SqlStore,
    experiment_ids: Option<Vec<String>>,
    age_check: Option<&OlderThan>,
    threshold: i64,
) -> GcResult<Vec<String>> {
    let Some(ids) = experiment_ids.filter(|ids| !ids.is_empty()) else {
        return Ok(store
            .gc_deleted_experiment_ids(age_check.map(|_| threshold))
            .await?);
    };
    let ids = dedup(ids);
    let mut experiments = Vec::new();
    for id in &ids {
        experiments.push(store.gc_experiment(id).await?);
    }
    let not_deleted: Vec<&str> = experiments
        .iter()
        .filter(|e| e.lifecycle_stage != "deleted")
        .map(|e| e.experiment_id.as_str())
        .collect();
    if !not_deleted.is_empty() {
        return Err(GcError(format!(
            "Experiments {} are not in the deleted lifecycle stage. Only experiments in \
             the deleted lifecycle stage can be hard-deleted.",
            crate::pycompat::repr_str_list(&not_deleted)
        )));
    }
    if let Some(o) = age_check {
        let too_new: Vec<&str> = experiments
            .iter()
            .filter(|e| e.last_update_time.is_none_or(|t| t >= threshold))
            .map(|e| e.experiment_id.as_str())
            .collect();
        if !too_new.is_empty() {
            return Err(GcError(format!(
                "Experiments {} are not older than the required age. Only experiments \
                 older than {} can be deleted.",
                crate::pycompat::repr_str_list(&too_new),
                o.text
            )));
        }
    }
    Ok(ids)
}

/// Each run to delete, which must be in the `deleted` stage (and old
/// enough), with its artifacts.
async fn plan_runs(
    store: &SqlStore,
    stores: &ArtifactStores,
    run_ids: Vec<String>,
    deleted_runs_older: &HashSet<String>,
    age_check: Option<&OlderThan>,
) -> GcResult<Vec<PlannedRun>> {
    let mut runs = Vec::new();
    for run_id in dedup(run_ids) {
        let run = store.gc_run(&run_id).await?;
        if run.lifecycle_stage != "deleted" {
            return Err(GcError(format!(
                "Run {run_id} is not in `deleted` lifecycle stage. Only runs in `deleted` \
                 lifecycle stage can be deleted."
            )));
        }
        if let Some(o) = age_check {
            if !deleted_runs_older.contains(&run_id) {
                return Err(GcError(format!(
                    "Run {run_id} is not older than the required age. Only runs older than {} \
                     can be deleted.",
                    o.text
                )));
            }
        }
        let artifacts = stores.resolve(&format!("run {run_id}"), &run.artifact_uri)?;
        runs.push(PlannedRun { run, artifacts });
    }
    Ok(runs)
}

/// Each logged model to delete, which must be in the `deleted` stage (and
/// old enough), with its artifacts.
async fn plan_models(
    store: &SqlStore,
    stores: &ArtifactStores,
    model_ids: Vec<String>,
    deleted_models_older: &HashSet<String>,
    age_check: Option<&OlderThan>,
) -> GcResult<Vec<PlannedModel>> {
    let deleted_models: HashSet<String> = store
        .gc_deleted_logged_model_ids(0)
        .await?
        .into_iter()
        .collect();
    let mut models = Vec::new();
    for model_id in dedup(model_ids) {
        let model = store.gc_logged_model(&model_id).await?;
        if !deleted_models.contains(&model_id) {
            return Err(GcError(format!(
                "Logged model {model_id} is not in `deleted` lifecycle stage. Only logged models \
                 in `deleted` lifecycle stage can be deleted."
            )));
        }
        if let Some(o) = age_check {
            if !deleted_models_older.contains(&model_id) {
                return Err(GcError(format!(
                    "Logged model {model_id} is not older than the required age. Only logged \
                     models older than {} can be deleted.",
                    o.text
                )));
            }
        }
        let artifacts = stores.resolve(
            &format!("logged model {model_id}"),
            &model.artifact_location,
        )?;
        models.push(PlannedModel { model, artifacts });
    }
    Ok(models)
}

/// Each experiment to delete, with the runs and logged models it still
/// holds that are not planned on their own (their rows and artifacts go
/// with it).
async fn plan_experiments(
    store: &SqlStore,
    stores: &ArtifactStores,
    experiment_ids: &[String],
    runs: &[PlannedRun],
    models: &[PlannedModel],
) -> GcResult<Vec<PlannedExperiment>> {
    let planned_runs: HashSet<&str> = runs.iter().map(|r| r.run.run_id.as_str()).collect();
    let planned_models: HashSet<&str> = models.iter().map(|m| m.model.model_id.as_str()).collect();
    let mut experiments = Vec::new();
    for id in experiment_ids {
        let experiment = store.gc_experiment(id).await?;
        let mut left_runs = Vec::new();
        for run in store.gc_experiment_runs(id, false).await? {
            if planned_runs.contains(run.run_id.as_str()) {
                continue;
            }
            let artifacts = stores.resolve(&format!("run {}", run.run_id), &run.artifact_uri)?;
            left_runs.push(PlannedRun { run, artifacts });
        }
        let mut left_models = Vec::new();
        for model in store.gc_experiment_logged_models(id).await? {
            if planned_models.contains(model.model_id.as_str()) {
                continue;
            }
            let artifacts = stores.resolve(
                &format!("logged model {}", model.model_id),
                &model.artifact_location,
            )?;
            left_models.push(PlannedModel { model, artifacts });
        }
        let artifacts =
            match stores.resolve(&format!("experiment {id}"), &experiment.artifact_location) {
                Ok(a) => a,
                // Only ever pruned when empty: a location that is a whole store
                // is simply left alone.
                Err(_) => Artifacts::Nothing,
            };
        experiments.push(PlannedExperiment {
            experiment,
            runs: left_runs,
            models: left_models,
            artifacts,
        });
    }
    Ok(experiments)
}

fn artifact_note(uri: &str) -> String {
    if uri.trim().is_empty() {
        String::new()
    } else {
        format!(" (artifacts: {uri})")
    }
}

fn report_dry_run(plan: &Plan, out: &mut dyn Write) -> GcResult<()> {
    let run_line = |out: &mut dyn Write, r: &PlannedRun| {
        writeln!(
            out,
            "Run with ID {} would be permanently deleted.{}",
            r.run.run_id,
            artifact_note(&r.run.artifact_uri)
        )
    };
    let model_line = |out: &mut dyn Write, m: &PlannedModel| {
        writeln!(
            out,
            "Logged model with ID {} would be permanently deleted.{}",
            m.model.model_id,
            artifact_note(&m.model.artifact_location)
        )
    };
    for r in &plan.runs {
        run_line(out, r)?;
    }
    for m in &plan.models {
        model_line(out, m)?;
    }
    for e in &plan.experiments {
        for r in &e.runs {
            run_line(out, r)?;
        }
        for m in &e.models {
            model_line(out, m)?;
        }
        writeln!(
            out,
            "Experiment with ID {} would be permanently deleted.",
            e.experiment.experiment_id
        )?;
    }
    for j in &plan.jobs {
        writeln!(out, "Job with ID {j} would be permanently deleted.")?;
    }
    writeln!(out, "Dry run: nothing was deleted.")?;
    Ok(())
}

async fn execute(store: &SqlStore, plan: Plan, out: &mut dyn Write) -> GcResult<()> {
    for r in &plan.runs {
        r.artifacts.delete(&r.run.run_id, out).await?;
        store.gc_hard_delete_run(&r.run.run_id).await?;
        writeln!(
            out,
            "Run with ID {} has been permanently deleted.",
            r.run.run_id
        )?;
    }
    for m in &plan.models {
        m.artifacts.delete(&m.model.model_id, out).await?;
        store.gc_hard_delete_logged_model(&m.model.model_id).await?;
        writeln!(
            out,
            "Logged model with ID {} has been permanently deleted.",
            m.model.model_id
        )?;
    }
    for e in &plan.experiments {
        for r in &e.runs {
            r.artifacts.delete(&r.run.run_id, out).await?;
        }
        for m in &e.models {
            m.artifacts.delete(&m.model.model_id, out).await?;
        }
        store
            .gc_hard_delete_experiment(&e.experiment.experiment_id)
            .await?;
        for r in &e.runs {
            writeln!(
                out,
                "Run with ID {} has been permanently deleted.",
                r.run.run_id
            )?;
        }
        for m in &e.models {
            writeln!(
                out,
                "Logged model with ID {} has been permanently deleted.",
                m.model.model_id
            )?;
        }
        e.artifacts.prune_experiment_folder().await;
        writeln!(
            out,
            "Experiment with ID {} has been permanently deleted.",
            e.experiment.experiment_id
        )?;
    }
    if !plan.jobs.is_empty() {
        store.gc_delete_jobs(&plan.jobs).await?;
        for j in &plan.jobs {
            writeln!(out, "Job with ID {j} has been permanently deleted.")?;
        }
    }
    Ok(())
}

/// Runs `gc`, writing what it deletes to `out`.
pub async fn run_to(args: GcArgs, out: &mut dyn Write) -> GcResult<()> {
    check_unsupported(&args)?;
    let (uri, source) = resolve_backend_store_uri(args.backend_store_uri.as_deref(), |name| {
        std::env::var(name).ok()
    });
    let database = open_uri(&uri, source)?;
    let destination = args
        .artifacts_destination
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ARTIFACTS_DESTINATION.to_string());
    let stores = ArtifactStores::new(&destination, S3Settings::from_env())?;
    let store = SqlStore::open(&database).await?;
    let plan = plan(&store, &args, &stores).await?;
    if args.dry_run {
        report_dry_run(&plan, out)
    } else {
        execute(&store, plan, out).await
    }
}

/// `ferroflow gc`: [`run_to`] on stdout.
pub async fn run(args: GcArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(args, &mut out).await?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_than_accepts_mlflows_format() {
        assert_eq!(parse_older_than("1d"), Ok(86_400_000));
        assert_eq!(parse_older_than("2h"), Ok(7_200_000));
        assert_eq!(parse_older_than("3m"), Ok(180_000));
        assert_eq!(parse_older_than("4s"), Ok(4_000));
        assert_eq!(
            parse_older_than("1d2h3m4s"),
            Ok(86_400_000 + 7_200_000 + 180_000 + 4_000)
        );
        assert_eq!(parse_older_than("2d8h5m20s"), Ok(201_920_000));
        // floats, as Python's float() reads them
        assert_eq!(parse_older_than("1.5h"), Ok(5_400_000));
        assert_eq!(parse_older_than(".5s"), Ok(500));
        assert_eq!(parse_older_than("5.s"), Ok(5_000));
        assert_eq!(
            parse_older_than("1.2d3h4m5s"),
            Ok(103_680_000 + 10_800_000 + 240_000 + 5_000)
        );
        // sub-millisecond parts are truncated like int(total_seconds * 1000)
        assert_eq!(parse_older_than("0.0015s"), Ok(1));
        // the regular expression matches the empty string
        assert_eq!(parse_older_than(""), Ok(0));
        assert_eq!(parse_older_than("0s"), Ok(0));
    }

    #[test]
    fn older_than_refuses_what_mlflow_refuses() {
        for bad in [
            "1", "d", "1x", "1h2d", "1d1d", "-1d", "1 d", "1.2.3d", ".d", "1dh", "30days",
        ] {
            let err = parse_older_than(bad).expect_err(bad);
            assert_eq!(
                err.0,
                format!(
                    "Could not parse any time information from '{bad}'. Examples of valid \
                     strings: '8h', '2d8h5m20s', '2m4s'"
                ),
                "{bad}"
            );
        }
        assert!(parse_older_than("9999999999d").is_err());
    }

    #[test]
    fn id_lists() {
        assert_eq!(parse_id_list(None), None);
        assert_eq!(parse_id_list(Some("")), None);
        assert_eq!(
            parse_id_list(Some("a,b")),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            parse_id_list(Some(" a , ,b,")),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(dedup(vec!["a".into(), "b".into(), "a".into()]), ["a", "b"]);
    }

    #[test]
    fn backend_store_uri_defaults_like_mlflow_gc() {
        let none = |_: &str| None;
        assert_eq!(
            resolve_backend_store_uri(None, none).0,
            "sqlite:///mlflow.db"
        );
        assert_eq!(
            resolve_backend_store_uri(Some("sqlite:///x.db"), none).0,
            "sqlite:///x.db"
        );
        let tracking =
            |name: &str| (name == "MLFLOW_TRACKING_URI").then(|| "postgresql://u@h/db".to_string());
        assert_eq!(
            resolve_backend_store_uri(None, tracking),
            ("postgresql://u@h/db".to_string(), "MLFLOW_TRACKING_URI")
        );
        assert_eq!(
            resolve_backend_store_uri(Some("sqlite:///x.db"), tracking).0,
            "sqlite:///x.db"
        );
        let err = open_uri("http://127.0.0.1:5000", "MLFLOW_TRACKING_URI").expect_err("http");
        assert!(err.0.starts_with(
            "This cli can only be used with a backend that allows hard-deleting runs"
        ));
        assert!(open_uri("sqlite:///x.db", "--backend-store-uri").is_ok());
    }

    #[test]
    fn unsupported_options_are_refused() {
        let args = GcArgs {
            tracking_uri: Some("http://127.0.0.1:5000".into()),
            ..GcArgs::default()
        };
        assert!(check_unsupported(&args)
            .expect_err("tracking uri")
            .0
            .contains("--tracking-uri is not supported"));
        let args = GcArgs {
            all_workspaces: true,
            ..GcArgs::default()
        };
        assert!(check_unsupported(&args)
            .expect_err("workspaces")
            .0
            .starts_with("Workspace selection flags are only supported"));
        assert!(check_unsupported(&GcArgs::default()).is_ok());
    }

    #[test]
    fn own_folders_of_runs_and_models() {
        assert_eq!(own_folders(&["1", "r1", "artifacts"], "r1"), 1);
        assert_eq!(own_folders(&["1", "models", "m-1", "artifacts"], "m-1"), 2);
        assert_eq!(own_folders(&["1", "r1", "artifacts"], "r2"), 0);
        assert_eq!(own_folders(&["1", "r1", "files"], "r1"), 0);
        assert_eq!(own_folders(&["artifacts"], "r1"), 0);
    }

    fn stores(dir: &Path) -> ArtifactStores {
        ArtifactStores::new(
            &dir.join("mlartifacts").display().to_string(),
            S3Settings::default(),
        )
        .expect("stores")
    }

    #[test]
    fn artifact_uris_resolve_to_their_store() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = stores(tmp.path());
        assert!(matches!(s.resolve("run r", ""), Ok(Artifacts::Nothing)));
        match s.resolve("run r", "mlflow-artifacts:/1/r/artifacts") {
            Ok(Artifacts::Repo { path, prune, .. }) => {
                assert_eq!(path.as_str(), "1/r/artifacts");
                assert!(prune);
            }
            _ => panic!("proxied"),
        }
        match s.resolve(
            "run r",
            "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts",
        ) {
            Ok(Artifacts::Repo { path, .. }) => assert_eq!(path.as_str(), "1/r/artifacts"),
            _ => panic!("proxied over http"),
        }
        match s.resolve("run r", "/data/mlruns/1/r/artifacts") {
            Ok(Artifacts::Local { dir }) => {
                assert_eq!(dir, PathBuf::from("/data/mlruns/1/r/artifacts"))
            }
            _ => panic!("local"),
        }
        match s.resolve("run r", "file:///data/ml%20runs/1/r/artifacts") {
            Ok(Artifacts::Local { dir }) => {
                assert_eq!(dir, PathBuf::from("/data/ml runs/1/r/artifacts"))
            }
            _ => panic!("file uri"),
        }
        match s.resolve("run r", "s3://bucket/mlruns/1/r/artifacts") {
            Ok(Artifacts::Repo { path, prune, .. }) => {
                assert!(path.is_root());
                assert!(!prune);
            }
            _ => panic!("s3"),
        }
        assert!(matches!(
            s.resolve("run r", "mlflow-artifacts:/1/../../etc"),
            Ok(Artifacts::Invalid { .. })
        ));
        for whole in [
            "mlflow-artifacts:/",
            "s3://bucket",
            "s3://bucket/",
            "/",
            "file:///",
        ] {
            let err = s.resolve("run r", whole).err().expect(whole);
            assert!(
                err.0.contains("is a whole artifact store"),
                "{whole}: {err}"
            );
        }
        for other in [
            "gs://bucket/1/r/artifacts",
            "hdfs://nn/1/r",
            "http://host/elsewhere",
        ] {
            let err = s.resolve("run r", other).err().expect(other);
            assert!(
                err.0.starts_with("Cannot delete the artifacts of run r"),
                "{other}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn local_deletion_prunes_own_folders_only() {
        let tmp = tempfile::tempdir().expect("tmp");
        let exp = tmp.path().join("mlruns").join("1");
        let run_dir = exp.join("r1").join("artifacts");
        std::fs::create_dir_all(run_dir.join("sub")).expect("mkdir");
        std::fs::write(run_dir.join("sub").join("f.txt"), b"x").expect("write");
        let other = exp.join("r2").join("artifacts");
        std::fs::create_dir_all(&other).expect("mkdir");
        std::fs::write(other.join("g.txt"), b"y").expect("write");
        // a symlink inside the tree: removed, its target kept
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("keep.txt"), b"k").expect("write");
        std::os::unix::fs::symlink(&outside, run_dir.join("link")).expect("symlink");

        let s = stores(tmp.path());
        let target = s
            .resolve("run r1", &run_dir.display().to_string())
            .expect("resolve");
        let mut out = Vec::new();
        target.delete("r1", &mut out).await.expect("delete");
        assert!(!exp.join("r1").exists(), "the run's folder is gone");
        assert!(other.join("g.txt").exists(), "another run is untouched");
        assert!(outside.join("keep.txt").exists(), "symlink target kept");
        assert!(out.is_empty());
        // deleting again is a no-op
        target.delete("r1", &mut out).await.expect("again");
    }

    #[tokio::test]
    async fn proxied_deletion_prunes_the_run_folder() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = stores(tmp.path());
        let dest = tmp.path().join("mlartifacts");
        let run_dir = dest.join("1").join("r1").join("artifacts");
        std::fs::create_dir_all(&run_dir).expect("mkdir");
        std::fs::write(run_dir.join("f.txt"), b"x").expect("write");
        std::fs::write(dest.join("1").join("r1").join("extra.txt"), b"x").expect("write");
        let model_dir = dest.join("1").join("models").join("m-1").join("artifacts");
        std::fs::create_dir_all(&model_dir).expect("mkdir");
        std::fs::write(model_dir.join("MLmodel"), b"x").expect("write");

        let mut out = Vec::new();
        let target = s
            .resolve("run r1", "mlflow-artifacts:/1/r1/artifacts")
            .expect("resolve");
        target.delete("r1", &mut out).await.expect("delete");
        assert!(!run_dir.exists());
        assert!(
            dest.join("1").join("r1").join("extra.txt").exists(),
            "a non-empty run folder is kept"
        );
        let target = s
            .resolve(
                "logged model m-1",
                "mlflow-artifacts:/1/models/m-1/artifacts",
            )
            .expect("resolve");
        target.delete("m-1", &mut out).await.expect("delete");
        assert!(!dest.join("1").join("models").exists());
        assert!(dest.join("1").exists());
    }

    #[tokio::test]
    async fn invalid_uris_are_reported_like_mlflow() {
        let tmp = tempfile::tempdir().expect("tmp");
        let s = stores(tmp.path());
        let target = s
            .resolve("run r", "mlflow-artifacts:/1/../x")
            .expect("resolve");
        let mut out = Vec::new();
        target.delete("r", &mut out).await.expect("continues");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains("was raised during the deletion of a model artifact"));
        assert!(text.contains(
            "Unable to resolve the provided artifact URL: 'mlflow-artifacts:/1/../x'. The gc \
             process will continue and bypass artifact deletion."
        ));
    }
}
