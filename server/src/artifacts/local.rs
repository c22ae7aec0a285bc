//! Artifacts in a local directory ([`LocalArtifactRepository`]) and the
//! resolution of an artifact URI to a repository ([`resolve_uri`]).
//!
//! Safety: every name comes in as a validated [`ArtifactPath`] (no `..`, not
//! absolute), and every operation also checks, after following symlinks,
//! that what it touches stays inside the canonical root, so a symlink placed
//! in the tree cannot be used to read, list or write outside it. Deleting
//! never follows symlinks (a link is removed, not its target).

use super::path::{invalid_path, not_a_file};
use super::{ArtifactPath, ArtifactRepository, ByteStream, Download};
use crate::config::ArtifactSettings;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::wire::FileInfo;
use async_trait::async_trait;
use futures_util::StreamExt;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

/// Prefix of files being uploaded (the name MLflow's local repository uses,
/// so listings of a directory shared with MLflow hide both).
pub const TEMP_PREFIX: &str = ".artifact.uploading.";

/// Read size when streaming a file out.
const READ_CHUNK: usize = 256 * 1024;
/// Write buffer when streaming a body in.
const WRITE_BUFFER: usize = 1024 * 1024;

/// A directory holding artifacts. Cheap to construct; cloneable state is
/// only the root path.
#[derive(Debug, Clone)]
pub struct LocalArtifactRepository {
    /// Absolute; canonical when the directory existed at construction.
    root: PathBuf,
}

impl LocalArtifactRepository {
    /// Opens `root` (relative paths are taken from the working directory),
    /// creating it if absent, and canonicalises it.
    pub fn new(root: &str) -> ApiResult<Self> {
        let root = absolute(root)?;
        std::fs::create_dir_all(&root).map_err(|e| {
            ApiError::internal(format!(
                "Cannot create artifact root '{}': {e}",
                root.display()
            ))
        })?;
        let root = std::fs::canonicalize(&root).map_err(|e| {
            ApiError::internal(format!(
                "Cannot resolve artifact root '{}': {e}",
                root.display()
            ))
        })?;
        if !root.is_dir() {
            return Err(ApiError::internal(format!(
                "Artifact root '{}' is not a directory",
                root.display()
            )));
        }
        Ok(LocalArtifactRepository { root })
    }

    /// A repository over `root` without touching the disk: a missing root
    /// lists as empty and is created by the first upload. Used for run
    /// artifact directories named by a local `artifact_uri`.
    pub fn lazy(root: &str) -> ApiResult<Self> {
        Ok(LocalArtifactRepository {
            root: absolute(root)?,
        })
    }

    /// The root directory as given (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> ApiResult<T> + Send + 'static,
    {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || f(&root))
            .await
            .map_err(|e| ApiError::internal(format!("Artifact task failed: {e}")))?
    }
}

fn absolute(root: &str) -> ApiResult<PathBuf> {
    if root.is_empty() {
        return Err(ApiError::internal("Empty artifact root"));
    }
    let p = PathBuf::from(root);
    if p.is_absolute() {
        return Ok(p);
    }
    let cwd = std::env::current_dir()
        .map_err(|e| ApiError::internal(format!("Cannot read the working directory: {e}")))?;
    Ok(cwd.join(p))
}

/// `NotFound`, or a path component that is a file (`a.txt/b`).
fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

fn io_error(what: &str, path: &ArtifactPath, e: io::Error) -> ApiError {
    ApiError::internal(format!("Cannot {what} artifact '{path}': {e}"))
}

fn escape_error() -> ApiError {
    ApiError::invalid_parameter("Invalid path: resolved path is outside the artifact directory")
}

fn no_such_artifact(path: &ArtifactPath) -> ApiError {
    ApiError::not_found(format!("No such artifact: '{path}'"))
}

