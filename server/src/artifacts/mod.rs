//! Artifact repositories behind one trait. Paths given to a repository are
//! already validated [`ArtifactPath`]s relative to the repository root; the
//! repository never sees raw request text.

pub mod download;
pub mod local;
pub mod path;
pub mod roots;
pub mod s3;

use crate::error::ApiResult;
use crate::wire::FileInfo;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde::Serialize;
use std::collections::BTreeMap;

pub use local::resolve_uri;
pub use path::ArtifactPath;

/// A stream of body chunks (upload or download).
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// A file being downloaded: its size and its bytes.
pub struct Download {
    pub size: u64,
    pub body: ByteStream,
}

#[async_trait]
pub trait ArtifactRepository: Send + Sync + 'static {
    /// Writes the whole stream to `path`, creating parent folders; replaces
    /// an existing file. Never holds the whole body in memory.
    async fn put(&self, path: &ArtifactPath, body: ByteStream) -> ApiResult<()>;
    /// Opens a file for streaming. Missing → `RESOURCE_DOES_NOT_EXIST`; a
    /// directory → `INVALID_PARAMETER_VALUE`.
    async fn get(&self, path: &ArtifactPath) -> ApiResult<Download>;
    /// Direct children of a directory (paths relative to `path`'s parent
    /// listing root as MLflow returns them: the child's name joined under
    /// `path`). A missing directory lists as empty.
    async fn list(&self, path: &ArtifactPath) -> ApiResult<Vec<FileInfo>>;
    /// Deletes a file or a directory tree. Never follows symlinks.
    async fn delete(&self, path: &ArtifactPath) -> ApiResult<()>;
    /// Presigned transfers straight to and from the storage (the proxy's
    /// `mpu/*` and `presigned/*` routes); only object stores have them.
    fn direct_transfer(&self) -> Option<&dyn DirectTransfer> {
        None
    }
}

/// Transfers a client makes with the storage itself, through URLs the
/// server presigns (S3 multipart upload, ranged downloads).
#[async_trait]
pub trait DirectTransfer: Send + Sync {
    /// Starts a multipart upload of `path` with `num_parts` presigned part
    /// URLs (part numbers 1..=num_parts).
    async fn create_multipart_upload(
        &self,
        path: &ArtifactPath,
        num_parts: u32,
    ) -> ApiResult<MultipartUpload>;
    /// Assembles the uploaded parts into the file.
    async fn complete_multipart_upload(
        &self,
        path: &ArtifactPath,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> ApiResult<()>;
    /// Drops an unfinished upload and its parts.
    async fn abort_multipart_upload(&self, path: &ArtifactPath, upload_id: &str) -> ApiResult<()>;
    /// A presigned URL that downloads `path` (a file), with its size.
    async fn presigned_download(&self, path: &ArtifactPath) -> ApiResult<PresignedDownload>;
}

/// `CreateMultipartUpload.Response`.
#[derive(Debug, Clone, Serialize)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub credentials: Vec<PartCredential>,
}

/// Where and how to upload one part.
#[derive(Debug, Clone, Serialize)]
pub struct PartCredential {
    pub url: String,
    pub part_number: u32,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// A part the client uploaded (`MultipartUploadPart`: number and ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    pub part_number: u32,
    pub etag: String,
}

/// `GetPresignedDownloadUrl.Response`.
#[derive(Debug, Clone, Serialize)]
pub struct PresignedDownload {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub file_size: u64,
}
