//! The WebSocket upgrade at `/ws-stomp`, done here (RFC 6455 §4.2) rather than by axum's
//! extractor so that the session owns the raw connection. That matters at the end: a session
//! that refuses an oversized message says `ERROR` and closes with 1009, but the client is
//! still sending; closing a TCP socket with unread data makes the kernel reset it, and the
//! reset can overtake the close frame. The session therefore drains what still arrives
//! (bounded in time and bytes) before it lets go.

use std::time::Duration;

use axum::http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// The upgraded connection a session runs on.
pub type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// STOMP's WebSocket subprotocols, best first.
const PROTOCOLS: [&str; 3] = ["v12.stomp", "v11.stomp", "v10.stomp"];

/// How long, and how many bytes, a closing session keeps reading and discarding.
const DRAIN_TIME: Duration = Duration::from_secs(2);
const DRAIN_BYTES: usize = 16 << 20;

/// Why a request to `/ws-stomp` is not a WebSocket handshake the server can accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UpgradeError {
    /// `Connection: upgrade` and `Upgrade: websocket` are missing.
    #[error("the request is not a WebSocket upgrade")]
    NotUpgrade,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("unsupported WebSocket version (13 is required)")]
    Version,
    /// `Sec-WebSocket-Key` is missing.
    #[error("Sec-WebSocket-Key is missing")]
    Key,
    /// The connection cannot be upgraded (HTTP/2, or a test client without a connection).
    #[error("the connection cannot be upgraded")]
    NotUpgradable,
}

/// An accepted handshake: the `101` response to send, and the connection once upgraded.
pub struct Accepted {
    /// The `101 Switching Protocols` response.
    pub response: Response,
    /// Resolves to the raw connection after the response went out.
    pub on_upgrade: OnUpgrade,
}

fn has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Checks a handshake request and builds its `101` response, picking the best STOMP
/// subprotocol the client offers (none if it offers none).
pub fn accept(
    headers: &HeaderMap,
    on_upgrade: Option<OnUpgrade>,
) -> Result<Accepted, UpgradeError> {
    if !has_token(headers, CONNECTION, "upgrade") || !has_token(headers, UPGRADE, "websocket") {
        return Err(UpgradeError::NotUpgrade);
    }
    if headers
        .get("sec-websocket-version")
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(UpgradeError::Version);
    }
    let key = headers.get(SEC_WEBSOCKET_KEY).ok_or(UpgradeError::Key)?;
    let on_upgrade = on_upgrade.ok_or(UpgradeError::NotUpgradable)?;
    let protocol = PROTOCOLS
        .into_iter()
        .find(|p| has_token(headers, SEC_WEBSOCKET_PROTOCOL, p));
    let mut response = (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (CONNECTION, HeaderValue::from_static("upgrade")),
            (UPGRADE, HeaderValue::from_static("websocket")),
        ],
    )
        .into_response();
    let accept = derive_accept_key(key.as_bytes());
    if let Ok(v) = HeaderValue::from_str(&accept) {
        response.headers_mut().insert("sec-websocket-accept", v);
    }
    if let Some(p) = protocol {
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(p));
    }
    Ok(Accepted {
        response,
        on_upgrade,
    })
}

/// Waits for the upgrade and wraps the connection as a server-side WebSocket.
pub async fn upgraded(
    on_upgrade: OnUpgrade,
    config: WebSocketConfig,
) -> Result<Socket, hyper::Error> {
    let io = on_upgrade.await?;
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(config)).await)
}

/// Reads and discards what the client still sends (until it closes, for at most
/// [`DRAIN_TIME`] and [`DRAIN_BYTES`]), so that closing does not reset the connection under
/// the frames just written.
pub async fn drain(socket: &mut Socket) {
    let io = socket.get_mut();
    let mut scratch = vec![0u8; 16 << 10];
    let mut total = 0;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while total < DRAIN_BYTES {
            match io.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn refusals_name_what_is_missing() {
        let without = |name: &str| {
            let pairs: Vec<_> = GOOD.iter().copied().filter(|(k, _)| *k != name).collect();
            accept(&handshake(&pairs), None).err()
        };
        assert_eq!(without("upgrade"), Some(UpgradeError::NotUpgrade));
        assert_eq!(without("connection"), Some(UpgradeError::NotUpgrade));
        assert_eq!(
            without("sec-websocket-version"),
            Some(UpgradeError::Version)
        );
        assert_eq!(without("sec-websocket-key"), Some(UpgradeError::Key));
        assert_eq!(
            accept(&handshake(&GOOD), None).err(),
            Some(UpgradeError::NotUpgradable)
        );
    }

    #[test]
    fn the_accept_key_is_the_rfc_example() {
        // RFC 6455 §1.3: this key's accept value.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
