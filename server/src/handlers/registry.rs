//! The model registry (`ModelRegistryService`): registered models, aliases,
//! model versions and their tags, plus the UI's prefix-less
//! `GET /model-versions/get-artifact`.
//!
//! Validation follows MLflow's handler and store order: the request schema
//! (in [`Msg`]), then names, versions, tags and aliases, then existence in
//! the store. Model-version sources are checked before anything is written
//! (see [`check_source`]).

use super::{empty, json, Router};
use crate::artifacts::download::file_response;
use crate::artifacts::local::resolve_uri;
use crate::artifacts::roots::{
    check_host_addressed, is_local, is_proxied_artifact_source, local_within, remote_default_root,
    uri_within,
};
use crate::artifacts::ArtifactPath;
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::request::Msg;
use crate::state::AppState;
use crate::store::registry::{
    canonical_stage, parse_models_uri, ModelsUri, NewModelVersion, NewRegisteredModel,
    RegistrySearch, ALL_STAGES, IS_PROMPT_TAG_KEY,
};
use crate::store::Page;
use crate::validation;
use crate::wire::registry::{
    CreateModelVersion, CreateRegisteredModel, DeleteModelVersionTag, DeleteRegisteredModelTag,
    DownloadUriResponse, GetLatestVersions, GetModelVersionDownloadUri, ModelVersion,
    ModelVersionRef, ModelVersionResponse, ModelVersionsResponse, RegisteredModelAliasRef,
    RegisteredModelRef, RegisteredModelResponse, RenameRegisteredModel,
    SearchRegisteredModelsResponse, SearchRegistry, SetModelVersionTag, SetRegisteredModelAlias,
    SetRegisteredModelTag, TransitionModelVersionStage, UpdateModelVersion, UpdateRegisteredModel,
};
use crate::wire::requests::KeyValueIn;
use crate::wire::KeyValue;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(r: &mut Router) {
    r.post("/registered-models/create", create_registered_model)
        .get("/registered-models/get", get_registered_model)
        .post("/registered-models/rename", rename_registered_model)
        .patch("/registered-models/update", update_registered_model)
        .delete("/registered-models/delete", delete_registered_model)
        .get("/registered-models/search", search_registered_models)
        .get(
            "/registered-models/get-latest-versions",
            get_latest_versions,
        )
        .post(
            "/registered-models/get-latest-versions",
            get_latest_versions,
        )
        .post("/registered-models/set-tag", set_registered_model_tag)
        .delete("/registered-models/delete-tag", delete_registered_model_tag)
        .post("/registered-models/alias", set_alias)
        .delete("/registered-models/alias", delete_alias)
        .get("/registered-models/alias", get_by_alias)
        .post("/model-versions/create", create_model_version)
        .get("/model-versions/get", get_model_version)
        .patch("/model-versions/update", update_model_version)
        .delete("/model-versions/delete", delete_model_version)
        .get("/model-versions/search", search_model_versions)
        .post("/model-versions/transition-stage", transition_stage)
        .get("/model-versions/get-download-uri", get_download_uri)
        .post("/model-versions/set-tag", set_model_version_tag)
        .delete("/model-versions/delete-tag", delete_model_version_tag);
}

/// The UI's `GET /model-versions/get-artifact?name=&version=&path=`, mounted
/// at the root (no API prefix).
pub fn ui_routes(r: &mut Router) {
    r.get("/model-versions/get-artifact", get_artifact);
}

type Resp = ApiResult<HttpResponse>;

/// `registered-models/search`: proto default and MLflow's threshold.
const SEARCH_MODELS_DEFAULT: i64 = 100;
/// `registered-models/search`: the handler's upper bound.
const SEARCH_MODELS_MAX: i64 = 1000;
/// `model-versions/search`: proto default = threshold.
pub const SEARCH_VERSIONS_MAX: i64 = 200_000;

/// The handler schema's `_assert_less_than_or_equal` failure for
/// `max_results`, as MLflow words it for a query-string value (P96).
fn max_results_over_limit(n: i64) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Invalid value \"{n}\" for parameter 'max_results' supplied:  Hint: Value was of type 'str'. \
         See the API docs for more information about request parameters."
    ))
}

