//! Every `DecodeError` variant, its Display text, and how early it is reported.

mod common;

use bytes::BytesMut;
use common::{decode_both, error_of, one_frame};
use reuse_stomp::{DecodeError, Decoded, Limits, StompDecoder, Version};

fn limits(max_frame_bytes: usize, max_headers: usize, max_header_bytes: usize) -> Limits {
    Limits {
        max_frame_bytes,
        max_headers,
        max_header_bytes,
    }
}

fn err(input: &[u8]) -> DecodeError {
    error_of(input, Version::V1_2, Limits::default())
}

#[test]
fn display_texts() {
    let cases = [
        (
            DecodeError::FrameTooLarge { limit: 65536 },
            "frame too large: limit is 65536 bytes",
        ),
        (
            DecodeError::TooManyHeaders { limit: 64 },
            "too many headers: limit is 64",
        ),
        (
            DecodeError::HeadersTooLarge { limit: 8192 },
            "headers too large: limit is 8192 bytes",
        ),
        (
            DecodeError::UnknownCommand("FOO".into()),
            "unknown command: FOO",
        ),
        (
            DecodeError::MalformedHeader,
            "malformed header line (no ':')",
        ),
        (
            DecodeError::InvalidEscape,
            "invalid escape sequence in a header",
        ),
        (
            DecodeError::InvalidUtf8,
            "command or header is not valid UTF-8",
        ),
        (
            DecodeError::InvalidContentLength,
            "invalid content-length header",
        ),
        (DecodeError::MissingNul, "frame body not terminated by NUL"),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
}

#[test]
fn defaults() {
    assert_eq!(limits(65536, 64, 8192), Limits::default());
}

#[test]
fn frame_too_large_is_reported_before_the_nul_arrives() {
    let mut input = b"SEND\ndestination:/queue/a\n\n".to_vec();
    input.resize(70_000, b'x');
    let mut decoder = StompDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&input[..]);
    let e = decoder.decode(&mut buf).unwrap_err();
    assert_eq!(e, DecodeError::FrameTooLarge { limit: 65536 });
    assert!(e.to_string().contains("65536"));
    // Byte by byte, it fails as soon as the buffered bytes exceed the limit.
    assert_eq!(
        error_of(&input, Version::V1_2, Limits::default()),
        DecodeError::FrameTooLarge { limit: 65536 }
    );
}

#[test]
fn frame_too_large_is_reported_at_the_limit() {
    let lim = limits(100, 64, 8192);
    // The frame, NUL included, may be exactly 100 bytes long.
    let head = b"SEND\n\n";
    let mut ok = head.to_vec();
    ok.resize(99, b'x');
    ok.push(0);
    let out = decode_both(&ok, Version::V1_2, lim.clone());
    assert_eq!(out.error, None);
    assert_eq!(out.items.len(), 1);

    let mut too_big = head.to_vec();
    too_big.resize(100, b'x');
    too_big.push(0);
    assert_eq!(
        error_of(&too_big, Version::V1_2, lim.clone()),
        DecodeError::FrameTooLarge { limit: 100 }
    );
    // Without the NUL, 101 buffered bytes are enough to know.
    let mut decoder = StompDecoder::new(lim);
    let mut buf = BytesMut::from(&too_big[..100]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"x");
    assert_eq!(
        decoder.decode(&mut buf),
        Err(DecodeError::FrameTooLarge { limit: 100 })
    );
}

#[test]
fn frame_too_large_from_content_length() {
    // Refused as soon as the header is read: no need to buffer the body.
    let mut decoder = StompDecoder::new(Limits::default());
    let mut buf = BytesMut::from(&b"SEND\ncontent-length:70000\n"[..]);
    assert_eq!(
        decoder.decode(&mut buf),
        Err(DecodeError::FrameTooLarge { limit: 65536 })
    );
    // Too big for usize at all.
    assert_eq!(
        err(b"SEND\ncontent-length:99999999999999999999999999\n\n\0"),
        DecodeError::FrameTooLarge { limit: 65536 }
    );
    // Fits alone but not with the headers: refused when the headers end.
    let lim = limits(40, 64, 8192);
    assert_eq!(
        error_of(b"SEND\ncontent-length:30\n\n", Version::V1_2, lim),
        DecodeError::FrameTooLarge { limit: 40 }
    );
}

