//! Artifact routes:
//!
//! * the `mlflow-artifacts` proxy (`proxy_routes`, mounted under
//!   `/api/2.0/mlflow-artifacts` and `/ajax-api/2.0/mlflow-artifacts`):
//!   streaming upload/download, listing, delete; the multipart-upload and
//!   presigned-download routes hand out presigned URLs when the destination
//!   is an object store (S3) and answer `NOT_IMPLEMENTED` with MLflow's
//!   messages otherwise (a local destination, as in MLflow);
//! * the run-scoped listing `artifacts/list` of the tracking API
//!   (`tracking_routes`);
//! * the UI downloads `/get-artifact` and `/model-versions/get-artifact`
//!   (`ui_routes`).
//!
//! Error shapes follow `mlflow server`: the streaming upload/download routes
//! are FastAPI routes there, so their own checks answer `{"detail": …}`; a
//! path refusal is MLflow's `INVALID_PARAMETER_VALUE` "Invalid path".

use super::Router;
use crate::artifacts::download::file_response;
use crate::artifacts::local::resolve_uri;
use crate::artifacts::path::is_not_a_file;
use crate::artifacts::{
    ArtifactPath, ArtifactRepository, ByteStream, DirectTransfer, UploadedPart,
};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::request::{ApiMessage, Field, Kind, Msg};
use crate::state::AppState;
use crate::wire::requests::ListArtifacts;
use crate::wire::FileInfo;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

type HandlerResult = Result<HttpResponse, ApiError>;

/// Chunks buffered between the request payload and the repository.
const UPLOAD_QUEUE: usize = 8;

// ---------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------

/// `GET artifacts/list` of the tracking API.
pub fn tracking_routes(r: &mut Router) {
    r.get("/artifacts/list", list_run_artifacts);
}

/// The `mlflow-artifacts` proxy service.
pub fn proxy_routes(r: &mut Router) {
    r.get_only("/artifacts", proxy_list)
        .resource("/artifacts/{path:.*}", |m| {
            m.get(proxy_download)
                .to(Method::PUT, proxy_upload)
                .to(Method::DELETE, proxy_delete);
        })
        .post_only("/mpu/create/{path:.*}", multipart_create)
        .post_only("/mpu/complete/{path:.*}", multipart_complete)
        .post_only("/mpu/abort/{path:.*}", multipart_abort)
        .get_only("/presigned/{path:.*}", presigned_download);
}

/// The UI's prefix-less run download route (the model-version one lives
/// with the registry handlers).
pub fn ui_routes(r: &mut Router) {
    r.get("/get-artifact", get_artifact);
}

// ---------------------------------------------------------------------------
// mlflow-artifacts proxy
// ---------------------------------------------------------------------------

/// `ListArtifacts` of the proxy service (`GET /artifacts?path=`).
#[derive(Debug, Deserialize)]
struct ProxyList {
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    path: Option<String>,
}

impl ApiMessage for ProxyList {
    const FIELDS: &'static [Field] = &[Field::opt("path", Kind::Str)];
}

#[derive(Serialize)]
struct ProxyListResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileInfo>,
}

#[derive(Serialize)]
struct RunListResponse {
    root_uri: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileInfo>,
}

/// The path tail matched by `{path:.*}` (actix has decoded everything but
/// `%`, `/` and `+`; [`ArtifactPath::parse`] decodes the rest).
fn raw_path(req: &HttpRequest) -> &str {
    req.match_info().get("path").unwrap_or("")
}

fn proxy_repo(state: &AppState) -> Option<&Arc<dyn ArtifactRepository>> {
    state
        .artifacts
        .as_ref()
        .filter(|_| state.settings.artifacts.serve_artifacts)
}

/// FastAPI's error shape (`{"detail": …}`).
fn detail(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "detail": message }))
}

/// 503 of the FastAPI streaming routes (GET/PUT of a file) when serving is
/// off.
fn streaming_disabled() -> HttpResponse {
    detail(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "Artifact serving is disabled. Run `mlflow server` with `--serve-artifacts` to enable.",
    )
}

/// 503 of the Flask proxy routes when serving is off; names the route the
/// way Flask prints `request.url_rule`.
fn flask_disabled(req: &HttpRequest) -> HttpResponse {
    let rule = req
        .match_pattern()
        .map(|p| p.replace("{path:.*}", "<path:artifact_path>"))
        .unwrap_or_else(|| req.path().to_string());
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body(format!(
            "Endpoint: {rule} disabled due to the mlflow server running with `--no-serve-artifacts`. \
             To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`"
        ))
}

