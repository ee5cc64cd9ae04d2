//! The HTTP limits of API.md against the real server over raw TCP: the JSON 413/414/431/400
//! answers (also those hyper gives by itself), the request-head timeout for silent, half-sent
//! and idle keep-alive connections (and not for WebSocket sessions), and the connection caps.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` on a new connection and reads until the server closes it or `wait` passes;
/// returns the status, the JSON body (if any), and whether the server closed the connection.
async fn exchange(port: u16, request: &[u8], wait: Duration) -> (u16, Value, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // The server may answer and close before it has read everything: that is allowed.
    let _ = s.write_all(request).await;
    let (bytes, closed) = read_until_closed(&mut s, wait).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| panic!("non-JSON body: {body:?}"))
    };
    (status, json, closed)
}

/// Reads until EOF (or a reset), or until `wait` passes; returns the bytes and whether the
/// server closed the connection.
async fn read_until_closed(s: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let deadline = tokio::time::Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (out, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_at_once() {
    let s = TestServer::start().await;
    let started = Instant::now();
    let (st, body, _) = exchange(
        s.port,
        b"POST /inquiry HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
          content-length: 99999999999\r\n\r\n{\"email\":\"a@b.c\"}",
        Duration::from_secs(5),
    )
    .await;
    assert_error(st, &body, 413, "too_large");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered at once"
    );
    // Also without a body at all, and a Content-Length that is no number is invalid HTTP.
    let (st, body, closed) = exchange(
        s.port,
        b"POST /inquiry HTTP/1.1\r\nhost: x\r\ncontent-length: 65537\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_error(st, &body, 413, "too_large");
    assert!(closed, "the connection is closed after the answer");
    let (st, body, _) = exchange(
        s.port,
        b"POST /inquiry HTTP/1.1\r\nhost: x\r\ncontent-length: lots\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert_error(st, &body, 400, "invalid_request");
}

#[tokio::test]
async fn long_targets_and_large_heads_get_json_errors() {
    let s = TestServer::start().await;
    let wait = Duration::from_secs(5);
    // Over the router's limit, and over hyper's own (64 KiB).
    for len in [9_000, 70_000] {
        let req = format!(
            "GET /{} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            "a".repeat(len)
        );
        let (st, body, _) = exchange(s.port, req.as_bytes(), wait).await;
        assert_error(st, &body, 414, "uri_too_long");
    }
    // Over the router's header limit, and over hyper's head buffer (a 1 MiB header).
    for len in [40_000, 1 << 20] {
        let req = format!(
            "GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-big: {}\r\n\r\n",
            "a".repeat(len)
        );
        let (st, body, _) = exchange(s.port, req.as_bytes(), wait).await;
        assert_error(st, &body, 431, "headers_too_large");
    }
    // The router's own refusals close the connection too.
    let req = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(9_000));
    let (st, _, closed) = exchange(s.port, req.as_bytes(), wait).await;
    assert_eq!(st, 414);
    assert!(closed, "closed after the 414");
    // More header fields than hyper takes.
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let req = format!("GET /health HTTP/1.1\r\nhost: x\r\n{many}\r\n");
    let (st, body, _) = exchange(s.port, req.as_bytes(), wait).await;
    assert_error(st, &body, 431, "headers_too_large");
    // Not HTTP at all, and a malformed header line.
    let (st, body, _) = exchange(s.port, b"HELLO\r\n\r\n", wait).await;
    assert_error(st, &body, 400, "invalid_request");
    let (st, body, _) = exchange(
        s.port,
        b"GET /health HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n",
        wait,
    )
    .await;
    assert_error(st, &body, 400, "invalid_request");
    // A keep-alive connection whose second request is too large: the first answer is intact,
    // the second is JSON too.
    let mut two = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n".to_vec();
    two.extend_from_slice(
        format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "b".repeat(70_000)).as_bytes(),
    );
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    c.write_all(&two).await.unwrap();
    let (bytes, closed) = read_until_closed(&mut c, wait).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(closed);
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains("{\"status\":\"ok\"}HTTP/1.1 414 URI Too Long"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "\"error\":\"uri_too_long\",\"message\":\"the request target is over 8192 bytes\"}"
        ),
        "{text}"
    );
    // The server still serves normally.
    let (st, body) = s.anonymous().get("/health").await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn connections_without_a_whole_request_head_are_closed_in_time() {
    let timeout = Duration::from_millis(800);
    let s = TestServer::start_with(|c| c.header_timeout = timeout).await;
    let bound = timeout + Duration::from_secs(2);
    let cases: [&[u8]; 4] = [
        b"",                                                           // silent
        b"GET /heal",                                                  // half a request line
        b"GET /health HTTP/1.1\r\nhost: x\r\nx-a",                     // half the headers
        b"POST /inquiry HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n", // no blank line
    ];
    for sent in cases {
        let started = Instant::now();
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
        c.write_all(sent).await.unwrap();
        let (bytes, closed) = read_until_closed(&mut c, bound + Duration::from_secs(3)).await;
        let took = started.elapsed();
        assert!(closed, "{:?} not closed", String::from_utf8_lossy(sent));
        assert!(bytes.is_empty(), "no answer expected: {bytes:?}");
        assert!(
            took >= timeout - Duration::from_millis(50) && took < bound,
            "{:?} closed after {took:?}",
            String::from_utf8_lossy(sent)
        );
    }
    // A keep-alive connection that stays idle after a response is closed after the same time.
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).await.unwrap();
    c.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (bytes, closed) = read_until_closed(&mut c, bound + Duration::from_secs(3)).await;
    assert!(closed);
    assert!(String::from_utf8_lossy(&bytes).contains("{\"status\":\"ok\"}"));
    assert!(
        started.elapsed() < bound,
        "idle keep-alive closed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn websocket_sessions_outlive_the_header_timeout() {
    let s = TestServer::start_with(|c| c.header_timeout = Duration::from_millis(300)).await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut c = s.stomp("alice").await;
    // Idle (heart-beats are off in the test client) for several header timeouts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.subscribe("s1", &room).await;
    c.say(&room, "alice", "still here", "r1").await;
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let s = TestServer::start_with(|c| c.max_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(("127.0.0.1", s.port)).await.unwrap());
    }
    // The fourth is answered 503 and closed at once (before it even sends a request).
    let (st, body, closed) = exchange(s.port, b"", Duration::from_secs(3)).await;
    assert_error(st, &body, 503, "unavailable");
    assert!(closed);
    // Another address is not affected.
    let other = tokio::net::TcpSocket::new_v4().unwrap();
    other.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = other
        .connect(format!("127.0.0.1:{}", s.port).parse().unwrap())
        .await
        .unwrap();
    other
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (bytes, _) = read_until_closed(&mut other, Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&bytes).starts_with("HTTP/1.1 200"));
    // Closing one makes room again; WebSocket sessions count too.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ws = s.stomp("alice").await;
    let (st, _, _) = exchange(s.port, b"", Duration::from_secs(3)).await;
    assert_eq!(st, 503);
}

#[tokio::test]
async fn when_full_the_oldest_idle_connection_makes_room() {
    let s = TestServer::start_with(|c| {
        c.max_connections = Some(4);
        c.max_connections_per_ip = 0;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(("127.0.0.1", s.port)).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A fifth connection is served; the connection idle longest is closed for it.
    let (st, body, _) = exchange(
        s.port,
        b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!((st, body["status"].as_str()), (200, Some("ok")));
    let (_, closed) = read_until_closed(&mut idle[0], Duration::from_secs(2)).await;
    assert!(closed, "the oldest idle connection was closed");
    let (_, closed) = read_until_closed(&mut idle[3], Duration::from_millis(300)).await;
    assert!(!closed, "a younger one was not");
}
