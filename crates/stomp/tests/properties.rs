//! Property tests: encode→decode roundtrips for arbitrary frames, and the decoder neither
//! panics nor depends on how its input is chunked.

mod common;

use bytes::Bytes;
use common::{after_roundtrip, decode_chunked, decode_trickle, one_frame, representable};
use proptest::prelude::*;
use reuse_stomp::{encode_to_bytes, Command, Frame, Limits, Version};

fn arb_version() -> impl Strategy<Value = Version> {
    prop_oneof![
        Just(Version::V1_0),
        Just(Version::V1_1),
        Just(Version::V1_2)
    ]
}

/// Strings rich in the characters escaping is about, plus non-ASCII.
fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:\\\\\n\r é漢\u{1F600}-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn arb_frame() -> impl Strategy<Value = Frame> {
    (
        proptest::sample::select(Command::ALL.to_vec()),
        proptest::collection::vec((arb_text(), arb_text()), 0..8),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(command, mut headers, body)| {
            // The encoder owns content-length.
            headers.retain(|(n, _)| n != "content-length");
            Frame {
                command,
                headers,
                body: Bytes::from(body),
            }
        })
}

/// Drops what `version` cannot carry, so every generated frame is exercised in every version.
fn sanitize(mut frame: Frame, version: Version) -> Frame {
    for (n, v) in &mut frame.headers {
        if !representable(&Frame::new(frame.command).with_header(n, v), version) {
            n.retain(|c| !matches!(c, ':' | '\n' | '\r'));
            v.retain(|c| !matches!(c, '\n' | '\r'));
        }
    }
    frame.headers.retain(|(n, _)| n != "content-length");
    frame
}

/// Inputs made of STOMP fragments and random bytes, to reach deep into the decoder.
fn arb_input() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..4),
        proptest::sample::select(vec![
            &b"SEND\n"[..],
            b"CONNECT\r\n",
            b"MESSAGE\n",
            b"\n",
            b"\r\n",
            b"\r",
            b":",
            b"\\",
            b"\\c",
            b"\\r",
            b"\0",
            b"content-length:3\n",
            b"content-length:x\n",
            b"destination:/q\n",
            b"abc",
        ])
        .prop_map(|t| t.to_vec()),
    ];
    proptest::collection::vec(token, 0..24).prop_map(|ts| ts.concat())
}

fn arb_limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (1usize..80, 0usize..5, 0usize..40).prop_map(|(f, h, hb)| Limits {
            max_frame_bytes: f,
            max_headers: h,
            max_header_bytes: hb,
        }),
    ]
}

proptest! {
    #[test]
    fn encode_decode_roundtrip(frame in arb_frame()) {
        for version in [Version::V1_2, Version::V1_1, Version::V1_0] {
            let frame = sanitize(frame.clone(), version);
            let wire = encode_to_bytes(&frame, version);
            prop_assert_eq!(one_frame(&wire, version), after_roundtrip(&frame));
        }
    }

    #[test]
    fn roundtrip_1_2_keeps_everything(frame in arb_frame()) {
        // 1.2 can carry any header text, CONNECT/CONNECTED aside.
        prop_assume!(!matches!(frame.command, Command::Connect | Command::Connected));
        let wire = encode_to_bytes(&frame, Version::V1_2);
        prop_assert_eq!(one_frame(&wire, Version::V1_2), after_roundtrip(&frame));
    }

    #[test]
    fn concatenated_frames_split_anywhere(
        frames in proptest::collection::vec(arb_frame(), 1..4),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let version = Version::V1_2;
        let frames: Vec<Frame> = frames.into_iter().map(|f| sanitize(f, version)).collect();
        let wire: Vec<u8> = frames.iter().flat_map(|f| encode_to_bytes(f, version).to_vec()).collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();
        let out = decode_chunked(&wire, &cuts, version, Limits::default());
        prop_assert_eq!(out.error, None);
        prop_assert!(out.leftover.is_empty());
        let expected: Vec<_> = frames
            .iter()
            .map(|f| reuse_stomp::Decoded::Frame(after_roundtrip(f)))
            .collect();
        prop_assert_eq!(out.items, expected);
    }

    #[test]
    fn arbitrary_input_chunking_does_not_matter(
        input in arb_input(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        version in arb_version(),
        limits in arb_limits(),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = decode_chunked(&input, &[], version, limits.clone());
        let chunked = decode_chunked(&input, &cuts, version, limits.clone());
        prop_assert_eq!(&whole, &chunked);
        let trickle = decode_trickle(&input, version, limits);
        prop_assert_eq!(&whole, &trickle);
    }

    #[test]
    fn random_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..256),
        version in arb_version(),
        limits in arb_limits(),
    ) {
        let whole = decode_chunked(&input, &[], version, limits.clone());
        let trickle = decode_trickle(&input, version, limits);
        prop_assert_eq!(whole, trickle);
    }
}
