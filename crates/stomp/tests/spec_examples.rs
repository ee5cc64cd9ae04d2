//! Every example frame of the STOMP 1.2 specification, decoded whole and byte by byte, and
//! round-tripped through the encoder.

mod common;

use bytes::Bytes;
use common::{after_roundtrip, decode_both, headers, one_frame, representable};
use reuse_stomp::{encode_to_bytes, Command, Decoded, Frame, Limits, Version};

/// Decodes `wire`, checks it against the expected frame, then checks the encoder's output
/// decodes back to the same frame.
fn check(wire: &str, command: Command, hdrs: &[(&str, &str)], body: &str) -> Frame {
    let frame = one_frame(wire.as_bytes(), Version::V1_2);
    assert_eq!(frame.command, command);
    assert_eq!(frame.headers, headers(hdrs));
    assert_eq!(frame.body, Bytes::from(body.to_owned()));
    roundtrip(&frame);
    frame
}

/// Encoding then decoding gives the frame back, modulo the `content-length` the encoder owns.
fn roundtrip(frame: &Frame) {
    for version in [Version::V1_2, Version::V1_1, Version::V1_0] {
        if !representable(frame, version) {
            continue;
        }
        let wire = encode_to_bytes(frame, version);
        let back = one_frame(&wire, version);
        assert_eq!(back, after_roundtrip(frame), "roundtrip in {version:?}");
    }
}

#[test]
fn connect() {
    check(
        "CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Command::Connect,
        &[("accept-version", "1.2"), ("host", "stomp.github.org")],
        "",
    );
}

#[test]
fn stomp() {
    check(
        "STOMP\naccept-version:1.2\nhost:stomp.github.org\n\n\0",
        Command::Stomp,
        &[("accept-version", "1.2"), ("host", "stomp.github.org")],
        "",
    );
}

#[test]
fn connected() {
    check(
        "CONNECTED\nversion:1.2\n\n\0",
        Command::Connected,
        &[("version", "1.2")],
        "",
    );
}

#[test]
fn negotiation_examples() {
    let f = check(
        "CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
        Command::Connect,
        &[
            ("accept-version", "1.0,1.1,2.0"),
            ("host", "stomp.github.org"),
        ],
        "",
    );
    assert_eq!(
        Version::negotiate(f.header("accept-version")),
        Some(Version::V1_1)
    );
    check(
        "ERROR\nversion:1.2,2.1\ncontent-type:text/plain\n\nSupported protocol versions are 1.2 2.1\0",
        Command::Error,
        &[("version", "1.2,2.1"), ("content-type", "text/plain")],
        "Supported protocol versions are 1.2 2.1",
    );
}

#[test]
fn heart_beat_headers() {
    check(
        "CONNECT\naccept-version:1.2\nhost:stomp.github.org\nheart-beat:4000,4000\n\n\0",
        Command::Connect,
        &[
            ("accept-version", "1.2"),
            ("host", "stomp.github.org"),
            ("heart-beat", "4000,4000"),
        ],
        "",
    );
    check(
        "CONNECTED\nversion:1.2\nheart-beat:0,10000\n\n\0",
        Command::Connected,
        &[("version", "1.2"), ("heart-beat", "0,10000")],
        "",
    );
}

#[test]
fn send() {
    check(
        "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
        Command::Send,
        &[("destination", "/queue/a"), ("content-type", "text/plain")],
        "hello queue a",
    );
    // The spec draws `^@` on its own line, which makes the LF part of the body.
    check(
        "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\n\0",
        Command::Send,
        &[("destination", "/queue/a"), ("content-type", "text/plain")],
        "hello queue a\n",
    );
}

#[test]
fn send_in_a_transaction() {
    check(
        "SEND\ndestination:/queue/a\ntransaction:tx1\ncontent-type:text/plain\n\nhello queue a\0",
        Command::Send,
        &[
            ("destination", "/queue/a"),
            ("transaction", "tx1"),
            ("content-type", "text/plain"),
        ],
        "hello queue a",
    );
}

#[test]
fn subscribe_and_unsubscribe() {
    check(
        "SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
        Command::Subscribe,
        &[
            ("id", "0"),
            ("destination", "/queue/foo"),
            ("ack", "client"),
        ],
        "",
    );
    check(
        "UNSUBSCRIBE\nid:0\n\n\0",
        Command::Unsubscribe,
        &[("id", "0")],
        "",
    );
}

#[test]
fn ack_and_nack() {
    let hdrs = [("id", "12345"), ("transaction", "tx1")];
    check(
        "ACK\nid:12345\ntransaction:tx1\n\n\0",
        Command::Ack,
        &hdrs,
        "",
    );
    check(
        "NACK\nid:12345\ntransaction:tx1\n\n\0",
        Command::Nack,
        &hdrs,
        "",
    );
}

#[test]
fn transactions() {
    let hdrs = [("transaction", "tx1")];
    check("BEGIN\ntransaction:tx1\n\n\0", Command::Begin, &hdrs, "");
    check("COMMIT\ntransaction:tx1\n\n\0", Command::Commit, &hdrs, "");
    check("ABORT\ntransaction:tx1\n\n\0", Command::Abort, &hdrs, "");
}