/// `GET /artifacts?path=<dir>`: direct children, named relative to `dir`.
async fn proxy_list(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let mut payload = payload.into_inner();
    let Msg(msg) = Msg::<ProxyList>::from_request(&req, &mut payload).await?;
    let dir = match msg.path.as_deref() {
        Some(p) => ArtifactPath::parse(p)?,
        None => ArtifactPath::root(),
    };
    let files = repo
        .list(&dir)
        .await?
        .into_iter()
        .map(|f| FileInfo {
            path: base_name(&f.path).to_string(),
            ..f
        })
        .collect();
    Ok(HttpResponse::Ok().json(ProxyListResponse { files }))
}

/// `GET /artifacts/<path>`: the file's bytes, streamed.
async fn proxy_download(req: HttpRequest, state: web::Data<AppState>) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(streaming_disabled());
    };
    let path = ArtifactPath::parse(raw_path(&req))?;
    match repo.get(&path).await {
        Ok(download) => Ok(file_response(&path, download)),
        Err(e) if is_not_a_file(&e) => {
            Ok(detail(actix_web::http::StatusCode::BAD_REQUEST, &e.message))
        }
        Err(e) => Err(e),
    }
}

/// `PUT /artifacts/<path>`: streams the raw body into the repository; 200
/// with an empty body.
async fn proxy_upload(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(streaming_disabled());
    };
    let (path, open_ended) = ArtifactPath::parse_with_trailing_slash(raw_path(&req))?;
    if open_ended || path.is_root() {
        return Ok(detail(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Artifact path must include a filename (cannot end with '/').",
        ));
    }
    match put_payload(repo.as_ref(), &path, payload).await {
        Ok(()) => Ok(HttpResponse::Ok().finish()),
        Err(e) if is_not_a_file(&e) => {
            Ok(detail(actix_web::http::StatusCode::BAD_REQUEST, &e.message))
        }
        Err(e) => Err(e),
    }
}

/// `DELETE /artifacts/<path>`: a file or a tree; `{}`. Deleting the whole
/// destination (an empty path) is refused.
async fn proxy_delete(req: HttpRequest, state: web::Data<AppState>) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let path = ArtifactPath::parse(raw_path(&req))?;
    if path.is_root() {
        return Err(crate::artifacts::path::invalid_path());
    }
    repo.delete(&path).await?;
    Ok(super::empty())
}

/// `CreateMultipartUpload`: `path` is the client's local file (only its
/// name is used), `num_parts` the number of part URLs wanted.
#[derive(Debug, Deserialize)]
struct CreateMultipartUpload {
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    path: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::de::opt_i64")]
    num_parts: Option<i64>,
}

impl ApiMessage for CreateMultipartUpload {
    const FIELDS: &'static [Field] = &[
        Field::req("path", Kind::Str),
        Field::opt("num_parts", Kind::Int),
    ];
}

/// `CompleteMultipartUpload`.
#[derive(Debug, Deserialize)]
struct CompleteMultipartUpload {
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    path: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    upload_id: Option<String>,
    #[serde(default)]
    parts: Vec<MultipartUploadPart>,
}

impl ApiMessage for CompleteMultipartUpload {
    const FIELDS: &'static [Field] = &[
        Field::req("path", Kind::Str),
        Field::opt("upload_id", Kind::Str),
        Field::req("parts", Kind::List),
    ];
}

/// `MultipartUploadPart` (the client also echoes the part's `url`).
#[derive(Debug, Deserialize)]
struct MultipartUploadPart {
    #[serde(default, deserialize_with = "crate::wire::de::opt_i64")]
    part_number: Option<i64>,
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    etag: Option<String>,
}

/// `AbortMultipartUpload`.
#[derive(Debug, Deserialize)]
struct AbortMultipartUpload {
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    path: Option<String>,
    #[serde(default, deserialize_with = "crate::wire::de::opt_string")]
    upload_id: Option<String>,
}

impl ApiMessage for AbortMultipartUpload {
    const FIELDS: &'static [Field] = &[
        Field::req("path", Kind::Str),
        Field::opt("upload_id", Kind::Str),
    ];
}

/// The object a multipart request names: the directory in the URL joined
/// with the base name of the body's `path` (MLflow's
/// `posixpath.join(artifact_path, os.path.basename(local_file))`; a
/// Windows client's `C:\dir\file` counts by its last component too).
fn multipart_target(req: &HttpRequest, local_file: Option<&str>) -> ApiResult<ArtifactPath> {
    let dir = ArtifactPath::parse(raw_path(req))?;
    let name = local_file
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("");
    let name = ArtifactPath::parse(name)?;
    if name.is_root() || name.parent().is_some_and(|p| !p.is_root()) {
        return Err(crate::artifacts::path::invalid_path());
    }
    Ok(dir.join(&name))
}

/// The proxy's direct-transfer support, or MLflow's 501 for a destination
/// without it.
fn direct_transfer<'a>(
    repo: &'a Arc<dyn ArtifactRepository>,
    unsupported: &str,
) -> ApiResult<&'a dyn DirectTransfer> {
    repo.direct_transfer()
        .ok_or_else(|| ApiError::new(ErrorCode::NotImplemented, unsupported))
}