fn tags(
    items: Vec<KeyValueIn>,
    check: fn(&str, &str) -> ApiResult<()>,
) -> ApiResult<Vec<KeyValue>> {
    items
        .into_iter()
        .map(|t| {
            let tag = t.into_key_value("value")?;
            check(&tag.key, &tag.value)?;
            Ok(tag)
        })
        .collect()
}

/// `name` then `version`, as MLflow's `_get_sql_model_version` checks them.
fn name_and_version(name: &str, version: &str) -> ApiResult<i64> {
    validation::validate_model_name(name)?;
    validation::validate_model_version(version)
}

// ---------------------------------------------------------------------------
// registered models
// ---------------------------------------------------------------------------

async fn create_registered_model(
    state: web::Data<AppState>,
    Msg(req): Msg<CreateRegisteredModel>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    let tags = tags(req.tags, validation::validate_registered_model_tag)?;
    let model = state
        .registry
        .create_registered_model(NewRegisteredModel {
            name: req.name,
            description: req.description.unwrap_or_default(),
            tags,
        })
        .await?;
    Ok(json(&RegisteredModelResponse {
        registered_model: &model,
    }))
}

async fn get_registered_model(
    state: web::Data<AppState>,
    Msg(req): Msg<RegisteredModelRef>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    let model = state.registry.get_registered_model(&req.name).await?;
    Ok(json(&RegisteredModelResponse {
        registered_model: &model,
    }))
}

async fn rename_registered_model(
    state: web::Data<AppState>,
    Msg(req): Msg<RenameRegisteredModel>,
) -> Resp {
    if req.new_name.trim().is_empty() {
        return Err(ApiError::invalid_parameter(
            "Missing value for required parameter 'new_name'.",
        ));
    }
    validation::validate_model_name(&req.new_name)?;
    validation::validate_model_name(&req.name)?;
    let model = state
        .registry
        .rename_registered_model(&req.name, &req.new_name)
        .await?;
    Ok(json(&RegisteredModelResponse {
        registered_model: &model,
    }))
}

async fn update_registered_model(
    state: web::Data<AppState>,
    Msg(req): Msg<UpdateRegisteredModel>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    let model = state
        .registry
        .update_registered_model(&req.name, req.description.as_deref().unwrap_or(""))
        .await?;
    Ok(json(&RegisteredModelResponse {
        registered_model: &model,
    }))
}

async fn delete_registered_model(
    state: web::Data<AppState>,
    Msg(req): Msg<RegisteredModelRef>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    state.registry.delete_registered_model(&req.name).await?;
    Ok(empty())
}

