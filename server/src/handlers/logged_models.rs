//! MLflow 3 logged models (`logged-models…`) and the 2.x `runs/log-model`
//! call.
//!
//! Like `mlflow server`, the params and finalize calls require `model_id` in
//! the body as well as in the path (finalize acts on the body's id, params on
//! the path's); set-tags, delete-tag, delete and get read only the path.

use super::{json, Router};
use crate::artifacts::local::resolve_uri;
use crate::artifacts::ArtifactPath;
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::request::Msg;
use crate::state::AppState;
use crate::store::logged_models::{
    LoggedModelDataset, LoggedModelOrderBy, LoggedModelQuery, NewLoggedModel, LOG_MODEL_HISTORY_TAG,
};
use crate::validation;
use crate::wire::logged_models::{
    CreateLoggedModel, FinalizeLoggedModel, GetLoggedModel, GetLoggedModelArtifact,
    ListLoggedModelArtifacts, ListLoggedModelArtifactsResponse, LogLoggedModelParams, LogModel,
    LoggedModelResponse, LoggedModelStatus, SearchLoggedModels, SearchLoggedModelsResponse,
    SetLoggedModelTags,
};
use crate::wire::requests::KeyValueIn;
use crate::wire::{FileInfo, KeyValue};
use actix_web::{web, HttpResponse};
use serde_json::{Map, Value};

pub fn routes(r: &mut Router) {
    r.post("/logged-models", create)
        .post("/logged-models/search", search)
        .get("/logged-models/{model_id}", get)
        .patch("/logged-models/{model_id}", finalize)
        .delete("/logged-models/{model_id}", delete)
        .post("/logged-models/{model_id}/params", log_params)
        .patch("/logged-models/{model_id}/tags", set_tags)
        .delete("/logged-models/{model_id}/tags/{tag_key}", delete_tag)
        .get(
            "/logged-models/{model_id}/artifacts/directories",
            list_artifacts,
        )
        .get("/logged-models/{model_id}/artifacts/files", get_artifact)
        .post("/runs/log-model", log_model);
}

type Resp = ApiResult<HttpResponse>;

/// `{}` as MLflow's proto handlers write it.
fn empty() -> HttpResponse {
    super::empty()
}

/// A logged model's params or tags; an error names the list (`params`,
/// `tags`).
fn key_values(items: Vec<KeyValueIn>, field: &str) -> ApiResult<Vec<KeyValue>> {
    items.into_iter().map(|i| i.into_key_value(field)).collect()
}

async fn create(state: web::Data<AppState>, Msg(req): Msg<CreateLoggedModel>) -> Resp {
    // `name or None`: an empty name is generated like an absent one.
    let name = req.name.filter(|n| !n.is_empty());
    validation::validate_logged_model_name(name.as_deref())?;
    let model = state
        .logged_models
        .create_logged_model(NewLoggedModel {
            experiment_id: req.experiment_id,
            name,
            // Unset proto strings read as "" and are stored that way.
            model_type: Some(req.model_type.unwrap_or_default()),
            source_run_id: Some(req.source_run_id.unwrap_or_default()),
            params: key_values(req.params, "params")?,
            tags: key_values(req.tags, "tags")?,
        })
        .await?;
    Ok(json(&LoggedModelResponse { model: &model }))
}

async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Msg(req): Msg<GetLoggedModel>,
) -> Resp {
    let allow_deleted = req
        .allow_deleted
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let model = state
        .logged_models
        .get_logged_model(&path.into_inner(), allow_deleted)
        .await?;
    Ok(json(&LoggedModelResponse { model: &model }))
}

/// The finalize status: a `LoggedModelStatus` name or number. MLflow turns
/// an unknown one into `LOGGED_MODEL_STATUS_UNSPECIFIED`; here it is a 400.
fn finalize_status(value: Option<&Value>) -> ApiResult<LoggedModelStatus> {
    let Some(value) = value else {
        return Err(ApiError::missing_parameter("status"));
    };
    LoggedModelStatus::from_json(value).ok_or_else(|| {
        let shown = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        ApiError::invalid_parameter(format!(
            "Invalid value {shown} for parameter 'status' supplied: expected one of \
             LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED \
             (or LOGGED_MODEL_STATUS_UNSPECIFIED)."
        ))
    })
}

