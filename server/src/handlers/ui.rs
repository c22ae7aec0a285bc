//! The MLflow web UI's own files, served as `mlflow server` serves them:
//! `/` is the build's `index.html` (never cached, so a new build is picked
//! up at once), `/static-files/<path>` is any file below the build folder
//! (hashed names, cached for 28 days). The UI is a hash-routed single page
//! app whose URLs are all relative, so it needs no fallback route and works
//! unchanged under `--static-prefix`.
//!
//! Text assets (the main bundle alone is 4.4 MB) are sent brotli- or
//! gzip-compressed when the browser accepts it, compressed once per file and
//! encoding and then kept in memory: compressing them on every request cost
//! more CPU than everything else a page load does.

use super::Router;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use actix_files::NamedFile;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// What `mlflow server` sends for the hashed build files (`max_age` of its
/// `send_from_directory`): 28 days.
pub const STATIC_MAX_AGE_SECS: u32 = 2_419_200;

pub fn routes(r: &mut Router) {
    r.get("/", index)
        .get("/static-files/{path:.*}", static_file);
}

/// `GET <prefix>`: browsers resolve the UI's relative URLs against the
/// page's folder, so the bare prefix must become `<prefix>/` (a 308, as
/// `mlflow server` answers).
pub fn prefix_redirect(r: &mut Router, prefix: &str) {
    let target = format!("{prefix}/");
    r.get("", move || {
        let target = target.clone();
        async move {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, target))
                .finish()
        }
    });
}

async fn index(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(dir) = state.settings.ui.dir.as_deref() else {
        return missing_build();
    };
    match open(&dir.join("index.html"), "index.html").await {
        Ok(file) => {
            let mut response = file.into_response(&req);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(_) => missing_build(),
    }
}

async fn static_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    assets: web::Data<CompressedAssets>,
) -> HttpResponse {
    let rel = req.match_info().query("path");
    let Some(dir) = state.settings.ui.dir.as_deref() else {
        return not_found(rel);
    };
    let Some(path) = resolve_static(dir, rel) else {
        return not_found(rel);
    };
    let mut response = match compressed_response(&req, &assets, &path, rel).await {
        Some(response) => response,
        None => {
            let Ok(file) = open(&path, rel).await else {
                return not_found(rel);
            };
            let mut response = file.disable_content_disposition().into_response(&req);
            // Fonts and images are compressed already, and small text gains
            // nothing: keep the Compress middleware off them.
            response.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static("identity"),
            );
            response
        }
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={STATIC_MAX_AGE_SECS}"))
            .unwrap_or_else(|_| HeaderValue::from_static("public")),
    );
    response
}

/// A content coding the browser accepts, in our order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn token(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The best coding an `Accept-Encoding` value allows (`q=0` refuses).
    pub fn negotiate(accept: &str) -> Option<Encoding> {
        let accepted = |token: &str| {
            accept.split(',').any(|part| {
                let mut pieces = part.split(';').map(str::trim);
                let name = pieces.next().unwrap_or("");
                let refused = pieces.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                name.eq_ignore_ascii_case(token) && !refused
            })
        };
        [Encoding::Brotli, Encoding::Gzip]
            .into_iter()
            .find(|e| accepted(e.token()))
    }

    fn compress(self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Brotli => {
                // Quality 6 of 11: the first request for an asset waits
                // for it (the 4.4 MB bundle in well under a second), and
                // higher qualities save only a few percent more.
                let params = brotli::enc::BrotliEncoderParams {
                    quality: 6,
                    lgwin: 22,
                    ..Default::default()
                };
                let mut out = Vec::with_capacity(data.len() / 4);
                brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
                Ok(out)
            }
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 3),
                    flate2::Compression::default(),
                );
                encoder.write_all(data)?;
                encoder.finish()
            }
        }
    }
}