async fn search_registered_models(
    state: web::Data<AppState>,
    Msg(req): Msg<SearchRegistry>,
) -> Resp {
    let requested = req.max_results.unwrap_or(SEARCH_MODELS_DEFAULT);
    if requested > SEARCH_MODELS_MAX {
        return Err(max_results_over_limit(requested));
    }
    let max_results = validation::validate_search_registered_models_max_results(Some(requested))?;
    if max_results < 1 {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    let page = state
        .registry
        .search_registered_models(&RegistrySearch {
            filter: req.filter.unwrap_or_default(),
            max_results,
            order_by: req.order_by,
            page_token: req.page_token,
        })
        .await?;
    Ok(json(&SearchRegisteredModelsResponse {
        registered_models: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

async fn get_latest_versions(state: web::Data<AppState>, Msg(req): Msg<GetLatestVersions>) -> Resp {
    validation::validate_model_name(&req.name)?;
    let stages = if req.stages.is_empty() {
        ALL_STAGES.iter().map(|s| s.to_string()).collect()
    } else {
        req.stages
            .iter()
            .map(|s| canonical_stage(s).map(str::to_string))
            .collect::<ApiResult<Vec<_>>>()?
    };
    let versions = state
        .registry
        .get_latest_versions(&req.name, &stages)
        .await?;
    Ok(json(&ModelVersionsResponse {
        model_versions: &versions,
        next_page_token: None,
    }))
}

async fn set_registered_model_tag(
    state: web::Data<AppState>,
    Msg(req): Msg<SetRegisteredModelTag>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    let value = req.value.unwrap_or_default();
    validation::validate_registered_model_tag(&req.key, &value)?;
    state
        .registry
        .set_registered_model_tag(&req.name, &req.key, &value)
        .await?;
    Ok(empty())
}

async fn delete_registered_model_tag(
    state: web::Data<AppState>,
    Msg(req): Msg<DeleteRegisteredModelTag>,
) -> Resp {
    validation::validate_model_name(&req.name)?;
    validation::validate_tag_name(&req.key)?;
    state
        .registry
        .delete_registered_model_tag(&req.name, &req.key)
        .await?;
    Ok(empty())
}

// ---------------------------------------------------------------------------
// aliases
// ---------------------------------------------------------------------------

async fn set_alias(state: web::Data<AppState>, Msg(req): Msg<SetRegisteredModelAlias>) -> Resp {
    validation::validate_model_name(&req.name)?;
    validation::validate_model_alias_name(&req.alias)?;
    validation::validate_model_alias_name_reserved(&req.alias)?;
    let version = validation::validate_model_version(&req.version)?;
    state
        .registry
        .set_registered_model_alias(&req.name, &req.alias, version)
        .await?;
    Ok(empty())
}

async fn delete_alias(state: web::Data<AppState>, Msg(req): Msg<RegisteredModelAliasRef>) -> Resp {
    validation::validate_model_name(&req.name)?;
    validation::validate_model_alias_name(&req.alias)?;
    state
        .registry
        .delete_registered_model_alias(&req.name, &req.alias)
        .await?;
    Ok(empty())
}

async fn get_by_alias(state: web::Data<AppState>, Msg(req): Msg<RegisteredModelAliasRef>) -> Resp {
    validation::validate_model_name(&req.name)?;
    validation::validate_model_alias_name(&req.alias)?;
    let version = state
        .registry
        .get_model_version_by_alias(&req.name, &req.alias)
        .await?;
    Ok(json(&ModelVersionResponse {
        model_version: &version,
    }))
}

// ---------------------------------------------------------------------------
// model versions
// ---------------------------------------------------------------------------

async fn create_model_version(
    state: web::Data<AppState>,
    Msg(req): Msg<CreateModelVersion>,
) -> Resp {
    let tag_list = tags(req.tags, validation::validate_model_version_tag)?;
    let is_prompt = tag_list
        .iter()
        .rev()
        .find(|t| t.key == IS_PROMPT_TAG_KEY)
        .is_some_and(|t| t.value.to_lowercase() == "true");
    let (source, run_id, model_id) = if is_prompt {
        check_prompt_source(&req.source)?;
        (req.source, req.run_id, req.model_id)
    } else {
        check_source(&state, req.source, req.run_id, req.model_id).await?
    };
    validation::validate_model_name(&req.name)?;
    let version = state
        .registry
        .create_model_version(NewModelVersion {
            name: req.name,
            source,
            run_id: run_id.unwrap_or_default(),
            model_id: if is_prompt { None } else { model_id },
            run_link: req.run_link.unwrap_or_default(),
            description: req.description.unwrap_or_default(),
            tags: tag_list,
        })
        .await?;
    Ok(json(&ModelVersionResponse {
        model_version: &version,
    }))
}

async fn get_model_version(state: web::Data<AppState>, Msg(req): Msg<ModelVersionRef>) -> Resp {
    let version = name_and_version(&req.name, &req.version)?;
    let mv = state.registry.get_model_version(&req.name, version).await?;
    Ok(json(&ModelVersionResponse { model_version: &mv }))
}

async fn update_model_version(
    state: web::Data<AppState>,
    Msg(req): Msg<UpdateModelVersion>,
) -> Resp {
    let version = name_and_version(&req.name, &req.version)?;
    let mv = state
        .registry
        .update_model_version(&req.name, version, req.description.as_deref())
        .await?;
    Ok(json(&ModelVersionResponse { model_version: &mv }))
}

async fn delete_model_version(state: web::Data<AppState>, Msg(req): Msg<ModelVersionRef>) -> Resp {
    let version = validation::validate_model_version(&req.version)?;
    validation::validate_model_name(&req.name)?;
    state
        .registry
        .delete_model_version(&req.name, version)
        .await?;
    Ok(empty())
}

async fn search_model_versions(state: web::Data<AppState>, Msg(req): Msg<SearchRegistry>) -> Resp {
    let max_results = req.max_results.unwrap_or(SEARCH_VERSIONS_MAX);
    if max_results > SEARCH_VERSIONS_MAX {
        return Err(max_results_over_limit(max_results));
    }
    let page = search_model_versions_page(
        &state,
        req.filter.unwrap_or_default(),
        max_results,
        req.order_by,
        req.page_token,
    )
    .await?;
    Ok(json(&ModelVersionsResponse {
        model_versions: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

/// MLflow's `search_model_versions_impl` with the store's `max_results`
/// checks, shared by `model-versions/search` and GraphQL (which has no
/// handler schema in front of it, so the upper bound words it the store's
/// way).
pub async fn search_model_versions_page(
    state: &AppState,
    filter: String,
    max_results: i64,
    order_by: Vec<String>,
    page_token: Option<String>,
) -> ApiResult<Page<ModelVersion>> {
    if max_results < 1 {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid value for max_results. It must be a positive integer, but got {max_results}"
        )));
    }
    if max_results > SEARCH_VERSIONS_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid value for request parameter max_results. It must be at most {SEARCH_VERSIONS_MAX}, but got value {max_results}"
        )));
    }
    state
        .registry
        .search_model_versions(&RegistrySearch {
            filter,
            max_results,
            order_by,
            page_token,
        })
        .await
}

async fn transition_stage(
    state: web::Data<AppState>,
    Msg(req): Msg<TransitionModelVersionStage>,
) -> Resp {
    let stage = canonical_stage(&req.stage)?;
    let archive = req.archive_existing_versions.unwrap_or(false);
    if archive && !matches!(stage, "Staging" | "Production") {
        // MLflow raises this without an error code (500 INTERNAL_ERROR);
        // it is the caller's mistake, so 400 here (clients retry 5xx).
        return Err(ApiError::invalid_parameter(format!(
            "Model version transition cannot archive existing model versions because '{}' is not \
             an Active stage. Valid stages are ['Staging', 'Production']",
            req.stage
        )));
    }
    let version = name_and_version(&req.name, &req.version)?;
    let mv = state
        .registry
        .transition_model_version_stage(&req.name, version, stage, archive)
        .await?;
    Ok(json(&ModelVersionResponse { model_version: &mv }))
}

async fn get_download_uri(
    state: web::Data<AppState>,
    Msg(req): Msg<GetModelVersionDownloadUri>,
) -> Resp {
    let name = req.name.unwrap_or_default();
    let version = name_and_version(&name, req.version.as_deref().unwrap_or(""))?;
    let uri = state
        .registry
        .get_model_version_download_uri(&name, version)
        .await?;
    Ok(json(&DownloadUriResponse { artifact_uri: &uri }))
}

async fn set_model_version_tag(
    state: web::Data<AppState>,
    Msg(req): Msg<SetModelVersionTag>,
) -> Resp {
    let version = name_and_version(&req.name, &req.version)?;
    let value = req.value.unwrap_or_default();
    validation::validate_model_version_tag(&req.key, &value)?;
    state
        .registry
        .set_model_version_tag(&req.name, version, &req.key, &value)
        .await?;
    Ok(empty())
}

async fn delete_model_version_tag(
    state: web::Data<AppState>,
    Msg(req): Msg<DeleteModelVersionTag>,
) -> Resp {
    let version = name_and_version(&req.name, &req.version)?;
    validation::validate_tag_name(&req.key)?;
    state
        .registry
        .delete_model_version_tag(&req.name, version, &req.key)
        .await?;
    Ok(empty())
}

// ---------------------------------------------------------------------------
// model version artifacts (UI)
// ---------------------------------------------------------------------------

/// The first value of each of `names` in a query string (Flask's
/// `args.get`).
fn first_values<const N: usize>(query: &str, names: &[&str; N]) -> [Option<String>; N] {
    let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if let Some(i) = names.iter().position(|n| *n == key) {
            if out[i].is_none() {
                out[i] = Some(value.into_owned());
            }
        }
    }
    out
}

/// `GET /model-versions/get-artifact?name=&version=&path=`: a file under the
/// version's download URI, streamed like `/get-artifact`.
async fn get_artifact(req: HttpRequest, state: web::Data<AppState>) -> Resp {
    let [name, version, path] = first_values(req.query_string(), &["name", "version", "path"]);
    let path = path.ok_or_else(|| ApiError::missing_parameter("path"))?;
    let rel = ArtifactPath::parse(&path)?;
    let name = name.unwrap_or_default();
    let version = name_and_version(&name, version.as_deref().unwrap_or(""))?;
    let mut uri = state
        .registry
        .get_model_version_download_uri(&name, version)
        .await?;
    // `runs:/<run_id>/<path>` sources (2.x clients) live under the run.
    if py::urlsplit(&uri, false).scheme == "runs" {
        let (run_id, sub) = runs_uri_parts(&uri).ok_or_else(|| {
            ApiError::invalid_parameter(format!("Not a proper runs:/ URI: {uri}."))
        })?;
        let run = state.store.get_run(&run_id).await?;
        let root = run.info.artifact_uri.trim_end_matches('/').to_string();
        uri = if sub.is_empty() {
            root
        } else {
            format!("{root}/{sub}")
        };
    }
    let (repo, base) = resolve_uri(&state.settings.artifacts, state.artifacts.as_ref(), &uri)?;
    let full = base.join(&rel);
    let download = repo.get(&full).await?;
    Ok(file_response(&full, download))
}

// ---------------------------------------------------------------------------
// model version sources
// ---------------------------------------------------------------------------

const PROMPT_SOURCES: [&str; 2] = ["dummy-source", "prompt-template"];

fn check_prompt_source(source: &str) -> ApiResult<()> {
    if PROMPT_SOURCES.contains(&source) {
        return Ok(());
    }
    Err(ApiError::invalid_parameter(format!(
        "Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder."
    )))
}

fn invalid_source(source: &str, id_name: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Invalid model version source: '{source}'. The {id_name} request parameter must identify \
         the resource that contains the source."
    ))
}