async fn finalize(
    state: web::Data<AppState>,
    _path: web::Path<String>,
    Msg(req): Msg<FinalizeLoggedModel>,
) -> Resp {
    let status = finalize_status(req.status.as_ref())?;
    let model = state
        .logged_models
        .finalize_logged_model(&req.model_id, status)
        .await?;
    Ok(json(&LoggedModelResponse { model: &model }))
}

async fn delete(state: web::Data<AppState>, path: web::Path<String>) -> Resp {
    state
        .logged_models
        .delete_logged_model(&path.into_inner())
        .await?;
    Ok(empty())
}

async fn log_params(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Msg(req): Msg<LogLoggedModelParams>,
) -> Resp {
    let params = key_values(req.params, "params")?;
    state
        .logged_models
        .log_logged_model_params(&path.into_inner(), &params)
        .await?;
    Ok(empty())
}

async fn set_tags(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Msg(req): Msg<SetLoggedModelTags>,
) -> Resp {
    let tags = key_values(req.tags, "tags")?;
    state
        .logged_models
        .set_logged_model_tags(&path.into_inner(), &tags)
        .await?;
    Ok(empty())
}

async fn delete_tag(state: web::Data<AppState>, path: web::Path<(String, String)>) -> Resp {
    let (model_id, key) = path.into_inner();
    state
        .logged_models
        .delete_logged_model_tag(&model_id, &key)
        .await?;
    Ok(empty())
}

/// Proto default of `SearchLoggedModels.max_results` (an absent field reads
/// as 50); an explicit 0 falls back to the store's default of 100.
const SEARCH_DEFAULT_MAX_RESULTS: i64 = 50;
const STORE_DEFAULT_MAX_RESULTS: i64 = 100;

