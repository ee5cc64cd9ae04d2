//! The data of notifications: a browser's push subscription as the API takes it, a message's
//! notification as the notifier queues it, and as a sender claims it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use crate::error::ChatError;
use crate::ids::{RoomId, UserId};
use crate::model::{ChatMessage, MessageKind, Millis, Room};

/// Longest push endpoint, in bytes (browsers' are a few hundred).
pub const MAX_ENDPOINT_BYTES: usize = 2048;
/// Longest preview of a message in a notification, in characters.
const PREVIEW_CHARS: usize = 100;

/// Which push endpoints the server will post to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    /// Also `http://127.0.0.1:…` (`--push-allow-http-loopback`, for tests).
    pub allow_http_loopback: bool,
}

/// A browser's `PushSubscription` (RFC 8030 endpoint, RFC 8291 keys), validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSubscription {
    /// Where the push service takes messages for this browser.
    pub endpoint: String,
    /// The browser's P-256 public key, base64url (65 bytes, uncompressed).
    pub p256dh: String,
    /// The browser's authentication secret, base64url (16 bytes).
    pub auth: String,
}

fn bad_key(field: &str, what: &str) -> ChatError {
    ChatError::bad(
        "invalid_key",
        format!("'keys.{field}' must be {what}, base64url"),
    )
}

/// Decodes base64url with or without padding.
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

impl PushSubscription {
    /// Validates the JSON of `PushSubscription.toJSON()`:
    /// `{"endpoint", "expirationTime"?, "keys": {"p256dh", "auth"}}`.
    pub fn parse(body: &[u8], policy: EndpointPolicy) -> Result<Self, ChatError> {
        #[derive(Deserialize)]
        struct Keys {
            p256dh: serde_json::Value,
            auth: serde_json::Value,
        }
        #[derive(Deserialize)]
        struct Body {
            endpoint: serde_json::Value,
            keys: Keys,
            #[serde(default, rename = "expirationTime")]
            _expiration_time: Option<serde_json::Value>,
        }
        let b: Body = serde_json::from_slice(body).map_err(|_| {
            ChatError::bad(
                "invalid_body",
                r#"the body must be a PushSubscription: {"endpoint", "keys": {"p256dh", "auth"}}"#,
            )
        })?;
        let endpoint = b
            .endpoint
            .as_str()
            .ok_or_else(|| ChatError::bad("invalid_endpoint", "'endpoint' must be a URL string"))?;
        let endpoint = Self::check_endpoint(endpoint, policy)?;
        let p256dh = b.keys.p256dh.as_str().unwrap_or_default();
        match decode(p256dh) {
            Some(k) if k.len() == 65 && k[0] == 4 => {}
            _ => {
                return Err(bad_key(
                    "p256dh",
                    "an uncompressed P-256 public key (65 bytes)",
                ))
            }
        }
        let auth = b.keys.auth.as_str().unwrap_or_default();
        match decode(auth) {
            Some(k) if k.len() == 16 => {}
            _ => return Err(bad_key("auth", "a 16-byte secret")),
        }
        Ok(PushSubscription {
            endpoint,
            p256dh: p256dh.trim_end_matches('=').to_owned(),
            auth: auth.trim_end_matches('=').to_owned(),
        })
    }

    /// An endpoint the server may post to: `https://` on a public host name, or with
    /// `allow_http_loopback`, `http://127.0.0.1:…`. Hosts written as addresses, `localhost`
    /// and internal names are refused, so a subscription cannot aim the server at the
    /// operator's own network.
    pub fn check_endpoint(endpoint: &str, policy: EndpointPolicy) -> Result<String, ChatError> {
        let bad = |why: &str| ChatError::bad("invalid_endpoint", format!("'endpoint' {why}"));
        if endpoint.len() > MAX_ENDPOINT_BYTES {
            return Err(bad(&format!("is longer than {MAX_ENDPOINT_BYTES} bytes")));
        }
        let url = url::Url::parse(endpoint).map_err(|_| bad("is not a URL"))?;
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(bad("must not carry credentials or a fragment"));
        }
        let loopback = url.host() == Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST));
        match url.scheme() {
            "http" if policy.allow_http_loopback && loopback => return Ok(url.into()),
            "https" => {}
            _ => return Err(bad("must be an https:// URL")),
        }
        match url.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                let internal = !d.contains('.')
                    || [".localhost", ".local", ".internal", ".lan", ".home.arpa"]
                        .iter()
                        .any(|s| d.ends_with(s));
                if internal {
                    return Err(bad("must name a public push service"));
                }
            }
            Some(_) if policy.allow_http_loopback && loopback => {}
            _ => return Err(bad("must name a push service by its host name")),
        }
        Ok(url.into())
    }
}