fn invalid_local_source(source: &str, id_name: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Invalid model version source: '{source}'. To use a local path as a model version source, \
         the {id_name} request parameter has to be specified and the local path has to be contained \
         within the artifact directory of the run specified by the {id_name}."
    ))
}

fn outside_artifact_root(source: &str, root: &str) -> ApiError {
    ApiError::invalid_parameter(format!(
        "Invalid model version source: '{source}'. A model version source must be a models:/ or \
         runs:/ URI, or lie under the server's artifact root ('{root}') or the artifact location of \
         the run or logged model given with it."
    ))
}

/// MLflow's `_validate_non_local_source_contains_relative_paths`: after
/// decoding, the path must be absolute and normal (no `.`/`..` segments,
/// no NUL).
fn check_no_relative_paths(source: &str) -> ApiResult<()> {
    let invalid = || {
        ApiError::invalid_parameter(format!(
            "Invalid model version source: '{source}'. If supplying a source as an http, https, local \
             file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided \
             without relative path references present. Please provide an absolute path."
        ))
    };
    let decoded = py::unquote_repeatedly(&source.replace('+', " "));
    if decoded.split('/').any(|p| p == "..") {
        return Err(invalid());
    }
    let raw_path = py::urlsplit(&decoded, false).path.to_string();
    let mut path = String::with_capacity(raw_path.len());
    for c in raw_path.chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    let path = path.trim_end_matches('/');
    if path.contains('\0')
        || !path.starts_with('/')
        || path.split('/').skip(1).any(|s| s == "." || s.is_empty())
    {
        return Err(invalid());
    }
    Ok(())
}