/// The start every multipart route shares: the URL's directory is checked
/// before the body is read, then the JSON message, then the destination's
/// direct-transfer support; the object is `<dir>/<basename(local file)>`.
async fn multipart_request<'a, T: ApiMessage + 'static>(
    req: &HttpRequest,
    payload: web::Payload,
    repo: &'a Arc<dyn ArtifactRepository>,
    local_file: fn(&T) -> Option<&str>,
) -> ApiResult<(T, &'a dyn DirectTransfer, ArtifactPath)> {
    ArtifactPath::parse(raw_path(req))?;
    let mut payload = payload.into_inner();
    let Msg(msg) = Msg::<T>::from_request(req, &mut payload).await?;
    let direct = direct_transfer(repo, MULTIPART_UPLOAD_UNSUPPORTED)?;
    let target = multipart_target(req, local_file(&msg))?;
    Ok((msg, direct, target))
}

const MULTIPART_UPLOAD_UNSUPPORTED: &str =
    "Multipart upload is not supported for the current artifact repository";
const MULTIPART_DOWNLOAD_UNSUPPORTED: &str =
    "Multipart download is not supported for the current artifact repository";

/// `POST /mpu/create/<dir>`: starts an S3 multipart upload of
/// `<dir>/<basename(path)>` and returns one presigned URL per part:
/// `{"upload_id", "credentials": [{"url", "part_number"}]}`.
async fn multipart_create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let (msg, direct, target) =
        multipart_request(&req, payload, repo, |m: &CreateMultipartUpload| {
            m.path.as_deref()
        })
        .await?;
    let num_parts = u32::try_from(msg.num_parts.unwrap_or(0)).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "Invalid value {} for parameter 'num_parts' supplied: must be between 0 and 10000",
            msg.num_parts.unwrap_or(0)
        ))
    })?;
    let upload = direct.create_multipart_upload(&target, num_parts).await?;
    Ok(HttpResponse::Ok().json(upload))
}

/// `POST /mpu/complete/<dir>`: assembles the uploaded parts; `{}`.
async fn multipart_complete(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let (msg, direct, target) =
        multipart_request(&req, payload, repo, |m: &CompleteMultipartUpload| {
            m.path.as_deref()
        })
        .await?;
    let parts = msg
        .parts
        .iter()
        .map(|p| {
            let number = p.part_number.unwrap_or(0);
            match u32::try_from(number) {
                Ok(n) if (1..=10_000).contains(&n) => Ok(UploadedPart {
                    part_number: n,
                    etag: p.etag.clone().unwrap_or_default(),
                }),
                _ => Err(ApiError::invalid_parameter(format!(
                    "Invalid part number {number}: must be between 1 and 10000"
                ))),
            }
        })
        .collect::<ApiResult<Vec<_>>>()?;
    direct
        .complete_multipart_upload(&target, msg.upload_id.as_deref().unwrap_or(""), &parts)
        .await?;
    Ok(super::empty())
}

/// `POST /mpu/abort/<dir>`: drops an unfinished upload; `{}`.
async fn multipart_abort(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let (msg, direct, target) =
        multipart_request(&req, payload, repo, |m: &AbortMultipartUpload| {
            m.path.as_deref()
        })
        .await?;
    direct
        .abort_multipart_upload(&target, msg.upload_id.as_deref().unwrap_or(""))
        .await?;
    Ok(super::empty())
}

/// `GET /presigned/<path>`: `{"url", "headers", "file_size"}` for a direct
/// (ranged) download from the storage.
async fn presigned_download(req: HttpRequest, state: web::Data<AppState>) -> HandlerResult {
    let Some(repo) = proxy_repo(&state) else {
        return Ok(flask_disabled(&req));
    };
    let path = ArtifactPath::parse(raw_path(&req))?;
    let direct = direct_transfer(repo, MULTIPART_DOWNLOAD_UNSUPPORTED)?;
    let presigned = direct.presigned_download(&path).await?;
    Ok(HttpResponse::Ok().json(presigned))
}

// ---------------------------------------------------------------------------
// tracking API and UI
// ---------------------------------------------------------------------------

/// `GET artifacts/list?run_id=&path=`: children of `path` inside the run's
/// artifact root, named relative to that root.
async fn list_run_artifacts(
    state: web::Data<AppState>,
    Msg(msg): Msg<ListArtifacts>,
) -> HandlerResult {
    let run_id = msg.id()?;
    let (root_uri, files) = list_run_artifacts_impl(&state, &run_id, msg.path.as_deref()).await?;
    Ok(HttpResponse::Ok().json(RunListResponse { root_uri, files }))
}

