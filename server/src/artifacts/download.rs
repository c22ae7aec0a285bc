//! The download response of every artifact route (proxy, `/get-artifact`,
//! model-version and logged-model files): MLflow's headers, with the
//! content types narrowed so a stored file never renders as a document on
//! the server's origin.

use super::path::ArtifactPath;
use super::Download;
use actix_web::body::SizedStream;
use actix_web::http::header::{self, ContentEncoding};
use actix_web::HttpResponse;

/// The download response MLflow sends: guessed type, attachment, nosniff;
/// the bytes are streamed with their length and never re-compressed.
pub fn file_response(path: &ArtifactPath, download: Download) -> HttpResponse {
    let name = path.file_name().unwrap_or("");
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, guess_mime_type(name)))
        .insert_header((header::CONTENT_DISPOSITION, content_disposition(name)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(ContentEncoding::Identity)
        .body(SizedStream::new(download.size, download.body))
}

/// MLflow's text extensions (`mlflow.utils.mime_type_utils`), served as
/// `text/plain`; `MLmodel`/`MLproject` are matched as whole names.
const TEXT_EXTENSIONS: &[&str] = &[
    "txt",
    "log",
    "err",
    "cfg",
    "conf",
    "cnf",
    "cf",
    "ini",
    "properties",
    "prop",
    "hocon",
    "toml",
    "yaml",
    "yml",
    "xml",
    "json",
    "js",
    "py",
    "py3",
    "csv",
    "tsv",
    "md",
    "rst",
    "ipynb",
    "MLmodel",
    "MLproject",
];

/// MLflow's `_guess_mime_type` for text: the extension (Python's
/// `splitext`, leading dots ignored) or, without one, the whole name is
/// looked up in the text list → `text/plain`. Unlike MLflow, everything
/// else that is not a raster image is `application/octet-stream`: an
/// uploaded `.html`, `.svg` or `.xhtml` must never reach a browser as a
/// document it renders or runs scripts of on the server's origin (with
/// `X-Content-Type-Options: nosniff` and an attachment disposition).
pub fn guess_mime_type(file_name: &str) -> String {
    let stem = file_name.trim_start_matches('.');
    let extension = stem.rfind('.').map_or("", |i| &stem[i + 1..]);
    let key = if extension.is_empty() {
        file_name
    } else {
        extension
    };
    if TEXT_EXTENSIONS.contains(&key) {
        return "text/plain".to_string();
    }
    if extension.is_empty() {
        return "application/octet-stream".to_string();
    }
    match mime_guess::from_ext(extension).first_raw() {
        // SVG is an image that can carry scripts.
        Some(image) if image.starts_with("image/") && image != "image/svg+xml" => image.to_string(),
        _ => "application/octet-stream".to_string(),
    }
}

/// werkzeug's token characters: a name made of them goes unquoted.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn quote_header_value(value: &str) -> String {
    if !value.is_empty() && value.chars().all(is_token_char) {
        return value.to_string();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The ASCII letter a Latin-1 accented letter decomposes to (what Python's
/// NFKD + `encode("ascii", "ignore")` keeps); other non-ASCII characters
/// are dropped.
fn ascii_fold(c: char) -> Option<char> {
    const FROM: &str = "ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖòóôõöÙÚÛÜùúûüÝýÿ";
    const TO: &str = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOoooooUUUUuuuuYyy";
    if c.is_ascii() {
        return Some(c);
    }
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
}

/// `attachment; filename=<name>` as MLflow builds it (RFC 6266; non-ASCII
/// names get an ASCII fallback plus `filename*=UTF-8''…`).
pub fn content_disposition(file_name: &str) -> String {
    if file_name.is_ascii() {
        return format!("attachment; filename={}", quote_header_value(file_name));
    }
    let fallback: String = file_name.chars().filter_map(ascii_fold).collect();
    let fallback = if fallback.is_empty() {
        "download".to_string()
    } else {
        fallback
    };
    const RFC5987: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(file_name, RFC5987);
    format!(
        "attachment; filename={}; filename*=UTF-8''{encoded}",
        quote_header_value(&fallback)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_are_text_raster_images_or_bytes() {
        assert_eq!(guess_mime_type("hello.txt"), "text/plain");
        assert_eq!(guess_mime_type("conda.yaml"), "text/plain");
        assert_eq!(guess_mime_type("x.yml"), "text/plain");
        assert_eq!(guess_mime_type("cfg.json"), "text/plain");
        assert_eq!(guess_mime_type("README.md"), "text/plain");
        assert_eq!(guess_mime_type("MLmodel"), "text/plain");
        assert_eq!(guess_mime_type("MLproject"), "text/plain");
        assert_eq!(
            guess_mime_type("python_model.pkl"),
            "application/octet-stream"
        );
        assert_eq!(guess_mime_type("data.bin"), "application/octet-stream");
        assert_eq!(guess_mime_type("noext"), "application/octet-stream");
        assert_eq!(guess_mime_type(".bashrc"), "application/octet-stream");
        assert_eq!(guess_mime_type("plot.png"), "image/png");
        assert_eq!(guess_mime_type("photo.JPG"), "image/jpeg");
        assert_eq!(guess_mime_type("anim.gif"), "image/gif");
        for active in [
            "page.html",
            "page.htm",
            "x.xhtml",
            "logo.svg",
            "doc.pdf",
            "a.swf",
        ] {
            assert_eq!(
                guess_mime_type(active),
                "application/octet-stream",
                "{active}"
            );
        }
    }

    #[test]
    fn content_disposition_quoting() {
        assert_eq!(content_disposition("b.txt"), "attachment; filename=b.txt");
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\""
        );
        assert_eq!(
            content_disposition("q\"x"),
            "attachment; filename=\"q\\\"x\""
        );
        assert_eq!(
            content_disposition("données.txt"),
            "attachment; filename=donnees.txt; filename*=UTF-8''donn%C3%A9es.txt"
        );
        assert_eq!(
            content_disposition("日本"),
            "attachment; filename=download; filename*=UTF-8''%E6%97%A5%E6%9C%AC"
        );
    }
}