/// `runs:/<run_id>/<path>` → (run id, path).
fn runs_uri_parts(uri: &str) -> Option<(String, String)> {
    let path = py::urlsplit(uri, false).path;
    let rest = path.strip_prefix('/')?;
    let (run_id, sub) = rest.split_once('/').unwrap_or((rest, ""));
    (!run_id.is_empty()).then(|| (run_id.to_string(), sub.trim_matches('/').to_string()))
}

/// Checks a model version's `source` and resolves registry sources
/// (MLflow's `_validate_artifact_uri_scheme`,
/// `_resolve_registered_model_source_lineage`, `_validate_source_run` /
/// `_validate_source_model`), and additionally requires every other source
/// to lie under the server's artifact root or the given run's or logged
/// model's artifact location. Returns the source, run id and model id to
/// store.
async fn check_source(
    state: &AppState,
    source: String,
    run_id: Option<String>,
    model_id: Option<String>,
) -> ApiResult<(String, Option<String>, Option<String>)> {
    check_host_addressed(&state.settings.artifacts, &source, "source")?;
    let (source, run_id, model_id) = resolve_lineage(state, source, run_id, model_id).await?;
    match model_id.as_deref().filter(|m| !m.is_empty()) {
        Some(id) => check_source_model(state, &source, id).await?,
        None => check_source_run(state, &source, run_id.as_deref().unwrap_or("")).await?,
    }
    Ok((source, run_id, model_id))
}

