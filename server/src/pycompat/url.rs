//! `urllib.parse.urlsplit` and `urlparse`: how MLflow cuts artifact
//! locations, model-version sources and `models:/` URIs into parts. Both
//! rest on one scheme and authority rule, [`urlsplit`].

/// The parts of a URL as `urllib.parse.urlsplit` cuts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitUrl<'a> {
    /// Lower-cased; empty without one.
    pub scheme: String,
    pub netloc: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Always empty when fragments are not allowed (a `#` then stays in the
    /// path or query).
    pub fragment: &'a str,
}

/// `urllib.parse.urlsplit(url, allow_fragments=…)`: the scheme is the text
/// before the first `:` when it starts with a letter and holds only
/// letters, digits, `+`, `-` and `.`; the authority follows `//` up to the
/// first `/`, `?` or `#`.
pub fn urlsplit(url: &str, allow_fragments: bool) -> SplitUrl<'_> {
    let mut scheme = String::new();
    let mut rest = url;
    if let Some(i) = url.find(':') {
        let candidate = &url[..i];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &url[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let mut fragment = "";
    if allow_fragments {
        if let Some((before, after)) = rest.split_once('#') {
            rest = before;
            fragment = after;
        }
    }
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    SplitUrl {
        scheme,
        netloc,
        path,
        query,
        fragment,
    }
}

/// The parts of `urllib.parse.urlparse` that MLflow's artifact-location
/// checks read.
pub struct UrlParts {
    pub params: String,
    pub query: String,
    pub fragment: String,
}

/// Schemes for which `urlparse` splits `;params` off the last path segment.
const USES_PARAMS: [&str; 15] = [
    "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp", "rtspu", "sip", "sips",
    "mms", "sftp", "tel",
];

/// `urllib.parse.urlparse(url)` (params, query, fragment only): `urlsplit`
/// with fragments, then `;params` of the last path segment.
pub fn urlparse(url: &str) -> UrlParts {
    let parts = urlsplit(url, true);
    let mut params = String::new();
    if USES_PARAMS.contains(&parts.scheme.as_str()) {
        let last = parts
            .path
            .rfind('/')
            .map_or(parts.path, |i| &parts.path[i..]);
        if let Some(i) = last.find(';') {
            params = last[i + 1..].to_string();
        }
    }
    UrlParts {
        params,
        query: parts.query.to_string(),
        fragment: parts.fragment.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsplit_without_fragments() {
        let p = urlsplit("models://host/x?y", false);
        assert_eq!(
            (p.scheme.as_str(), p.netloc, p.path, p.query),
            ("models", "host", "/x", "y")
        );
        let p = urlsplit("/tmp/x", false);
        assert_eq!((p.scheme.as_str(), p.netloc, p.path), ("", "", "/tmp/x"));
        let p = urlsplit("S3://b/k#f?q", false);
        assert_eq!(
            (p.scheme.as_str(), p.netloc, p.path, p.query, p.fragment),
            ("s3", "b", "/k#f", "q", "")
        );
        let p = urlsplit("//h#x/y", false);
        assert_eq!((p.netloc, p.path), ("h", "#x/y"));
    }

    #[test]
    fn urlsplit_with_fragments() {
        let p = urlsplit("https://h/p?q=1#frag?x", true);
        assert_eq!(
            (p.scheme.as_str(), p.netloc, p.path, p.query, p.fragment),
            ("https", "h", "/p", "q=1", "frag?x")
        );
        // Not a scheme: starts with a digit.
        let p = urlsplit("1a:b", true);
        assert_eq!((p.scheme.as_str(), p.path), ("", "1a:b"));
    }

    #[test]
    fn urlparse_params_follow_the_scheme() {
        let p = urlparse("http://h/a;b/c;d?e#f");
        assert_eq!(
            (p.params.as_str(), p.query.as_str(), p.fragment.as_str()),
            ("d", "e", "f")
        );
        assert_eq!(urlparse("/a/b;p").params, "p");
        assert_eq!(urlparse("s3://b/k;p").params, "");
        assert_eq!(urlparse("file:///x#y").fragment, "y");
    }
}
