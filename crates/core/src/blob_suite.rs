//! The conformance suite every [`BlobStore`] passes (the directory and the S3 bucket run the
//! same cases), like the presence suite: written once, run against each backend's tests.

use bytes::Bytes;
use futures::StreamExt;

use crate::ports::BlobStore;

async fn read_all(store: &dyn BlobStore, key: &str) -> Option<Vec<u8>> {
    let read = store.get(key).await.expect("get")?;
    let size = read.size;
    let mut out = Vec::new();
    let mut chunks = read.chunks;
    while let Some(chunk) = chunks.next().await {
        out.extend_from_slice(&chunk.expect("a chunk"));
    }
    assert_eq!(out.len() as u64, size, "{key}: size and bytes disagree");
    Some(out)
}

/// Runs every case against `store`; `prefix` keeps concurrent runs apart.
pub async fn run_all(store: &dyn BlobStore, prefix: &str) {
    put_get_delete(store, prefix).await;
    replacing_and_missing(store, prefix).await;
    large_blobs_stream_in_chunks(store, prefix).await;
    keys_are_separate(store, prefix).await;
    store.ping().await.expect("ping");
}

async fn put_get_delete(store: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/a/photo");
    store
        .put(&key, Bytes::from_static(b"\xff\xd8jpeg bytes"))
        .await
        .expect("put");
    assert_eq!(
        read_all(store, &key).await.as_deref(),
        Some(&b"\xff\xd8jpeg bytes"[..])
    );
    store.delete(&key).await.expect("delete");
    assert!(
        read_all(store, &key).await.is_none(),
        "deleted blob still read"
    );
}

async fn replacing_and_missing(store: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/b/photo");
    assert!(
        read_all(store, &key).await.is_none(),
        "a key never written reads"
    );
    store
        .delete(&key)
        .await
        .expect("deleting a missing blob succeeds");
    store
        .put(&key, Bytes::from_static(b"one"))
        .await
        .expect("put");
    store
        .put(&key, Bytes::from_static(b"two!"))
        .await
        .expect("put again");
    assert_eq!(read_all(store, &key).await.as_deref(), Some(&b"two!"[..]));
    store.delete(&key).await.expect("delete");
    store.delete(&key).await.expect("a second delete succeeds");
}

async fn large_blobs_stream_in_chunks(store: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/c/large");
    let bytes: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    store
        .put(&key, Bytes::from(bytes.clone()))
        .await
        .expect("put");
    let read = store.get(&key).await.expect("get").expect("present");
    assert_eq!(read.size, bytes.len() as u64);
    let mut chunks = read.chunks;
    let mut n = 0;
    let mut out = Vec::new();
    while let Some(chunk) = chunks.next().await {
        out.extend_from_slice(&chunk.expect("chunk"));
        n += 1;
    }
    assert!(out == bytes, "the large blob came back different");
    assert!(
        n > 1,
        "a 6 MiB blob arrived in one piece: it was buffered, not streamed"
    );
    store.delete(&key).await.expect("delete");
}

async fn keys_are_separate(store: &dyn BlobStore, prefix: &str) {
    let a = format!("{prefix}/d/x");
    let b = format!("{prefix}/d/x.thumb");
    store
        .put(&a, Bytes::from_static(b"full"))
        .await
        .expect("put");
    store
        .put(&b, Bytes::from_static(b"thumb"))
        .await
        .expect("put");
    store.delete(&a).await.expect("delete");
    assert!(read_all(store, &a).await.is_none());
    assert_eq!(read_all(store, &b).await.as_deref(), Some(&b"thumb"[..]));
    store.delete(&b).await.expect("delete");
}