/// `models:/<name>/<version|stage|latest>` and `models:/<name>@<alias>`
/// sources become `models:/<name>/<version>` of a live version; the run id
/// is inherited when the request has none, and given ids must match.
async fn resolve_lineage(
    state: &AppState,
    source: String,
    run_id: Option<String>,
    model_id: Option<String>,
) -> ApiResult<(String, Option<String>, Option<String>)> {
    let parts = py::urlsplit(&source, false);
    if parts.scheme != "models" {
        return Ok((source, run_id, model_id));
    }
    if !parts.netloc.is_empty() {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid model version source: '{source}'. Registered model sources must use the active \
             model registry."
        )));
    }
    let target = parse_models_uri(&source).ok_or_else(|| invalid_source(&source, "model_id"))?;
    let name = match &target {
        ModelsUri::ModelId(_) => return Ok((source, run_id, model_id)),
        ModelsUri::Version { name, .. }
        | ModelsUri::Stage { name, .. }
        | ModelsUri::Latest { name }
        | ModelsUri::Alias { name, .. } => name.clone(),
    };
    let model = state.registry.get_registered_model(&name).await?;
    let is_prompt = model
        .tags
        .iter()
        .any(|t| t.key == IS_PROMPT_TAG_KEY && t.value.to_lowercase() == "true");
    if is_prompt {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid model version source: '{source}'. Prompt versions cannot be used as model \
             version sources."
        )));
    }
    let version: i64 = match target {
        ModelsUri::Version { version, .. } => version,
        ModelsUri::Alias { alias, .. } => {
            let mv = state
                .registry
                .get_model_version_by_alias(&name, &alias)
                .await?;
            mv.version.parse().unwrap_or(0)
        }
        ModelsUri::Stage { ref stage, .. } => {
            let canonical = canonical_stage(stage)?;
            latest_version(state, &name, &[canonical.to_string()])
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "No versions of model with name '{name}' and stage '{stage}' found"
                    ))
                })?
        }
        ModelsUri::Latest { .. } | ModelsUri::ModelId(_) => {
            let all: Vec<String> = ALL_STAGES.iter().map(|s| s.to_string()).collect();
            latest_version(state, &name, &all).await?.ok_or_else(|| {
                ApiError::not_found(format!(
                    "No versions of model with name '{name}' and stage 'None' found"
                ))
            })?
        }
    };
    let referenced = state.registry.get_model_version(&name, version).await?;
    let referenced_run = referenced.run_id.clone().unwrap_or_default();
    let run_mismatch = run_id.as_ref().is_some_and(|r| *r != referenced_run);
    let model_mismatch = model_id.as_ref().is_some_and(|m| !m.is_empty());
    if run_mismatch || model_mismatch {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid model version source: '{source}'. The run_id and model_id request parameters \
             must match the referenced model version."
        )));
    }
    Ok((
        format!("models:/{name}/{version}"),
        run_id.or(Some(referenced_run)),
        model_id,
    ))
}

async fn latest_version(state: &AppState, name: &str, stages: &[String]) -> ApiResult<Option<i64>> {
    Ok(state
        .registry
        .get_latest_versions(name, stages)
        .await?
        .iter()
        .filter_map(|v| v.version.parse::<i64>().ok())
        .max())
}

/// The run's artifact URI, or the "run_id must identify" error when the run
/// does not exist.
async fn run_artifact_uri(state: &AppState, run_id: &str, source: &str) -> ApiResult<String> {
    match state.store.get_run(run_id).await {
        Ok(run) => Ok(run.info.artifact_uri),
        Err(e) if e.code == crate::error::ErrorCode::ResourceDoesNotExist => {
            Err(invalid_source(source, "run_id"))
        }
        Err(e) => Err(e),
    }
}