#[test]
fn frame_too_large_in_headers() {
    let lim = limits(50, 64, 8192);
    let mut input = b"SEND\nfoo:".to_vec();
    input.resize(60, b'v');
    assert_eq!(
        error_of(&input, Version::V1_2, lim),
        DecodeError::FrameTooLarge { limit: 50 }
    );
}

#[test]
fn too_many_headers() {
    let lim = limits(65536, 2, 8192);
    assert_eq!(
        error_of(b"SEND\na:1\nb:2\nc:3\n\n\0", Version::V1_2, lim.clone()),
        DecodeError::TooManyHeaders { limit: 2 }
    );
    let out = decode_both(b"SEND\na:1\nb:2\n\n\0", Version::V1_2, lim);
    assert_eq!(out.error, None);
    assert_eq!(
        DecodeError::TooManyHeaders { limit: 64 }.to_string(),
        "too many headers: limit is 64"
    );
    let mut input = b"SEND\n".to_vec();
    for i in 0..65 {
        input.extend_from_slice(format!("h{i}:v\n").as_bytes());
    }
    input.extend_from_slice(b"\n\0");
    assert_eq!(err(&input), DecodeError::TooManyHeaders { limit: 64 });
}

#[test]
fn headers_too_large() {
    let mut input = b"SEND\nbig:".to_vec();
    input.resize(9000, b'v');
    // No EOL yet: the header section is already over 8192 bytes.
    assert_eq!(err(&input), DecodeError::HeadersTooLarge { limit: 8192 });

    // The section counts header lines and the blank line, EOLs included.
    let lim = limits(65536, 64, 10);
    let out = decode_both(b"SEND\na:1234\n\n\0", Version::V1_2, lim.clone()); // 7 + 1 bytes
    assert_eq!(out.error, None);
    let out = decode_both(b"SEND\na:1234567\n\n\0", Version::V1_2, lim.clone()); // 10 + 1
    assert_eq!(out.error, Some(DecodeError::HeadersTooLarge { limit: 10 }));
    let out = decode_both(b"SEND\na:123456\n\n\0", Version::V1_2, lim); // 9 + 1
    assert_eq!(out.error, None);
}

