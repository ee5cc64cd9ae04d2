//! The decoder's fuzz harness: turns one fuzzer input into a limits choice, a version, a way of
//! cutting the stream into chunks and the stream itself, then checks the decoder's invariants.
//! The `stomp_decoder` cargo-fuzz target and the corpus replay test both call [`stomp_decoder`],
//! so a crash the fuzzer found stays fixed. Built only with the `fuzzing` feature.

use bytes::BytesMut;

use crate::decode::MAX_COMMAND_LINE;
use crate::{encode_to_bytes, Command, DecodeError, Decoded, Frame, Limits, StompDecoder, Version};

/// Bytes at the front of an input that configure the run rather than feed the decoder.
const HEADER: usize = 5;
/// Most chunk boundaries one input can ask for.
const MAX_CUTS: usize = 16;

/// How one input is to be decoded, read off its first bytes.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Limits the decoder enforces.
    pub limits: Limits,
    /// The version negotiated for the connection.
    pub version: Version,
    /// Whether the decoder starts in 1.2 and switches to `version` only after the first frame,
    /// as a server does once `CONNECT` is answered.
    pub negotiate: bool,
    /// Where the stream is cut into chunks (ascending, may repeat or run past its end).
    pub cuts: Vec<usize>,
}

impl Setup {
    /// Splits `data` into its setup and the stream. Layout: `flags, frame, headers,
    /// header_bytes, n`, then `n % 17` chunk lengths (one byte each), then the stream. Flags:
    /// bits 0-1 pick the version (0 = 1.0, 1 = 1.1, else 1.2), bit 2 asks for negotiation,
    /// bit 3 for small limits taken from the next three bytes instead of the defaults.
    /// `None` when `data` is too short to hold a setup.
    pub fn parse(data: &[u8]) -> Option<(Setup, &[u8])> {
        let (head, rest) = data.split_first_chunk::<HEADER>()?;
        let [flags, frame, headers, header_bytes, n] = *head;
        let version = match flags & 3 {
            0 => Version::V1_0,
            1 => Version::V1_1,
            _ => Version::V1_2,
        };
        let limits = if flags & 8 != 0 {
            Limits {
                max_frame_bytes: usize::from(frame),
                max_headers: usize::from(headers % 8),
                max_header_bytes: usize::from(header_bytes),
            }
        } else {
            Limits::default()
        };
        let n = usize::from(n) % (MAX_CUTS + 1);
        let (lengths, stream) = rest.split_at(n.min(rest.len()));
        let mut at = 0;
        let cuts = lengths
            .iter()
            .map(|&len| {
                at += usize::from(len);
                at
            })
            .collect();
        let setup = Setup {
            limits,
            version,
            negotiate: flags & 4 != 0,
            cuts,
        };
        Some((setup, stream))
    }
}

/// The fuzz target: decodes the stream of `data` whole and in the chunks `data` asks for,
/// checks that both runs agree and that every step kept the decoder's promises, and that
/// every decoded frame survives re-encoding. Panics on any broken invariant.
pub fn stomp_decoder(data: &[u8]) {
    let Some((setup, stream)) = Setup::parse(data) else {
        return;
    };
    let whole = run(stream, &[], &setup);
    let chunked = run(stream, &setup.cuts, &setup);
    assert_eq!(
        whole, chunked,
        "decoding whole and in chunks {:?} differ",
        setup.cuts
    );
    for (item, version) in &whole.items {
        if let Decoded::Frame(frame) = item {
            check_roundtrip(frame, *version);
        }
    }
    if setup.limits != Limits::default() {
        check_limits_only_cut_short(stream, &setup, &whole);
    }
}

/// The small limits a setup can pick are all below the defaults, and limits may only make the
/// decoder stop earlier: under the defaults the same stream yields the same items, then more
/// where a limit stopped it, and the same end where none did.
fn check_limits_only_cut_short(stream: &[u8], setup: &Setup, limited: &Outcome) {
    let defaults = Setup {
        limits: Limits::default(),
        cuts: Vec::new(),
        ..setup.clone()
    };
    let unlimited = run(stream, &[], &defaults);
    let limit_error = matches!(
        limited.error,
        Some(
            DecodeError::FrameTooLarge { .. }
                | DecodeError::TooManyHeaders { .. }
                | DecodeError::HeadersTooLarge { .. }
        )
    );
    if limit_error {
        assert!(
            unlimited.items.starts_with(&limited.items),
            "the default limits decode {:?}, not starting with {:?}",
            unlimited.items,
            limited.items
        );
    } else {
        assert_eq!(
            &unlimited, limited,
            "the default limits decode differently although no limit was hit"
        );
    }
}