async fn search(state: web::Data<AppState>, Msg(req): Msg<SearchLoggedModels>) -> Resp {
    let max_results = match req.max_results {
        None => SEARCH_DEFAULT_MAX_RESULTS,
        Some(0) => STORE_DEFAULT_MAX_RESULTS,
        Some(n) if n < 0 => {
            return Err(ApiError::invalid_parameter(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        )))
        }
        Some(n) => n,
    };
    let datasets = req
        .datasets
        .into_iter()
        .map(|d| LoggedModelDataset {
            dataset_name: d.dataset_name.unwrap_or_default(),
            dataset_digest: d.dataset_digest.filter(|s| !s.is_empty()),
        })
        .collect();
    let order_by = req
        .order_by
        .into_iter()
        .map(|o| LoggedModelOrderBy {
            field_name: o.field_name.unwrap_or_default(),
            ascending: o.ascending.unwrap_or(true),
            dataset_name: o.dataset_name.filter(|s| !s.is_empty()),
            dataset_digest: o.dataset_digest.filter(|s| !s.is_empty()),
        })
        .collect();
    let page = state
        .logged_models
        .search_logged_models(&LoggedModelQuery {
            experiment_ids: req.experiment_ids,
            filter: req.filter.filter(|f| !f.is_empty()),
            datasets,
            max_results,
            order_by,
            page_token: req.page_token.filter(|t| !t.is_empty()),
        })
        .await?;
    Ok(json(&SearchLoggedModelsResponse {
        models: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

/// `path` (relative to the repository root) made relative to `base`.
fn relative_to(path: &str, base: &ArtifactPath) -> String {
    if base.is_root() {
        return path.to_string();
    }
    path.strip_prefix(base.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .map_or_else(
            || path.rsplit('/').next().unwrap_or(path).to_string(),
            str::to_string,
        )
}

/// `GET logged-models/{id}/artifacts/directories?artifact_directory_path=`:
/// the direct children, named relative to the model's artifact root.
async fn list_artifacts(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Msg(req): Msg<ListLoggedModelArtifacts>,
) -> Resp {
    let rel = match req.artifact_directory_path.as_deref() {
        Some(p) if !p.is_empty() => ArtifactPath::parse(p)?,
        _ => ArtifactPath::root(),
    };
    let model = state
        .logged_models
        .get_logged_model(&path.into_inner(), false)
        .await?;
    let root_uri = model.info.artifact_uri;
    let (repo, base) = resolve_uri(
        &state.settings.artifacts,
        state.artifacts.as_ref(),
        &root_uri,
    )?;
    let files: Vec<FileInfo> = repo
        .list(&base.join(&rel))
        .await?
        .into_iter()
        .map(|f| FileInfo {
            path: relative_to(&f.path, &base),
            ..f
        })
        .collect();
    Ok(json(&ListLoggedModelArtifactsResponse {
        root_uri: &root_uri,
        files: &files,
        next_page_token: None,
    }))
}

/// `GET logged-models/{id}/artifacts/files?artifact_file_path=` (UI): one
/// file of the model, streamed like `get-artifact`.
async fn get_artifact(
    state: web::Data<AppState>,
    path: web::Path<String>,
    Msg(req): Msg<GetLoggedModelArtifact>,
) -> Resp {
    let Some(file) = req.artifact_file_path.filter(|p| !p.is_empty()) else {
        return Err(ApiError::bad_request(
            "Request must include the \"artifact_file_path\" query parameter.",
        ));
    };
    let rel = ArtifactPath::parse(&file)?;
    let model = state
        .logged_models
        .get_logged_model(&path.into_inner(), false)
        .await?;
    let (repo, base) = resolve_uri(
        &state.settings.artifacts,
        state.artifacts.as_ref(),
        &model.info.artifact_uri,
    )?;
    let full = base.join(&rel);
    let download = repo.get(&full).await?;
    Ok(crate::artifacts::download::file_response(&full, download))
}

// ---------------------------------------------------------------------------
// 2.x runs/log-model
// ---------------------------------------------------------------------------

/// `Model.from_dict(model_json).get_tags_dict()`: `run_id` and
/// `artifact_path` (when not null), `utc_time_created` (as text),
/// `model_uuid` (null when absent), then `flavors` without their `config`.
fn model_tags_dict(model_json: &str) -> ApiResult<Map<String, Value>> {
    let malformed = || {
        ApiError::invalid_parameter(format!(
            "Malformed model info. \n {model_json} \n is not a valid JSON."
        ))
    };
    let parsed: Value = serde_json::from_str(model_json).map_err(|_| malformed())?;
    let Value::Object(model) = parsed else {
        return Err(ApiError::invalid_parameter(format!(
            "Malformed model info. \n {model_json} \n is not a JSON object."
        )));
    };
    let missing: Vec<String> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
        .iter()
        .filter(|k| !model.contains_key(**k))
        .map(|k| py::repr_str(k))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::invalid_parameter(format!(
            "Model json is missing mandatory fields: {{{}}}",
            missing.join(", ")
        )));
    }
    let mut tags = Map::new();
    for key in ["run_id", "artifact_path"] {
        if let Some(v) = model.get(key).filter(|v| !v.is_null()) {
            tags.insert(key.into(), v.clone());
        }
    }
    let created = model
        .get("utc_time_created")
        .filter(|v| py::truthy(v))
        .map(py::str_value)
        .unwrap_or_else(ferroflow_common::civil::python_utc_now);
    tags.insert("utc_time_created".into(), Value::String(created));
    tags.insert(
        "model_uuid".into(),
        model.get("model_uuid").cloned().unwrap_or(Value::Null),
    );
    let flavors = match model.get("flavors") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(flavors)) => flavors
            .iter()
            .map(|(name, config)| {
                let config = match config {
                    Value::Object(c) => Value::Object(
                        c.iter()
                            .filter(|(k, _)| k.as_str() != "config")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    ),
                    other => other.clone(),
                };
                (name.clone(), config)
            })
            .collect(),
        Some(_) => {
            return Err(ApiError::invalid_parameter(
                "Malformed model info: 'flavors' must be a JSON object.",
            ))
        }
    };
    tags.insert("flavors".into(), Value::Object(flavors));
    Ok(tags)
}

