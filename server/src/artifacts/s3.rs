//! Artifacts in an S3 bucket under a key prefix ([`S3ArtifactRepository`]):
//! AWS S3, MinIO, Ceph and other S3-compatible stores, configured by the
//! variables `mlflow server` users already set ([`S3Settings`]).
//!
//! * Keys are `<prefix>/<ArtifactPath>`; paths are validated
//!   [`ArtifactPath`]s, so no key ever leaves the prefix, and a prefix is
//!   matched segment-wise (`a` never covers `ab`).
//! * Uploads stream: a body smaller than one part is a single `PutObject`;
//!   a larger one is an S3 multipart upload with parts buffered one at a
//!   time (the next part is read while the previous one is sent), aborted on
//!   any error, so memory stays at about two parts whatever the size.
//! * Downloads stream the `GetObject` body as it arrives.
//! * Directories are key prefixes. As on disk, a file operation on a
//!   directory is refused, and a file is never written where a directory is
//!   (or below another file).
//! * The credentials live only inside the SDK client; nothing here prints
//!   them (`Debug` of [`S3ArtifactRepository`] shows bucket and prefix).

use super::path::{invalid_path, not_a_file};
use super::{
    ArtifactPath, ArtifactRepository, ByteStream, DirectTransfer, Download, MultipartUpload,
    PartCredential, PresignedDownload, UploadedPart,
};
use crate::config::{ArtifactSettings, S3Settings};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::wire::FileInfo;
use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Size of the parts of a streamed upload (and the largest body sent as a
/// single `PutObject`). S3 wants at least 5 MiB for every part but the last.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest part (all parts but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's largest part number.
pub const MAX_PARTS: u32 = 10_000;
/// The part size doubles every this many parts, so that a stream of unknown
/// length can reach ~500 GB within S3's 10,000 parts.
const PARTS_PER_SIZE_STEP: u32 = 2_000;
/// Lifetime of the presigned part-upload URLs (boto3's default).
const UPLOAD_URL_TTL: Duration = Duration::from_secs(3600);
/// Keys per `DeleteObjects` call (S3's maximum).
const DELETE_BATCH: usize = 1000;
/// How long a TCP (and TLS) connect to the S3 endpoint may take. An
/// endpoint that is down answers uploads, downloads and listings with `503
/// TEMPORARILY_UNAVAILABLE` after at most this (times the SDK's three
/// attempts) instead of hanging.
const S3_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long S3 may take to start answering a request once it is sent (the
/// request body included: up to one part, 8 MiB at first, so this allows
/// about 70 KB/s). A store that accepts connections but never answers fails
/// the request after this instead of holding it forever.
const S3_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// An upload body that may be polled after its end.
type Body = futures_util::stream::Fuse<ByteStream>;

// ---------------------------------------------------------------------------
// locations
// ---------------------------------------------------------------------------

/// `s3://bucket/prefix`, validated: a plausible bucket name and a prefix
/// that is a safe [`ArtifactPath`] (no `..`, no backslashes …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: ArtifactPath,
}

/// Whether `uri` uses the `s3` scheme.
pub fn is_s3_uri(uri: &str) -> bool {
    let uri = uri.trim();
    uri.len() >= 5 && uri[..5].eq_ignore_ascii_case("s3://")
}

impl S3Location {
    pub fn parse(uri: &str) -> ApiResult<S3Location> {
        let uri = uri.trim();
        if !is_s3_uri(uri) {
            return Err(ApiError::invalid_parameter(format!(
                "Not an S3 URI: '{uri}' (expected s3://bucket/prefix)"
            )));
        }
        let rest = &uri[5..];
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket(bucket) {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid S3 bucket name in '{uri}'"
            )));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: ArtifactPath::parse(prefix)?,
        })
    }

    /// Whether `other` is this location or lies below it.
    pub fn contains(&self, other: &S3Location) -> bool {
        self.bucket == other.bucket && other.prefix.strip_prefix(&self.prefix).is_some()
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_root() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// S3's rules (3–63 characters of lower-case letters, digits, `.` and `-`),
/// relaxed for legacy and MinIO buckets (upper case, `_`).
fn valid_bucket(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !name.starts_with(['.', '-'])
}

/// The repository and base path for an `s3://` artifact URI stored on a
/// run, a logged model or a model version. The server reads S3 with its own
/// credentials, so the URI must lie inside one of the server's own S3 roots
/// (`--default-artifact-root` or `--artifacts-destination`): an experiment
/// created with `artifact_location = s3://someone-elses-bucket/…` cannot be
/// used to read other buckets through the server.
pub fn resolve_s3_uri(
    settings: &ArtifactSettings,
    uri: &str,
) -> ApiResult<(Arc<dyn ArtifactRepository>, ArtifactPath)> {
    let location = S3Location::parse(uri)?;
    let allowed = [
        settings.default_artifact_root.as_str(),
        settings.artifacts_destination.as_str(),
    ]
    .into_iter()
    .filter(|root| is_s3_uri(root))
    .filter_map(|root| S3Location::parse(root).ok())
    .any(|root| root.contains(&location));
    if !allowed {
        return Err(ApiError::new(
            ErrorCode::PermissionDenied,
            format!(
                "Artifact URI '{location}' is outside the artifact roots of this server; \
                 only URIs under --default-artifact-root or --artifacts-destination are served."
            ),
        ));
    }
    let repo =
        S3ArtifactRepository::with_client(shared_client(&settings.s3)?, location, &settings.s3);
    Ok((Arc::new(repo), ArtifactPath::root()))
}

// ---------------------------------------------------------------------------
// clients
// ---------------------------------------------------------------------------

/// One SDK client per distinct settings (the server has one; tests may use
/// several), so connections and cached credentials are shared by every
/// repository, including those made per request for `s3://` run URIs.
pub fn shared_client(settings: &S3Settings) -> ApiResult<Client> {
    static CLIENTS: OnceLock<Mutex<Vec<(S3Settings, Client)>>> = OnceLock::new();
    let clients = CLIENTS.get_or_init(|| Mutex::new(Vec::new()));
    let mut clients = clients
        .lock()
        .map_err(|_| ApiError::internal("S3 client cache poisoned"))?;
    if let Some((_, client)) = clients.iter().find(|(s, _)| s == settings) {
        return Ok(client.clone());
    }
    let client = build_client(settings)?;
    clients.push((settings.clone(), client.clone()));
    Ok(client)
}

/// A new SDK client for `settings` (path-style with a custom endpoint,
/// SigV4, checksums only where S3 requires them so that older
/// S3-compatible stores accept the requests).
pub fn build_client(settings: &S3Settings) -> ApiResult<Client> {
    use aws_sdk_s3::config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation, SharedCredentialsProvider,
    };
    let region = Region::new(settings.region.clone());
    let http = http_client(settings)?;
    let credentials = match (&settings.access_key_id, &settings.secret_access_key) {
        (Some(id), Some(secret)) => SharedCredentialsProvider::new(Credentials::new(
            id.clone(),
            secret.clone(),
            settings.session_token.clone(),
            None,
            "ferroflow-environment",
        )),
        _ => SharedCredentialsProvider::new(default_chain::LazyDefaultChain::new(
            region.clone(),
            http.clone(),
        )),
    };
    let mut config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .http_client(http)
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .connect_timeout(S3_CONNECT_TIMEOUT)
                .read_timeout(S3_READ_TIMEOUT)
                .build(),
        )
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .force_path_style(
            settings
                .addressing_style
                .path_style(settings.endpoint_url.is_some()),
        );
    if let Some(endpoint) = &settings.endpoint_url {
        let endpoint = if endpoint.contains("://") {
            endpoint.clone()
        } else {
            format!("https://{endpoint}")
        };
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

fn http_client(settings: &S3Settings) -> ApiResult<aws_sdk_s3::config::SharedHttpClient> {
    use aws_smithy_http_client::tls::{
        rustls_provider::CryptoMode, Provider, TlsContext, TrustStore,
    };
    if settings.ignore_tls {
        return Ok(insecure::http_client());
    }
    let mut trust = TrustStore::default();
    if let Some(path) = &settings.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            ApiError::internal(format!(
                "Cannot read AWS_CA_BUNDLE '{}': {e}",
                path.display()
            ))
        })?;
        trust = trust.with_pem_certificate(pem);
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| ApiError::internal(format!("Invalid TLS settings for S3: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

/// The AWS default credential chain (profile, web identity, ECS, instance
/// metadata), built on first use so that clients can be made outside an
/// async context.
mod default_chain {
    use aws_config::default_provider::credentials::DefaultCredentialsChain;
    use aws_config::provider_config::ProviderConfig;
    use aws_credential_types::provider::{future, ProvideCredentials};
    use aws_sdk_s3::config::{Region, SharedHttpClient};
    use tokio::sync::OnceCell;

    pub struct LazyDefaultChain {
        region: Region,
        http: SharedHttpClient,
        chain: OnceCell<DefaultCredentialsChain>,
    }

    impl LazyDefaultChain {
        pub fn new(region: Region, http: SharedHttpClient) -> Self {
            LazyDefaultChain {
                region,
                http,
                chain: OnceCell::new(),
            }
        }
    }

    impl std::fmt::Debug for LazyDefaultChain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("LazyDefaultChain")
        }
    }

    impl ProvideCredentials for LazyDefaultChain {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::new(async move {
                let chain = self
                    .chain
                    .get_or_init(|| async {
                        DefaultCredentialsChain::builder()
                            .region(self.region.clone())
                            .configure(
                                ProviderConfig::without_region()
                                    .with_region(Some(self.region.clone()))
                                    .with_http_client(self.http.clone()),
                            )
                            .build()
                            .await
                    })
                    .await;
                chain.provide_credentials().await
            })
        }
    }
}

