//! [`ArtifactPath`]: the only way to name a file inside an artifact
//! repository. Built by [`ArtifactPath::parse`], which applies MLflow's
//! `validate_path_is_safe` (and is stricter where MLflow relies on the host
//! OS): the raw text is percent-decoded repeatedly, then anything that could
//! leave the repository root (`..`, absolute paths, drive letters,
//! backslashes, `;` path parameters hiding `..`, NUL and other control
//! characters, `#`) is refused with 400 `INVALID_PARAMETER_VALUE`
//! "Invalid path". The result is normalised: `/`-separated, no empty or `.`
//! segments, no leading or trailing slash; the empty path is the root.

use crate::error::{ApiError, ApiResult};
use percent_encoding::percent_decode_str;
use std::fmt;

/// MLflow decodes at most this many times; a path still changing after that
/// is refused.
const MAX_DECODE_ROUNDS: usize = 10;

/// Message of every path refusal, as MLflow words it.
pub const INVALID_PATH: &str = "Invalid path";

/// Start of the message a repository gives when a file operation names a
/// directory (MLflow: "Artifact path refers to a directory, not a file: '…'").
pub const NOT_A_FILE_PREFIX: &str = "Artifact path refers to a directory, not a file";

/// The 400 every refused path gets.
pub fn invalid_path() -> ApiError {
    ApiError::invalid_parameter(INVALID_PATH)
}

/// The marker a [`not_a_file`] error carries as its source, so callers
/// recognise it by type rather than by its text.
#[derive(Debug)]
pub struct NotAFile;

impl std::fmt::Display for NotAFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the path names a directory")
    }
}

impl std::error::Error for NotAFile {}

/// The error of a file operation on a directory (`INVALID_PARAMETER_VALUE`).
pub fn not_a_file(path: &ArtifactPath) -> ApiError {
    ApiError::invalid_parameter(format!("{NOT_A_FILE_PREFIX}: '{path}'")).with_source(NotAFile)
}

/// Whether `err` is the [`not_a_file`] error (the proxy answers it in
/// FastAPI's `{"detail": …}` shape).
pub fn is_not_a_file(err: &ApiError) -> bool {
    err.source_as::<NotAFile>().is_some()
}

/// A validated, normalised path relative to a repository root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ArtifactPath(String);

impl ArtifactPath {
    /// The repository root (the empty path).
    pub fn root() -> ArtifactPath {
        ArtifactPath(String::new())
    }

    /// Validates raw request text (a URL path tail or a query value).
    pub fn parse(raw: &str) -> ApiResult<ArtifactPath> {
        Self::parse_with_trailing_slash(raw).map(|(path, _)| path)
    }

    /// Like [`parse`](Self::parse), also telling whether the decoded text was
    /// empty or ended with `/` (an upload target without a file name).
    pub fn parse_with_trailing_slash(raw: &str) -> ApiResult<(ArtifactPath, bool)> {
        let decoded = decode(raw)?;
        let text = strip_file_scheme(&decoded);
        check_text(text)?;
        let mut segments: Vec<&str> = Vec::new();
        for segment in text.split('/') {
            check_segment(segment)?;
            if !segment.is_empty() && segment != "." {
                segments.push(segment);
            }
        }
        let open_ended = text.is_empty() || text.ends_with('/');
        Ok((ArtifactPath(segments.join("/")), open_ended))
    }

    /// The path as `a/b/c` (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// `self/other`. Both are validated, so the result is too.
    pub fn join(&self, other: &ArtifactPath) -> ArtifactPath {
        match (self.is_root(), other.is_root()) {
            (true, _) => other.clone(),
            (_, true) => self.clone(),
            _ => ArtifactPath(format!("{}/{}", self.0, other.0)),
        }
    }

