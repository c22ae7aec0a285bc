//! Repository-level tests of `LocalArtifactRepository`: what only the local
//! disk shows (files where the path says, no temporaries, bodies streamed to
//! disk as they arrive, the symlink rules: never followed on delete, never
//! followed out of the root), then the store-independent suite that
//! `tests/s3.rs` runs on S3 too. The HTTP routes are covered by the Python
//! compatibility suite.

use bytes::Bytes;
use ferroflow::artifacts::local::LocalArtifactRepository;
use ferroflow::artifacts::{ArtifactPath, ArtifactRepository, ByteStream};
use ferroflow::error::ErrorCode;
use futures_util::StreamExt;
use std::os::unix::fs::symlink;
use std::path::Path;

fn p(raw: &str) -> ArtifactPath {
    ArtifactPath::parse(raw).expect("valid test path")
}

fn repo(dir: &Path) -> LocalArtifactRepository {
    LocalArtifactRepository::new(dir.to_str().expect("utf-8 temp dir")).expect("repository")
}

fn body(data: &'static [u8]) -> ByteStream {
    futures_util::stream::iter(vec![Ok(Bytes::from_static(data))]).boxed()
}

async fn read_all(repo: &LocalArtifactRepository, path: &str) -> Vec<u8> {
    let download = repo.get(&p(path)).await.expect("download");
    let mut out = Vec::new();
    let mut stream = download.body;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(out.len() as u64, download.size);
    out
}

/// Deterministic, non-repeating-looking test data.
fn chunk_bytes(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + index * 7 + (i >> 8)) % 251) as u8)
        .collect()
}

#[tokio::test]
async fn new_creates_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a/b/mlartifacts");
    let repo = repo(&root);
    assert!(root.is_dir());
    assert_eq!(repo.root(), std::fs::canonicalize(&root).unwrap());
}

/// What only the local store shows: files land on disk where the path
/// says, and replacing one leaves no temporary file beside it. (The
/// round trips, listings and error cases are the shared suite's, below.)
#[tokio::test]
async fn files_land_where_the_path_says_without_temporaries() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    repo.put(&p("1/run/artifacts/dir/hello.txt"), body(b"hi\n"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("1/run/artifacts/dir/hello.txt")).unwrap(),
        b"hi\n"
    );
    repo.put(&p("a/f.txt"), body(b"first version, longer"))
        .await
        .unwrap();
    repo.put(&p("a/f.txt"), body(b"second")).await.unwrap();
    assert_eq!(read_all(&repo, "a/f.txt").await, b"second");
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["f.txt"]);
    repo.delete(&p("1/run/artifacts/dir")).await.unwrap();
    assert!(!tmp.path().join("1/run/artifacts/dir").exists());
    assert!(tmp.path().join("1/run/artifacts").is_dir());
}

#[tokio::test]
async fn multi_megabyte_body_is_streamed_to_disk() {
    const CHUNK: usize = 256 * 1024;
    const CHUNKS: usize = 40; // 10 MiB
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    let dir = tmp.path().join("big");

    // While producing chunk k, the bytes of the earlier chunks must already
    // be on disk (in the temporary file), less what the write buffer holds:
    // the body is written as it arrives, not collected first.
    let probe_dir = dir.clone();
    let stream = futures_util::stream::iter(0..CHUNKS).map(move |k| {
        if k == CHUNKS - 1 {
            let on_disk: u64 = std::fs::read_dir(&probe_dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with(".artifact.uploading.")
                        })
                        .filter_map(|e| e.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            let sent = (k * CHUNK) as u64;
            assert!(
                on_disk + 3 * 1024 * 1024 >= sent,
                "only {on_disk} of {sent} bytes on disk"
            );
            assert!(
                !probe_dir.join("model.bin").exists(),
                "published before the end"
            );
        }
        Ok(Bytes::from(chunk_bytes(k, CHUNK)))
    });
    repo.put(&p("big/model.bin"), stream.boxed()).await.unwrap();

    let download = repo.get(&p("big/model.bin")).await.unwrap();
    assert_eq!(download.size, (CHUNK * CHUNKS) as u64);
    let mut expected = (0..CHUNKS).flat_map(|k| chunk_bytes(k, CHUNK));
    let mut seen = 0usize;
    let mut stream = download.body;
    let mut pieces = 0;
    while let Some(piece) = stream.next().await {
        let piece = piece.unwrap();
        pieces += 1;
        for b in piece.iter() {
            assert_eq!(Some(*b), expected.next(), "byte {seen}");
            seen += 1;
        }
    }
    assert_eq!(seen, CHUNK * CHUNKS);
    assert!(expected.next().is_none());
    assert!(pieces > 1, "the download is streamed in pieces");
    let files = repo.list(&p("big")).await.unwrap();
    assert_eq!(files.len(), 1, "no temporary file is listed: {files:?}");
    assert_eq!(files[0].file_size, Some((CHUNK * CHUNKS) as i64));
}