/// `MLFLOW_S3_IGNORE_TLS`: HTTPS without certificate verification (boto3's
/// `verify=False`), for endpoints with self-signed certificates.
mod insecure {
    use aws_sdk_s3::config::SharedHttpClient;
    use aws_sdk_s3::primitives::SdkBody;
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use std::sync::Arc;

    type Inner = Client<hyper_rustls::HttpsConnector<TcpConnector>, SdkBody>;

    #[derive(Clone)]
    struct Insecure {
        client: Inner,
    }

    impl std::fmt::Debug for Insecure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("InsecureHttpClient")
        }
    }

    /// Accepts any certificate; handshake signatures are still checked.
    #[derive(Debug)]
    struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    pub fn http_client() -> SharedHttpClient {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        SharedHttpClient::new(Insecure { client })
    }

    impl HttpConnector for Insecure {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let client = self.client.clone();
            HttpConnectorFuture::new(async move {
                let request = request
                    .try_into_http1x()
                    .map_err(|e| ConnectorError::user(e.into()))?;
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| ConnectorError::io(e.into()))?;
                let (parts, body) = response.into_parts();
                let response = http::Response::from_parts(parts, SdkBody::from_body_1_x(body));
                HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
            })
        }
    }

    impl HttpClient for Insecure {
        fn http_connector(
            &self,
            _settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/// The S3 error code of a failed call (`NoSuchKey` …), or the HTTP status
/// for bodiless answers (HEAD).
fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E>) -> (Option<String>, Option<u16>) {
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    (code, status)
}

fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    let (code, status) = error_code(err);
    matches!(code.as_deref(), Some("NoSuchKey" | "NotFound"))
        || (status == Some(404)
            && !matches!(code.as_deref(), Some("NoSuchBucket" | "NoSuchUpload")))
}

