//! The one table that gives every route its authorization policy.
//!
//! Routes are registered through `handlers::Router`, which records each
//! `(method, path)`; `startup` refuses to start when a recorded route has no
//! row here, and `server/tests/it/auth.rs` walks the recorded routes (every
//! one answers 401 without credentials unless its policy is `Public`). At
//! run time a request whose route has no row is refused as well:
//! unauthenticated 401, non-admin 403, admin passes on to the 404/405 the
//! router answers.
//!
//! Paths are as registered under the static prefix, with `/ajax-api/`
//! written as `/api/` (the UI's twin of every REST route has the same
//! policy).

use super::permission::Action;
use actix_web::http::Method;

/// Where a request names its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// `experiment_id` (query for GET, else the JSON body).
    ExperimentId,
    /// `experiment_name` (get-by-name).
    ExperimentName,
    /// Every `experiment_ids` value (the UI's dataset search).
    ExperimentIds,
    /// `run_id` (or `run_uuid`).
    RunId,
    /// Every `run_id` value of the query (bulk metric reads).
    RunIds,
    /// `name` of a registered model.
    ModelName,
    /// The `{model_id}` path segment of a logged model.
    LoggedModelPath,
    /// The artifact proxy path `<experiment_id>/…` (the `{path}` segment, or
    /// the `path` query of a root listing).
    ArtifactPath,
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// No authentication at all.
    Public,
    /// Any authenticated user.
    Authenticated,
    /// Admins only.
    Admin,
    /// `action` on an experiment (runs, logged models and artifacts through
    /// their experiment, with their sub-resource tier first).
    Experiment(Action, Locator),
    /// Deleting or restoring an experiment: delete on it and on the run and
    /// logged-model tiers.
    DeleteExperiment,
    /// A new experiment: `experiment/*` not denied; the creator then gets
    /// MANAGE.
    CreateExperiment,
    /// A new run or logged model in `experiment_id`: update on the
    /// experiment, the created tier not denied.
    CreateInExperiment(&'static str),
    /// `action` on a registered model.
    RegisteredModel(Action),
    /// `action` on a model version (read on its model, the version tier
    /// falling back to the model).
    ModelVersion(Action),
    /// A new registered model: `registered_model/*` not denied; the creator
    /// then gets MANAGE.
    CreateRegisteredModel,
    /// A new version: update on the model, read on the source run.
    CreateModelVersion,
    /// A search whose answer is filtered to what the user may read.
    Filtered(Listing),
    /// runs/search: `experiment_ids` reduced to the readable ones first.
    SearchRuns,
    /// `username` must be the caller's own, or the caller an admin.
    SelfOrAdmin,
    /// Granting or revoking: MANAGE on the resource the body names.
    ManageGrantTarget,
    /// `/graphql`: authenticated; each resolved object is checked.
    GraphQl,
}

/// Which list a filtered search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Experiments,
    RegisteredModels,
    ModelVersions,
    LoggedModels,
}

use Action::{Delete, Manage, Read, Update};
use Locator::*;
use Policy::*;

const GET: &str = "GET";
const POST: &str = "POST";
const PATCH: &str = "PATCH";
const PUT: &str = "PUT";
const DELETE: &str = "DELETE";

