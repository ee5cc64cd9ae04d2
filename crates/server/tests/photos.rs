//! Photos (API-v2 "Photos") against the real server, on both blob stores (a directory and a
//! bucket on a real S3-protocol server, `s3s-fs`) and on the suite's database
//! (`REUSE_CHAT_TEST_BACKEND`): upload, clean, send, deliver, serve by signed address or by
//! membership, every refusal with its code and nothing left behind, and the lifecycle (a
//! deleted room's photos, unsent uploads after 24 h, a crash between claim and commit, a
//! store that is down).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_blobs::testing::S3Server;
use chat_blobs::ObjectBlobStore;
use chat_core::attachment::AttachmentId;
use chat_core::links::LinkSigner;
use chat_core::photos::{PhotoLimits, Photos};
use chat_core::ports::{AttachmentStore, ChatStore};
use chat_core::{Millis, RoomId, UserId};
use chat_store::{SqlStore, StoreOptions};
use common::{Stomp, Storage, TestServer, WAIT};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use img_parts::ImageEXIF;
use reuse_chat::config::Settings;
use serde_json::{json, Value};

// ---- fixtures -------------------------------------------------------------------------------

/// A left-red, right-blue picture (so a turn shows in its pixels), as a phone's JPEG: EXIF
/// with `orientation` and a GPS marker string.
fn phone_jpeg(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let noise = ((x * 7 + y * 13) % 17) as u8;
        if x < w / 2 {
            image::Rgb([230 + noise, noise, noise])
        } else {
            image::Rgb([noise, noise, 230 + noise])
        }
    });
    let mut raw = Vec::new();
    JpegEncoder::new_with_quality(&mut raw, 90)
        .write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    exif.extend_from_slice(&orientation.to_le_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPS-37.5665N-126.9780E");
    let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(raw)).unwrap();
    jpeg.set_exif(Some(Bytes::from(exif)));
    jpeg.encoder().bytes().to_vec()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A `multipart/form-data` body with one part; returns (content type, body).
fn form(part: &str, filename: &str, declared: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----reuse-chat-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"{filename}\"\r\n\
         Content-Type: {declared}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

// ---- clients --------------------------------------------------------------------------------

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(port: u16) -> Http {
        Http {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        }
    }

    async fn upload_raw(
        &self,
        user: Option<&str>,
        room: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/room/{room}/attachments", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(u) = user {
            req = req.header("X-Auth-User", u);
        }
        let resp = req.send().await.expect("upload");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("upload answered non-JSON ({status}): {text}"));
        (status, v)
    }

    async fn upload(&self, user: &str, room: &str, bytes: &[u8]) -> (u16, Value) {
        let (ct, body) = form("file", "photo.jpg", "image/jpeg", bytes);
        self.upload_raw(Some(user), room, &ct, body).await
    }

    /// GET `path` (a signed address or a plain one) as `user` (or anonymously).
    async fn fetch(
        &self,
        path: &str,
        user: Option<&str>,
        if_none_match: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(u) = user {
            req = req.header("X-Auth-User", u);
        }
        if let Some(tag) = if_none_match {
            req = req.header("If-None-Match", tag);
        }
        req.send().await.expect("fetch")
    }

    async fn status_and_code(&self, path: &str, user: Option<&str>) -> (u16, String) {
        let resp = self.fetch(path, user, None).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        (status, body["error"].as_str().unwrap_or("").to_owned())
    }
}

async fn send_photos(c: &mut Stomp, room: &str, body: Value, receipt: &str) {
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:{receipt}\n\n{body}\0"
    ))
    .await;
}

/// The next frame is the RECEIPT `id` (frames before it, e.g. the sender's own MESSAGE, are
/// returned).
async fn receipt(c: &mut Stomp, id: &str) -> Vec<common::TFrame> {
    let mut before = Vec::new();
    loop {
        let f = c.recv().await;
        assert_ne!(f.command, "ERROR", "{f:?} {}", f.text());
        if f.command == "RECEIPT" {
            assert_eq!(f.header("receipt-id"), Some(id));
            return before;
        }
        before.push(f);
    }
}

// ---- the two stores -------------------------------------------------------------------------

/// A blob store for a test: the default directory, or a fresh bucket on `s3s-fs`.
enum Blobs {
    Directory,
    Bucket(S3Server, String),
}

