//! A real Web Push and webhook receiver for the notification tests: an HTTP server on
//! 127.0.0.1 that plays a push service (RFC 8030) for any number of browser subscriptions,
//! checks each request's VAPID JWT (RFC 8292: ES256 under the key it names, `aud` the
//! endpoint's origin, `exp` within a day, `sub` a contact) and decrypts its aes128gcm payload
//! (RFC 8291) with the subscription's own keys; and plays the marketplace's push service,
//! checking the webhook's HMAC-SHA256 signature. It can answer with any status, hang, or go
//! down and come back on the same port.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;

/// A browser's subscription keys, made here as a browser makes them.
pub struct BrowserKeys {
    components: ece::EcKeyComponents,
    auth: [u8; 16],
}

/// One delivery the receiver accepted.
#[derive(Clone, Debug)]
pub struct Received {
    /// `push:<subscription name>` or `webhook`.
    pub target: String,
    /// The decrypted (or plain, for the webhook) JSON.
    pub payload: Value,
    /// `Topic` (Web Push) or `Idempotency-Key` (webhook).
    pub key: Option<String>,
}

#[derive(Default)]
struct Inner {
    subscriptions: Mutex<HashMap<String, Arc<BrowserKeys>>>,
    received: Mutex<Vec<Received>>,
    /// Requests refused because a check failed: must stay empty.
    rejected: Mutex<Vec<String>>,
    /// Every request that reached the receiver, whatever it answered.
    requests: Mutex<u64>,
    arrived: Notify,
    status: AtomicU16,
    hang: AtomicBool,
    webhook_secret: Mutex<String>,
    vapid_key: Mutex<Option<String>>,
}