/// The canonical root; `None` when it does not exist (yet).
fn canonical_root(root: &Path) -> ApiResult<Option<PathBuf>> {
    match std::fs::canonicalize(root) {
        Ok(c) => Ok(Some(c)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(ApiError::internal(format!(
            "Cannot resolve artifact root '{}': {e}",
            root.display()
        ))),
    }
}

/// `root/a/b/c` for `a/b/c` (segments are validated: no `..`, no `/`).
fn fs_path(root: &Path, path: &ArtifactPath) -> PathBuf {
    let mut p = root.to_path_buf();
    for segment in path.segments() {
        p.push(segment);
    }
    p
}

fn ensure_inside(root: &Path, resolved: &Path) -> ApiResult<()> {
    if resolved.starts_with(root) {
        Ok(())
    } else {
        Err(escape_error())
    }
}

/// Follows every symlink of `root/path`; `None` when it does not exist.
/// Refuses a target outside `root`.
fn resolve_existing(root: &Path, path: &ArtifactPath) -> ApiResult<Option<PathBuf>> {
    match std::fs::canonicalize(fs_path(root, path)) {
        Ok(c) => {
            ensure_inside(root, &c)?;
            Ok(Some(c))
        }
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(io_error("resolve", path, e)),
    }
}

/// Creates the directory `dir` (below `root`) and returns its canonical
/// path. The deepest existing ancestor is checked first so that no folder is
/// created through a symlink pointing outside; the result is checked again.
fn create_dir_inside(root: &Path, dir: &ArtifactPath) -> ApiResult<PathBuf> {
    let target = fs_path(root, dir);
    for ancestor in target.ancestors() {
        match std::fs::canonicalize(ancestor) {
            Ok(c) => {
                ensure_inside(root, &c)?;
                break;
            }
            Err(e) if is_missing(&e) && ancestor != root => continue,
            Err(e) => return Err(io_error("resolve", dir, e)),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&target) {
        return Err(match e.kind() {
            ErrorKind::AlreadyExists | ErrorKind::NotADirectory => ApiError::invalid_parameter(
                format!("Cannot create artifact directory '{dir}': a file is in the way"),
            ),
            _ => io_error("create directory for", dir, e),
        });
    }
    let canonical = std::fs::canonicalize(&target).map_err(|e| io_error("resolve", dir, e))?;
    ensure_inside(root, &canonical)?;
    if !canonical.is_dir() {
        return Err(ApiError::invalid_parameter(format!(
            "Cannot create artifact directory '{dir}': a file is in the way"
        )));
    }
    Ok(canonical)
}

/// The listing entry for one directory entry; `None` to skip it (temporary
/// uploads, names that are not UTF-8, special files, symlinks leading
/// outside the root or nowhere).
fn file_info(root: &Path, parent: &ArtifactPath, entry: &std::fs::DirEntry) -> Option<FileInfo> {
    let name = entry.file_name().into_string().ok()?;
    if name.starts_with(TEMP_PREFIX) {
        return None;
    }
    let file_type = entry.file_type().ok()?;
    let meta = if file_type.is_symlink() {
        let target = std::fs::canonicalize(entry.path()).ok()?;
        if !target.starts_with(root) {
            return None;
        }
        std::fs::metadata(&target).ok()?
    } else {
        entry.metadata().ok()?
    };
    let path = if parent.is_root() {
        name
    } else {
        format!("{parent}/{name}")
    };
    if meta.is_dir() {
        Some(FileInfo {
            path,
            is_dir: true,
            file_size: None,
        })
    } else if meta.is_file() {
        Some(FileInfo {
            path,
            is_dir: false,
            file_size: Some(i64::try_from(meta.len()).unwrap_or(i64::MAX)),
        })
    } else {
        None
    }
}

fn list_blocking(root: &Path, path: &ArtifactPath) -> ApiResult<Vec<FileInfo>> {
    let Some(root) = canonical_root(root)? else {
        return Ok(Vec::new());
    };
    let Some(dir) = resolve_existing(&root, path)? else {
        return Ok(Vec::new());
    };
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if is_missing(&e) => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", path, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", path, e))?;
        if let Some(info) = file_info(&root, path, &entry) {
            files.push(info);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Removes `target` without following it if it is a symlink.
fn remove_entry(target: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    let result = if meta.is_dir() {
        // `remove_dir_all` does not follow symlinks inside the tree either.
        std::fs::remove_dir_all(target)
    } else {
        std::fs::remove_file(target)
    };
    match result {
        Err(e) if is_missing(&e) => Ok(()),
        other => other,
    }
}

fn delete_blocking(root: &Path, path: &ArtifactPath) -> ApiResult<()> {
    let Some(root) = canonical_root(root)? else {
        return Ok(());
    };
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        // The root itself: empty it, keep the directory.
        let entries = std::fs::read_dir(&root).map_err(|e| io_error("delete", path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("delete", path, e))?;
            remove_entry(&entry.path()).map_err(|e| io_error("delete", path, e))?;
        }
        return Ok(());
    };
    let Some(parent_dir) = resolve_existing(&root, &parent)? else {
        return Ok(());
    };
    remove_entry(&parent_dir.join(name)).map_err(|e| io_error("delete", path, e))
}

/// Where an upload goes: the canonical parent directory (created) and the
/// final file path. Refuses a directory at the destination.
fn prepare_put(root: &Path, path: &ArtifactPath) -> ApiResult<(PathBuf, PathBuf)> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(invalid_path());
    };
    std::fs::create_dir_all(root).map_err(|e| io_error("create the root for", path, e))?;
    let root =
        std::fs::canonicalize(root).map_err(|e| io_error("resolve the root for", path, e))?;
    let dir = create_dir_inside(&root, &parent)?;
    let dest = dir.join(name);
    match std::fs::symlink_metadata(&dest) {
        Ok(m) if m.is_dir() => return Err(not_a_file(path)),
        Ok(_) => {}
        Err(e) if is_missing(&e) => {}
        Err(e) => return Err(io_error("write", path, e)),
    }
    Ok((dir, dest))
}