impl Blobs {
    fn both() -> Vec<Blobs> {
        let s3 = S3Server::start();
        S3Server::set_env();
        let bucket = s3.bucket();
        vec![Blobs::Directory, Blobs::Bucket(s3, bucket)]
    }

    fn name(&self) -> &'static str {
        match self {
            Blobs::Directory => "directory",
            Blobs::Bucket(..) => "s3",
        }
    }

    fn apply(&self, settings: &mut Settings) {
        shared_test_key(&mut settings.photos);
        if let Blobs::Bucket(_, address) = self {
            settings.photos.blobs = address.clone();
        }
    }

    /// Every stored blob's path.
    fn objects(&self, storage: &Storage) -> Vec<String> {
        match self {
            Blobs::Directory => {
                let mut out = Vec::new();
                let mut dirs = vec![storage.dir.path().join("blobs")];
                while let Some(d) = dirs.pop() {
                    for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                        if e.path().is_dir() {
                            dirs.push(e.path());
                        } else {
                            out.push(e.path().display().to_string());
                        }
                    }
                }
                out
            }
            Blobs::Bucket(s3, address) => s3.objects(address),
        }
    }

    fn open(&self, storage: &Storage) -> ObjectBlobStore {
        match self {
            Blobs::Directory => {
                ObjectBlobStore::directory(&storage.dir.path().join("blobs")).unwrap()
            }
            Blobs::Bucket(_, address) => ObjectBlobStore::open(address).unwrap(),
        }
    }
}

/// The same signing key on every server of a test (restarts, second nodes, the test's own
/// signer).
fn shared_test_key(photos: &mut reuse_chat::photo_config::PhotoSettings) {
    photos.signing_key = TEST_KEY.to_vec();
    photos.signing_key_shared = true;
}

const TEST_KEY: &[u8] = b"photo-test-signing-key-0123456789";

async fn server(blobs: &Blobs) -> TestServer {
    TestServer::start_with(|s| blobs.apply(s)).await
}