#[test]
fn disconnect_and_receipt() {
    check(
        "DISCONNECT\nreceipt:77\n\n\0",
        Command::Disconnect,
        &[("receipt", "77")],
        "",
    );
    check(
        "RECEIPT\nreceipt-id:77\n\n\0",
        Command::Receipt,
        &[("receipt-id", "77")],
        "",
    );
}

#[test]
fn message() {
    check(
        "MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
        Command::Message,
        &[
            ("subscription", "0"),
            ("message-id", "007"),
            ("destination", "/queue/a"),
            ("content-type", "text/plain"),
        ],
        "hello queue a",
    );
}

#[test]
fn error_with_content_length_and_multi_line_body() {
    let body = "The message:\n-----\nMESSAGE\ndestined:/queue/a\nreceipt:message-12345\n\n\
                Hello queue a!\n-----\nDid not contain a destination header, which is REQUIRED\n\
                for message propagation.\n";
    // The spec prints `content-length:171` but its body is 170 bytes; use the true count.
    let length = body.len().to_string();
    let wire = format!(
        "ERROR\nreceipt-id:message-12345\ncontent-type:text/plain\ncontent-length:{length}\n\
         message:malformed frame received\n\n{body}\0"
    );
    let f = check(
        &wire,
        Command::Error,
        &[
            ("receipt-id", "message-12345"),
            ("content-type", "text/plain"),
            ("content-length", &length),
            ("message", "malformed frame received"),
        ],
        body,
    );
    assert_eq!(f.header("message"), Some("malformed frame received"));
}

#[test]
fn repeated_header_first_wins() {
    let f = check(
        "MESSAGE\nfoo:World\nfoo:Hello\n\n\0",
        Command::Message,
        &[("foo", "World"), ("foo", "Hello")],
        "",
    );
    assert_eq!(f.header("foo"), Some("World"));
}

#[test]
fn escaping_example() {
    // The spec's example: a header value `a:b` travels as `a\cb`.
    let f = check(
        "MESSAGE\nfoo:a\\cb\nback\\\\slash:line\\nbreak\\rreturn\n\n\0",
        Command::Message,
        &[("foo", "a:b"), ("back\\slash", "line\nbreak\rreturn")],
        "",
    );
    let wire = encode_to_bytes(&f, Version::V1_2);
    assert_eq!(
        &wire[..],
        b"MESSAGE\nfoo:a\\cb\nback\\\\slash:line\\nbreak\\rreturn\n\n\0"
    );
}

#[test]
fn crlf_line_endings() {
    check(
        "SEND\r\ndestination:/queue/a\r\n\r\nhi\0",
        Command::Send,
        &[("destination", "/queue/a")],
        "hi",
    );
}

#[test]
fn heart_beats_between_frames() {
    let input = b"\n\r\nSEND\ndestination:/q\n\nx\0\n\nRECEIPT\nreceipt-id:1\n\n\0\r\n";
    let out = decode_both(input, Version::V1_2, Limits::default());
    assert_eq!(out.error, None);
    assert!(out.leftover.is_empty());
    let shape: Vec<Option<Command>> = out
        .items
        .iter()
        .map(|d| match d {
            Decoded::Frame(f) => Some(f.command),
            Decoded::HeartBeat => None,
        })
        .collect();
    assert_eq!(
        shape,
        [
            None,
            None,
            Some(Command::Send),
            None,
            None,
            Some(Command::Receipt),
            None
        ]
    );
}

#[test]
fn concatenated_frames_decode_in_order() {
    let frames = [
        Frame::new(Command::Send)
            .with_header("destination", "/queue/a")
            .with_body("one"),
        Frame::new(Command::Subscribe)
            .with_header("id", "0")
            .with_header("destination", "/queue/a"),
        Frame::new(Command::Send)
            .with_header("destination", "/queue/b")
            .with_body(&b"two\0with nul"[..]),
        Frame::new(Command::Disconnect).with_header("receipt", "77"),
    ];
    let mut wire = Vec::new();
    for f in &frames {
        wire.extend_from_slice(&encode_to_bytes(f, Version::V1_2));
    }
    let out = decode_both(&wire, Version::V1_2, Limits::default());
    assert_eq!(out.error, None);
    assert!(out.leftover.is_empty());
    let decoded: Vec<&Frame> = out
        .items
        .iter()
        .map(|d| match d {
            Decoded::Frame(f) => f,
            Decoded::HeartBeat => panic!("no heart-beats were sent"),
        })
        .collect();
    assert_eq!(decoded.len(), frames.len());
    for (got, sent) in decoded.iter().zip(&frames) {
        assert_eq!(got.command, sent.command);
        assert_eq!(got.body, sent.body);
        assert_eq!(got.header("destination"), sent.header("destination"));
    }
}

#[test]
fn incomplete_input_is_kept() {
    let out = decode_both(
        b"SEND\ndestination:/q\n\npartial",
        Version::V1_2,
        Limits::default(),
    );
    assert_eq!(out.error, None);
    assert!(out.items.is_empty());
    assert_eq!(out.leftover, b"SEND\ndestination:/q\n\npartial");
}