/// An S3 failure as an MLflow error (codes as MLflow's `BOTO_TO_MLFLOW_ERROR`
/// maps them; bad credentials are a 403 here, ferroflow has no 401 code).
fn s3_error<E>(what: &str, err: SdkError<E>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(reason) = unreachable_reason(&err) {
        // The SDK's text (connector internals, addresses) is for the log.
        tracing::warn!(error = %DisplayErrorContext(&err), "S3 unreachable");
        return ApiError::new(
            ErrorCode::TemporarilyUnavailable,
            format!("{what}: the artifact store (S3) is unreachable ({reason}). Try again later."),
        );
    }
    let (code, status) = error_code(&err);
    let mlflow_code = match (code.as_deref(), status) {
        (Some("SlowDown" | "ServiceUnavailable" | "RequestTimeout"), _) | (_, Some(503)) => {
            ErrorCode::TemporarilyUnavailable
        }
        (Some("NoSuchKey" | "NoSuchBucket" | "NoSuchUpload" | "NotFound"), _) | (_, Some(404)) => {
            ErrorCode::ResourceDoesNotExist
        }
        (
            Some("AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken"),
            _,
        )
        | (_, Some(401 | 403)) => ErrorCode::PermissionDenied,
        (
            Some(
                "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "EntityTooLarge"
                | "InvalidArgument" | "MalformedXML" | "KeyTooLongError",
            ),
            _,
        ) => ErrorCode::InvalidParameterValue,
        _ => ErrorCode::InternalError,
    };
    let detail = match (err.message(), code.as_deref()) {
        (Some(message), Some(code)) => format!("{code}: {message}"),
        (Some(message), None) => message.to_string(),
        (None, Some(code)) => code.to_string(),
        (None, None) => match status {
            Some(status) => format!("HTTP {status}"),
            None => DisplayErrorContext(&err).to_string(),
        },
    };
    ApiError::new(mlflow_code, format!("{what}: {detail}"))
}

/// Why a call got no answer from S3 at all (the endpoint refused or dropped
/// the connection, or did not answer in time); `None` when S3 answered.
fn unreachable_reason<E>(err: &SdkError<E>) -> Option<&'static str> {
    match err {
        SdkError::TimeoutError(_) => Some("no answer in time"),
        SdkError::DispatchFailure(failure) => Some(if failure.is_timeout() {
            "no answer in time"
        } else if failure.is_io() {
            "connection failed"
        } else {
            "request could not be sent"
        }),
        // Typically the connection closed before a whole answer came.
        SdkError::ResponseError(_) => Some("incomplete answer"),
        _ => None,
    }
}

/// Whether `err` means S3 could not be reached (nothing to learn from
/// further calls).
fn is_unreachable<E>(err: &SdkError<E>) -> bool {
    unreachable_reason(err).is_some()
}

fn no_such_artifact(path: &ArtifactPath) -> ApiError {
    ApiError::not_found(format!("No such artifact: '{path}'"))
}

fn body_error(e: std::io::Error) -> ApiError {
    ApiError::bad_request(format!("Could not read the request body: {e}"))
}

// ---------------------------------------------------------------------------
// the repository
// ---------------------------------------------------------------------------

/// Artifacts under `s3://bucket/prefix`. Cheap to clone (the SDK client is
/// shared).
#[derive(Clone)]
pub struct S3ArtifactRepository {
    client: Client,
    location: S3Location,
    part_size: usize,
    list_page_size: Option<i32>,
    download_url_ttl: Duration,
}

impl fmt::Debug for S3ArtifactRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3ArtifactRepository")
            .field("location", &self.location.to_string())
            .field("part_size", &self.part_size)
            .finish()
    }
}

impl S3ArtifactRepository {
    /// A repository over `uri` (`s3://bucket/prefix`) with the shared client
    /// for `settings`. Nothing is contacted until the first operation.
    pub fn new(settings: &S3Settings, uri: &str) -> ApiResult<Self> {
        let location = S3Location::parse(uri)?;
        Ok(Self::with_client(
            shared_client(settings)?,
            location,
            settings,
        ))
    }

    /// A repository using an existing client.
    pub fn with_client(client: Client, location: S3Location, settings: &S3Settings) -> Self {
        S3ArtifactRepository {
            client,
            location,
            part_size: DEFAULT_PART_SIZE,
            list_page_size: None,
            download_url_ttl: Duration::from_secs(settings.presigned_download_ttl_secs.max(1)),
        }
    }

