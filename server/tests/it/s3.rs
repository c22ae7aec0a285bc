//! The S3 artifact store against a real S3 server: `s3s-fs` (installed into
//! `.tools/bin` by `scripts/setup-s3s.sh`, or named by `S3S_FS_BIN`),
//! started per test on a free loopback port with SigV4 credentials and
//! killed at the end. Without the binary the tests are skipped with a
//! message, unless `FERROFLOW_REQUIRE_S3` is set (CI), which makes them fail.
//!
//! * the store-independent repository suite (`tests/artifact_suite`, also
//!   run on the local disk by `tests/artifacts.rs`), plus S3 specifics:
//!   key layout under the prefix, pagination, presigned multipart uploads
//!   and downloads, credentials errors, `s3://` run URIs;
//! * the HTTP proxy with an `s3://bucket/prefix` destination (the app built
//!   in-process as `tests/common` does), a 200 MB round trip checked by
//!   SHA-256, and `--no-serve-artifacts --default-artifact-root s3://…`;
//! * memory: the `ferroflow` binary as a separate process streams 1 GB up
//!   and 1 GB down through the proxy; its RSS (VmHWM from /proc) must grow
//!   by less than 64 MB over its idle size.

use crate::artifact_suite;
use crate::common;

use artifact_suite as suite;
use bytes::{Bytes, BytesMut};
use common::TestApp;
use ferroflow::artifacts::path::is_not_a_file;
use ferroflow::artifacts::s3::S3ArtifactRepository;
use ferroflow::artifacts::{resolve_uri, ArtifactRepository, UploadedPart};
use ferroflow::config::{ArtifactSettings, S3Settings};
use ferroflow::error::ErrorCode;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use suite::{body, listing, p, read_all};

const BUCKET: &str = "ferroflow-test";
const ACCESS_KEY: &str = "ferroflow-access";
const SECRET_KEY: &str = "ferroflow-secret-key-for-tests";
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// the S3 server
// ---------------------------------------------------------------------------

