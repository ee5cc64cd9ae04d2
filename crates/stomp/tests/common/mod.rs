//! Drivers shared by the integration tests: feed input to a decoder whole, byte by byte or
//! in arbitrary chunks, and record everything it produced.

#![allow(dead_code)]

use bytes::BytesMut;
use reuse_stomp::{DecodeError, Decoded, Frame, Limits, StompDecoder, Version};

/// Everything a decoder produced from one input.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub items: Vec<Decoded>,
    pub error: Option<DecodeError>,
    /// Unconsumed input; only comparable between feeds when no error occurred (an error stops
    /// feeding early).
    pub leftover: Vec<u8>,
}

fn drain(
    decoder: &mut StompDecoder,
    buf: &mut BytesMut,
    items: &mut Vec<Decoded>,
) -> Option<DecodeError> {
    loop {
        let (ptr, len) = (buf.as_ptr(), buf.len());
        match decoder.decode(buf) {
            Ok(Some(d)) => items.push(d),
            Ok(None) => {
                // "Need more bytes" must leave the buffer untouched.
                assert_eq!(
                    (buf.as_ptr(), buf.len()),
                    (ptr, len),
                    "Ok(None) changed the buffer"
                );
                return None;
            }
            Err(e) => return Some(e),
        }
    }
}

/// Feeds `input` split at `cuts` (sorted, within bounds), draining the decoder after each chunk.
pub fn decode_chunked(input: &[u8], cuts: &[usize], version: Version, limits: Limits) -> Outcome {
    let mut decoder = StompDecoder::new(limits);
    decoder.set_version(version);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        let end = end.clamp(start, input.len());
        buf.extend_from_slice(&input[start..end]);
        start = end;
        if let Some(e) = drain(&mut decoder, &mut buf, &mut items) {
            return Outcome {
                items,
                error: Some(e),
                leftover: Vec::new(),
            };
        }
    }
    Outcome {
        items,
        error: None,
        leftover: buf.to_vec(),
    }
}

pub fn decode_whole(input: &[u8], version: Version) -> Outcome {
    decode_chunked(input, &[], version, Limits::default())
}

/// Feeds one byte per `decode` call, as a slow network would.
pub fn decode_trickle(input: &[u8], version: Version, limits: Limits) -> Outcome {
    let cuts: Vec<usize> = (1..input.len()).collect();
    decode_chunked(input, &cuts, version, limits)
}

/// Decodes `input` whole and byte by byte, checks both agree, and returns the outcome.
pub fn decode_both(input: &[u8], version: Version, limits: Limits) -> Outcome {
    let whole = decode_chunked(input, &[], version, limits.clone());
    let trickle = decode_trickle(input, version, limits);
    assert_eq!(whole, trickle, "whole and byte-by-byte decoding differ");
    whole
}

/// Decodes an input that must hold exactly one frame and nothing else.
pub fn one_frame(input: &[u8], version: Version) -> Frame {
    let mut out = decode_both(input, version, Limits::default());
    assert_eq!(out.error, None);
    assert!(out.leftover.is_empty(), "leftover: {:?}", out.leftover);
    assert_eq!(out.items.len(), 1, "items: {:?}", out.items);
    match out.items.pop() {
        Some(Decoded::Frame(f)) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The first error decoding `input` (whole and byte by byte must agree).
pub fn error_of(input: &[u8], version: Version, limits: Limits) -> DecodeError {
    match decode_both(input, version, limits).error {
        Some(e) => e,
        None => panic!("expected an error"),
    }
}

pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// The roundtrip rules live with the fuzz harness, which checks them on every decoded frame.
// Not every test file uses them, as with the rest of this module.
#[allow(unused_imports)]
pub use reuse_stomp::fuzzing::{after_roundtrip, representable};