    /// Sets the upload part size (at least S3's 5 MiB).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// Asks for listings in pages of `keys` (S3's default and maximum is
    /// 1000); tests use small pages to exercise pagination.
    pub fn with_list_page_size(mut self, keys: i32) -> Self {
        self.list_page_size = Some(keys.clamp(1, 1000));
        self
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn bucket(&self) -> &str {
        &self.location.bucket
    }

    /// The object key of `path` (the prefix itself for the root).
    fn key(&self, path: &ArtifactPath) -> String {
        self.location.prefix.join(path).as_str().to_string()
    }

    /// The key prefix of everything below `path` (`…/`, or empty for the
    /// root of a bucket-wide repository).
    fn dir_prefix(&self, path: &ArtifactPath) -> String {
        let key = self.key(path);
        if key.is_empty() {
            key
        } else {
            key + "/"
        }
    }

    /// The part size for part `number` (1-based).
    fn part_size_for(&self, number: u32) -> usize {
        let doublings = ((number.saturating_sub(1)) / PARTS_PER_SIZE_STEP).min(8);
        self.part_size << doublings
    }

    /// Whether anything lies below `path` (a "directory"); `what` names the
    /// operation in an error message.
    async fn has_children(&self, path: &ArtifactPath, what: &str) -> ApiResult<bool> {
        let out = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(self.dir_prefix(path))
            .max_keys(1)
            .send()
            .await
            .map_err(|e| s3_error(what, e))?;
        Ok(out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty())
    }

    /// Whether an object exists at exactly `path`. A listing rather than a
    /// HEAD: some stores fail a HEAD on a "directory" (a file-system backend
    /// sees a folder), and the first key listed under a prefix is the
    /// prefix itself when it exists.
    async fn is_file(&self, path: &ArtifactPath, what: &str) -> ApiResult<bool> {
        let key = self.key(path);
        let out = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(&key)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| s3_error(what, e))?;
        Ok(out.contents().first().and_then(|o| o.key()) == Some(key.as_str()))
    }

    /// The error for a file operation on `path` that found no object:
    /// a directory, or nothing.
    /// The error of a failed GET or HEAD of the file at `path`: a missing
    /// key is MLflow's "no such artifact" or "is a directory"; some stores
    /// answer a read of a "directory" with another error (a file-system
    /// backend sees a folder), which is "not a file" too; anything else is
    /// the store's error.
    async fn read_error<E>(&self, path: &ArtifactPath, err: SdkError<E>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if is_not_found(&err) {
            return self.missing_file_error(path).await;
        }
        if is_unreachable(&err) {
            return s3_error(&format!("Cannot read artifact '{path}'"), err);
        }
        let what = format!("Cannot read artifact '{path}'");
        if self.has_children(path, &what).await.unwrap_or(false) {
            return not_a_file(path);
        }
        s3_error(&format!("Cannot read artifact '{path}'"), err)
    }

    async fn missing_file_error(&self, path: &ArtifactPath) -> ApiError {
        match self
            .has_children(path, &format!("Cannot read artifact '{path}'"))
            .await
        {
            Ok(true) => not_a_file(path),
            Ok(false) => no_such_artifact(path),
            Err(e) => e,
        }
    }

    /// Refuses to write a file where a directory is, or below a file (the
    /// rules of the local store; MinIO refuses the same uploads).
    async fn check_writable(&self, path: &ArtifactPath) -> ApiResult<()> {
        let Some(parent) = path.parent() else {
            return Err(invalid_path());
        };
        let mut ancestors = Vec::new();
        let mut current = parent;
        while !current.is_root() {
            let next = current.parent().unwrap_or_default();
            ancestors.push(current);
            current = next;
        }
        let what = format!("Cannot write artifact '{path}'");
        let ancestor_checks =
            futures_util::future::try_join_all(ancestors.iter().map(|a| self.is_file(a, &what)));
        let (is_dir, files) =
            futures_util::future::try_join(self.has_children(path, &what), ancestor_checks).await?;
        if is_dir {
            return Err(not_a_file(path));
        }
        if let Some((dir, _)) = ancestors.iter().zip(files).find(|(_, is_file)| *is_file) {
            return Err(ApiError::invalid_parameter(format!(
                "Cannot create artifact directory '{dir}': a file is in the way"
            )));
        }
        Ok(())
    }

    /// Reads up to `size` bytes of the body into one buffer (`carry` holds
    /// what a previous chunk had beyond the last part). An empty result
    /// means the body has ended.
    async fn fill(body: &mut Body, carry: &mut Option<Bytes>, size: usize) -> ApiResult<Bytes> {
        let mut buf = BytesMut::new();
        loop {
            let chunk = match carry.take() {
                Some(chunk) => chunk,
                None => match body.next().await {
                    Some(chunk) => chunk.map_err(body_error)?,
                    None => break,
                },
            };
            if buf.is_empty() && chunk.len() >= size {
                // A chunk as large as a part: no copy.
                let mut chunk = chunk;
                if chunk.len() > size {
                    *carry = Some(chunk.split_off(size));
                }
                return Ok(chunk);
            }
            if buf.capacity() == 0 {
                buf.reserve(size);
            }
            let room = size - buf.len();
            if chunk.len() > room {
                buf.extend_from_slice(&chunk[..room]);
                *carry = Some(chunk.slice(room..));
            } else {
                buf.extend_from_slice(&chunk);
            }
            if buf.len() == size {
                break;
            }
        }
        Ok(buf.freeze())
    }