/// The receiver.
pub struct PushReceiver {
    pub port: u16,
    inner: Arc<Inner>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PushReceiver {
    /// Starts on a free port; webhook requests must be signed with `webhook_secret`.
    pub async fn start(webhook_secret: &str) -> PushReceiver {
        let inner = Arc::new(Inner::default());
        inner.status.store(201, Ordering::SeqCst);
        *inner.webhook_secret.lock().unwrap() = webhook_secret.to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = PushReceiver {
            port,
            inner,
            task: Mutex::new(None),
        };
        r.serve(listener);
        r
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/push/{name}", post(push))
            .route("/hook", post(hook))
            .with_state(self.inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Stops answering: the port refuses connections.
    pub fn down(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    /// Answers again, on the same port.
    pub async fn up(&self) {
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("receiver cannot listen again on {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    /// Answers every later request with `status` (after its checks).
    pub fn answer(&self, status: u16) {
        self.inner.status.store(status, Ordering::SeqCst);
    }

    /// Holds every later request open without answering (or stops doing so).
    pub fn hang(&self, on: bool) {
        self.inner.hang.store(on, Ordering::SeqCst);
    }

    /// The VAPID public key (base64url) every request must be signed under.
    pub fn expect_vapid_key(&self, key: &str) {
        *self.inner.vapid_key.lock().unwrap() = Some(key.to_owned());
    }

    /// A new browser subscription at this receiver: the `PushSubscription.toJSON()` a browser
    /// would post.
    pub fn subscription(&self, name: &str) -> Value {
        let (keys, auth) = ece::generate_keypair_and_auth_secret().expect("keys");
        let components = keys.raw_components().expect("raw keys");
        let public = keys.pub_as_raw().expect("public key");
        self.inner
            .subscriptions
            .lock()
            .unwrap()
            .insert(name.to_owned(), Arc::new(BrowserKeys { components, auth }));
        serde_json::json!({
            "endpoint": format!("http://127.0.0.1:{}/push/{name}", self.port),
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(public),
                "auth": URL_SAFE_NO_PAD.encode(auth),
            }
        })
    }

    /// Everything accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// How many requests arrived, accepted or not.
    pub fn requests(&self) -> u64 {
        *self.inner.requests.lock().unwrap()
    }

    /// Requests that failed a check (a bad JWT, payload or signature).
    pub fn rejected(&self) -> Vec<String> {
        self.inner.rejected.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries were accepted (at most `within`); all of them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inner.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let got = self.received();
                assert!(
                    got.len() >= n,
                    "expected {n} deliveries, got {}: {got:?}; rejected: {:?}",
                    got.len(),
                    self.rejected()
                );
                return got;
            }
        }
    }
}

impl Drop for PushReceiver {
    fn drop(&mut self) {
        self.down();
    }
}

fn reject(inner: &Inner, why: String) -> StatusCode {
    inner.rejected.lock().unwrap().push(why);
    inner.arrived.notify_waiters();
    StatusCode::BAD_REQUEST
}

async fn answer(inner: &Inner, accepted: Received) -> StatusCode {
    if inner.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(inner.status.load(Ordering::SeqCst)).unwrap();
    if status.is_success() {
        inner.received.lock().unwrap().push(accepted);
        inner.arrived.notify_waiters();
    }
    status
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>` (RFC 8292) for an endpoint of `origin`.
fn check_vapid(inner: &Inner, headers: &HeaderMap, origin: &str) -> Result<(), String> {
    let auth = header(headers, "authorization").ok_or("no Authorization")?;
    let rest = auth
        .strip_prefix("vapid ")
        .ok_or("not a vapid Authorization")?;
    let mut t = None;
    let mut k = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v.to_owned());
        } else if let Some(v) = part.strip_prefix("k=") {
            k = Some(v.to_owned());
        }
    }
    let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
    if let Some(expected) = inner.vapid_key.lock().unwrap().as_deref() {
        if expected != k {
            return Err(format!("signed under {k}, not the server's key {expected}"));
        }
    }
    let point = URL_SAFE_NO_PAD.decode(&k).map_err(|e| e.to_string())?;
    if point.len() != 65 || point[0] != 4 {
        return Err("k is not an uncompressed P-256 point".into());
    }
    let key = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[origin]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(&t, &key, &validation)
        .map_err(|e| format!("JWT: {e}"))?
        .claims;
    let exp = claims["exp"].as_i64().ok_or("exp")?;
    let now = chrono_now();
    if exp > now + 24 * 3600 {
        return Err("exp more than 24 h ahead".into());
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(format!("sub {sub:?} is not a contact"));
    }
    Ok(())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn push(
    State(inner): State<Arc<Inner>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    *inner.requests.lock().unwrap() += 1;
    let keys = inner.subscriptions.lock().unwrap().get(&name).cloned();
    let Some(keys) = keys else {
        return StatusCode::GONE;
    };
    let origin = format!("http://127.0.0.1:{}", headers_port(&headers));
    if let Err(e) = check_vapid(&inner, &headers, &origin) {
        return reject(&inner, format!("push {name}: {e}"));
    }
    if header(&headers, "content-encoding").as_deref() != Some("aes128gcm") {
        return reject(&inner, format!("push {name}: not aes128gcm"));
    }
    if header(&headers, "ttl")
        .and_then(|t| t.parse::<u64>().ok())
        .is_none()
    {
        return reject(&inner, format!("push {name}: no TTL"));
    }
    let plain = match ece::decrypt(&keys.components, &keys.auth, &body) {
        Ok(p) => p,
        Err(e) => return reject(&inner, format!("push {name}: cannot decrypt: {e:?}")),
    };
    let payload: Value = match serde_json::from_slice(&plain) {
        Ok(v) => v,
        Err(e) => return reject(&inner, format!("push {name}: payload is not JSON: {e}")),
    };
    let accepted = Received {
        target: format!("push:{name}"),
        payload,
        key: header(&headers, "topic"),
    };
    answer(&inner, accepted).await
}

/// The port the request was addressed to (its `Host`).
fn headers_port(headers: &HeaderMap) -> u16 {
    header(headers, "host")
        .and_then(|h| h.rsplit(':').next().and_then(|p| p.parse().ok()))
        .unwrap_or(80)
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    *inner.requests.lock().unwrap() += 1;
    let secret = inner.webhook_secret.lock().unwrap().clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if header(&headers, "x-reuse-signature").as_deref() != Some(expected.as_str()) {
        return reject(&inner, "webhook: bad X-Reuse-Signature".into());
    }
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return reject(&inner, format!("webhook: not JSON: {e}")),
    };
    let accepted = Received {
        target: "webhook".into(),
        payload,
        key: header(&headers, "idempotency-key"),
    };
    answer(&inner, accepted).await
}