/// Everything one feed of a stream produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Frames and heart-beats in order, each with the version the decoder applied to it.
    pub items: Vec<(Decoded, Version)>,
    /// The error that ended decoding, if any.
    pub error: Option<DecodeError>,
    /// Bytes left in the buffer at the end (empty after an error, which stops feeding).
    pub leftover: Vec<u8>,
}

/// Feeds `stream` to one decoder in chunks ending at `cuts` (then the rest), draining it after
/// each chunk and checking every call against the decoder's contract.
pub fn run(stream: &[u8], cuts: &[usize], setup: &Setup) -> Outcome {
    let mut decoder = StompDecoder::new(setup.limits.clone());
    let mut version = if setup.negotiate {
        Version::V1_2
    } else {
        setup.version
    };
    decoder.set_version(version);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    // Offset in `stream` of the buffer's first byte.
    let mut consumed = 0;
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        let end = end.clamp(start, stream.len());
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        loop {
            let (ptr, len) = (buf.as_ptr(), buf.len());
            match decoder.decode(&mut buf) {
                Ok(None) => {
                    assert_eq!(
                        (buf.as_ptr(), buf.len()),
                        (ptr, len),
                        "Ok(None) changed the buffer"
                    );
                    check_buffered(&buf, &setup.limits);
                    break;
                }
                Ok(Some(item)) => {
                    let taken = len - buf.len();
                    check_item(&item, &stream[consumed..consumed + taken], &setup.limits);
                    consumed += taken;
                    let first_frame = matches!(item, Decoded::Frame(_)) && setup.negotiate;
                    items.push((item, version));
                    if first_frame && version != setup.version {
                        version = setup.version;
                        decoder.set_version(version);
                    }
                }
                Err(error) => {
                    return Outcome {
                        items,
                        error: Some(error),
                        leftover: Vec::new(),
                    }
                }
            }
        }
    }
    Outcome {
        items,
        error: None,
        leftover: buf.to_vec(),
    }
}

/// What one returned item says about the bytes it was cut from.
fn check_item(item: &Decoded, raw: &[u8], limits: &Limits) {
    match item {
        Decoded::HeartBeat => assert!(
            raw == b"\n" || raw == b"\r\n",
            "a heart-beat consumed {raw:?}"
        ),
        Decoded::Frame(frame) => {
            assert!(
                raw.len() <= limits.max_frame_bytes,
                "a {}-byte frame passed a {}-byte limit",
                raw.len(),
                limits.max_frame_bytes
            );
            assert!(
                frame.headers.len() <= limits.max_headers,
                "{} headers passed a limit of {}",
                frame.headers.len(),
                limits.max_headers
            );
            let (nul, before) = raw.split_last().unwrap_or((&1, &[]));
            assert_eq!(*nul, 0, "a frame's bytes do not end with NUL");
            assert!(
                before.ends_with(&frame.body),
                "the body is not the bytes before the NUL"
            );
        }
    }
}

/// After `Ok(None)` the buffer holds only the start of one frame (or a lone CR between
/// frames), and no more of it than the limits allow: the decoder never buffers without bound.
fn check_buffered(buf: &[u8], limits: &Limits) {
    if buf.is_empty() || buf == b"\r" {
        return;
    }
    assert!(
        buf.len() <= limits.max_frame_bytes,
        "{} bytes buffered for an incomplete frame under a {}-byte limit",
        buf.len(),
        limits.max_frame_bytes
    );
    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
        assert!(
            buf.len() <= MAX_COMMAND_LINE,
            "{} bytes buffered for a command line",
            buf.len()
        );
        assert!(!buf.contains(&0), "a command line holding NUL is buffered");
        return;
    };
    assert!(
        lf > 0 && !buf.starts_with(b"\r\n"),
        "a heart-beat was left in the buffer"
    );
    let headers_start = lf + 1;
    let mut line_start = headers_start;
    while let Some(i) = buf[line_start..].iter().position(|&b| b == b'\n') {
        let line = &buf[line_start..line_start + i];
        if line.is_empty() || line == b"\r" {
            return; // In the body, which only the frame limit bounds.
        }
        line_start += i + 1;
    }
    assert!(
        buf.len() - headers_start <= limits.max_header_bytes,
        "{} header bytes buffered under a {}-byte limit",
        buf.len() - headers_start,
        limits.max_header_bytes
    );
}

