//! The blob-store suite on both stores: a directory, and a bucket on a real S3-protocol server
//! (`s3s-fs`), the same cases each.

use chat_blobs::testing::S3Server;
use chat_blobs::ObjectBlobStore;
use chat_core::ports::BlobStore;

#[tokio::test]
async fn a_directory_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::directory(dir.path()).unwrap();
    chat_core::blob_suite::run_all(&store, "suite").await;
}

#[tokio::test]
async fn an_s3_bucket_passes_the_suite() {
    let server = S3Server::start();
    S3Server::set_env();
    let address = server.bucket();
    let store = ObjectBlobStore::open(&address).unwrap();
    chat_core::blob_suite::run_all(&store, "suite").await;
    assert!(
        server.objects(&address).is_empty(),
        "the suite left objects behind"
    );
}

#[tokio::test]
async fn a_stopped_s3_server_is_unavailable_and_a_restarted_one_works_again() {
    let mut server = S3Server::start();
    S3Server::set_env();
    let address = server.bucket();
    let store = ObjectBlobStore::open(&address).unwrap();
    store
        .put("k", bytes::Bytes::from_static(b"v"))
        .await
        .unwrap();
    server.stop();
    assert!(
        store.ping().await.is_err(),
        "a stopped server answered ping"
    );
    assert!(
        store.delete("k").await.is_err(),
        "a delete on a stopped server succeeded"
    );
    server.restart();
    store.delete("k").await.unwrap();
    assert!(store.get("k").await.unwrap().is_none());
}
