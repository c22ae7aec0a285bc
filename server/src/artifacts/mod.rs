//! Artifact repositories behind one trait. Paths given to a repository are
//! already validated [`ArtifactPath`]s relative to the repository root; the
//! repository never sees raw request text.

pub mod local;
pub mod path;

use crate::error::ApiResult;
use crate::wire::FileInfo;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

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
}
