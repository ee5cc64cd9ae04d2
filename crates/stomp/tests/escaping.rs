//! Header escaping differs per version, and `CONNECT`/`CONNECTED` are never escaped.

mod common;

use common::{error_of, headers, one_frame};
use reuse_stomp::{encode_to_bytes, Command, DecodeError, Frame, Limits, Version};

const ALL_ESCAPES: &[u8] = b"SEND\nk:a\\cb\\nc\\\\d\\re\n\n\0";

#[test]
fn v1_2_unescapes_cr_too() {
    let f = one_frame(ALL_ESCAPES, Version::V1_2);
    assert_eq!(f.headers, headers(&[("k", "a:b\nc\\d\re")]));
}

#[test]
fn v1_1_has_no_cr_escape() {
    assert_eq!(
        error_of(ALL_ESCAPES, Version::V1_1, Limits::default()),
        DecodeError::InvalidEscape
    );
    let f = one_frame(b"SEND\nk:a\\cb\\nc\\\\d\n\n\0", Version::V1_1);
    assert_eq!(f.headers, headers(&[("k", "a:b\nc\\d")]));
}

#[test]
fn v1_0_keeps_backslashes_literally() {
    let f = one_frame(ALL_ESCAPES, Version::V1_0);
    assert_eq!(f.headers, headers(&[("k", "a\\cb\\nc\\\\d\\re")]));
    // Undefined sequences are not errors either, and later colons belong to the value.
    let f = one_frame(b"SEND\nk:a\\tb:c\n\n\0", Version::V1_0);
    assert_eq!(f.headers, headers(&[("k", "a\\tb:c")]));
}

#[test]
fn connect_and_connected_are_never_unescaped() {
    for version in [Version::V1_0, Version::V1_1, Version::V1_2] {
        let f = one_frame(b"CONNECT\nlogin:a\\cb\npasscode:x\\ty\n\n\0", version);
        assert_eq!(
            f.headers,
            headers(&[("login", "a\\cb"), ("passcode", "x\\ty")])
        );
        let f = one_frame(b"CONNECTED\nserver:s\\n1\n\n\0", version);
        assert_eq!(f.headers, headers(&[("server", "s\\n1")]));
    }
    // STOMP, the 1.1+ alias, follows the normal rules.
    let f = one_frame(b"STOMP\nlogin:a\\cb\n\n\0", Version::V1_2);
    assert_eq!(f.headers, headers(&[("login", "a:b")]));
}

#[test]
fn the_decoder_defaults_to_1_2_rules() {
    let mut decoder = reuse_stomp::StompDecoder::new(Limits::default());
    let mut buf = bytes::BytesMut::from(ALL_ESCAPES);
    let Ok(Some(reuse_stomp::Decoded::Frame(f))) = decoder.decode(&mut buf) else {
        panic!("expected a frame");
    };
    assert_eq!(f.header("k"), Some("a:b\nc\\d\re"));
}

#[test]
fn encoder_escapes_per_version() {
    let f = Frame::new(Command::Message).with_header("a:b", "c\nd\\e\rf");
    assert_eq!(
        &encode_to_bytes(&f, Version::V1_2)[..],
        b"MESSAGE\na\\cb:c\\nd\\\\e\\rf\n\n\0"
    );
    assert_eq!(
        &encode_to_bytes(&f, Version::V1_1)[..],
        b"MESSAGE\na\\cb:c\\nd\\\\e\rf\n\n\0"
    );
    let plain = Frame::new(Command::Message).with_header("k", "a\\b:c");
    assert_eq!(
        &encode_to_bytes(&plain, Version::V1_0)[..],
        b"MESSAGE\nk:a\\b:c\n\n\0"
    );
    let connected = Frame::new(Command::Connected).with_header("server", "a:b\\c");
    assert_eq!(
        &encode_to_bytes(&connected, Version::V1_2)[..],
        b"CONNECTED\nserver:a:b\\c\n\n\0"
    );
}

#[test]
fn encoder_owns_content_length() {
    let f = Frame::new(Command::Send)
        .with_header("content-length", "999")
        .with_header("destination", "/q")
        .with_body(&b"a\0b"[..]);
    assert_eq!(
        &encode_to_bytes(&f, Version::V1_2)[..],
        b"SEND\ndestination:/q\ncontent-length:3\n\na\0b\0"
    );
    let empty = Frame::new(Command::Send).with_header("content-length", "0");
    assert_eq!(&encode_to_bytes(&empty, Version::V1_2)[..], b"SEND\n\n\0");
}