/// One asset in one coding, valid while the file keeps its size and time.
struct CompressedAsset {
    modified: SystemTime,
    len: u64,
    body: Bytes,
    etag: String,
}

/// Compressed UI assets by file and coding, registered by `startup` as app
/// data of its own. The build is a fixed set of files (27 MB raw, a few MB
/// compressed), so nothing is evicted.
#[derive(Default)]
pub struct CompressedAssets {
    entries: Mutex<HashMap<(PathBuf, Encoding), Arc<CompressedAsset>>>,
}

/// Smaller files gain little from compression.
const MIN_COMPRESSED_SIZE: u64 = 1024;

fn is_text_asset(name: &str) -> bool {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        extension.as_deref(),
        Some("js" | "mjs" | "cjs" | "css" | "html" | "json" | "map" | "svg" | "txt")
    )
}

/// The compressed response for a text asset the browser accepts in a
/// compressed coding (304 when its ETag matches), or `None` to send the
/// file as it is.
async fn compressed_response(
    req: &HttpRequest,
    assets: &CompressedAssets,
    path: &Path,
    rel: &str,
) -> Option<HttpResponse> {
    if !is_text_asset(rel) {
        return None;
    }
    let accept = req.headers().get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let encoding = Encoding::negotiate(accept)?;
    let meta = tokio::fs::metadata(path).await.ok()?;
    let modified = meta.modified().ok()?;
    if meta.len() < MIN_COMPRESSED_SIZE {
        return None;
    }
    let key = (path.to_path_buf(), encoding);
    let cached = assets
        .entries
        .lock()
        .ok()?
        .get(&key)
        .filter(|a| a.modified == modified && a.len == meta.len())
        .cloned();
    let asset = match cached {
        Some(asset) => asset,
        None => {
            let data = tokio::fs::read(path).await.ok()?;
            let body = web::block(move || encoding.compress(&data))
                .await
                .ok()?
                .ok()?;
            let stamp = modified
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let asset = Arc::new(CompressedAsset {
                modified,
                len: meta.len(),
                etag: format!("\"{:x}-{stamp:x}-{}\"", meta.len(), encoding.token()),
                body: Bytes::from(body),
            });
            assets.entries.lock().ok()?.insert(key, asset.clone());
            asset
        }
    };
    let revalidated = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag));
    let mut response = if revalidated {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CONTENT_TYPE, content_type(rel).to_string()))
        .insert_header((header::CONTENT_ENCODING, encoding.token()))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((
            header::LAST_MODIFIED,
            header::HttpDate::from(modified).to_string(),
        ));
    Some(if revalidated {
        response.finish()
    } else {
        response.body(asset.body.clone())
    })
}

/// The file below `dir` that `rel` names, or `None` when `rel` is not a
/// plain relative path (empty, absolute, `.`/`..` segments, backslashes,
/// control characters) or leads outside `dir` through a symlink.
pub fn resolve_static(dir: &Path, rel: &str) -> Option<PathBuf> {
    let plain = !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains(['\\', '\0'])
        && !rel.chars().any(char::is_control)
        && rel
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..");
    if !plain {
        return None;
    }
    let root = dir.canonicalize().ok()?;
    let full = root.join(rel).canonicalize().ok()?;
    (full.starts_with(&root) && full.is_file()).then_some(full)
}

async fn open(path: &Path, name: &str) -> std::io::Result<NamedFile> {
    let file = NamedFile::open_async(path).await?;
    Ok(file
        .set_content_type(content_type(name))
        .use_etag(true)
        .use_last_modified(true))
}