/// `(method, path, policy)` for every route the server registers.
pub const ROUTES: &[(&str, &str, Policy)] = &[
    // Liveness and the UI's files: public, as in MLflow.
    (GET, "/health", Public),
    (GET, "/ready", Public),
    (GET, "/api/3.0/mlflow/server-info", Public),
    (GET, "/static-files/{path:.*}", Public),
    (GET, "", Public),
    (GET, "/", Authenticated),
    (GET, "/version", Authenticated),
    (GET, "/metrics", Admin),
    // Experiments.
    (POST, "/api/2.0/mlflow/experiments/create", CreateExperiment),
    (
        GET,
        "/api/2.0/mlflow/experiments/get",
        Experiment(Read, ExperimentId),
    ),
    (
        GET,
        "/api/2.0/mlflow/experiments/get-by-name",
        Experiment(Read, ExperimentName),
    ),
    (
        GET,
        "/api/2.0/mlflow/experiments/search",
        Filtered(Listing::Experiments),
    ),
    (
        POST,
        "/api/2.0/mlflow/experiments/search",
        Filtered(Listing::Experiments),
    ),
    (
        POST,
        "/api/2.0/mlflow/experiments/update",
        Experiment(Update, ExperimentId),
    ),
    (POST, "/api/2.0/mlflow/experiments/delete", DeleteExperiment),
    (
        POST,
        "/api/2.0/mlflow/experiments/restore",
        DeleteExperiment,
    ),
    (
        POST,
        "/api/2.0/mlflow/experiments/set-experiment-tag",
        Experiment(Update, ExperimentId),
    ),
    (
        POST,
        "/api/2.0/mlflow/experiments/delete-experiment-tag",
        Experiment(Update, ExperimentId),
    ),
    (
        POST,
        "/api/2.0/mlflow/experiments/search-datasets",
        Experiment(Read, ExperimentIds),
    ),
    // Runs and what they log.
    (
        POST,
        "/api/2.0/mlflow/runs/create",
        CreateInExperiment("run"),
    ),
    (GET, "/api/2.0/mlflow/runs/get", Experiment(Read, RunId)),
    (
        POST,
        "/api/2.0/mlflow/runs/update",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/delete",
        Experiment(Delete, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/restore",
        Experiment(Delete, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/log-metric",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/log-parameter",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/set-tag",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/delete-tag",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/log-batch",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/log-inputs",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/outputs",
        Experiment(Update, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/runs/log-model",
        Experiment(Update, RunId),
    ),
    (POST, "/api/2.0/mlflow/runs/search", SearchRuns),
    (
        GET,
        "/api/2.0/mlflow/metrics/get-history",
        Experiment(Read, RunId),
    ),
    (
        GET,
        "/api/2.0/mlflow/metrics/get-history-bulk",
        Experiment(Read, RunIds),
    ),
    (
        GET,
        "/api/2.0/mlflow/metrics/get-history-bulk-interval",
        Experiment(Read, RunIds),
    ),
    (
        GET,
        "/api/2.0/mlflow/artifacts/list",
        Experiment(Read, RunId),
    ),
    (
        POST,
        "/api/2.0/mlflow/upload-artifact",
        Experiment(Update, RunId),
    ),
    (GET, "/get-artifact", Experiment(Read, RunId)),
    // The artifact proxy: paths start with the experiment id.
    (
        GET,
        "/api/2.0/mlflow-artifacts/artifacts",
        Experiment(Read, ArtifactPath),
    ),
    (
        GET,
        "/api/2.0/mlflow-artifacts/artifacts/{path:.*}",
        Experiment(Read, ArtifactPath),
    ),
    (
        PUT,
        "/api/2.0/mlflow-artifacts/artifacts/{path:.*}",
        Experiment(Update, ArtifactPath),
    ),
    (
        DELETE,
        "/api/2.0/mlflow-artifacts/artifacts/{path:.*}",
        Experiment(Manage, ArtifactPath),
    ),
    (
        POST,
        "/api/2.0/mlflow-artifacts/mpu/create/{path:.*}",
        Experiment(Update, ArtifactPath),
    ),
    (
        POST,
        "/api/2.0/mlflow-artifacts/mpu/complete/{path:.*}",
        Experiment(Update, ArtifactPath),
    ),
    (
        POST,
        "/api/2.0/mlflow-artifacts/mpu/abort/{path:.*}",
        Experiment(Update, ArtifactPath),
    ),
    (
        GET,
        "/api/2.0/mlflow-artifacts/presigned/{path:.*}",
        Experiment(Read, ArtifactPath),
    ),
    // Logged models: through their experiment.
    (
        POST,
        "/api/2.0/mlflow/logged-models",
        CreateInExperiment("logged_model"),
    ),
    (
        POST,
        "/api/2.0/mlflow/logged-models/search",
        Filtered(Listing::LoggedModels),
    ),
    (
        GET,
        "/api/2.0/mlflow/logged-models/{model_id}",
        Experiment(Read, LoggedModelPath),
    ),
    (
        PATCH,
        "/api/2.0/mlflow/logged-models/{model_id}",
        Experiment(Update, LoggedModelPath),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/logged-models/{model_id}",
        Experiment(Delete, LoggedModelPath),
    ),
    (
        POST,
        "/api/2.0/mlflow/logged-models/{model_id}/params",
        Experiment(Update, LoggedModelPath),
    ),
    (
        PATCH,
        "/api/2.0/mlflow/logged-models/{model_id}/tags",
        Experiment(Update, LoggedModelPath),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/logged-models/{model_id}/tags/{tag_key}",
        Experiment(Delete, LoggedModelPath),
    ),
    (
        GET,
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
        Experiment(Read, LoggedModelPath),
    ),
    (
        GET,
        "/api/2.0/mlflow/logged-models/{model_id}/artifacts/files",
        Experiment(Read, LoggedModelPath),
    ),
    // The model registry: by model name.
    (
        POST,
        "/api/2.0/mlflow/registered-models/create",
        CreateRegisteredModel,
    ),
    (
        GET,
        "/api/2.0/mlflow/registered-models/get",
        RegisteredModel(Read),
    ),
    (
        POST,
        "/api/2.0/mlflow/registered-models/rename",
        RegisteredModel(Update),
    ),
    (
        PATCH,
        "/api/2.0/mlflow/registered-models/update",
        RegisteredModel(Update),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/registered-models/delete",
        RegisteredModel(Delete),
    ),
    (
        GET,
        "/api/2.0/mlflow/registered-models/search",
        Filtered(Listing::RegisteredModels),
    ),
    (
        GET,
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        RegisteredModel(Read),
    ),
    (
        POST,
        "/api/2.0/mlflow/registered-models/get-latest-versions",
        RegisteredModel(Read),
    ),
    (
        POST,
        "/api/2.0/mlflow/registered-models/set-tag",
        RegisteredModel(Update),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/registered-models/delete-tag",
        RegisteredModel(Update),
    ),
    (
        POST,
        "/api/2.0/mlflow/registered-models/alias",
        RegisteredModel(Update),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/registered-models/alias",
        RegisteredModel(Delete),
    ),
    (
        GET,
        "/api/2.0/mlflow/registered-models/alias",
        RegisteredModel(Read),
    ),
    (
        POST,
        "/api/2.0/mlflow/model-versions/create",
        CreateModelVersion,
    ),
    (
        GET,
        "/api/2.0/mlflow/model-versions/get",
        ModelVersion(Read),
    ),
    (
        PATCH,
        "/api/2.0/mlflow/model-versions/update",
        ModelVersion(Update),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/model-versions/delete",
        ModelVersion(Delete),
    ),
    (
        GET,
        "/api/2.0/mlflow/model-versions/search",
        Filtered(Listing::ModelVersions),
    ),
    (
        POST,
        "/api/2.0/mlflow/model-versions/transition-stage",
        ModelVersion(Update),
    ),
    (
        GET,
        "/api/2.0/mlflow/model-versions/get-download-uri",
        ModelVersion(Read),
    ),
    (
        POST,
        "/api/2.0/mlflow/model-versions/set-tag",
        ModelVersion(Update),
    ),
    (
        DELETE,
        "/api/2.0/mlflow/model-versions/delete-tag",
        ModelVersion(Delete),
    ),
    (GET, "/model-versions/get-artifact", ModelVersion(Read)),
    // The UI's own calls.
    (GET, "/graphql", GraphQl),
    (POST, "/graphql", GraphQl),
    (GET, "/api/2.0/mlflow/gateway-proxy", Authenticated),
    (POST, "/api/2.0/mlflow/gateway-proxy", Authenticated),
    (GET, "/api/3.0/mlflow/ui-telemetry", Authenticated),
    (POST, "/api/3.0/mlflow/ui-telemetry", Authenticated),
    (GET, "/api/3.0/mlflow/assistant/config", Authenticated),
    (GET, "/api/3.0/mlflow/assistant/providers", Authenticated),
    // GenAI lists this server keeps empty (no traces, no GenAI datasets).
    (POST, "/api/3.0/mlflow/traces/search", Authenticated),
    (POST, "/api/3.0/mlflow/traces/metrics", Authenticated),
    (POST, "/api/3.0/mlflow/datasets/search", Authenticated),
    // Users and permissions (`auth::api`).
    (POST, "/api/2.0/mlflow/users/create", Admin),
    (GET, "/api/2.0/mlflow/users/get", SelfOrAdmin),
    (GET, "/api/2.0/mlflow/users/current", Authenticated),
    // MLflow lets every user list every user; ferroflow only admins.
    (GET, "/api/2.0/mlflow/users/list", Admin),
    (PATCH, "/api/2.0/mlflow/users/update-password", SelfOrAdmin),
    (PATCH, "/api/2.0/mlflow/users/update-admin", Admin),
    (DELETE, "/api/2.0/mlflow/users/delete", Admin),
    (
        POST,
        "/api/3.0/mlflow/users/permissions/grant",
        ManageGrantTarget,
    ),
    (
        POST,
        "/api/3.0/mlflow/users/permissions/revoke",
        ManageGrantTarget,
    ),
    (GET, "/api/3.0/mlflow/users/permissions/get", SelfOrAdmin),
    (GET, "/api/3.0/mlflow/users/permissions/list", SelfOrAdmin),
    (
        GET,
        "/api/3.0/mlflow/users/current/permissions",
        Authenticated,
    ),
    // Roles: administered by admins; a user may list their own.
    (POST, "/api/3.0/mlflow/roles/create", Admin),
    (GET, "/api/3.0/mlflow/roles/get", Admin),
    (GET, "/api/3.0/mlflow/roles/list", Admin),
    (PATCH, "/api/3.0/mlflow/roles/update", Admin),
    (DELETE, "/api/3.0/mlflow/roles/delete", Admin),
    (POST, "/api/3.0/mlflow/roles/permissions/add", Admin),
    (DELETE, "/api/3.0/mlflow/roles/permissions/remove", Admin),
    (GET, "/api/3.0/mlflow/roles/permissions/list", Admin),
    (PATCH, "/api/3.0/mlflow/roles/permissions/update", Admin),
    (POST, "/api/3.0/mlflow/roles/assign", Admin),
    (DELETE, "/api/3.0/mlflow/roles/unassign", Admin),
    (GET, "/api/3.0/mlflow/users/roles/list", SelfOrAdmin),
    (GET, "/api/3.0/mlflow/roles/users/list", Admin),
];

/// `/ajax-api/…` → `/api/…`: both prefixes share one policy.
pub fn canonical_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/ajax-api/") {
        Some(rest) => std::borrow::Cow::Owned(format!("/api/{rest}")),
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// The policy of a registered route (path relative to the static prefix,
/// as the router recorded it).
pub fn lookup(method: &Method, path: &str) -> Option<Policy> {
    let path = canonical_path(path);
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == path)
        .map(|(_, _, policy)| *policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_unique() {
        for (i, (m, p, _)) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[i + 1..].iter().any(|(m2, p2, _)| m2 == m && p2 == p),
                "{m} {p} twice"
            );
        }
    }

    #[test]
    fn ajax_twins_share_the_rest_policy() {
        assert_eq!(
            lookup(&Method::GET, "/ajax-api/2.0/mlflow/runs/get"),
            Some(Experiment(Read, RunId))
        );
        assert_eq!(lookup(&Method::POST, "/api/2.0/mlflow/runs/get"), None);
        assert_eq!(lookup(&Method::GET, "/nope"), None);
    }
}