/// Removes a temporary upload file unless disarmed (also when the upload
/// future is dropped half-way, e.g. on client disconnect).
struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    fn disarm(&mut self) {
        self.path = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reads and drops the rest of an upload body after a failed write, so the
/// client, which sends its whole body before it reads the answer, gets the
/// error and its connection stays usable. (actix-http 3.20 does not resume
/// reading a chunked body whose consumer was dropped while the connection
/// was paused for backpressure: the connection would stall.) Stops at the
/// body's end or its first read error.
pub(super) async fn discard_rest<S>(body: &mut S)
where
    S: futures_util::Stream<Item = io::Result<bytes::Bytes>> + Unpin,
{
    while let Some(Ok(_)) = body.next().await {}
}

impl LocalArtifactRepository {
    /// [`ArtifactRepository::put`] until the first error (the body may be
    /// left half-read). The bytes go to a temporary file beside the
    /// destination (hidden from listings), renamed over it once the whole
    /// body is written: a reader never sees a partial file, and a failed or
    /// abandoned upload leaves nothing behind.
    async fn put_body(&self, path: &ArtifactPath, body: &mut ByteStream) -> ApiResult<()> {
        let p = path.clone();
        let (dir, dest) = self.blocking(move |root| prepare_put(root, &p)).await?;
        let tmp_path = dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .await
            .map_err(|e| io_error("write", path, e))?;
        let mut guard = TempFile {
            path: Some(tmp_path.clone()),
        };
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(format!("Could not read the request body: {e}"))
            })?;
            out.write_all(&chunk)
                .await
                .map_err(|e| io_error("write", path, e))?;
        }
        out.flush().await.map_err(|e| io_error("write", path, e))?;
        let mut file = out.into_inner();
        file.flush().await.map_err(|e| io_error("write", path, e))?;
        drop(file);
        tokio::fs::rename(&tmp_path, &dest)
            .await
            .map_err(|e| io_error("write", path, e))?;
        guard.disarm();
        Ok(())
    }
}