#[test]
fn unknown_command() {
    assert_eq!(err(b"FOO\n\n\0"), DecodeError::UnknownCommand("FOO".into()));
    assert_eq!(
        err(b"send\n\n\0"),
        DecodeError::UnknownCommand("send".into())
    );
    assert_eq!(
        err(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        DecodeError::UnknownCommand("GET / HTTP/1.1".into())
    );
    // A long line is refused after 32 bytes, without waiting for its end, and truncated.
    let long = [b'A'; 100];
    let e = err(&long);
    assert_eq!(e, DecodeError::UnknownCommand("A".repeat(32)));
    assert_eq!(
        e.to_string(),
        format!("unknown command: {}", "A".repeat(32))
    );
}

#[test]
fn malformed_header() {
    assert_eq!(
        err(b"SEND\ndestination/queue/a\n\n\0"),
        DecodeError::MalformedHeader
    );
}

#[test]
fn invalid_escape() {
    assert_eq!(err(b"SEND\nfoo:a\\tb\n\n\0"), DecodeError::InvalidEscape);
    assert_eq!(
        err(b"SEND\nfoo:trailing\\\n\n\0"),
        DecodeError::InvalidEscape
    );
    assert_eq!(err(b"SEND\nf\\xoo:bar\n\n\0"), DecodeError::InvalidEscape);
}

#[test]
fn invalid_utf8() {
    assert_eq!(err(b"SEND\nfoo:\xff\xfe\n\n\0"), DecodeError::InvalidUtf8);
    assert_eq!(err(b"SEND\n\xc3:bar\n\n\0"), DecodeError::InvalidUtf8);
    assert_eq!(err(b"SE\xffND\n\n\0"), DecodeError::InvalidUtf8);
    // The body is opaque bytes.
    let f = one_frame(b"SEND\n\n\xff\xfe\0", Version::V1_2);
    assert_eq!(&f.body[..], b"\xff\xfe");
}

#[test]
fn invalid_content_length() {
    for value in ["abc", "", "-1", "1.5", " 5", "0x10", "+3"] {
        let input = format!("SEND\ncontent-length:{value}\n\nhello\0");
        assert_eq!(
            err(input.as_bytes()),
            DecodeError::InvalidContentLength,
            "{value:?}"
        );
    }
    // Only the first occurrence counts: a later bogus one is kept but not interpreted.
    let f = one_frame(
        b"SEND\ncontent-length:2\ncontent-length:junk\n\na\0\0",
        Version::V1_2,
    );
    assert_eq!(&f.body[..], b"a\0");
}

#[test]
fn missing_nul() {
    assert_eq!(
        err(b"SEND\ncontent-length:3\n\nabcd\0"),
        DecodeError::MissingNul
    );
    assert_eq!(err(b"SEND\ncontent-length:0\n\nx"), DecodeError::MissingNul);
}

#[test]
fn content_length_body_may_contain_nul() {
    let f = one_frame(b"SEND\ncontent-length:5\n\na\0b\0c\0", Version::V1_2);
    assert_eq!(&f.body[..], b"a\0b\0c");
    assert_eq!(f.header("content-length"), Some("5"));
    let f = one_frame(b"SEND\ncontent-length:0\n\n\0", Version::V1_2);
    assert!(f.body.is_empty());
}

#[test]
fn without_content_length_the_body_ends_at_the_first_nul() {
    let out = decode_both(b"SEND\n\nab\0cd\0", Version::V1_2, Limits::default());
    assert_eq!(out.items.len(), 1);
    let Decoded::Frame(f) = &out.items[0] else {
        panic!("expected a frame");
    };
    assert_eq!(&f.body[..], b"ab");
    // What follows is read as the next frame: a command line holding a NUL can never become a
    // command, so it fails at once instead of waiting for an end of line.
    assert_eq!(out.error, Some(DecodeError::UnknownCommand("cd\\0".into())));
}

#[test]
fn trailing_eols_after_a_frame_are_heart_beats() {
    let out = decode_both(b"SEND\n\nx\0\n\r\n", Version::V1_2, Limits::default());
    assert_eq!(out.error, None);
    assert_eq!(out.items.len(), 3);
    assert_eq!(out.items[1], Decoded::HeartBeat);
    assert_eq!(out.items[2], Decoded::HeartBeat);
    // A lone CR may be the start of a CRLF heart-beat: wait for more.
    let out = decode_both(b"\r", Version::V1_2, Limits::default());
    assert_eq!((out.items.len(), out.error), (0, None));
    assert_eq!(out.leftover, b"\r");
}

#[test]
fn the_earliest_crossed_limit_wins() {
    // The header limit (8 + 5 + 1 = 14th byte) is crossed before the frame limit (21st).
    let input = b"SEND\nabcdefghijklmnopqrstuvwxyz";
    assert_eq!(
        error_of(input, Version::V1_2, limits(20, 64, 8)),
        DecodeError::HeadersTooLarge { limit: 8 }
    );
    assert_eq!(
        error_of(input, Version::V1_2, limits(10, 64, 8)),
        DecodeError::FrameTooLarge { limit: 10 }
    );
}
