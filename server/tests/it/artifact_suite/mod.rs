//! The artifact-repository suite every store must pass, written against the
//! `ArtifactRepository` trait only: `tests/artifacts.rs` runs it on the
//! local-disk store, `tests/s3.rs` on the S3 store (s3s-fs). Each function
//! takes an empty repository.

#![allow(dead_code)]

use bytes::Bytes;
use ferroflow::artifacts::path::is_not_a_file;
use ferroflow::artifacts::{ArtifactPath, ArtifactRepository, ByteStream};
use ferroflow::error::ErrorCode;
use futures_util::StreamExt;
use std::sync::Arc;

pub fn p(raw: &str) -> ArtifactPath {
    ArtifactPath::parse(raw).expect("valid test path")
}

pub fn body(data: &'static [u8]) -> ByteStream {
    futures_util::stream::iter(vec![Ok(Bytes::from_static(data))]).boxed()
}

pub async fn read_all(repo: &dyn ArtifactRepository, path: &str) -> Vec<u8> {
    let download = repo.get(&p(path)).await.expect("download");
    let mut out = Vec::new();
    let mut stream = download.body;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(out.len() as u64, download.size);
    out
}

/// `(path, is_dir, size)` of a listing.
pub async fn listing(repo: &dyn ArtifactRepository, dir: &str) -> Vec<(String, bool, Option<i64>)> {
    repo.list(&p(dir))
        .await
        .expect("list")
        .into_iter()
        .map(|f| (f.path, f.is_dir, f.file_size))
        .collect()
}

/// Deterministic, non-repeating-looking test data.
pub fn chunk_bytes(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + index * 7 + (i >> 8)) % 251) as u8)
        .collect()
}

fn owned(rows: &[(&str, bool, Option<i64>)]) -> Vec<(String, bool, Option<i64>)> {
    rows.iter()
        .map(|(p, d, s)| (p.to_string(), *d, *s))
        .collect()
}