// ---- tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_photo_is_cleaned_sent_delivered_and_served_on_both_stores() {
    for blobs in Blobs::both() {
        let store = blobs.name();
        let s = server(&blobs).await;
        let http = Http::new(s.port);
        let room = s.api("alice").open_room("bob", "자전거").await;
        let (mut alice, mut bob) = (s.stomp("alice").await, s.stomp("bob").await);
        alice.subscribe("r", &room).await;
        bob.subscribe("r", &room).await;

        // Taken sideways (orientation 6): stored upright, without its EXIF.
        let original = phone_jpeg(120, 80, 6);
        assert!(contains(&original, b"GPS-37.5665N"));
        let (status, up) = http.upload("alice", &room, &original).await;
        assert_eq!(status, 201, "{store}: {up}");
        let id = up["id"].as_str().unwrap().to_owned();
        assert!(AttachmentId::parse(&id).is_ok(), "{id}");
        assert_eq!(up["contentType"], "image/jpeg");
        assert_eq!(
            (up["width"].as_u64(), up["height"].as_u64()),
            (Some(80), Some(120)),
            "{store}"
        );
        let url = up["url"].as_str().unwrap().to_owned();
        let thumb = up["thumbnailUrl"].as_str().unwrap().to_owned();
        assert!(
            url.starts_with(&format!("/room/{room}/attachments/{id}?exp=")),
            "{url}"
        );
        assert!(url.contains("&sig="), "{url}");
        assert!(
            thumb.starts_with(&format!("/room/{room}/attachments/{id}/thumbnail?")),
            "{thumb}"
        );

        // The signed address works without any identity, as an <img src> would fetch it.
        let resp = http.fetch(&url, None, None).await;
        assert_eq!(resp.status(), 200, "{store}");
        let h = resp.headers().clone();
        assert_eq!(h["content-type"], "image/jpeg");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["cache-control"].to_str().unwrap().contains("private"));
        let etag = h["etag"].to_str().unwrap().to_owned();
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(bytes.len() as u64, up["size"].as_u64().unwrap());
        assert!(
            !contains(&bytes, b"GPS-37.5665N"),
            "{store}: the GPS marker was served"
        );
        assert!(!contains(&bytes, b"Exif\0"), "{store}: EXIF was served");
        let served = image::load_from_memory(&bytes).unwrap();
        assert_eq!((served.width(), served.height()), (80, 120));
        let not_modified = http.fetch(&url, None, Some(&etag)).await;
        assert_eq!(not_modified.status(), 304, "{store}: If-None-Match");
        let t = http.fetch(&thumb, None, None).await;
        assert_eq!(t.status(), 200);
        let t = image::load_from_memory(&t.bytes().await.unwrap()).unwrap();
        assert!(t.width() <= 320 && t.height() <= 320);

        // Not sent yet: only its uploader sees it without a signature.
        let plain = format!("/room/{room}/attachments/{id}");
        assert_eq!(http.fetch(&plain, Some("alice"), None).await.status(), 200);
        assert_eq!(
            http.status_and_code(&plain, Some("bob")).await,
            (404, "attachment_not_found".into())
        );

        // Sent with a caption: bob gets an IMAGE message with the photo and working links.
        let body = json!({"roomUUID": room, "content": "기스 부분이에요", "attachments": [id], "clientMessageId": "p-1"});
        send_photos(&mut alice, &room, body.clone(), "s1").await;
        receipt(&mut alice, "s1").await;
        let m = bob.message().await;
        assert_eq!(m["type"], "IMAGE", "{m}");
        assert_eq!(m["content"], "기스 부분이에요");
        let a = &m["attachments"][0];
        assert_eq!(a["id"], id.as_str());
        assert_eq!(
            (a["width"].as_u64(), a["height"].as_u64()),
            (Some(80), Some(120))
        );
        let live_url = a["url"].as_str().unwrap();
        assert_eq!(http.fetch(live_url, None, None).await.status(), 200);

        // A retried send (same clientMessageId) is the same message, not an error.
        send_photos(&mut alice, &room, body, "s2").await;
        receipt(&mut alice, "s2").await;

        // Sent: every member sees it without a signature, nobody else does.
        assert_eq!(http.fetch(&plain, Some("bob"), None).await.status(), 200);
        assert_eq!(
            http.status_and_code(&plain, Some("carol")).await,
            (403, "not_a_member".into())
        );
        let (status, _) = http.status_and_code(&plain, None).await;
        assert_eq!(status, 401, "{store}: no signature, no identity");
        let tampered = url.replace("sig=", "sig=0");
        assert_eq!(
            http.status_and_code(&tampered[..tampered.len() - 1], None)
                .await,
            (403, "invalid_signature".into())
        );
        let expired = format!("{plain}?exp=1000000000&sig={}", "0".repeat(64));
        assert_eq!(http.status_and_code(&expired, None).await.0, 403);

        // History and the room list hand out fresh, working links.
        let history = s.api("bob").history(&room, "").await;
        let last = history.last().unwrap();
        assert_eq!(last["type"], "IMAGE");
        let h_url = last["attachments"][0]["url"].as_str().unwrap();
        assert_eq!(http.fetch(h_url, None, None).await.status(), 200);
        let (_, rooms) = s.api("bob").get("/room/list").await;
        let listed = &rooms.as_array().unwrap()[0]["lastMessage"];
        assert_eq!(listed["attachments"][0]["id"], id.as_str(), "{rooms}");
        assert!(listed["attachments"][0]["thumbnailUrl"].as_str().is_some());
        assert_eq!(
            history.iter().filter(|m| m["type"] == "IMAGE").count(),
            1,
            "the retry stored twice"
        );
    }
}

