//! Experiments: create, get, get-by-name, search, update, delete, restore,
//! tags.

use super::{empty, json};
use crate::error::{ApiError, ApiResult};
use crate::request::Msg;
use crate::startup::AppState;
use crate::store::ExperimentQuery;
use crate::validation;
use crate::wire::requests::{
    CreateExperiment, DeleteExperimentTag, ExperimentRef, GetExperimentByName, SearchExperiments,
    SetExperimentTag, UpdateExperiment,
};
use crate::wire::{KeyValue, ViewType};
use actix_web::{web, HttpResponse};
use serde_json::json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/experiments/create", web::post().to(create))
        .route("/experiments/get", web::get().to(get))
        .route("/experiments/get-by-name", web::get().to(get_by_name))
        .route("/experiments/search", web::get().to(search))
        .route("/experiments/search", web::post().to(search))
        .route("/experiments/update", web::post().to(update))
        .route("/experiments/delete", web::post().to(delete))
        .route("/experiments/restore", web::post().to(restore))
        .route("/experiments/set-experiment-tag", web::post().to(set_tag))
        .route("/experiments/delete-experiment-tag", web::post().to(delete_tag));
}

type Resp = ApiResult<HttpResponse>;

async fn create(state: web::Data<AppState>, Msg(req): Msg<CreateExperiment>) -> Resp {
    validation::validate_experiment_name(&req.name)?;
    if let Some(location) = req.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        validation::validate_experiment_artifact_location(location)?;
    }
    let mut tags = Vec::with_capacity(req.tags.len());
    for tag in req.tags {
        let key = tag.key.unwrap_or_default();
        validation::validate_tag_name(&key)?;
        let value = match tag.value {
            Some(serde_json::Value::String(s)) => s,
            None | Some(serde_json::Value::Null) => String::new(),
            Some(other) => other.to_string(),
        };
        validation::validate_experiment_tag_value(&key, &value)?;
        tags.push(KeyValue { key, value });
    }
    let id = state
        .store
        .create_experiment(
            &req.name,
            req.artifact_location.as_deref().filter(|l| !l.is_empty()),
            &tags,
        )
        .await?;
    Ok(json(&json!({ "experiment_id": id })))
}

async fn get(state: web::Data<AppState>, Msg(req): Msg<ExperimentRef>) -> Resp {
    let experiment = state.store.get_experiment(&req.experiment_id).await?;
    Ok(json(&json!({ "experiment": experiment })))
}

async fn get_by_name(state: web::Data<AppState>, Msg(req): Msg<GetExperimentByName>) -> Resp {
    match state.store.get_experiment_by_name(&req.experiment_name).await? {
        Some(experiment) => Ok(json(&json!({ "experiment": experiment }))),
        None => Err(ApiError::not_found(format!(
            "Could not find experiment with name '{}'",
            req.experiment_name
        ))),
    }
}

async fn search(state: web::Data<AppState>, Msg(req): Msg<SearchExperiments>) -> Resp {
    let max_results = validation::validate_search_experiments_max_results(req.max_results)?;
    let page = state
        .store
        .search_experiments(&ExperimentQuery {
            view_type: req.view_type.unwrap_or(ViewType::ActiveOnly),
            max_results,
            filter: req.filter.unwrap_or_default(),
            order_by: req.order_by,
            page_token: req.page_token,
        })
        .await?;
    let mut body = serde_json::Map::new();
    if !page.items.is_empty() {
        body.insert("experiments".into(), serde_json::to_value(&page.items).map_err(internal)?);
    }
    if let Some(token) = page.next_page_token {
        body.insert("next_page_token".into(), token.into());
    }
    Ok(json(&body))
}

pub(crate) fn internal(e: serde_json::Error) -> ApiError {
    ApiError::internal(format!("Could not encode the response: {e}"))
}

async fn update(state: web::Data<AppState>, Msg(req): Msg<UpdateExperiment>) -> Resp {
    let Some(new_name) = req.new_name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::missing_parameter("new_name"));
    };
    validation::validate_experiment_name(&new_name)?;
    state.store.rename_experiment(&req.experiment_id, &new_name).await?;
    Ok(empty())
}

async fn delete(state: web::Data<AppState>, Msg(req): Msg<ExperimentRef>) -> Resp {
    state.store.delete_experiment(&req.experiment_id).await?;
    Ok(empty())
}

async fn restore(state: web::Data<AppState>, Msg(req): Msg<ExperimentRef>) -> Resp {
    state.store.restore_experiment(&req.experiment_id).await?;
    Ok(empty())
}

async fn set_tag(state: web::Data<AppState>, Msg(req): Msg<SetExperimentTag>) -> Resp {
    validation::validate_tag_name(&req.key)?;
    let value = req.value.unwrap_or_default();
    validation::validate_experiment_tag_value(&req.key, &value)?;
    state
        .store
        .set_experiment_tag(&req.experiment_id, &req.key, &value)
        .await?;
    Ok(empty())
}

async fn delete_tag(state: web::Data<AppState>, Msg(req): Msg<DeleteExperimentTag>) -> Resp {
    state
        .store
        .delete_experiment_tag(&req.experiment_id, &req.key)
        .await?;
    Ok(empty())
}
