//! The blob stores of reuse-chat: a local directory (the default, `DATA_DIR/blobs`) or an
//! S3-compatible bucket shared by every node, both through the `object_store` crate behind the
//! domain's [`BlobStore`] port.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chat_core::ports::{BlobError, BlobRead, BlobStore};
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};
use thiserror::Error;

#[cfg(feature = "testing")]
pub mod testing;

/// Why `--blobs` could not be used.
#[derive(Debug, Error)]
pub enum BlobsConfigError {
    /// The address is not `file://…` or `s3://…`, or lacks a part.
    #[error("--blobs: {0}")]
    Address(String),
    /// The store could not be set up.
    #[error("--blobs: {0}")]
    Store(#[from] object_store::Error),
    /// The directory could not be created.
    #[error("--blobs: cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A blob store over any `object_store` backend.
pub struct ObjectBlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Shown in logs and `/ready`: `file:///…` or `s3://bucket` (never credentials).
    name: String,
}

impl std::fmt::Debug for ObjectBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlobStore")
            .field("name", &self.name)
            .finish()
    }
}

/// How long one request to a bucket may take, and how long retries of it may go on: a photo is
/// at most 10 MiB, and an upload's client waits for it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const RETRY_TIMEOUT: Duration = Duration::from_secs(60);

impl ObjectBlobStore {
    /// A store in directory `dir` (created if missing).
    pub fn directory(dir: &std::path::Path) -> Result<Self, BlobsConfigError> {
        std::fs::create_dir_all(dir).map_err(|source| BlobsConfigError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(ObjectBlobStore {
            inner: Arc::new(fs),
            name: format!("file://{}", dir.display()),
        })
    }

    /// Opens the store `--blobs` names: `file:///abs/dir`, or
    /// `s3://bucket?endpoint=http://host:port&region=…` with credentials from the standard AWS
    /// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, …).
    pub fn open(address: &str) -> Result<Self, BlobsConfigError> {
        if let Some(dir) = address.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(BlobsConfigError::Address(
                    "file:// needs a directory".into(),
                ));
            }
            return Self::directory(std::path::Path::new(dir));
        }
        let Some(rest) = address.strip_prefix("s3://") else {
            return Err(BlobsConfigError::Address(format!(
                "'{address}' is neither file://DIR nor s3://BUCKET?endpoint=…&region=…"
            )));
        };
        let (bucket, query) = rest.split_once('?').unwrap_or((rest, ""));
        let bucket = bucket.trim_end_matches('/');
        if bucket.is_empty() || bucket.contains('/') {
            return Err(BlobsConfigError::Address(format!(
                "'{address}' needs a bucket name: s3://BUCKET?…"
            )));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_client_options(ClientOptions::new().with_timeout(REQUEST_TIMEOUT))
            .with_retry(RetryConfig {
                retry_timeout: RETRY_TIMEOUT,
                ..RetryConfig::default()
            });
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "endpoint" => {
                    builder = builder
                        .with_endpoint(v)
                        .with_allow_http(v.starts_with("http://"));
                }
                "region" => builder = builder.with_region(v),
                other => {
                    return Err(BlobsConfigError::Address(format!(
                        "unknown s3 parameter '{other}' (endpoint, region)"
                    )))
                }
            }
        }
        Ok(ObjectBlobStore {
            inner: Arc::new(builder.build()?),
            name: format!("s3://{bucket}"),
        })
    }

    /// What the store is, for logs (no credentials).
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn failed(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::Generic { .. } => BlobError::Unavailable(e.to_string()),
        other => BlobError::Internal(other.to_string()),
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.inner
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(failed)
    }

    async fn get(&self, key: &str) -> Result<Option<BlobRead>, BlobError> {
        match self.inner.get(&Path::from(key)).await {
            Ok(got) => {
                let size = got.meta.size;
                let chunks = got.into_stream().map(|c| c.map_err(failed)).boxed();
                Ok(Some(BlobRead { size, chunks }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }

    async fn ping(&self) -> Result<(), BlobError> {
        // Asking for a key that is never written proves the store answers and the
        // credentials are accepted, without writing anything.
        match self.inner.head(&Path::from("reuse-chat-ping")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        for bad in [
            "",
            "/tmp/x",
            "file://",
            "s3://",
            "s3://a/b",
            "s3://bucket?endpoint=http://x&colour=red",
            "http://bucket",
        ] {
            assert!(ObjectBlobStore::open(bad).is_err(), "{bad}");
        }
        let dir = std::env::temp_dir().join(format!("blobs-{}", std::process::id()));
        let store = ObjectBlobStore::open(&format!("file://{}", dir.display())).unwrap();
        assert!(store.name().starts_with("file://"));
        let s3 = ObjectBlobStore::open("s3://photos?endpoint=http://127.0.0.1:1&region=us-east-1")
            .unwrap();
        assert_eq!(s3.name(), "s3://photos");
        let _ = std::fs::remove_dir_all(dir);
    }
}