#[tokio::test]
async fn bad_uploads_are_refused_with_their_codes_and_leave_nothing_behind() {
    for blobs in Blobs::both() {
        let store = blobs.name();
        let s = TestServer::start_with(|st| {
            blobs.apply(st);
            st.photos.max_bytes = 200_000;
        })
        .await;
        let http = Http::new(s.port);
        let room = s.api("alice").open_room("bob", "책상").await;
        let mut bomb = phone_jpeg(16, 16, 1);
        let sof = bomb.windows(2).position(|p| p == [0xFF, 0xC0]).unwrap();
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
        let whole = phone_jpeg(200, 150, 1);
        let truncated = whole[..whole.len() * 2 / 3].to_vec();
        let oversize: Vec<u8> = phone_jpeg(16, 16, 1)
            .into_iter()
            .chain(std::iter::repeat_n(0u8, 300_000))
            .collect();
        let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            (
                "svg",
                b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec(),
                415,
                "unsupported_media_type",
            ),
            (
                "html",
                b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
                415,
                "unsupported_media_type",
            ),
            ("truncated", truncated, 415, "unsupported_media_type"),
            ("empty", Vec::new(), 415, "unsupported_media_type"),
            ("bomb", bomb, 413, "too_large"),
            ("oversize", oversize, 413, "too_large"),
        ];
        for (name, bytes, status, code) in cases {
            let (got, body) = http.upload("alice", &room, &bytes).await;
            assert_eq!(
                (got, body["error"].as_str().unwrap_or("")),
                (status, code),
                "{store} {name}: {body}"
            );
        }
        // A PNG named photo.jpg and declared image/jpeg is a PNG: the bytes decide.
        let (status, up) = http.upload("alice", &room, &png(30, 20)).await;
        assert_eq!(
            (status, up["contentType"].as_str()),
            (201, Some("image/png")),
            "{up}"
        );
        // Who and how.
        let (ct, body) = form("file", "a.jpg", "image/jpeg", &phone_jpeg(8, 8, 1));
        assert_eq!(
            http.upload_raw(Some("carol"), &room, &ct, body.clone())
                .await
                .1["error"],
            "not_a_member"
        );
        assert_eq!(http.upload_raw(None, &room, &ct, body.clone()).await.0, 401);
        let unknown = RoomId::new_random().to_text();
        assert_eq!(
            http.upload_raw(Some("alice"), &unknown, &ct, body.clone())
                .await
                .1["error"],
            "room_not_found"
        );
        assert_eq!(
            http.upload_raw(Some("alice"), "not-a-uuid", &ct, body.clone())
                .await
                .0,
            400
        );
        let (ct2, other) = form("photo", "a.jpg", "image/jpeg", &phone_jpeg(8, 8, 1));
        assert_eq!(
            http.upload_raw(Some("alice"), &room, &ct2, other).await.1["error"],
            "missing_file"
        );
        assert_eq!(
            http.upload_raw(Some("alice"), &room, "image/jpeg", phone_jpeg(8, 8, 1))
                .await
                .1["error"],
            "invalid_body"
        );
        assert_eq!(
            http.upload_raw(Some("alice"), &room, &ct, body[..body.len() / 2].to_vec())
                .await
                .0,
            400
        );
        // Path-like and malformed ids never reach the store.
        for bad in [
            "..%2F..%2Fetc%2Fpasswd",
            "ABCDEF0123456789ABCDEF0123456789",
            "x",
        ] {
            let (status, code) = http
                .status_and_code(&format!("/room/{room}/attachments/{bad}"), Some("alice"))
                .await;
            assert_eq!(
                (status, code.as_str()),
                (400, "invalid_attachment"),
                "{bad}"
            );
        }
        // Only the accepted PNG (and its thumbnail) was stored.
        let objects = blobs.objects(&s.storage);
        assert_eq!(objects.len(), 2, "{store}: {objects:?}");
    }
}