/// The types `mlflow server` sends for the build's files (Python's
/// `mimetypes`, text with a charset); anything else by extension.
pub fn content_type(name: &str) -> mime_guess::Mime {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let known = match extension.as_str() {
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "html" => Some("text/html; charset=utf-8"),
        "txt" => Some("text/plain; charset=utf-8"),
        "svg" => Some("image/svg+xml; charset=utf-8"),
        "json" | "map" => Some("application/json"),
        "ico" => Some("image/vnd.microsoft.icon"),
        "woff2" => Some("font/woff2"),
        "woff" => Some("font/woff"),
        "ttf" => Some("font/ttf"),
        "eot" => Some("application/vnd.ms-fontobject"),
        "cjs" => Some("application/octet-stream"),
        _ => None,
    };
    known
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| mime_guess::from_ext(&extension).first_or_octet_stream())
}

/// `/` without a UI build: say what is missing and how to get it, as
/// `mlflow server` does for a source install without the built UI.
fn missing_build() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(
            "Unable to display MLflow UI - landing page (index.html) not found.\n\n\
             ferroflow serves the official MLflow 3.17.2 web UI build. Fetch it with\n\
             scripts/setup-ui.sh (from the ferroflow checkout) and restart the server,\n\
             or point --ui-dir / FERROFLOW_UI_DIR at an MLflow UI build folder.\n\
             The REST API is served either way.\n",
        )
}

fn not_found(rel: &str) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::new(
        ErrorCode::ResourceDoesNotExist,
        format!("No UI file '{rel}' on this server."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_mlflow_server() {
        for (name, want) in [
            (
                "static/js/main.c2f5f8d4.js",
                "text/javascript; charset=utf-8",
            ),
            ("static/media/x.mjs", "text/javascript; charset=utf-8"),
            ("static/css/main.b0f58ef9.css", "text/css; charset=utf-8"),
            ("manifest.json", "application/json"),
            ("favicon.ico", "image/vnd.microsoft.icon"),
            ("static/media/logo.svg", "image/svg+xml; charset=utf-8"),
            ("static/media/a.png", "image/png"),
            ("static/media/f.woff2", "font/woff2"),
            ("static/media/f.woff", "font/woff"),
            ("static/media/f.ttf", "font/ttf"),
            ("static/media/f.eot", "application/vnd.ms-fontobject"),
            ("static/media/w.cjs", "application/octet-stream"),
            ("static/js/1.js.LICENSE.txt", "text/plain; charset=utf-8"),
            ("no-extension", "application/octet-stream"),
        ] {
            assert_eq!(content_type(name).to_string(), want, "{name}");
        }
    }

    #[test]
    fn accept_encoding_negotiation() {
        for (accept, want) in [
            ("gzip, deflate, br, zstd", Some(Encoding::Brotli)),
            ("gzip, deflate", Some(Encoding::Gzip)),
            ("br;q=0, gzip;q=0.5", Some(Encoding::Gzip)),
            ("BR", Some(Encoding::Brotli)),
            ("gzip;q=0", None),
            ("identity", None),
            ("", None),
        ] {
            assert_eq!(Encoding::negotiate(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn compression_round_trips() {
        use std::io::Read;
        let data = "const x = 1;\n".repeat(1000).into_bytes();
        let gz = Encoding::Gzip.compress(&data).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let br = Encoding::Brotli.compress(&data).unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert!(br.len() < data.len() / 10 && gz.len() < data.len() / 10);
    }

    #[test]
    fn static_paths_stay_inside_the_build() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("build/static/js")).unwrap();
        std::fs::write(dir.path().join("build/static/js/a.js"), "x").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "s").unwrap();
        let build = dir.path().join("build");
        assert!(resolve_static(&build, "static/js/a.js").is_some());
        for bad in [
            "",
            "static",
            "static/js/",
            "/etc/passwd",
            "../secret.txt",
            "static/../../secret.txt",
            "static/./js/a.js",
            "static\\js\\a.js",
            "static/js/a.js\0",
            "missing.js",
        ] {
            assert!(resolve_static(&build, bad).is_none(), "{bad:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), build.join("link.txt"))
                .unwrap();
            assert!(resolve_static(&build, "link.txt").is_none());
        }
    }
}