#[tokio::test]
async fn delete_removes_a_symlink_not_its_target() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("keep.txt"), b"precious").unwrap();
    let root = tmp.path().join("root");
    let repo = repo(&root);
    repo.put(&p("run/a.txt"), body(b"a")).await.unwrap();

    // A link to a directory outside, and a link to a file outside.
    symlink(&outside, root.join("run/link-dir")).unwrap();
    symlink(outside.join("keep.txt"), root.join("run/link-file")).unwrap();
    repo.delete(&p("run/link-dir")).await.unwrap();
    repo.delete(&p("run/link-file")).await.unwrap();
    assert!(std::fs::symlink_metadata(root.join("run/link-dir")).is_err());
    assert!(std::fs::symlink_metadata(root.join("run/link-file")).is_err());
    assert_eq!(
        std::fs::read(outside.join("keep.txt")).unwrap(),
        b"precious"
    );

    // A tree holding a link: the tree goes, the target stays.
    symlink(&outside, root.join("run/link-again")).unwrap();
    repo.delete(&p("run")).await.unwrap();
    assert!(!root.join("run").exists());
    assert!(root.is_dir());
    assert_eq!(
        std::fs::read(outside.join("keep.txt")).unwrap(),
        b"precious"
    );

    // Deleting through a linked parent that leads outside is refused.
    symlink(&outside, root.join("escape")).unwrap();
    let err = repo.delete(&p("escape/keep.txt")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert_eq!(
        std::fs::read(outside.join("keep.txt")).unwrap(),
        b"precious"
    );
}

#[tokio::test]
async fn symlink_escapes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"secret").unwrap();
    let root = tmp.path().join("root");
    let repo = repo(&root);
    std::fs::create_dir_all(root.join("run")).unwrap();
    symlink(&outside, root.join("run/out")).unwrap();
    symlink(outside.join("secret.txt"), root.join("run/secret.txt")).unwrap();

    // Reading through a link that leads outside.
    for path in ["run/out/secret.txt", "run/secret.txt"] {
        let err = repo.get(&p(path)).await.err().unwrap();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{path}");
    }
    // Listing through it.
    let err = repo.list(&p("run/out")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    // Links leading outside are not listed.
    repo.put(&p("run/own.txt"), body(b"mine")).await.unwrap();
    let names: Vec<_> = repo
        .list(&p("run"))
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(names, ["run/own.txt"]);

    // Writing through it, directly or into new folders below it.
    for path in [
        "run/out/new.txt",
        "run/out/deeper/new.txt",
        "run/secret.txt",
    ] {
        let err = repo.put(&p(path), body(b"evil")).await.err();
        match path {
            // Replacing the link itself is a write inside the root: the link
            // is swapped for a regular file, the target is untouched.
            "run/secret.txt" => assert!(err.is_none(), "{err:?}"),
            _ => assert_eq!(
                err.map(|e| e.code),
                Some(ErrorCode::InvalidParameterValue),
                "{path}"
            ),
        }
    }
    assert!(!outside.join("new.txt").exists());
    assert!(!outside.join("deeper").exists());
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"secret"
    );
    assert!(!std::fs::symlink_metadata(root.join("run/secret.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_all(&repo, "run/secret.txt").await, b"evil");
}

#[tokio::test]
async fn symlinks_inside_the_root_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    repo.put(&p("real/f.txt"), body(b"content")).await.unwrap();
    symlink(tmp.path().join("real"), tmp.path().join("alias")).unwrap();
    assert_eq!(read_all(&repo, "alias/f.txt").await, b"content");
    let files = repo.list(&p("alias")).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "alias/f.txt");
    let top: Vec<_> = repo
        .list(&ArtifactPath::root())
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir))
        .collect();
    assert_eq!(
        top,
        [("alias".to_string(), true), ("real".to_string(), true)]
    );
}

#[tokio::test]
async fn a_root_that_is_a_symlink_works() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real-root");
    std::fs::create_dir_all(&real).unwrap();
    let link = tmp.path().join("link-root");
    symlink(&real, &link).unwrap();
    let repo = repo(&link);
    repo.put(&p("x/y.txt"), body(b"y")).await.unwrap();
    assert_eq!(std::fs::read(real.join("x/y.txt")).unwrap(), b"y");
    assert_eq!(read_all(&repo, "x/y.txt").await, b"y");
}

/// The store-independent suite (`tests/artifact_suite`), here on the local
/// disk; `tests/s3.rs` runs the same functions on S3.
use crate::artifact_suite;

mod shared_suite {
    use super::artifact_suite as suite;
    use ferroflow::artifacts::local::LocalArtifactRepository;
    use ferroflow::artifacts::ArtifactRepository;
    use std::sync::Arc;

    fn local(dir: &tempfile::TempDir) -> Arc<dyn ArtifactRepository> {
        Arc::new(LocalArtifactRepository::new(dir.path().to_str().unwrap()).unwrap())
    }

    macro_rules! on_local_disk {
        ($($name:ident => |$repo:ident| $call:expr;)*) => {$(
            #[tokio::test]
            async fn $name() {
                let dir = tempfile::tempdir().unwrap();
                let $repo = local(&dir);
                $call.await;
            }
        )*};
    }

    on_local_disk! {
        round_trip => |repo| suite::put_get_list_delete_round_trip(&*repo);
        replaces => |repo| suite::put_replaces_an_existing_file(&*repo);
        empty_body => |repo| suite::empty_body_gives_an_empty_file(&*repo);
        directories => |repo| suite::directories_are_not_files(&*repo);
        multi_megabyte => |repo| suite::multi_megabyte_body_round_trip(&*repo, 256 * 1024, 48);
        failed_upload => |repo| suite::failed_upload_publishes_nothing(&*repo, 12);
        large_listing => |repo| suite::large_listing(&*repo, 1005, 5);
        scoped_delete => |repo| suite::delete_is_scoped_to_the_path(&*repo);
        concurrent_uploads => |repo| suite::concurrent_uploads_to_one_path_leave_one_whole_file(repo.clone());
        unusual_names => |repo| suite::unusual_names_round_trip(&*repo);
    }
}