#[tokio::test]
async fn bad_attachment_ids_in_a_send_are_refused_and_reach_nobody() {
    let blobs = Blobs::Directory;
    let s = server(&blobs).await;
    let http = Http::new(s.port);
    let room = s.api("alice").open_room("bob", "의자").await;
    let other_room = s.api("alice").open_room("dave", "의자").await;
    let mut bob = s.stomp("bob").await;
    bob.subscribe("r", &room).await;
    let upload = |user: &'static str, room: String| {
        let http = &http;
        async move {
            let (status, v) = http.upload(user, &room, &phone_jpeg(10, 10, 1)).await;
            assert_eq!(status, 201, "{v}");
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let mine = upload("alice", room.clone()).await;
    let bobs = upload("bob", room.clone()).await;
    let elsewhere = upload("alice", other_room.clone()).await;
    let sent = upload("alice", room.clone()).await;
    let mut alice = s.stomp("alice").await;
    send_photos(
        &mut alice,
        &room,
        json!({"content": "", "attachments": [sent]}),
        "ok",
    )
    .await;
    receipt(&mut alice, "ok").await;
    assert_eq!(bob.message().await["type"], "IMAGE");
    let eleven: Vec<String> = (0..11)
        .map(|_| AttachmentId::random().to_string())
        .collect();
    let cases: Vec<(&str, Value)> = vec![
        ("unknown", json!([AttachmentId::random().to_string()])),
        ("another user's", json!([bobs])),
        ("another room's", json!([elsewhere])),
        ("already sent", json!([sent])),
        ("eleven", json!(eleven)),
        ("twice", json!([mine, mine])),
        ("empty list", json!([])),
        ("not strings", json!([1, 2])),
        ("not a list", json!(mine)),
        ("path-like", json!(["../../etc/passwd"])),
        (
            "one good, one bad",
            json!([mine, AttachmentId::random().to_string()]),
        ),
    ];
    for (name, ids) in cases {
        let mut c = s.stomp("alice").await;
        send_photos(
            &mut c,
            &room,
            json!({"content": "x", "attachments": ids}),
            "r",
        )
        .await;
        let f = c.expect_error().await;
        assert_eq!(
            f.header("code"),
            Some("invalid_attachment"),
            "{name}: {}",
            f.text()
        );
    }
    assert!(
        bob.maybe(Duration::from_millis(300)).await.is_none(),
        "a refused send reached bob"
    );
    // The good one in "one good, one bad" was not taken: it can still be sent.
    send_photos(&mut alice, &room, json!({"attachments": [mine]}), "ok2").await;
    receipt(&mut alice, "ok2").await;
    let m = bob.message().await;
    assert_eq!(
        (m["type"].as_str(), m["content"].as_str()),
        (Some("IMAGE"), Some("")),
        "{m}"
    );
}

#[tokio::test]
async fn two_sends_racing_for_one_photo_store_it_once() {
    let blobs = Blobs::Directory;
    let s = server(&blobs).await;
    let http = Http::new(s.port);
    let room = s.api("alice").open_room("bob", "램프").await;
    for round in 0..5 {
        let (_, up) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let id = up["id"].as_str().unwrap().to_owned();
        let mut a = s.stomp("alice").await;
        let mut b = s.stomp("alice").await;
        let body = json!({"attachments": [id]});
        send_photos(&mut a, &room, body.clone(), "a").await;
        send_photos(&mut b, &room, body, "b").await;
        let (fa, fb) = (a.recv().await, b.recv().await);
        let ok = [&fa, &fb].iter().filter(|f| f.command == "RECEIPT").count();
        let refused = [&fa, &fb]
            .iter()
            .filter(|f| f.command == "ERROR" && f.header("code") == Some("invalid_attachment"))
            .count();
        assert_eq!((ok, refused), (1, 1), "round {round}: {fa:?} {fb:?}");
    }
    let images = s.api("bob").history(&room, "").await;
    assert_eq!(images.iter().filter(|m| m["type"] == "IMAGE").count(), 5);
}

/// The test's own view of the server's stores, to run the janitor at a chosen time.
async fn photos_of(s: &TestServer, blobs: &Blobs) -> (Arc<Photos>, Arc<SqlStore>) {
    let store = Arc::new(
        SqlStore::connect(s.storage.db.url(), StoreOptions::default())
            .await
            .unwrap(),
    );
    let photos = Photos::new(
        store.clone(),
        store.clone(),
        Arc::new(blobs.open(&s.storage)),
        LinkSigner::new(TEST_KEY, Duration::from_secs(3600), ""),
        PhotoLimits::default(),
    );
    (Arc::new(photos), store)
}

async fn until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_deleted_rooms_photos_and_unsent_uploads_are_deleted_and_a_crash_leaves_nothing() {
    for blobs in Blobs::both() {
        let store_name = blobs.name();
        let s = server(&blobs).await;
        let http = Http::new(s.port);
        let (photos, store) = photos_of(&s, &blobs).await;

        // A deleted room's photos, sent or not, are deleted at once (the janitor is woken).
        let room = s.api("alice").open_room("bob", "소파").await;
        let (_, a) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let (_, _b) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let mut alice = s.stomp("alice").await;
        send_photos(&mut alice, &room, json!({"attachments": [a["id"]]}), "s").await;
        receipt(&mut alice, "s").await;
        assert_eq!(blobs.objects(&s.storage).len(), 4);
        assert_eq!(
            s.api("alice")
                .delete(&format!("/room/delete/{room}"))
                .await
                .0,
            204
        );
        assert_eq!(
            s.api("bob").delete(&format!("/room/delete/{room}")).await.0,
            204
        );
        until(
            &format!("{store_name}: a deleted room's photos are deleted"),
            WAIT,
            || blobs.objects(&s.storage).is_empty(),
        )
        .await;

        // Unsent uploads live 24 h.
        let room = s.api("alice").open_room("bob", "식탁").await;
        let (_, unsent) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let now = Millis::now().0;
        let hour = 3_600_000;
        chat_core::janitor::sweep(&photos, Millis(now + 23 * hour))
            .await
            .unwrap();
        assert_eq!(
            blobs.objects(&s.storage).len(),
            2,
            "{store_name}: deleted before 24 h"
        );
        let swept = chat_core::janitor::sweep(&photos, Millis(now + 25 * hour))
            .await
            .unwrap();
        assert_eq!(swept.deleted, 1);
        assert!(
            blobs.objects(&s.storage).is_empty(),
            "{store_name}: an unsent upload outlived 24 h"
        );
        let gone = format!(
            "/room/{room}/attachments/{}",
            unsent["id"].as_str().unwrap()
        );
        assert_eq!(http.status_and_code(&gone, Some("alice")).await.0, 404);

        // A crash between the claim and the commit: the photo is not lost (it becomes sendable
        // again), and later expires like any unsent upload.
        let (_, up) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let id = AttachmentId::parse(up["id"].as_str().unwrap()).unwrap();
        let room_id = RoomId::parse(&room).unwrap();
        let alice_id = UserId::parse("alice").unwrap();
        let claimed = store
            .claim(
                &room_id,
                &alice_id,
                std::slice::from_ref(&id),
                "crashed-send",
                Millis::now(),
            )
            .await
            .unwrap();
        assert!(claimed.is_ok());
        let swept = chat_core::janitor::sweep(&photos, Millis(Millis::now().0 + 11 * 60_000))
            .await
            .unwrap();
        assert_eq!(swept.claims_resolved, 1);
        send_photos(
            &mut alice,
            &room,
            json!({"attachments": [id.as_str()]}),
            "again",
        )
        .await;
        receipt(&mut alice, "again").await;

        // A crash after the commit, before the claim was settled: the janitor finds the
        // message and keeps the photo.
        let (_, up) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
        let id = AttachmentId::parse(up["id"].as_str().unwrap()).unwrap();
        let taken = store
            .claim(
                &room_id,
                &alice_id,
                std::slice::from_ref(&id),
                "crashed-after-commit",
                Millis::now(),
            )
            .await
            .unwrap()
            .unwrap();
        let message = chat_core::NewMessage {
            room: room_id,
            sender: alice_id.clone(),
            content: String::new(),
            kind: chat_core::MessageKind::Image,
            created_at: Millis::now(),
            client_message_id: None,
            notice: None,
            attachments: taken,
            warnings: Default::default(),
        };
        ChatStore::append(&*store, &[message]).await.unwrap();
        let later = Millis(Millis::now().0 + 25 * hour);
        let swept = chat_core::janitor::sweep(&photos, later).await.unwrap();
        assert_eq!(swept.claims_resolved, 1);
        let plain = format!("/room/{room}/attachments/{}", id.as_str());
        assert_eq!(
            http.fetch(&plain, Some("bob"), None).await.status(),
            200,
            "{store_name}: a sent photo was lost"
        );
        // Two sent photos (full and thumbnail each) remain, nothing else.
        assert_eq!(blobs.objects(&s.storage).len(), 4, "{store_name}");
    }
}

#[tokio::test]
async fn deleting_is_retried_while_the_bucket_is_down() {
    let mut s3 = S3Server::start();
    S3Server::set_env();
    let address = s3.bucket();
    let s = TestServer::start_with(|st| {
        shared_test_key(&mut st.photos);
        st.photos.blobs = address.clone();
    })
    .await;
    let http = Http::new(s.port);
    let room = s.api("alice").open_room("bob", "선반").await;
    let (status, _) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
    assert_eq!(status, 201);
    assert_eq!(s3.objects(&address).len(), 2);
    s3.stop();
    // Uploading while the bucket is down fails clearly and leaves a record the janitor handles.
    let (status, v) = http.upload("alice", &room, &phone_jpeg(10, 10, 1)).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (503, Some("backend_unavailable")),
        "{v}"
    );
    assert_eq!(
        s.api("alice")
            .delete(&format!("/room/delete/{room}"))
            .await
            .0,
        204
    );
    assert_eq!(
        s.api("bob").delete(&format!("/room/delete/{room}")).await.0,
        204
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    s3.restart();
    // The janitor's backoff (1 s, doubling) brings it back within seconds.
    until(
        "the doomed photo is deleted once the bucket is back",
        Duration::from_secs(40),
        || s3.objects(&address).is_empty(),
    )
    .await;
}