#[async_trait]
impl ArtifactRepository for LocalArtifactRepository {
    async fn put(&self, path: &ArtifactPath, mut body: ByteStream) -> ApiResult<()> {
        let result = self.put_body(path, &mut body).await;
        if result.is_err() {
            discard_rest(&mut body).await;
        }
        result
    }

    async fn get(&self, path: &ArtifactPath) -> ApiResult<Download> {
        let p = path.clone();
        let (file_path, size) = self
            .blocking(move |root| {
                let root = canonical_root(root)?.ok_or_else(|| no_such_artifact(&p))?;
                let resolved = resolve_existing(&root, &p)?.ok_or_else(|| no_such_artifact(&p))?;
                let meta = std::fs::metadata(&resolved).map_err(|e| {
                    if is_missing(&e) {
                        no_such_artifact(&p)
                    } else {
                        io_error("read", &p, e)
                    }
                })?;
                if meta.is_dir() {
                    return Err(not_a_file(&p));
                }
                if !meta.is_file() {
                    return Err(no_such_artifact(&p));
                }
                Ok((resolved, meta.len()))
            })
            .await?;
        let file = tokio::fs::File::open(&file_path).await.map_err(|e| {
            if is_missing(&e) {
                no_such_artifact(path)
            } else {
                io_error("read", path, e)
            }
        })?;
        // Size of what was opened (the file may have been replaced meanwhile).
        let size = match file.metadata().await {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => return Err(not_a_file(path)),
            Err(_) => size,
        };
        Ok(Download {
            size,
            body: ReaderStream::with_capacity(file, READ_CHUNK).boxed(),
        })
    }

    async fn list(&self, path: &ArtifactPath) -> ApiResult<Vec<FileInfo>> {
        let p = path.clone();
        self.blocking(move |root| list_blocking(root, &p)).await
    }

    async fn delete(&self, path: &ArtifactPath) -> ApiResult<()> {
        let p = path.clone();
        self.blocking(move |root| delete_blocking(root, &p)).await
    }
}

/// The proxy route prefix an `http(s)` artifact URI points into.
const PROXY_HTTP_ANCHOR: &str = "/api/2.0/mlflow-artifacts/artifacts/";

/// Resolves an artifact URI stored on a run (or a logged model / model
/// version) to the repository holding it and the base path of the URI
/// inside that repository:
///
/// * `mlflow-artifacts:/X`, `mlflow-artifacts://host:port/X` and
///   `http(s)://host/api/2.0/mlflow-artifacts/artifacts/X` → the proxy
///   repository (`proxy`, the server's `--artifacts-destination`) with base
///   `X`; refused when the server runs with `--no-serve-artifacts`;
/// * a local path or a `file:` URI → a [`LocalArtifactRepository`] rooted at
///   that directory (not created until something is written), base = root;
/// * `s3://bucket/prefix` (`--no-serve-artifacts` with an S3 default root)
///   → an [`S3ArtifactRepository`](super::s3::S3ArtifactRepository) rooted
///   there, base = root; only URIs under the server's own S3 roots
///   (see [`resolve_s3_uri`](super::s3::resolve_s3_uri));
/// * any other scheme → `NOT_IMPLEMENTED`.
pub fn resolve_uri(
    settings: &ArtifactSettings,
    proxy: Option<&Arc<dyn ArtifactRepository>>,
    uri: &str,
) -> ApiResult<(Arc<dyn ArtifactRepository>, ArtifactPath)> {
    let uri = uri.trim();
    let proxied = |base: &str| -> ApiResult<(Arc<dyn ArtifactRepository>, ArtifactPath)> {
        let base = ArtifactPath::parse(base)?;
        match proxy {
            Some(repo) if settings.serve_artifacts => Ok((repo.clone(), base)),
            _ => Err(ApiError::new(
                ErrorCode::NotImplemented,
                format!(
                    "Artifact URI '{uri}' refers to proxied artifacts, but this server runs with \
                     `--no-serve-artifacts`."
                ),
            )),
        }
    };
    match uri_scheme(uri) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mlflow-artifacts") => {
            let rest = &uri[scheme.len() + 1..];
            proxied(url_path(rest).trim_start_matches('/'))
        }
        Some(scheme)
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            let path = url_path(&uri[scheme.len() + 1..]);
            match path.split_once(PROXY_HTTP_ANCHOR) {
                Some((_, base)) => proxied(base.trim_start_matches('/')),
                None => Err(ApiError::not_implemented(&format!(
                    "Serving artifacts of the URI '{uri}'"
                ))),
            }
        }
        Some(scheme) if scheme.eq_ignore_ascii_case("file") => {
            let path = url_path(&uri[scheme.len() + 1..]);
            let path = percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .map_err(|_| invalid_path())?;
            local(&path)
        }
        Some(scheme) if scheme.eq_ignore_ascii_case("s3") => {
            super::s3::resolve_s3_uri(settings, uri)
        }
        Some(scheme) => Err(ApiError::not_implemented(&format!(
            "Serving artifacts stored under the '{scheme}' scheme"
        ))),
        None => local(uri),
    }
}