/// A push subscription as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSubscription {
    /// Its id (how a delivery names it among the targets done).
    pub id: i64,
    /// The subscription.
    pub subscription: PushSubscription,
}

/// A message's notification for one offline member, before the coalescing rule places it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Who is told.
    pub user: UserId,
    /// The room.
    pub room: RoomId,
    /// The message.
    pub message_id: i64,
    /// When it was written.
    pub at: Millis,
    /// How far the member had read when it was written.
    pub read_up_to: i64,
    /// The notification's title: the room's name.
    pub title: String,
    /// Its text: who wrote what.
    pub body: String,
}

impl Candidate {
    /// The notification of `message` in `room` for `user`.
    pub fn of(message: &ChatMessage, room: &Room, user: &UserId) -> Candidate {
        Candidate {
            user: user.clone(),
            room: room.id,
            message_id: message.id,
            at: message.created_at,
            read_up_to: room.read_mark(user).up_to,
            title: room.name.chars().take(PREVIEW_CHARS).collect(),
            body: preview(message),
        }
    }
}

/// What a notification shows of a message: the sender and the start of the text, a photo's
/// mention, or a notice's sentence.
pub fn preview(message: &ChatMessage) -> String {
    let mut text: String = message.content.chars().take(PREVIEW_CHARS).collect();
    if message.content.chars().nth(PREVIEW_CHARS).is_some() {
        text.push('…');
    }
    match message.kind {
        MessageKind::System => text,
        MessageKind::Image if text.is_empty() => format!("{}: 사진을 보냈어요", message.sender),
        MessageKind::Image => format!("{}: (사진) {text}", message.sender),
        MessageKind::Text => format!("{}: {text}", message.sender),
    }
}

/// A notification claimed from the outbox for delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedNotification {
    /// Its id: the idempotency key of every attempt.
    pub id: i64,
    /// Who is told.
    pub user: UserId,
    /// The room.
    pub room: RoomId,
    /// The room's name.
    pub title: String,
    /// The newest message's preview.
    pub body: String,
    /// The newest message it tells of.
    pub message_id: i64,
    /// How many messages it tells of.
    pub count: i64,
    /// When it was queued.
    pub created_at: Millis,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Targets already delivered to (`webhook`, `push:<subscription id>`): a retry skips them.
    pub done: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const P256DH: &str =
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    const AUTH: &str = "tBHItJI5svbpez7KI4CCXg";

    fn body(endpoint: &str) -> Vec<u8> {
        serde_json::json!({"endpoint": endpoint, "expirationTime": null,
            "keys": {"p256dh": P256DH, "auth": AUTH}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn takes_a_browsers_subscription() {
        let s = PushSubscription::parse(
            &body("https://fcm.googleapis.com/fcm/send/abc:def"),
            EndpointPolicy::default(),
        )
        .unwrap();
        assert_eq!(s.endpoint, "https://fcm.googleapis.com/fcm/send/abc:def");
        assert_eq!(s.auth, AUTH);
    }

    #[test]
    fn refuses_endpoints_the_server_must_not_post_to() {
        let strict = EndpointPolicy::default();
        let tests = EndpointPolicy {
            allow_http_loopback: true,
        };
        for e in [
            "http://push.example.com/x",
            "http://127.0.0.1:9/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://10.0.0.5/x",
            "https://localhost/x",
            "https://intranet/x",
            "https://push.corp.internal/x",
            "https://user:pw@push.example.com/x",
            "ftp://push.example.com/x",
            "not a url",
        ] {
            let err = PushSubscription::parse(&body(e), strict).unwrap_err();
            assert_eq!(err.code(), "invalid_endpoint", "{e}");
        }
        assert!(PushSubscription::parse(&body("http://127.0.0.1:9/x"), tests).is_ok());
        assert!(PushSubscription::parse(&body("http://localhost:9/x"), tests).is_err());
        let long = format!(
            "https://push.example.com/{}",
            "a".repeat(MAX_ENDPOINT_BYTES)
        );
        assert!(PushSubscription::parse(&body(&long), strict).is_err());
    }

    #[test]
    fn refuses_bad_keys() {
        let ok = "https://push.example.com/x";
        for (p, a) in [
            ("AAAA", AUTH),
            (P256DH, "AAAA"),
            ("***", AUTH),
            (P256DH, ""),
        ] {
            let b = serde_json::json!({"endpoint": ok, "keys": {"p256dh": p, "auth": a}});
            let err = PushSubscription::parse(b.to_string().as_bytes(), EndpointPolicy::default())
                .unwrap_err();
            assert_eq!(err.code(), "invalid_key");
        }
        for b in [&b"{}"[..], b"[]", br#"{"endpoint":"https://a.b/x"}"#] {
            assert_eq!(
                PushSubscription::parse(b, EndpointPolicy::default())
                    .unwrap_err()
                    .code(),
                "invalid_body"
            );
        }
    }
}