pub async fn put_get_list_delete_round_trip(repo: &dyn ArtifactRepository) {
    repo.put(&p("1/run/artifacts/dir/hello.txt"), body(b"hi\n"))
        .await
        .unwrap();
    repo.put(
        &p("1/run/artifacts/dir/sub/data.bin"),
        body(b"\x00\x01\x02"),
    )
    .await
    .unwrap();
    repo.put(&p("1/run/artifacts/notes.txt"), body(b"hello artifacts\n"))
        .await
        .unwrap();
    assert_eq!(
        read_all(repo, "1/run/artifacts/dir/hello.txt").await,
        b"hi\n"
    );
    assert_eq!(
        read_all(repo, "1/run/artifacts/dir/sub/data.bin").await,
        b"\x00\x01\x02"
    );

    assert_eq!(
        listing(repo, "1/run/artifacts").await,
        owned(&[
            ("1/run/artifacts/dir", true, None),
            ("1/run/artifacts/notes.txt", false, Some(16)),
        ])
    );
    assert_eq!(
        listing(repo, "1/run/artifacts/dir").await,
        owned(&[
            ("1/run/artifacts/dir/hello.txt", false, Some(3)),
            ("1/run/artifacts/dir/sub", true, None),
        ])
    );
    assert_eq!(listing(repo, "").await, owned(&[("1", true, None)]));

    // Missing directories, files and paths below files list as empty.
    for dir in [
        "1/run/artifacts/nope",
        "1/run/artifacts/notes.txt",
        "1/run/artifacts/notes.txt/x",
        "1/run/art",
    ] {
        assert!(listing(repo, dir).await.is_empty(), "{dir}");
    }

    repo.delete(&p("1/run/artifacts/dir/hello.txt"))
        .await
        .unwrap();
    let err = repo
        .get(&p("1/run/artifacts/dir/hello.txt"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        err.message,
        "No such artifact: '1/run/artifacts/dir/hello.txt'"
    );
    repo.delete(&p("1/run/artifacts/dir")).await.unwrap();
    assert!(listing(repo, "1/run/artifacts/dir").await.is_empty());
    assert_eq!(
        listing(repo, "1/run/artifacts").await,
        owned(&[("1/run/artifacts/notes.txt", false, Some(16))])
    );
    // Deleting something absent is not an error.
    repo.delete(&p("1/run/artifacts/dir")).await.unwrap();
    repo.delete(&p("no/such/thing")).await.unwrap();
}

pub async fn put_replaces_an_existing_file(repo: &dyn ArtifactRepository) {
    repo.put(&p("a/f.txt"), body(b"first version, longer"))
        .await
        .unwrap();
    repo.put(&p("a/f.txt"), body(b"second")).await.unwrap();
    assert_eq!(read_all(repo, "a/f.txt").await, b"second");
    assert_eq!(
        listing(repo, "a").await,
        owned(&[("a/f.txt", false, Some(6))])
    );
}

pub async fn empty_body_gives_an_empty_file(repo: &dyn ArtifactRepository) {
    let empty: ByteStream = futures_util::stream::iter(Vec::new()).boxed();
    repo.put(&p("e/empty.txt"), empty).await.unwrap();
    assert_eq!(read_all(repo, "e/empty.txt").await, b"");
    assert_eq!(
        listing(repo, "e").await,
        owned(&[("e/empty.txt", false, Some(0))])
    );
}

pub async fn directories_are_not_files(repo: &dyn ArtifactRepository) {
    repo.put(&p("d/x.txt"), body(b"x")).await.unwrap();

    let err = repo.get(&p("d")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    assert_eq!(
        err.message,
        "Artifact path refers to a directory, not a file: 'd'"
    );
    assert!(is_not_a_file(&err));

    // Uploading onto a directory is refused and leaves it alone.
    let err = repo.put(&p("d"), body(b"y")).await.err().unwrap();
    assert!(is_not_a_file(&err), "{err}");
    assert_eq!(read_all(repo, "d/x.txt").await, b"x");

    // A file where a directory is needed.
    let err = repo
        .put(&p("d/x.txt/inner.txt"), body(b"z"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{err}");
    assert_eq!(read_all(repo, "d/x.txt").await, b"x");
    assert_eq!(
        listing(repo, "d").await,
        owned(&[("d/x.txt", false, Some(1))])
    );

    // The root is not a file either.
    let err = repo
        .put(&ArtifactPath::root(), body(b"r"))
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidParameterValue);
    let err = repo.get(&ArtifactPath::root()).await.err().unwrap();
    assert!(is_not_a_file(&err), "{err}");
}

/// A body of `chunks` × `chunk` bytes, streamed in and out, byte-identical.
pub async fn multi_megabyte_body_round_trip(
    repo: &dyn ArtifactRepository,
    chunk: usize,
    chunks: usize,
) {
    let stream =
        futures_util::stream::iter(0..chunks).map(move |k| Ok(Bytes::from(chunk_bytes(k, chunk))));
    repo.put(&p("big/model.bin"), stream.boxed()).await.unwrap();

    let download = repo.get(&p("big/model.bin")).await.unwrap();
    assert_eq!(download.size, (chunk * chunks) as u64);
    let mut expected = (0..chunks).flat_map(|k| chunk_bytes(k, chunk));
    let mut seen = 0usize;
    let mut pieces = 0;
    let mut stream = download.body;
    while let Some(piece) = stream.next().await {
        let piece = piece.unwrap();
        pieces += 1;
        for b in piece.iter() {
            assert_eq!(Some(*b), expected.next(), "byte {seen}");
            seen += 1;
        }
    }
    assert_eq!(seen, chunk * chunks);
    assert!(expected.next().is_none());
    assert!(pieces > 1, "the download is streamed in pieces");
    assert_eq!(
        listing(repo, "big").await,
        owned(&[("big/model.bin", false, Some((chunk * chunks) as i64))])
    );
}

/// A body that fails half-way: an error, and nothing is published.
pub async fn failed_upload_publishes_nothing(repo: &dyn ArtifactRepository, before_error: usize) {
    let chunk = 1024 * 1024;
    let stream = futures_util::stream::iter(0..before_error + 1).map(move |k| {
        if k == before_error {
            Err(std::io::Error::other("client went away"))
        } else {
            Ok(Bytes::from(chunk_bytes(k, chunk)))
        }
    });
    let err = repo
        .put(&p("fail/partial.bin"), stream.boxed())
        .await
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::BadRequest, "{err}");
    let err = repo.get(&p("fail/partial.bin")).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ResourceDoesNotExist, "{err}");
    assert!(listing(repo, "fail").await.is_empty());
}

/// `files` files and `dirs` sub-directories in one directory: all listed
/// once, sorted (stores list in pages; this crosses page boundaries when
/// the page is small).
pub async fn large_listing(repo: &dyn ArtifactRepository, files: usize, dirs: usize) {
    futures_util::stream::iter(0..files)
        .map(|i| async move {
            repo.put(&p(&format!("many/f{i:04}.txt")), body(b"x"))
                .await
                .unwrap()
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    for d in 0..dirs {
        repo.put(&p(&format!("many/d{d:02}/inner.txt")), body(b"in"))
            .await
            .unwrap();
    }
    let listed = listing(repo, "many").await;
    let mut expected: Vec<_> = (0..files)
        .map(|i| (format!("many/f{i:04}.txt"), false, Some(1)))
        .chain((0..dirs).map(|d| (format!("many/d{d:02}"), true, None)))
        .collect();
    expected.sort();
    assert_eq!(listed.len(), files + dirs);
    assert_eq!(listed, expected);

    // The whole tree goes in one delete.
    repo.delete(&p("many")).await.unwrap();
    assert!(listing(repo, "many").await.is_empty());
    assert!(listing(repo, "").await.is_empty());
}

/// Deleting `run/a` removes that file or tree only: not `run/ab`, not
/// `run/a.txt`.
pub async fn delete_is_scoped_to_the_path(repo: &dyn ArtifactRepository) {
    for path in [
        "run/a/x.txt",
        "run/a/deep/y.txt",
        "run/ab/z.txt",
        "run/a.txt",
    ] {
        repo.put(&p(path), body(b"1")).await.unwrap();
    }
    repo.delete(&p("run/a")).await.unwrap();
    assert_eq!(
        listing(repo, "run").await,
        owned(&[("run/a.txt", false, Some(1)), ("run/ab", true, None)])
    );
    assert_eq!(read_all(repo, "run/ab/z.txt").await, b"1");
    // A file delete leaves its siblings.
    repo.delete(&p("run/a.txt")).await.unwrap();
    assert_eq!(listing(repo, "run").await, owned(&[("run/ab", true, None)]));
}

pub async fn concurrent_uploads_to_one_path_leave_one_whole_file(
    repo: Arc<dyn ArtifactRepository>,
) {
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let repo = repo.clone();
        tasks.push(tokio::spawn(async move {
            let data = Bytes::from(vec![i; 300_000]);
            let stream = futures_util::stream::iter(vec![Ok(data)]).boxed();
            repo.put(&p("same/file.bin"), stream).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let data = read_all(&*repo, "same/file.bin").await;
    assert_eq!(data.len(), 300_000);
    assert!(
        data.iter().all(|b| *b == data[0]),
        "bytes of two uploads mixed"
    );
    assert_eq!(
        listing(&*repo, "same").await,
        owned(&[("same/file.bin", false, Some(300_000))])
    );
}

/// Names with spaces, unicode and reserved URL characters survive.
pub async fn unusual_names_round_trip(repo: &dyn ArtifactRepository) {
    let names = [
        "a b.txt",
        "données.csv",
        "x+y=z&w.json",
        "q?.txt",
        "50%.txt",
    ];
    for name in names {
        repo.put(&p(&format!("odd/{name}")), body(b"v"))
            .await
            .unwrap();
    }
    let listed: Vec<_> = listing(repo, "odd")
        .await
        .into_iter()
        .map(|f| f.0)
        .collect();
    let mut expected: Vec<_> = names.iter().map(|n| format!("odd/{n}")).collect();
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(read_all(repo, "odd/a b.txt").await, b"v");
    assert_eq!(read_all(repo, "odd/données.csv").await, b"v");
}