/// `POST runs/log-model {run_id, model_json}` (2.x clients): appends the
/// model to the run tag `mlflow.log-model.history`.
async fn log_model(state: web::Data<AppState>, Msg(req): Msg<LogModel>) -> Resp {
    let model = model_tags_dict(&req.model_json)?;
    let truncate = state.settings.limits.truncate_long_values;
    // MLflow checks the new history's length (an error only when truncation
    // is off) but stores the whole value.
    let check_length = move |history: &str| {
        validation::validate_tag_value(LOG_MODEL_HISTORY_TAG, history.to_string(), truncate)
            .map(drop)
    };
    state
        .logged_models
        .record_logged_model(&req.run_id, model, &check_length)
        .await?;
    Ok(empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pycompat::json_dumps as python_json_dumps;

    #[test]
    fn log_model_tag_dict_follows_mlflow() {
        let json = r#"{"run_id": "r1", "artifact_path": "model", "utc_time_created": "2026-11-28 19:17:04.806663", "flavors": {"python_function": {"config": {"a": 1}, "python_model": "python_model.pkl", "env": {"conda": "conda.yaml"}}, "x": 5}, "mlflow_version": "2.8.1", "model_size_bytes": 1234}"#;
        let tags = model_tags_dict(json).unwrap();
        assert_eq!(
            python_json_dumps(&Value::Object(tags)),
            r#"{"run_id": "r1", "artifact_path": "model", "utc_time_created": "2026-11-28 19:17:04.806663", "model_uuid": null, "flavors": {"python_function": {"python_model": "python_model.pkl", "env": {"conda": "conda.yaml"}}, "x": 5}}"#
        );
        let tags = model_tags_dict(
            r#"{"run_id": null, "artifact_path": "model2", "utc_time_created": 12.5, "flavors": {}, "model_uuid": "u1"}"#,
        )
        .unwrap();
        assert_eq!(
            python_json_dumps(&Value::Object(tags)),
            r#"{"artifact_path": "model2", "utc_time_created": "12.5", "model_uuid": "u1", "flavors": {}}"#
        );
        let err = model_tags_dict(r#"{"artifact_path": "m"}"#).unwrap_err();
        assert_eq!(
            err.message,
            "Model json is missing mandatory fields: {'flavors', 'utc_time_created', 'run_id'}"
        );
        let err = model_tags_dict("not json").unwrap_err();
        assert_eq!(
            err.message,
            "Malformed model info. \n not json \n is not a valid JSON."
        );
    }

    #[test]
    fn finalize_statuses() {
        assert_eq!(
            finalize_status(Some(&Value::String("LOGGED_MODEL_READY".into()))),
            Ok(LoggedModelStatus::Ready)
        );
        assert_eq!(
            finalize_status(Some(&serde_json::json!(3))),
            Ok(LoggedModelStatus::UploadFailed)
        );
        assert!(finalize_status(Some(&Value::String("BOGUS".into()))).is_err());
        assert!(finalize_status(Some(&serde_json::json!(7))).is_err());
        assert!(finalize_status(None).is_err());
    }

    #[test]
    fn relative_paths() {
        let base = ArtifactPath::parse("1/models/m-1/artifacts").unwrap();
        assert_eq!(
            relative_to("1/models/m-1/artifacts/MLmodel", &base),
            "MLmodel"
        );
        assert_eq!(relative_to("1/models/m-1/artifacts/sub/x", &base), "sub/x");
        assert_eq!(relative_to("a/b", &ArtifactPath::root()), "a/b");
    }
}