    /// The last segment; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            None
        } else {
            self.0.rsplit('/').next()
        }
    }

    /// The path without its last segment; `None` for the root.
    pub fn parent(&self) -> Option<ArtifactPath> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rfind('/') {
            Some(i) => ArtifactPath(self.0[..i].to_string()),
            None => ArtifactPath::root(),
        })
    }

    /// The segments, outermost first (none for the root).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| !s.is_empty())
    }

    /// `self` relative to `base` when `base` is `self` or one of its
    /// ancestors (segment-wise: `ab` is not under `a`).
    pub fn strip_prefix(&self, base: &ArtifactPath) -> Option<ArtifactPath> {
        if base.is_root() {
            return Some(self.clone());
        }
        if self.0 == base.0 {
            return Some(ArtifactPath::root());
        }
        self.0
            .strip_prefix(base.0.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .map(|rest| ArtifactPath(rest.to_string()))
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ArtifactPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Percent-decodes until the text stops changing (MLflow's `_decode`), at
/// most [`MAX_DECODE_ROUNDS`] times. Invalid UTF-8 after decoding is refused.
pub fn decode(raw: &str) -> ApiResult<String> {
    let mut current = raw.to_string();
    for _ in 0..MAX_DECODE_ROUNDS {
        let decoded = percent_decode_str(&current)
            .decode_utf8()
            .map_err(|_| invalid_path())?
            .into_owned();
        if decoded == current {
            return Ok(current);
        }
        current = decoded;
    }
    Err(invalid_path())
}

/// `file:` URIs are turned into their path first, as MLflow does
/// (`file:///etc/x` → `/etc/x`, then refused as absolute).
fn strip_file_scheme(text: &str) -> &str {
    let Some(prefix) = text.get(..5) else {
        return text;
    };
    if !prefix.eq_ignore_ascii_case("file:") {
        return text;
    }
    let rest = &text[5..];
    match rest.strip_prefix("//") {
        // `file://authority/path` → `/path` (or empty when no path).
        Some(after) => match after.find('/') {
            Some(i) => &after[i..],
            None => "",
        },
        None => rest,
    }
}

/// Checks on the whole decoded text.
fn check_text(text: &str) -> ApiResult<()> {
    let bad_char = |c: char| c.is_control() || c == '#' || c == '\\';
    if text.chars().any(bad_char) {
        return Err(invalid_path());
    }
    // Absolute in POSIX terms (`/x`, `//x`).
    if text.starts_with('/') {
        return Err(invalid_path());
    }
    // A Windows drive (`C:`, `C:x`, `C:/x`).
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(invalid_path());
    }
    Ok(())
}

/// Checks on one `/`-separated segment: `..`, and `..;params` (servlet-style
/// path parameters that some proxies strip, turning the segment into `..`).
fn check_segment(segment: &str) -> ApiResult<()> {
    let before_params = segment.split(';').next().unwrap_or(segment);
    if before_params == ".." {
        return Err(invalid_path());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn ok(raw: &str) -> String {
        match ArtifactPath::parse(raw) {
            Ok(p) => p.as_str().to_string(),
            Err(e) => panic!("{raw:?} refused: {e}"),
        }
    }

    fn refused(raw: &str) {
        match ArtifactPath::parse(raw) {
            Ok(p) => panic!("{raw:?} accepted as {p:?}"),
            Err(e) => {
                assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{raw:?}");
                assert_eq!(e.message, "Invalid path", "{raw:?}");
            }
        }
    }

    #[test]
    fn plain_paths_are_kept() {
        assert_eq!(
            ok("1/abc/artifacts/dir/hello.txt"),
            "1/abc/artifacts/dir/hello.txt"
        );
        assert_eq!(ok("MLmodel"), "MLmodel");
        assert_eq!(ok("a b/c-d_e.f~g"), "a b/c-d_e.f~g");
        assert_eq!(ok("model/données.pkl"), "model/données.pkl");
        assert_eq!(ok("..."), "...");
        assert_eq!(ok("..a/b.."), "..a/b..");
        assert_eq!(ok("a/.hidden"), "a/.hidden");
        assert_eq!(ok("100%.txt"), "100%.txt");
        assert_eq!(ok("a;b"), "a;b");
        assert_eq!(ok("ab:c"), "ab:c");
        assert_eq!(ok("q?x=1"), "q?x=1");
    }

    #[test]
    fn empty_and_dot_paths_are_the_root() {
        for raw in ["", ".", "./", "./.", "%2E"] {
            assert!(ArtifactPath::parse(raw).unwrap().is_root(), "{raw:?}");
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(ok("a//b"), "a/b");
        assert_eq!(ok("a/./b/"), "a/b");
        assert_eq!(ok("./a"), "a");
        assert_eq!(ok("a/b/."), "a/b");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(ok("dir%2Fhello.txt"), "dir/hello.txt");
        assert_eq!(ok("a%20b"), "a b");
        assert_eq!(ok("a%2520b"), "a b");
        assert_eq!(ok("%25252541"), "A");
        // A '+' is not a space in a path.
        assert_eq!(ok("a+b"), "a+b");
    }

    #[test]
    fn parent_segments_are_refused() {
        for raw in [
            "..",
            "../x",
            "a/../../x",
            "a/..",
            "a/../b",
            "1/run/artifacts/../escape.txt",
            "../../../../escape5.txt",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn encoded_parent_segments_are_refused() {
        for raw in [
            "%2e%2e/x",
            "%2E%2E/escape2.txt",
            "a/%2e%2e/%2e%2e/x",
            "%252e%252e%252fx",
            "%252E%252E/%252E%252E/x",
            "%25252e%25252e/x",
            ".%2e/x",
            "a%2F..%2Fb",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn absolute_paths_are_refused() {
        for raw in [
            "/etc/passwd",
            "//etc/x",
            "//etc/x.txt",
            "%2Fetc%2Fpasswd",
            "%252Fetc",
            "file:///etc/passwd",
            "FILE://host/etc/passwd",
        ] {
            refused(raw);
        }
        assert_eq!(ok("file:a/b"), "a/b");
    }

    #[test]
    fn windows_shapes_are_refused() {
        for raw in [
            "..\\x",
            "a\\..\\..\\x",
            "C:\\x",
            "C:/x",
            "c:x",
            "\\\\server\\share",
            "%5C..%5Cx",
            "a/%5c",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn path_parameters_hiding_parent_are_refused() {
        for raw in [
            "a/..;/b",
            "..;/x",
            "a/..;jsessionid=1/b",
            "a/%2e%2e;/b",
            "a/..%3B/b",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn control_characters_and_fragments_are_refused() {
        for raw in [
            "a\0b", "a%00b", "a%2500", "a\nb", "a%0Ab", "a\u{7f}", "a#b", "a%23b", "a\u{85}b",
        ] {
            refused(raw);
        }
    }

    #[test]
    fn invalid_utf8_and_endless_encoding_are_refused() {
        refused("%ff");
        // 11 layers of encoding of '.' never settle within 10 rounds.
        let mut s = "%2E".to_string();
        for _ in 0..10 {
            s = s.replace('%', "%25");
        }
        refused(&s);
    }

    #[test]
    fn trailing_slash_is_reported() {
        let (p, open) = ArtifactPath::parse_with_trailing_slash("a/dir/").unwrap();
        assert_eq!(p.as_str(), "a/dir");
        assert!(open);
        let (_, open) = ArtifactPath::parse_with_trailing_slash("a/dir%2F").unwrap();
        assert!(open);
        let (_, open) = ArtifactPath::parse_with_trailing_slash("").unwrap();
        assert!(open);
        let (_, open) = ArtifactPath::parse_with_trailing_slash("a/f.txt").unwrap();
        assert!(!open);
    }

    #[test]
    fn helpers() {
        let base = ArtifactPath::parse("1/run/artifacts").unwrap();
        let rel = ArtifactPath::parse("dir/hello.txt").unwrap();
        let full = base.join(&rel);
        assert_eq!(full.as_str(), "1/run/artifacts/dir/hello.txt");
        assert_eq!(full.file_name(), Some("hello.txt"));
        assert_eq!(
            full.segments().collect::<Vec<_>>(),
            ["1", "run", "artifacts", "dir", "hello.txt"]
        );
        assert_eq!(full.strip_prefix(&base), Some(rel.clone()));
        assert_eq!(base.strip_prefix(&base), Some(ArtifactPath::root()));
        assert_eq!(full.strip_prefix(&ArtifactPath::root()), Some(full.clone()));
        assert_eq!(
            ArtifactPath::parse("1/runx")
                .unwrap()
                .strip_prefix(&ArtifactPath::parse("1/run").unwrap()),
            None
        );
        assert_eq!(full.parent().unwrap().as_str(), "1/run/artifacts/dir");
        assert_eq!(
            ArtifactPath::parse("a").unwrap().parent(),
            Some(ArtifactPath::root())
        );
        assert_eq!(ArtifactPath::root().parent(), None);
        assert_eq!(ArtifactPath::root().file_name(), None);
        assert_eq!(ArtifactPath::root().segments().count(), 0);
        assert_eq!(ArtifactPath::root().join(&rel), rel);
        assert_eq!(rel.join(&ArtifactPath::root()), rel);
        assert_eq!(full.to_string(), "1/run/artifacts/dir/hello.txt");
    }

    #[test]
    fn not_a_file_error_is_recognised() {
        let p = ArtifactPath::parse("a/dir").unwrap();
        let e = not_a_file(&p);
        assert_eq!(
            e.message,
            "Artifact path refers to a directory, not a file: 'a/dir'"
        );
        assert!(is_not_a_file(&e));
        assert!(!is_not_a_file(&invalid_path()));
    }
}