fn local(path: &str) -> ApiResult<(Arc<dyn ArtifactRepository>, ArtifactPath)> {
    if path.is_empty() || path.contains('\0') {
        return Err(invalid_path());
    }
    let repo: Arc<dyn ArtifactRepository> = Arc::new(LocalArtifactRepository::lazy(path)?);
    Ok((repo, ArtifactPath::root()))
}

/// The URI scheme (RFC 3986: a letter, then letters, digits, `+ - .`),
/// ignoring one-letter schemes (Windows drives).
fn uri_scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && scheme.len() > 1).then_some(scheme)
}

/// The path of what follows `scheme:`: the authority (`//host:port`) is
/// dropped, as are a query and a fragment.
fn url_path(rest: &str) -> &str {
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match rest.strip_prefix("//") {
        Some(after) => after.find('/').map_or("", |i| &after[i..]),
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(serve: bool) -> ArtifactSettings {
        ArtifactSettings {
            default_artifact_root: "mlflow-artifacts:/".into(),
            serve_artifacts: serve,
            artifacts_destination: "./mlartifacts".into(),
            s3: crate::config::S3Settings::default(),
            allowed_host_addressed_schemes: Vec::new(),
        }
    }

    fn proxy_repo(dir: &Path) -> Arc<dyn ArtifactRepository> {
        Arc::new(LocalArtifactRepository::new(dir.to_str().unwrap()).unwrap())
    }

    #[test]
    fn schemes() {
        assert_eq!(
            uri_scheme("mlflow-artifacts:/1/x"),
            Some("mlflow-artifacts")
        );
        assert_eq!(uri_scheme("s3://b/p"), Some("s3"));
        assert_eq!(uri_scheme("/abs/path"), None);
        assert_eq!(uri_scheme("rel/a:b"), None);
        assert_eq!(uri_scheme("C:/x"), None);
        assert_eq!(url_path("//host:5000/1/r/artifacts"), "/1/r/artifacts");
        assert_eq!(url_path("/1/r"), "/1/r");
        assert_eq!(url_path("//host"), "");
        assert_eq!(url_path("/a?b#c"), "/a");
    }

    #[test]
    fn resolves_proxied_uris() {
        let tmp = tempfile::tempdir().unwrap();
        let proxy = proxy_repo(tmp.path());
        let s = settings(true);
        for uri in [
            "mlflow-artifacts:/1/abc/artifacts",
            "mlflow-artifacts:1/abc/artifacts",
            "mlflow-artifacts://localhost:5000/1/abc/artifacts",
            "http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts",
            "https://host/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/",
        ] {
            let (repo, base) = resolve_uri(&s, Some(&proxy), uri).unwrap();
            assert_eq!(base.as_str(), "1/abc/artifacts", "{uri}");
            assert!(Arc::ptr_eq(&repo, &proxy), "{uri}");
        }
        let (_, base) = resolve_uri(&s, Some(&proxy), "mlflow-artifacts:/").unwrap();
        assert!(base.is_root());
    }

    #[test]
    fn proxied_uris_need_the_proxy() {
        let tmp = tempfile::tempdir().unwrap();
        let proxy = proxy_repo(tmp.path());
        let err = resolve_uri(&settings(true), None, "mlflow-artifacts:/1/a")
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::NotImplemented);
        let err = resolve_uri(&settings(false), Some(&proxy), "mlflow-artifacts:/1/a")
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::NotImplemented);
    }

    #[test]
    fn unsafe_proxied_bases_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let proxy = proxy_repo(tmp.path());
        for uri in [
            "mlflow-artifacts:/../x",
            "mlflow-artifacts:/1/%2e%2e/%2e%2e/x",
        ] {
            let err = resolve_uri(&settings(true), Some(&proxy), uri)
                .err()
                .unwrap();
            assert_eq!(err.message, "Invalid path", "{uri}");
        }
    }

    #[test]
    fn resolves_local_uris() {
        let s = settings(false);
        let (_, base) = resolve_uri(&s, None, "/tmp/mlruns/1/abc/artifacts").unwrap();
        assert!(base.is_root());
        let (_, base) = resolve_uri(&s, None, "file:///tmp/mlruns/1/abc/artifacts").unwrap();
        assert!(base.is_root());
        let (_, base) = resolve_uri(&s, None, "./mlruns/1/abc/artifacts").unwrap();
        assert!(base.is_root());
        // S3 URIs outside the server's S3 roots are refused (none here).
        let err = resolve_uri(&s, None, "s3://bucket/1/abc/artifacts")
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::PermissionDenied);
        let s3 = ArtifactSettings {
            default_artifact_root: "s3://bucket/mlruns".into(),
            ..settings(false)
        };
        let (repo, base) = resolve_uri(&s3, None, "s3://bucket/mlruns/1/abc/artifacts").unwrap();
        assert!(base.is_root());
        assert!(repo.direct_transfer().is_some());
        let err = resolve_uri(&s, None, "gs://bucket/1").err().unwrap();
        assert_eq!(err.code, ErrorCode::NotImplemented);
        let err = resolve_uri(&s, None, "http://elsewhere/x").err().unwrap();
        assert_eq!(err.code, ErrorCode::NotImplemented);
    }

    #[tokio::test]
    async fn lazy_repository_lists_missing_root_as_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("not/yet");
        let repo = LocalArtifactRepository::lazy(root.to_str().unwrap()).unwrap();
        assert!(repo.list(&ArtifactPath::root()).await.unwrap().is_empty());
        let err = repo
            .get(&ArtifactPath::parse("x").unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
        repo.delete(&ArtifactPath::parse("x").unwrap())
            .await
            .unwrap();
        assert!(!root.exists());
        let body = futures_util::stream::iter(vec![Ok(bytes::Bytes::from_static(b"hi"))]).boxed();
        repo.put(&ArtifactPath::parse("d/x.txt").unwrap(), body)
            .await
            .unwrap();
        assert_eq!(std::fs::read(root.join("d/x.txt")).unwrap(), b"hi");
    }

    #[tokio::test]
    async fn failed_upload_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = LocalArtifactRepository::new(tmp.path().to_str().unwrap()).unwrap();
        let body = futures_util::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"part")),
            Err(io::Error::other("client went away")),
        ])
        .boxed();
        let err = repo
            .put(&ArtifactPath::parse("a/b.bin").unwrap(), body)
            .await
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::BadRequest);
        let left: Vec<_> = std::fs::read_dir(tmp.path().join("a")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn temp_files_are_hidden_from_listings() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(format!("{TEMP_PREFIX}123")), b"x").unwrap();
        std::fs::write(tmp.path().join("real.txt"), b"x").unwrap();
        let repo = LocalArtifactRepository::new(tmp.path().to_str().unwrap()).unwrap();
        let files = repo.list(&ArtifactPath::root()).await.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "real.txt");
    }
}