/// `_validate_source_run`, plus the artifact-root rule for other schemes.
async fn check_source_run(state: &AppState, source: &str, run_id: &str) -> ApiResult<()> {
    if is_local(source) {
        if !run_id.is_empty() {
            let root = run_artifact_uri(state, run_id, source).await?;
            if is_local(&root) && local_within(source, &root) {
                return Ok(());
            }
        }
        return Err(invalid_local_source(source, "run_id"));
    }
    check_no_relative_paths(source)?;
    let parts = py::urlsplit(source, false);
    match parts.scheme.as_str() {
        "runs" => {
            if !parts.netloc.is_empty() {
                return Err(invalid_source(source, "run_id"));
            }
            let (source_run, _) =
                runs_uri_parts(source).ok_or_else(|| invalid_source(source, "run_id"))?;
            if !run_id.is_empty() && source_run == run_id {
                return Ok(());
            }
            return Err(invalid_source(source, "run_id"));
        }
        "models" => {
            if !parts.netloc.is_empty() {
                return Err(invalid_source(source, "model_id"));
            }
            return match parse_models_uri(source) {
                Some(ModelsUri::ModelId(_)) | None => Err(invalid_source(source, "model_id")),
                Some(_) => Ok(()),
            };
        }
        _ => {}
    }
    if is_proxied_artifact_source(source) {
        if !run_id.is_empty() {
            let root = run_artifact_uri(state, run_id, source).await?;
            if uri_within(source, &root, false) {
                return Ok(());
            }
        }
        return Err(invalid_source(source, "run_id"));
    }
    if remote_default_root(&state.settings.artifacts)
        .is_some_and(|root| uri_within(source, root, true))
    {
        return Ok(());
    }
    if !run_id.is_empty() {
        let root = run_artifact_uri(state, run_id, source).await?;
        if uri_within(source, &root, false) {
            return Ok(());
        }
    }
    Err(outside_artifact_root(
        source,
        &state.settings.artifacts.default_artifact_root,
    ))
}

/// `_validate_source_model`, plus the artifact-root rule for other schemes.
async fn check_source_model(state: &AppState, source: &str, model_id: &str) -> ApiResult<()> {
    let model = state.registry.get_logged_model_ref(model_id).await?;
    if is_local(source) {
        if let Some(m) = &model {
            if is_local(&m.artifact_location) && local_within(source, &m.artifact_location) {
                return Ok(());
            }
        }
        return Err(invalid_local_source(source, "model_id"));
    }
    check_no_relative_paths(source)?;
    let parts = py::urlsplit(source, false);
    match parts.scheme.as_str() {
        "models" => {
            if !parts.netloc.is_empty() {
                return Err(invalid_source(source, "model_id"));
            }
            match parse_models_uri(source) {
                Some(ModelsUri::ModelId(id)) if id == model_id => return Ok(()),
                Some(ModelsUri::ModelId(_)) | None => {
                    return Err(invalid_source(source, "model_id"))
                }
                Some(_) => return Ok(()),
            }
        }
        "runs" => return Err(invalid_source(source, "model_id")),
        _ => {}
    }
    let within_model = model
        .as_ref()
        .is_some_and(|m| uri_within(source, &m.artifact_location, false));
    if is_proxied_artifact_source(source) {
        return if within_model {
            Ok(())
        } else {
            Err(invalid_source(source, "model_id"))
        };
    }
    if within_model
        || remote_default_root(&state.settings.artifacts)
            .is_some_and(|root| uri_within(source, root, true))
    {
        return Ok(());
    }
    Err(outside_artifact_root(
        source,
        &state.settings.artifacts.default_artifact_root,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_refused() {
        for bad in [
            "s3://b/a/../c",
            "mlflow-artifacts:/1/%2E%2E/x",
            "s3://b/./x",
            "s3://bucket",
            "s3:bucket/x",
            "http://h/api/2.0/mlflow-artifacts/artifacts/..%2f..%2fetc",
            "s3://b/x%00",
        ] {
            assert!(check_no_relative_paths(bad).is_err(), "{bad}");
        }
        for good in [
            "s3://b/a/c",
            "mlflow-artifacts:/1/r/artifacts/model",
            "runs:/r/model",
            "s3://b//x/",
        ] {
            assert!(check_no_relative_paths(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn runs_uris() {
        assert_eq!(
            runs_uri_parts("runs:/abc/model/x"),
            Some(("abc".into(), "model/x".into()))
        );
        assert_eq!(
            runs_uri_parts("runs:/abc"),
            Some(("abc".into(), String::new()))
        );
        assert_eq!(runs_uri_parts("runs:/"), None);
    }
}