    async fn put_object(&self, path: &ArtifactPath, key: &str, data: Bytes) -> ApiResult<()> {
        self.client
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .content_length(data.len() as i64)
            .body(S3Body::from(data))
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot write artifact '{path}'"), e))?;
        Ok(())
    }

    async fn upload_part(
        &self,
        path: &ArtifactPath,
        key: &str,
        upload_id: &str,
        number: u32,
        data: Bytes,
    ) -> ApiResult<CompletedPart> {
        let out = self
            .client
            .upload_part()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .part_number(number as i32)
            .content_length(data.len() as i64)
            .body(S3Body::from(data))
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot write artifact '{path}'"), e))?;
        Ok(CompletedPart::builder()
            .part_number(number as i32)
            .set_e_tag(out.e_tag().map(str::to_string))
            .build())
    }

    /// Sends the parts of a multipart upload: the first two are already
    /// read; from then on each part is sent while the next one is read, so
    /// at most two parts are in memory.
    #[allow(clippy::too_many_arguments)]
    async fn stream_parts(
        &self,
        path: &ArtifactPath,
        key: &str,
        upload_id: &str,
        first: Bytes,
        second: Bytes,
        body: &mut Body,
        carry: &mut Option<Bytes>,
    ) -> ApiResult<Vec<CompletedPart>> {
        let mut parts = vec![self.upload_part(path, key, upload_id, 1, first).await?];
        let mut number = 2u32;
        let mut current = second;
        loop {
            let upload = self.upload_part(path, key, upload_id, number, current);
            let next_size = self.part_size_for(number + 1);
            let (done, next) =
                futures_util::future::join(upload, Self::fill(body, carry, next_size)).await;
            parts.push(done?);
            let next = next?;
            if next.is_empty() {
                return Ok(parts);
            }
            if number == MAX_PARTS {
                return Err(ApiError::invalid_parameter(format!(
                    "Artifact '{path}' is too large for S3 ({MAX_PARTS} parts)"
                )));
            }
            number += 1;
            current = next;
        }
    }

    async fn abort(&self, key: &str, upload_id: &str) {
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            tracing::warn!(
                bucket = %self.bucket(),
                key,
                error = %DisplayErrorContext(&e),
                "could not abort an S3 multipart upload"
            );
        }
    }

    async fn delete_batch(&self, keys: &mut Vec<String>, path: &ArtifactPath) -> ApiResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let objects = keys
            .drain(..)
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("Cannot delete artifact '{path}': {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| ApiError::internal(format!("Cannot delete artifact '{path}': {e}")))?;
        let out = self
            .client
            .delete_objects()
            .bucket(self.bucket())
            .delete(delete)
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot delete artifact '{path}'"), e))?;
        if let Some(failure) = out.errors().iter().find(|e| e.code() != Some("NoSuchKey")) {
            return Err(ApiError::internal(format!(
                "Cannot delete artifact '{path}': {} {}",
                failure.code().unwrap_or("error"),
                failure.message().unwrap_or("")
            )));
        }
        Ok(())
    }

    /// The name of a listed key or common prefix below `prefix`; `None` for
    /// the directory marker itself, foreign keys and unusable names.
    fn child_name<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
        let rest = key.strip_prefix(prefix)?.trim_end_matches('/');
        (!rest.is_empty() && !rest.contains('/') && rest != "." && rest != "..").then_some(rest)
    }

    /// [`ArtifactRepository::put`] until the first error (the body may be
    /// left half-read).
    async fn put_body(&self, path: &ArtifactPath, body: &mut Body) -> ApiResult<()> {
        if path.is_root() {
            return Err(invalid_path());
        }
        self.check_writable(path).await?;
        let key = self.key(path);
        let mut carry = None;
        let first = Self::fill(body, &mut carry, self.part_size).await?;
        if first.len() < self.part_size {
            return self.put_object(path, &key, first).await;
        }
        // At least a whole part: one more chunk decides between a single
        // PutObject (exactly one part) and a multipart upload.
        let second = Self::fill(body, &mut carry, self.part_size_for(2)).await?;
        if second.is_empty() {
            return self.put_object(path, &key, first).await;
        }
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(&key)
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot write artifact '{path}'"), e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| ApiError::internal("S3 returned no upload id"))?
            .to_string();
        // Aborts if this future is dropped half-way (client disconnect).
        let mut guard = AbortGuard {
            repo: Some(self.clone()),
            key: key.clone(),
            upload_id: upload_id.clone(),
        };
        let result = async {
            let parts = self
                .stream_parts(path, &key, &upload_id, first, second, body, &mut carry)
                .await?;
            self.client
                .complete_multipart_upload()
                .bucket(self.bucket())
                .key(&key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_error(&format!("Cannot write artifact '{path}'"), e))?;
            Ok::<(), ApiError>(())
        }
        .await;
        match result {
            Ok(()) => {
                guard.repo = None;
                Ok(())
            }
            Err(e) => {
                guard.repo = None;
                self.abort(&key, &upload_id).await;
                Err(e)
            }
        }
    }
}