fn s3s_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("S3S_FS_BIN") {
        return Some(PathBuf::from(path));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/s3s-fs");
    path.is_file().then_some(path)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running s3s-fs with one bucket ([`BUCKET`]); killed on drop.
struct S3Server {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
    settings: S3Settings,
}

impl S3Server {
    /// `None` (after printing why) when s3s-fs is not installed.
    fn start() -> Option<S3Server> {
        let Some(bin) = s3s_binary() else {
            if std::env::var_os("FERROFLOW_REQUIRE_S3").is_some() {
                panic!("s3s-fs is not installed: run scripts/setup-s3s.sh");
            }
            eprintln!("SKIPPED: s3s-fs is not installed (run scripts/setup-s3s.sh)");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join(BUCKET)).expect("bucket directory");
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("s3s-fs.log")).expect("log file");
            let mut child = Command::new(&bin)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(&data)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log file"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut up = false;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break; // exited (port taken?): try another port
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if up {
                let endpoint = format!("http://127.0.0.1:{port}");
                let settings = S3Settings {
                    endpoint_url: Some(endpoint.clone()),
                    access_key_id: Some(ACCESS_KEY.into()),
                    secret_access_key: Some(SECRET_KEY.into()),
                    ..S3Settings::default()
                };
                return Some(S3Server {
                    child,
                    endpoint,
                    dir,
                    settings,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("s3s-fs did not start; see its log in a kept temp dir");
    }

    /// Where s3s-fs keeps the bucket's objects (one file per key).
    fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join("data").join(BUCKET)
    }

    fn uri(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    fn repo(&self, prefix: &str) -> S3ArtifactRepository {
        S3ArtifactRepository::new(&self.settings, &self.uri(prefix)).expect("repository")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

macro_rules! s3_or_skip {
    () => {
        match S3Server::start() {
            Some(server) => server,
            None => return,
        }
    };
}

/// Files (not directories) under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// the shared repository suite, on S3
// ---------------------------------------------------------------------------

mod shared_suite {
    use super::*;

    /// Every suite test runs with the smallest part size (5 MiB, so that a
    /// few megabytes already make a multipart upload).
    fn small_parts(server: &S3Server) -> Arc<dyn ArtifactRepository> {
        Arc::new(server.repo("suite/root").with_part_size(5 * MIB))
    }

    macro_rules! on_s3 {
        ($($name:ident => |$repo:ident| $call:expr;)*) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let server = s3_or_skip!();
                let $repo = small_parts(&server);
                $call.await;
            }
        )*};
    }

    on_s3! {
        round_trip => |repo| suite::put_get_list_delete_round_trip(&*repo);
        replaces => |repo| suite::put_replaces_an_existing_file(&*repo);
        empty_body => |repo| suite::empty_body_gives_an_empty_file(&*repo);
        directories => |repo| suite::directories_are_not_files(&*repo);
        // 12 MiB in 256 KiB chunks: three parts of a multipart upload.
        multi_megabyte => |repo| suite::multi_megabyte_body_round_trip(&*repo, 256 * 1024, 48);
        // Exactly one part: a single PutObject.
        one_part => |repo| suite::multi_megabyte_body_round_trip(&*repo, MIB, 5);
        // Fails after two parts were sent: the multipart upload is aborted.
        failed_multipart_upload => |repo| suite::failed_upload_publishes_nothing(&*repo, 12);
        // Fails before a part is full: nothing was sent.
        failed_small_upload => |repo| suite::failed_upload_publishes_nothing(&*repo, 2);
        // More than S3's 1000-key page: two pages, and two DeleteObjects calls.
        large_listing => |repo| suite::large_listing(&*repo, 1005, 5);
        scoped_delete => |repo| suite::delete_is_scoped_to_the_path(&*repo);
        concurrent_uploads => |repo| suite::concurrent_uploads_to_one_path_leave_one_whole_file(repo.clone());
        unusual_names => |repo| suite::unusual_names_round_trip(&*repo);
    }

    /// Pages of 7 keys: files and sub-directories spread over many pages.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_pages() {
        let server = s3_or_skip!();
        let repo = server.repo("paged").with_list_page_size(7);
        suite::large_listing(&repo, 40, 9).await;
        suite::delete_is_scoped_to_the_path(&repo).await;
    }
}

// ---------------------------------------------------------------------------
// S3 specifics
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_live_under_the_prefix() {
    let server = s3_or_skip!();
    let repo = server.repo("pre/fix");
    let sibling = server.repo("pre/fix2");
    let whole_bucket = server.repo("");
    repo.put(&p("a/b.txt"), body(b"b")).await.unwrap();
    sibling.put(&p("keep.txt"), body(b"k")).await.unwrap();
    assert_eq!(
        files_under(&server.bucket_dir()),
        ["pre/fix/a/b.txt", "pre/fix2/keep.txt"]
    );
    assert_eq!(
        listing(&whole_bucket, "pre").await,
        [
            ("pre/fix".to_string(), true, None),
            ("pre/fix2".to_string(), true, None)
        ]
    );
    assert_eq!(read_all(&whole_bucket, "pre/fix/a/b.txt").await, b"b");
    // Emptying one repository leaves its neighbour with a longer name.
    repo.delete(&ferroflow::artifacts::ArtifactPath::root())
        .await
        .unwrap();
    assert_eq!(files_under(&server.bucket_dir()), ["pre/fix2/keep.txt"]);
    assert!(listing(&repo, "").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_multipart_upload() {
    let server = s3_or_skip!();
    let repo = server.repo("mpu");
    let direct = repo
        .direct_transfer()
        .expect("S3 supports direct transfers");
    let http = reqwest::Client::new();

    let data: Vec<u8> = (0..6 * MIB + 123).map(|i| (i % 253) as u8).collect();
    let upload = direct
        .create_multipart_upload(&p("dir/model.bin"), 2)
        .await
        .unwrap();
    assert!(!upload.upload_id.is_empty());
    assert_eq!(upload.credentials.len(), 2);
    let mut parts = Vec::new();
    for (credential, piece) in upload.credentials.iter().zip(data.chunks(5 * MIB)) {
        assert!(
            credential.url.starts_with(&server.endpoint),
            "{}",
            credential.url
        );
        assert!(credential.url.contains("X-Amz-Signature="));
        assert!(!credential.url.contains(SECRET_KEY));
        let resp = http
            .put(&credential.url)
            .body(piece.to_vec())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let etag = resp.headers()["etag"].to_str().unwrap().to_string();
        parts.push(UploadedPart {
            part_number: credential.part_number,
            etag,
        });
    }
    // Not readable before completion.
    let err = repo.get(&p("dir/model.bin")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    direct
        .complete_multipart_upload(&p("dir/model.bin"), &upload.upload_id, &parts)
        .await
        .unwrap();
    assert_eq!(read_all(&repo, "dir/model.bin").await, data);

    // Abort: nothing appears; completing afterwards fails.
    let upload = direct
        .create_multipart_upload(&p("dir/aborted.bin"), 1)
        .await
        .unwrap();
    let resp = http
        .put(&upload.credentials[0].url)
        .body(vec![1u8; 1000])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    direct
        .abort_multipart_upload(&p("dir/aborted.bin"), &upload.upload_id)
        .await
        .unwrap();
    let err = repo.get(&p("dir/aborted.bin")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    let err = direct
        .complete_multipart_upload(
            &p("dir/aborted.bin"),
            &upload.upload_id,
            &[UploadedPart {
                part_number: 1,
                etag: "\"x\"".into(),
            }],
        )
        .await
        .err()
        .unwrap();
    assert_ne!(err.code, ErrorCode::InternalError, "{err}");

    // The same rules as uploads through the server.
    let err = direct
        .create_multipart_upload(&p("dir"), 1)
        .await
        .err()
        .unwrap();
    assert!(is_not_a_file(&err), "{err}");
    let err = direct
        .create_multipart_upload(&p("dir/model.bin/x"), 1)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    let err = direct
        .create_multipart_upload(&p("dir/big.bin"), 10_001)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_download() {
    let server = s3_or_skip!();
    let repo = server.repo("dl");
    let direct = repo.direct_transfer().unwrap();
    let data: Vec<u8> = (0..100_000).map(|i| (i % 241) as u8).collect();
    repo.put(
        &p("d/data.bin"),
        futures_util::stream::iter(vec![Ok(Bytes::from(data.clone()))]).boxed(),
    )
    .await
    .unwrap();
    let presigned = direct.presigned_download(&p("d/data.bin")).await.unwrap();
    assert_eq!(presigned.file_size, 100_000);
    assert!(presigned.url.starts_with(&server.endpoint));
    assert!(!presigned.url.contains(SECRET_KEY));
    let http = reqwest::Client::new();
    let mut req = http.get(&presigned.url);
    for (k, v) in &presigned.headers {
        req = req.header(k, v);
    }
    let got = req.send().await.unwrap();
    assert!(got.status().is_success(), "{}", got.status());
    assert_eq!(got.bytes().await.unwrap(), data);
    // Ranged reads (the client's parallel download).
    let ranged = http
        .get(&presigned.url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(ranged.bytes().await.unwrap(), data[10..20]);

    let err = direct.presigned_download(&p("d/none")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    let err = direct.presigned_download(&p("d")).await.err().unwrap();
    assert!(is_not_a_file(&err), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_without_leaking_them() {
    let server = s3_or_skip!();
    let settings = S3Settings {
        secret_access_key: Some("wrong-secret-value".into()),
        ..server.settings.clone()
    };
    let repo = S3ArtifactRepository::new(&settings, &server.uri("x")).unwrap();
    let err = repo.list(&p("")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::PermissionDenied, "{err}");
    assert!(!err.message.contains("wrong-secret-value"), "{err}");
    let err = repo.put(&p("f.txt"), body(b"x")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::PermissionDenied, "{err}");
    assert!(files_under(&server.bucket_dir()).is_empty());
    assert!(!format!("{repo:?} {settings:?}").contains("wrong-secret-value"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_is_not_found() {
    let server = s3_or_skip!();
    let repo = S3ArtifactRepository::new(&server.settings, "s3://no-such-bucket/x").unwrap();
    let err = repo.list(&p("")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_run_uris_resolve_under_the_default_root() {
    let server = s3_or_skip!();
    let settings = ArtifactSettings {
        default_artifact_root: server.uri("mlruns"),
        serve_artifacts: false,
        artifacts_destination: "./unused".into(),
        s3: server.settings.clone(),
        allowed_host_addressed_schemes: Vec::new(),
    };
    let run_uri = server.uri("mlruns/1/abc/artifacts");
    let (repo, base) = resolve_uri(&settings, None, &run_uri).unwrap();
    assert!(base.is_root());
    repo.put(&p("model/MLmodel"), body(b"flavors: {}\n"))
        .await
        .unwrap();
    assert_eq!(
        files_under(&server.bucket_dir()),
        ["mlruns/1/abc/artifacts/model/MLmodel"]
    );
    assert_eq!(
        listing(&*repo, "model").await,
        [("model/MLmodel".to_string(), false, Some(12))]
    );
    for outside in [
        format!("s3://{BUCKET}/elsewhere/1"),
        format!("s3://{BUCKET}/mlruns-2/1"),
        "s3://other-bucket/mlruns/1".to_string(),
    ] {
        let err = resolve_uri(&settings, None, &outside).err().unwrap();
        assert_eq!(err.code, ErrorCode::PermissionDenied, "{outside}");
    }
}

// ---------------------------------------------------------------------------
// the HTTP proxy on an S3 destination (in-process)
// ---------------------------------------------------------------------------

/// The app (SQLite) with artifacts proxied to `s3://BUCKET/proxy` (or,
/// without serving, runs under `default_root`).
async fn spawn_app(server: &S3Server, serve: bool, default_root: Option<String>) -> TestApp {
    let proxy = server.uri("proxy");
    let s3 = server.settings.clone();
    common::spawn_app_with(common::Backend::Sqlite, move |settings, _| {
        settings.artifacts = ArtifactSettings::resolve(default_root, Some(proxy), serve);
        settings.artifacts.s3 = s3;
    })
    .await
}

const PROXY: &str = "/api/2.0/mlflow-artifacts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_on_s3_round_trip() {
    let server = s3_or_skip!();
    let app = spawn_app(&server, true, None).await;

    let (status, info) = app
        .request(Method::GET, "/api/3.0/mlflow/server-info", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["multipart_uploads_enabled"], true);
    assert_eq!(info["multipart_downloads_enabled"], true);

    // A run's artifacts go to <destination>/<exp>/<run>/artifacts.
    let (_, exp) = app
        .request(
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(json!({"name": "s3"})),
        )
        .await;
    let exp_id = exp["experiment_id"].as_str().unwrap().to_string();
    let (_, run) = app
        .request(
            Method::POST,
            "/api/2.0/mlflow/runs/create",
            Some(json!({"experiment_id": exp_id, "start_time": 1})),
        )
        .await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifact_uri = run["run"]["info"]["artifact_uri"].as_str().unwrap();
    assert_eq!(
        artifact_uri,
        format!("mlflow-artifacts:/{exp_id}/{run_id}/artifacts")
    );
    let root = format!("{exp_id}/{run_id}/artifacts");
    for (path, data) in [
        ("dir/hello.txt", "hi\n"),
        ("dir/sub/data.json", "{}"),
        ("notes.txt", "hello artifacts\n"),
    ] {
        let resp = app
            .client
            .put(app.url(&format!("{PROXY}/artifacts/{root}/{path}")))
            .body(data)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
    }
    assert_eq!(
        files_under(&server.bucket_dir()),
        [
            format!("proxy/{root}/dir/hello.txt"),
            format!("proxy/{root}/dir/sub/data.json"),
            format!("proxy/{root}/notes.txt"),
        ]
    );

    let resp = app
        .client
        .get(app.url(&format!("{PROXY}/artifacts/{root}/dir/hello.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["content-length"], "3");
    assert_eq!(resp.text().await.unwrap(), "hi\n");

    let (status, listed) = app
        .request(
            Method::GET,
            &format!("{PROXY}/artifacts?path={root}/dir"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!({"files": [
            {"path": "hello.txt", "is_dir": false, "file_size": 3},
            {"path": "sub", "is_dir": true}
        ]})
    );
    let (_, listed) = app
        .request(
            Method::GET,
            &format!("{PROXY}/artifacts?path={root}/nope"),
            None,
        )
        .await;
    assert_eq!(listed, json!({}));

    // The tracking API's run listing and the UI download.
    let (status, listed) = app
        .request(
            Method::GET,
            &format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=dir"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["root_uri"], artifact_uri);
    assert_eq!(listed["files"][0]["path"], "dir/hello.txt");
    let resp = app
        .client
        .get(app.url(&format!("/get-artifact?run_uuid={run_id}&path=notes.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "hello artifacts\n");

    // A directory is not a file; a missing file is a 404.
    let (status, body) = app
        .request(Method::GET, &format!("{PROXY}/artifacts/{root}/dir"), None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Artifact path refers to a directory"));
    let (status, body) = app
        .request(
            Method::GET,
            &format!("{PROXY}/artifacts/{root}/none.txt"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error_code"], "RESOURCE_DOES_NOT_EXIST");

    // Traversal never reaches the bucket (`%2e%2e` segments are resolved
    // by the HTTP client's URL parser before sending, so they are not here).
    for bad in [
        "..%2fx.txt",
        "%252e%252e/x.txt",
        "%252e%252e%252fx.txt",
        "a/..%5cx.txt",
        "a/..;/x.txt",
    ] {
        let resp = app
            .client
            .put(app.url(&format!("{PROXY}/artifacts/{root}/{bad}")))
            .body("evil")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
    }
    assert_eq!(files_under(&server.bucket_dir()).len(), 3);

    // Delete a tree.
    let resp = app
        .client
        .delete(app.url(&format!("{PROXY}/artifacts/{root}/dir")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        files_under(&server.bucket_dir()),
        [format!("proxy/{root}/notes.txt")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_multipart_upload_and_presigned_download() {
    let server = s3_or_skip!();
    let app = spawn_app(&server, true, None).await;
    let dir = "1/run/artifacts/model";
    let data: Vec<u8> = (0..5 * MIB + 4321).map(|i| (i % 239) as u8).collect();

    // The client sends its local file name in `path`; only the base name counts.
    let (status, created) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/{dir}"),
            Some(json!({"path": "/home/me/out/weights.bin", "num_parts": 2})),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let upload_id = created["upload_id"].as_str().unwrap().to_string();
    let credentials = created["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 2);
    let mut parts = Vec::new();
    for (credential, piece) in credentials.iter().zip(data.chunks(5 * MIB)) {
        assert!(credential["part_number"].is_u64());
        let url = credential["url"].as_str().unwrap();
        let resp = app
            .client
            .put(url)
            .body(piece.to_vec())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        parts.push(json!({
            "part_number": credential["part_number"],
            "etag": resp.headers()["etag"].to_str().unwrap(),
            "url": url,
        }));
    }
    let (status, body) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/complete/{dir}"),
            Some(
                json!({"path": "/home/me/out/weights.bin", "upload_id": upload_id, "parts": parts}),
            ),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    let got = app
        .client
        .get(app.url(&format!("{PROXY}/artifacts/{dir}/weights.bin")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, data);

    // Presigned download.
    let (status, presigned) = app
        .request(
            Method::GET,
            &format!("{PROXY}/presigned/{dir}/weights.bin"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{presigned}");
    assert_eq!(presigned["file_size"], data.len());
    assert!(presigned["headers"].is_object());
    let got = app
        .client
        .get(presigned["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, data);
    let (status, body) = app
        .request(
            Method::GET,
            &format!("{PROXY}/presigned/{dir}/none.bin"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");

    // Abort.
    let (status, created) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/{dir}"),
            Some(json!({"path": "other.bin", "num_parts": 1})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/abort/{dir}"),
            Some(json!({"path": "other.bin", "upload_id": created["upload_id"]})),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));

    // Checks on the request: required fields, unsafe paths, part numbers.
    let (status, body) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/{dir}"),
            Some(json!({"num_parts": 1})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    for (url_dir, name) in [
        ("..%2f..%2fx", "f.bin"),
        ("%252e%252e/x", "f.bin"),
        ("1/run", "..%2F..%2Fescape.bin"),
        ("1/run", ".."),
        ("1/run", "a%2Fb"),
        ("1/run", ""),
    ] {
        let (status, body) = app
            .request(
                Method::POST,
                &format!("{PROXY}/mpu/create/{url_dir}"),
                Some(json!({"path": name, "num_parts": 1})),
            )
            .await;
        assert_eq!(status, 400, "{url_dir} {name}: {body}");
    }
    let (status, _) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/{dir}"),
            Some(json!({"path": "x.bin", "num_parts": 10001})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .request(Method::POST, &format!("{PROXY}/mpu/complete/{dir}"), Some(json!({"path": "x.bin", "upload_id": "u", "parts": [{"part_number": 0, "etag": "e"}]})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        files_under(&server.bucket_dir()),
        [format!("proxy/{dir}/weights.bin")]
    );
}

/// Hashes a generated body as it is produced.
fn generated_body(
    total: usize,
    chunk: usize,
) -> (
    impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    Arc<Mutex<Sha256>>,
) {
    let block = Bytes::from(suite::chunk_bytes(7, chunk));
    let hasher = Arc::new(Mutex::new(Sha256::new()));
    let h = hasher.clone();
    let chunks = total.div_ceil(chunk);
    let stream = futures_util::stream::iter(0..chunks).map(move |k| {
        let len = chunk.min(total - k * chunk);
        let mut buf = BytesMut::from(&block[..len]);
        let stamp = (k as u64).to_le_bytes();
        let n = stamp.len().min(len);
        buf[..n].copy_from_slice(&stamp[..n]);
        let buf = buf.freeze();
        h.lock().unwrap().update(&buf);
        Ok(buf)
    });
    (stream, hasher)
}

/// Streams a download into a hasher; returns the digest and the length.
async fn hash_download(resp: reqwest::Response) -> (Vec<u8>, u64) {
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.expect("download chunk");
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (hasher.finalize().to_vec(), len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_200_mb_round_trip_is_byte_identical() {
    let server = s3_or_skip!();
    let app = spawn_app(&server, true, None).await;
    const TOTAL: usize = 200 * 1000 * 1000;
    let (stream, hasher) = generated_body(TOTAL, MIB);
    let url = app.url(&format!("{PROXY}/artifacts/1/run/artifacts/big.bin"));
    let resp = app
        .client
        .put(&url)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let sent = hasher.lock().unwrap().clone().finalize().to_vec();
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-length"], TOTAL.to_string().as_str());
    let (got, len) = hash_download(resp).await;
    assert_eq!(len, TOTAL as u64);
    assert_eq!(got, sent, "SHA-256 differs");
    let (_, listed) = app
        .request(
            Method::GET,
            &format!("{PROXY}/artifacts?path=1/run/artifacts"),
            None,
        )
        .await;
    assert_eq!(listed["files"][0]["file_size"], TOTAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_serve_artifacts_with_an_s3_default_root() {
    let server = s3_or_skip!();
    let app = spawn_app(&server, false, Some(server.uri("mlruns"))).await;

    let (_, info) = app
        .request(Method::GET, "/api/3.0/mlflow/server-info", None)
        .await;
    assert_eq!(info["multipart_uploads_enabled"], false);
    let (status, _) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/1/x"),
            Some(json!({"path": "f", "num_parts": 1})),
        )
        .await;
    assert_eq!(status, 503);

    let (_, exp) = app
        .request(
            Method::POST,
            "/api/2.0/mlflow/experiments/create",
            Some(json!({"name": "direct"})),
        )
        .await;
    let exp_id = exp["experiment_id"].as_str().unwrap().to_string();
    let (_, got) = app
        .request(
            Method::GET,
            &format!("/api/2.0/mlflow/experiments/get?experiment_id={exp_id}"),
            None,
        )
        .await;
    assert_eq!(
        got["experiment"]["artifact_location"],
        format!("s3://{BUCKET}/mlruns/{exp_id}")
    );
    let (_, run) = app
        .request(
            Method::POST,
            "/api/2.0/mlflow/runs/create",
            Some(json!({"experiment_id": exp_id, "start_time": 1})),
        )
        .await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let artifact_uri = run["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        artifact_uri,
        format!("s3://{BUCKET}/mlruns/{exp_id}/{run_id}/artifacts")
    );

    // The client writes to S3 itself …
    let client_side = S3ArtifactRepository::new(&server.settings, &artifact_uri).unwrap();
    client_side
        .put(&p("model/MLmodel"), body(b"flavors: {}\n"))
        .await
        .unwrap();
    client_side
        .put(&p("metrics.json"), body(b"{\"a\": 1}"))
        .await
        .unwrap();
    // … and the server lists and serves what is there.
    let (status, listed) = app
        .request(
            Method::GET,
            &format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["root_uri"], artifact_uri.as_str());
    assert_eq!(
        listed["files"],
        json!([
            {"path": "metrics.json", "is_dir": false, "file_size": 8},
            {"path": "model", "is_dir": true}
        ])
    );
    let (_, listed) = app
        .request(
            Method::GET,
            &format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=model"),
            None,
        )
        .await;
    assert_eq!(listed["files"][0]["path"], "model/MLmodel");
    let resp = app
        .client
        .get(app.url(&format!(
            "/get-artifact?run_uuid={run_id}&path=model/MLmodel"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "flavors: {}\n");
}

// ---------------------------------------------------------------------------
// memory: 1 GB each way through a separate server process
// ---------------------------------------------------------------------------

/// `VmRSS` and `VmHWM` of a process, in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Samples a process's RSS until stopped; returns the highest value seen.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(memory_of(pid).0);
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssSampler {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_streams_1_gb_each_way_in_bounded_memory() {
    const GB: usize = 1000 * 1000 * 1000;
    const LIMIT: u64 = 64 * 1000 * 1000;
    let server = s3_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferroflow"));
    command
        .args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}/mlflow.db", dir.path().display()))
        .args(["--artifacts-destination", &server.uri("memory")])
        .args(["--workers", "2"])
        .env("MLFLOW_S3_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for var in [
        "MLFLOW_S3_IGNORE_TLS",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "MLFLOW_SERVE_ARTIFACTS",
    ] {
        command.env_remove(var);
    }
    let process = ServerProcess(command.spawn().expect("start ferroflow"));
    let pid = process.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(resp) = http.get(format!("{base}/health")).send().await {
            if resp.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "ferroflow did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // One small request so the idle size includes a served request.
    let info = http
        .get(format!("{base}/api/3.0/mlflow/server-info"))
        .send()
        .await
        .unwrap();
    assert!(info.status().is_success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (idle, _) = memory_of(pid);
    assert!(idle > 0, "cannot read /proc/{pid}/status");

    let url = format!("{base}{PROXY}/artifacts/1/run/artifacts/huge.bin");
    let sampler = RssSampler::start(pid);
    let started = Instant::now();
    let (stream, hasher) = generated_body(GB, MIB);
    let resp = http
        .put(&url)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let upload_time = started.elapsed();
    let upload_peak = sampler.finish();
    let sent = hasher.lock().unwrap().clone().finalize().to_vec();

    let sampler = RssSampler::start(pid);
    let started = Instant::now();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (got, len) = hash_download(resp).await;
    let download_time = started.elapsed();
    let download_peak = sampler.finish();
    assert_eq!(len, GB as u64);
    assert_eq!(got, sent, "SHA-256 differs");

    let (rss, hwm) = memory_of(pid);
    let mb = |b: u64| b as f64 / 1e6;
    let report = format!(
        "ferroflow RSS: idle {:.1} MB; 1 GB upload peak {:.1} MB (+{:.1}) in {:.1?}; \
         1 GB download peak {:.1} MB (+{:.1}) in {:.1?}; after {:.1} MB; VmHWM {:.1} MB (+{:.1})",
        mb(idle),
        mb(upload_peak),
        mb(upload_peak.saturating_sub(idle)),
        upload_time,
        mb(download_peak),
        mb(download_peak.saturating_sub(idle)),
        download_time,
        mb(rss),
        mb(hwm),
        mb(hwm.saturating_sub(idle)),
    );
    println!("{report}");
    eprintln!("{report}");
    assert!(hwm.saturating_sub(idle) < LIMIT, "{report}");
    assert!(upload_peak.saturating_sub(idle) < LIMIT, "{report}");
    assert!(download_peak.saturating_sub(idle) < LIMIT, "{report}");
}

/// A local destination has no presigned transfers: `server-info` says so and
/// the routes answer MLflow's 501s (after the request checks, as MLflow).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_destination_refuses_multipart() {
    let app = common::spawn_app(common::Backend::Sqlite).await;
    let (_, info) = app
        .request(Method::GET, "/api/3.0/mlflow/server-info", None)
        .await;
    assert_eq!(info["multipart_uploads_enabled"], false);
    assert_eq!(info["multipart_downloads_enabled"], false);
    for (route, message) in [
        (
            "mpu/create/1/x",
            "Multipart upload is not supported for the current artifact repository",
        ),
        (
            "mpu/complete/1/x",
            "Multipart upload is not supported for the current artifact repository",
        ),
        (
            "mpu/abort/1/x",
            "Multipart upload is not supported for the current artifact repository",
        ),
    ] {
        let (status, body) = app
            .request(
                Method::POST,
                &format!("{PROXY}/{route}"),
                Some(json!({"path": "f.bin", "num_parts": 1, "upload_id": "u", "parts": [{"part_number": 1, "etag": "e"}]})),
            )
            .await;
        assert_eq!(status, 501, "{route}");
        assert_eq!(body["error_code"], "NOT_IMPLEMENTED");
        assert_eq!(body["message"], message);
    }
    // Request checks come first.
    let (status, _) = app
        .request(
            Method::POST,
            &format!("{PROXY}/mpu/create/1/x"),
            Some(json!({"num_parts": 1})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = app
        .request(Method::GET, &format!("{PROXY}/presigned/1/x/f.bin"), None)
        .await;
    assert_eq!(status, 501);
    assert_eq!(
        body["message"],
        "Multipart download is not supported for the current artifact repository"
    );
    app.cleanup().await;
}
