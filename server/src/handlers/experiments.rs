//! Experiments: create, get, get-by-name, search, update, delete, restore,
//! tags.

use super::{empty, json, Router};
use crate::artifacts::roots::check_experiment_artifact_location;
use crate::error::{ApiError, ApiResult};
use crate::request::Msg;
use crate::state::AppState;
use crate::store::ExperimentQuery;
use crate::validation;
use crate::wire::requests::{
    CreateExperiment, DeleteExperimentTag, ExperimentRef, GetExperimentByName, SearchExperiments,
    SetExperimentTag, UpdateExperiment,
};
use crate::wire::responses::{
    CreateExperimentResponse, ExperimentResponse, SearchExperimentsResponse,
};
use crate::wire::ViewType;
use actix_web::{web, HttpResponse};

pub fn routes(r: &mut Router) {
    // One method each (another is 405, as in `mlflow server`); search
    // takes both.
    r.post_only("/experiments/create", create)
        .get_only("/experiments/get", get)
        .get_only("/experiments/get-by-name", get_by_name)
        .resource("/experiments/search", |m| {
            m.get(search).post(search);
        })
        .post_only("/experiments/update", update)
        .post_only("/experiments/delete", delete)
        .post_only("/experiments/restore", restore)
        .post_only("/experiments/set-experiment-tag", set_tag)
        .post_only("/experiments/delete-experiment-tag", delete_tag);
}

type Resp = ApiResult<HttpResponse>;

async fn create(state: web::Data<AppState>, Msg(req): Msg<CreateExperiment>) -> Resp {
    validation::validate_experiment_name(&req.name)?;
    if let Some(location) = req.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        validation::validate_experiment_artifact_location(
            location,
            state.settings.limits.artifact_location_max_length,
        )?;
        // Stricter than MLflow: the location must lie under the server's
        // artifact roots (no local paths, file://, //host, other buckets).
        check_experiment_artifact_location(&state.settings.artifacts, location)?;
    }
    let mut tags = Vec::with_capacity(req.tags.len());
    for tag in req.tags {
        validation::validate_tag_name(tag.key())?;
        let tag = tag.into_key_value("value")?;
        validation::validate_experiment_tag_value(&tag.key, &tag.value)?;
        tags.push(tag);
    }
    let id = state
        .store
        .create_experiment(
            &req.name,
            req.artifact_location.as_deref().filter(|l| !l.is_empty()),
            &tags,
        )
        .await?;
    Ok(json(&CreateExperimentResponse { experiment_id: &id }))
}

async fn get(state: web::Data<AppState>, Msg(req): Msg<ExperimentRef>) -> Resp {
    let experiment = state.store.get_experiment(&req.experiment_id).await?;
    Ok(json(&ExperimentResponse {
        experiment: &experiment,
    }))
}

async fn get_by_name(state: web::Data<AppState>, Msg(req): Msg<GetExperimentByName>) -> Resp {
    match state
        .store
        .get_experiment_by_name(&req.experiment_name)
        .await?
    {
        Some(experiment) => Ok(json(&ExperimentResponse {
            experiment: &experiment,
        })),
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
    Ok(json(&SearchExperimentsResponse {
        experiments: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    }))
}

async fn update(state: web::Data<AppState>, Msg(req): Msg<UpdateExperiment>) -> Resp {
    let Some(new_name) = req.new_name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::missing_parameter("new_name"));
    };
    validation::validate_experiment_name(&new_name)?;
    state
        .store
        .rename_experiment(&req.experiment_id, &new_name)
        .await?;
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