#[async_trait]
impl ArtifactRepository for S3ArtifactRepository {
    async fn put(&self, path: &ArtifactPath, body: ByteStream) -> ApiResult<()> {
        // Fused: the end of the body may be asked for more than once.
        let mut body = body.fuse();
        let result = self.put_body(path, &mut body).await;
        if result.is_err() {
            // Read what the client still sends, so that it gets the answer
            // and its connection stays usable.
            super::local::discard_rest(&mut body).await;
        }
        result
    }

    async fn get(&self, path: &ArtifactPath) -> ApiResult<Download> {
        if path.is_root() {
            return Err(not_a_file(path));
        }
        let out = match self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(self.key(path))
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => return Err(self.read_error(path, e).await),
        };
        let size = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| ApiError::internal(format!("S3 gave no size for artifact '{path}'")))?;
        let body = futures_util::stream::unfold(Some(out.body), |state| async move {
            let mut body = state?;
            match body.try_next().await {
                Ok(Some(bytes)) => Some((Ok(bytes), Some(body))),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e)), None)),
            }
        })
        .boxed();
        Ok(Download { size, body })
    }

    async fn list(&self, path: &ArtifactPath) -> ApiResult<Vec<FileInfo>> {
        let prefix = self.dir_prefix(path);
        let join = |name: &str| {
            if path.is_root() {
                name.to_string()
            } else {
                format!("{path}/{name}")
            }
        };
        let mut files = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(self.bucket())
                .prefix(&prefix)
                .delimiter("/")
                .set_max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error(&format!("Cannot list artifacts under '{path}'"), e))?;
            for dir in out.common_prefixes() {
                if let Some(name) = dir.prefix().and_then(|p| Self::child_name(&prefix, p)) {
                    files.push(FileInfo {
                        path: join(name),
                        is_dir: true,
                        file_size: None,
                    });
                }
            }
            for object in out.contents() {
                let Some(key) = object.key() else { continue };
                if key.ends_with('/') {
                    continue; // a directory marker
                }
                if let Some(name) = Self::child_name(&prefix, key) {
                    files.push(FileInfo {
                        path: join(name),
                        is_dir: false,
                        file_size: Some(object.size().unwrap_or(0)),
                    });
                }
            }
            match out.next_continuation_token() {
                Some(next) if out.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path).then(b.is_dir.cmp(&a.is_dir)));
        Ok(files)
    }

    async fn delete(&self, path: &ArtifactPath) -> ApiResult<()> {
        // One listing finds the object at `path` and everything below it:
        // keys starting with `<key>` are filtered to `<key>` itself and
        // `<key>/…` (never `<key>.txt` or `<key>2/…`). The root lists its
        // prefix with the slash, so `prefix2/…` is not even seen.
        let key = self.key(path);
        let (list_prefix, below) = if path.is_root() {
            let prefix = self.dir_prefix(path);
            (prefix.clone(), prefix)
        } else {
            (key.clone(), format!("{key}/"))
        };
        let mut batch = Vec::with_capacity(DELETE_BATCH);
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(self.bucket())
                .prefix(&list_prefix)
                .set_max_keys(self.list_page_size)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_error(&format!("Cannot delete artifact '{path}'"), e))?;
            for object in out.contents() {
                let Some(k) = object.key() else { continue };
                let exact = !path.is_root() && k == key;
                if exact || k.starts_with(&below) {
                    batch.push(k.to_string());
                    if batch.len() == DELETE_BATCH {
                        self.delete_batch(&mut batch, path).await?;
                    }
                }
            }
            match out.next_continuation_token() {
                Some(next) if out.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        self.delete_batch(&mut batch, path).await
    }

    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        Some(self)
    }
}

/// Aborts a multipart upload whose `put` future was dropped before it
/// finished (the abort runs on the runtime in the background).
struct AbortGuard {
    repo: Option<S3ArtifactRepository>,
    key: String,
    upload_id: String,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(repo) = self.repo.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let key = std::mem::take(&mut self.key);
                let upload_id = std::mem::take(&mut self.upload_id);
                handle.spawn(async move { repo.abort(&key, &upload_id).await });
            }
        }
    }
}

fn presigning(ttl: Duration) -> ApiResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl)
        .map_err(|e| ApiError::internal(format!("Cannot presign an S3 request: {e}")))
}