/// MLflow's `list_artifacts_impl`, shared by `artifacts/list` and GraphQL's
/// `mlflowListArtifacts`: the path is checked before the run is read.
/// Returns the run's artifact root and the children of `path` below it.
pub async fn list_run_artifacts_impl(
    state: &AppState,
    run_id: &str,
    path: Option<&str>,
) -> ApiResult<(String, Vec<FileInfo>)> {
    let rel = match path {
        Some(p) => ArtifactPath::parse(p)?,
        None => ArtifactPath::root(),
    };
    let run = state.store.get_run(run_id).await?;
    let root_uri = run.info.artifact_uri;
    let files = list_artifact_uri(state, &root_uri, &rel).await?;
    Ok((root_uri, files))
}

/// `GET /get-artifact?run_uuid=&path=` (also `run_id`): a run's file.
async fn get_artifact(req: HttpRequest, state: web::Data<AppState>) -> HandlerResult {
    let query = first_values(req.query_string(), &["run_id", "run_uuid", "path"]);
    let [run_id, run_uuid, path] = query;
    let Some(path) = path else {
        return Err(ApiError::missing_parameter("path"));
    };
    let rel = ArtifactPath::parse(&path)?;
    let run_id = run_id
        .filter(|s| !s.is_empty())
        .or(run_uuid.filter(|s| !s.is_empty()))
        .ok_or_else(|| ApiError::missing_parameter("run_id"))?;
    let run = state.store.get_run(&run_id).await?;
    serve_artifact(&state, &run.info.artifact_uri, &rel).await
}

/// Lists the children of `rel` below an artifact root URI (a run's
/// `artifact_uri`, a logged model's or a model version's location), with
/// paths relative to that root as MLflow's run-scoped listings return them.
pub async fn list_artifact_uri(
    state: &AppState,
    root_uri: &str,
    rel: &ArtifactPath,
) -> ApiResult<Vec<FileInfo>> {
    let (repo, base) = resolve_uri(
        &state.settings.artifacts,
        state.artifacts.as_ref(),
        root_uri,
    )?;
    Ok(repo
        .list(&base.join(rel))
        .await?
        .into_iter()
        .map(|f| FileInfo {
            path: relative_to(&f.path, &base),
            ..f
        })
        .collect())
}

/// Streams the file `rel` below an artifact root URI as MLflow's UI
/// downloads do (`/get-artifact`, `/model-versions/get-artifact`): a
/// directory is a 400 `INVALID_PARAMETER_VALUE`, a missing file a 404.
pub async fn serve_artifact(state: &AppState, root_uri: &str, rel: &ArtifactPath) -> HandlerResult {
    let (repo, base) = resolve_uri(
        &state.settings.artifacts,
        state.artifacts.as_ref(),
        root_uri,
    )?;
    let full = base.join(rel);
    let download = repo.get(&full).await?;
    Ok(file_response(&full, download))
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/// Streams an actix payload (not `Send`) into a repository (which wants a
/// `Send` stream) through a small bounded queue, so the body is never held
/// in memory as a whole. The pump and the write run in the same task.
async fn put_payload(
    repo: &dyn ArtifactRepository,
    path: &ArtifactPath,
    mut payload: web::Payload,
) -> ApiResult<()> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(UPLOAD_QUEUE);
    let body: ByteStream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed();
    let pump = async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = item.is_err();
            // A send error means the repository stopped reading (it failed).
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
        // Dropping `tx` ends the body stream.
    };
    let ((), result) = futures_util::future::join(pump, repo.put(path, body)).await;
    result
}

/// The last `/`-separated part of a repository path.
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `path` (relative to the repository root) made relative to `base`.
fn relative_to(path: &str, base: &ArtifactPath) -> String {
    if base.is_root() {
        return path.to_string();
    }
    path.strip_prefix(base.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .map_or_else(|| base_name(path).to_string(), str::to_string)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_relative_to_the_run_root() {
        let base = ArtifactPath::parse("1/run/artifacts").unwrap();
        assert_eq!(
            relative_to("1/run/artifacts/dir/hello.txt", &base),
            "dir/hello.txt"
        );
        assert_eq!(relative_to("1/run/artifacts/dir", &base), "dir");
        assert_eq!(relative_to("dir/x", &ArtifactPath::root()), "dir/x");
        assert_eq!(base_name("a/b/c.txt"), "c.txt");
        assert_eq!(base_name("c.txt"), "c.txt");
    }

    #[test]
    fn query_first_values() {
        let [a, b, c] = first_values(
            "run_uuid=r1&path=dir%2Fx.txt&path=other",
            &["run_id", "run_uuid", "path"],
        );
        assert_eq!(a, None);
        assert_eq!(b.as_deref(), Some("r1"));
        assert_eq!(c.as_deref(), Some("dir/x.txt"));
    }
}