/// A decoded frame, re-encoded for the version it was decoded with and decoded again (without
/// limits), comes back as itself with `content-length` made canonical, and encodes to the same
/// bytes again, whenever the version can carry its headers.
fn check_roundtrip(frame: &Frame, version: Version) {
    if !representable(frame, version) {
        return;
    }
    let wire = encode_to_bytes(frame, version);
    let unlimited = Setup {
        limits: Limits {
            max_frame_bytes: usize::MAX,
            max_headers: usize::MAX,
            max_header_bytes: usize::MAX,
        },
        version,
        negotiate: false,
        cuts: Vec::new(),
    };
    let out = run(&wire, &[], &unlimited);
    let expected = after_roundtrip(frame);
    assert_eq!(
        out,
        Outcome {
            items: vec![(Decoded::Frame(expected.clone()), version)],
            error: None,
            leftover: Vec::new(),
        },
        "re-encoding {frame:?} as {version:?} gave {wire:?}"
    );
    assert_eq!(
        encode_to_bytes(&expected, version),
        wire,
        "encoding is not canonical"
    );
}

/// What `frame` decodes as after being encoded, in a version that can carry its headers: the
/// encoder owns `content-length`, dropping the frame's and writing the body's length whenever
/// the body is not empty.
pub fn after_roundtrip(frame: &Frame) -> Frame {
    let mut expected = frame.clone();
    expected.headers.retain(|(n, _)| n != "content-length");
    if !frame.body.is_empty() {
        expected
            .headers
            .push(("content-length".into(), frame.body.len().to_string()));
    }
    expected
}

/// Whether `frame`'s headers survive an encode/decode roundtrip in `version`. Without an
/// escape for CR (1.0, 1.1, and `CONNECT`/`CONNECTED` frames, which are never escaped) a value
/// ending in CR would lose it to the CRLF line ending; unescaped frames also cannot carry LF
/// anywhere or `:` in a name.
pub fn representable(frame: &Frame, version: Version) -> bool {
    let raw =
        version == Version::V1_0 || matches!(frame.command, Command::Connect | Command::Connected);
    frame.headers.iter().all(|(n, v)| {
        let cr_ok = version == Version::V1_2 && !raw || !v.ends_with('\r');
        let raw_ok = !raw || !n.contains([':', '\n']) && !v.contains('\n');
        cr_ok && raw_ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_layout() {
        let data = [0b1101, 40, 10, 20, 3, 1, 2, 250, b'x', b'y'];
        let (setup, stream) = Setup::parse(&data).expect("a setup");
        assert_eq!(setup.version, Version::V1_1);
        assert!(setup.negotiate);
        let small = Limits {
            max_frame_bytes: 40,
            max_headers: 2,
            max_header_bytes: 20,
        };
        assert_eq!(setup.limits, small);
        assert_eq!(setup.cuts, [1, 3, 253]);
        assert_eq!(stream, b"xy");

        let (setup, stream) = Setup::parse(&[2, 0, 0, 0, 200, 9]).expect("a setup");
        assert_eq!(setup.version, Version::V1_2);
        assert!(!setup.negotiate);
        assert_eq!(setup.limits, Limits::default());
        assert_eq!(setup.cuts, [9]);
        assert!(stream.is_empty());
        assert!(Setup::parse(&[0; 4]).is_none());
    }

    #[test]
    fn decodes_the_stream_after_the_setup() {
        // Two frames and a heart-beat, cut once inside the first frame.
        let mut input = vec![2, 0, 0, 0, 1, 3];
        input.extend_from_slice(b"SEND\nd:1\n\nhi\0\r\nACK\nid:7\n\n\0");
        stomp_decoder(&input);
        let whole = run(&input[6..], &[], &Setup::parse(&input).expect("a setup").0);
        assert_eq!(whole.items.len(), 3, "{whole:?}");
        assert_eq!(whole.error, None);
    }
}