/// MLflow's `Content-Disposition` override of presigned downloads.
fn attachment(name: &str) -> String {
    if name.is_ascii() && !name.chars().any(|c| c.is_ascii_control()) {
        format!(
            "attachment; filename=\"{}\"",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        // Python's `urllib.parse.quote`: unreserved characters stay.
        const QUOTE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~')
            .remove(b'/');
        format!(
            "attachment; filename*=UTF-8''{}",
            percent_encoding::utf8_percent_encode(name, QUOTE)
        )
    }
}

#[async_trait]
impl DirectTransfer for S3ArtifactRepository {
    async fn create_multipart_upload(
        &self,
        path: &ArtifactPath,
        num_parts: u32,
    ) -> ApiResult<MultipartUpload> {
        if num_parts > MAX_PARTS {
            return Err(ApiError::invalid_parameter(format!(
                "num_parts must be at most {MAX_PARTS}, got {num_parts}"
            )));
        }
        if path.is_root() {
            return Err(invalid_path());
        }
        self.check_writable(path).await?;
        let key = self.key(path);
        let created = self
            .client
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(&key)
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot start an upload of '{path}'"), e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| ApiError::internal("S3 returned no upload id"))?
            .to_string();
        let mut credentials = Vec::with_capacity(num_parts as usize);
        for part_number in 1..=num_parts {
            let presigned = self
                .client
                .upload_part()
                .bucket(self.bucket())
                .key(&key)
                .upload_id(&upload_id)
                .part_number(part_number as i32)
                .presigned(presigning(UPLOAD_URL_TTL)?)
                .await
                .map_err(|e| s3_error(&format!("Cannot presign an upload of '{path}'"), e))?;
            credentials.push(PartCredential {
                url: presigned.uri().to_string(),
                part_number,
                headers: presigned
                    .headers()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            });
        }
        Ok(MultipartUpload {
            upload_id,
            credentials,
        })
    }

    async fn complete_multipart_upload(
        &self,
        path: &ArtifactPath,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> ApiResult<()> {
        let parts = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.part_number as i32)
                    .e_tag(&p.etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket())
            .key(self.key(path))
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot complete the upload of '{path}'"), e))?;
        Ok(())
    }

    async fn abort_multipart_upload(&self, path: &ArtifactPath, upload_id: &str) -> ApiResult<()> {
        self.client
            .abort_multipart_upload()
            .bucket(self.bucket())
            .key(self.key(path))
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| s3_error(&format!("Cannot abort the upload of '{path}'"), e))?;
        Ok(())
    }

    async fn presigned_download(&self, path: &ArtifactPath) -> ApiResult<PresignedDownload> {
        if path.is_root() {
            return Err(not_a_file(path));
        }
        let key = self.key(path);
        let head = match self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(&key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(e) => return Err(self.read_error(path, e).await),
        };
        let file_size = head
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let presigned = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(&key)
            .response_content_disposition(attachment(path.file_name().unwrap_or("")))
            .presigned(presigning(self.download_url_ttl)?)
            .await
            .map_err(|e| s3_error(&format!("Cannot presign a download of '{path}'"), e))?;
        Ok(PresignedDownload {
            url: presigned.uri().to_string(),
            headers: presigned
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            file_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(uri: &str) -> S3Location {
        S3Location::parse(uri).unwrap()
    }

    #[test]
    fn locations() {
        let l = loc("s3://bucket/some/prefix/");
        assert_eq!(l.bucket, "bucket");
        assert_eq!(l.prefix.as_str(), "some/prefix");
        assert_eq!(l.to_string(), "s3://bucket/some/prefix");
        assert_eq!(loc("S3://bucket").prefix, ArtifactPath::root());
        assert_eq!(loc("s3://bucket").to_string(), "s3://bucket");
        for bad in [
            "s3://",
            "s3:///x",
            "s3://b/x",
            "s3://bu cket/x",
            "s3://bucket/../x",
            "s3://bucket/a/%2e%2e/x",
            "s3://bucket/a\\b",
            "http://bucket/x",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
        assert!(is_s3_uri("s3://bucket/p"));
        assert!(!is_s3_uri("s3:/b"));
        assert!(!is_s3_uri("/tmp/s3"));
    }

    #[test]
    fn containment_is_segment_wise() {
        let root = loc("s3://bucket/mlruns");
        assert!(root.contains(&loc("s3://bucket/mlruns")));
        assert!(root.contains(&loc("s3://bucket/mlruns/1/abc/artifacts")));
        assert!(!root.contains(&loc("s3://bucket/mlruns2/1")));
        assert!(!root.contains(&loc("s3://bucket/other")));
        assert!(!root.contains(&loc("s3://other/mlruns/1")));
        assert!(loc("s3://bucket").contains(&loc("s3://bucket/anything")));
    }

    fn settings(root: &str, destination: &str) -> ArtifactSettings {
        ArtifactSettings {
            default_artifact_root: root.into(),
            serve_artifacts: false,
            artifacts_destination: destination.into(),
            s3: S3Settings::default(),
            allowed_host_addressed_schemes: Vec::new(),
        }
    }

    #[test]
    fn s3_uris_must_be_under_a_server_root() {
        let s = settings("s3://bucket/mlruns", "./mlartifacts");
        let (repo, base) = resolve_s3_uri(&s, "s3://bucket/mlruns/1/abc/artifacts").unwrap();
        assert!(base.is_root());
        assert!(repo.direct_transfer().is_some());
        for uri in [
            "s3://bucket/other/1",
            "s3://bucket/mlruns-evil/1",
            "s3://elsewhere/mlruns/1",
            "s3://bucket",
        ] {
            let err = resolve_s3_uri(&s, uri).err().unwrap();
            assert_eq!(err.code, ErrorCode::PermissionDenied, "{uri}");
        }
        let err = resolve_s3_uri(&s, "s3://bucket/mlruns/../x").err().unwrap();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
        // The proxy destination counts as a root too.
        let s = settings("mlflow-artifacts:/", "s3://dest/prefix");
        assert!(resolve_s3_uri(&s, "s3://dest/prefix/1/r/artifacts").is_ok());
        assert!(resolve_s3_uri(&s, "s3://dest/1").is_err());
    }

    #[test]
    fn keys_stay_under_the_prefix() {
        let repo =
            S3ArtifactRepository::new(&S3Settings::default(), "s3://bucket/pre/fix").unwrap();
        let p = |s: &str| ArtifactPath::parse(s).unwrap();
        assert_eq!(repo.key(&p("a/b.txt")), "pre/fix/a/b.txt");
        assert_eq!(repo.dir_prefix(&p("a")), "pre/fix/a/");
        assert_eq!(repo.dir_prefix(&ArtifactPath::root()), "pre/fix/");
        let bare = S3ArtifactRepository::new(&S3Settings::default(), "s3://bucket").unwrap();
        assert_eq!(bare.key(&p("a/b.txt")), "a/b.txt");
        assert_eq!(bare.dir_prefix(&ArtifactPath::root()), "");
        assert_eq!(
            S3ArtifactRepository::child_name("p/a/", "p/a/x.txt"),
            Some("x.txt")
        );
        assert_eq!(
            S3ArtifactRepository::child_name("p/a/", "p/a/sub/"),
            Some("sub")
        );
        assert_eq!(S3ArtifactRepository::child_name("p/a/", "p/a/"), None);
        assert_eq!(S3ArtifactRepository::child_name("p/a/", "p/a//"), None);
        assert_eq!(S3ArtifactRepository::child_name("p/a/", "p/ab/x"), None);
        assert_eq!(S3ArtifactRepository::child_name("p/a/", "p/a/../"), None);
    }

    #[test]
    fn part_sizes_grow_for_long_streams() {
        let repo = S3ArtifactRepository::new(&S3Settings::default(), "s3://bucket/p").unwrap();
        assert_eq!(repo.part_size_for(1), DEFAULT_PART_SIZE);
        assert_eq!(repo.part_size_for(2000), DEFAULT_PART_SIZE);
        assert_eq!(repo.part_size_for(2001), 2 * DEFAULT_PART_SIZE);
        let total: u64 = (1..=MAX_PARTS).map(|n| repo.part_size_for(n) as u64).sum();
        assert!(total > 400 * 1024 * 1024 * 1024, "{total}");
        assert_eq!(repo.with_part_size(1).part_size, MIN_PART_SIZE);
    }

    #[test]
    fn presigned_download_disposition() {
        assert_eq!(
            attachment("model.pkl"),
            "attachment; filename=\"model.pkl\""
        );
        assert_eq!(attachment("a\"b"), "attachment; filename=\"a\\\"b\"");
        assert_eq!(
            attachment("données.txt"),
            "attachment; filename*=UTF-8''donn%C3%A9es.txt"
        );
    }

    /// A repository whose endpoint refuses connections (a port nothing
    /// listens on).
    fn unreachable_repo() -> S3ArtifactRepository {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = S3Settings {
            endpoint_url: Some(format!("http://127.0.0.1:{port}")),
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("secret".into()),
            ..S3Settings::default()
        };
        S3ArtifactRepository::with_client(
            build_client(&settings).unwrap(),
            loc("s3://bucket/prefix"),
            &settings,
        )
    }

    fn assert_unreachable(err: ApiError, what: &str) {
        assert_eq!(err.code, ErrorCode::TemporarilyUnavailable, "{what}: {err}");
        assert!(err.message.contains("(S3) is unreachable"), "{what}: {err}");
        for internal in ["127.0.0.1", "dispatch", "os error", "hyper", "Connect"] {
            assert!(!err.message.contains(internal), "{what}: {err}");
        }
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_temporarily_unavailable() {
        let repo = unreachable_repo();
        let path = ArtifactPath::parse("run/file.txt").unwrap();
        let started = std::time::Instant::now();
        let body = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"data"))]).boxed();
        assert_unreachable(repo.put(&path, body).await.err().unwrap(), "put");
        assert_unreachable(repo.get(&path).await.err().unwrap(), "get");
        assert_unreachable(
            repo.list(&ArtifactPath::root()).await.err().unwrap(),
            "list",
        );
        assert_unreachable(repo.delete(&path).await.err().unwrap(), "delete");
        // Refused connections are retried briefly, never for long.
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[test]
    fn s3_answers_keep_their_codes() {
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_smithy_runtime_api::http::{Response, StatusCode as HttpStatus};
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let answer = |status: u16, code: &str| {
            let err = GetObjectError::generic(ErrorMetadata::builder().code(code).build());
            let raw = Response::new(HttpStatus::try_from(status).unwrap(), SdkBody::empty());
            s3_error(
                "Cannot read artifact 'x'",
                SdkError::service_error(err, raw),
            )
            .code
        };
        assert_eq!(answer(503, "SlowDown"), ErrorCode::TemporarilyUnavailable);
        assert_eq!(answer(503, "Other"), ErrorCode::TemporarilyUnavailable);
        assert_eq!(answer(500, "InternalError"), ErrorCode::InternalError);
        assert_eq!(answer(403, "AccessDenied"), ErrorCode::PermissionDenied);
        assert_eq!(answer(404, "NoSuchKey"), ErrorCode::ResourceDoesNotExist);
        let timeout: SdkError<GetObjectError> = SdkError::timeout_error("attempt timed out");
        let err = s3_error("Cannot read artifact 'x'", timeout);
        assert_unreachable(err.clone(), "timeout");
        assert!(err.message.contains("no answer in time"), "{err}");
    }

    #[test]
    fn debug_hides_the_client() {
        let settings = S3Settings {
            access_key_id: Some("AKID".into()),
            secret_access_key: Some("very-secret".into()),
            ..S3Settings::default()
        };
        let repo = S3ArtifactRepository::new(&settings, "s3://bucket/p").unwrap();
        let shown = format!("{repo:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("s3://bucket/p"));
    }
}
