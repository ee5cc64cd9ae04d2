//! The incremental STOMP decoder: turns the front of a byte buffer into frames and heart-beats,
//! enforcing [`Limits`] as soon as the buffered bytes prove a frame will break them.
//!
//! Error detection is prefix-consistent: the decoder reports the same result whether a
//! stream arrives whole, in chunks or one byte at a time. Size limits are therefore phrased as
//! "the frame's first N bytes are already too many" thresholds, and when several are crossed
//! at once the one crossed first (the smallest) wins, exactly as a byte-by-byte feed would see.

use bytes::{Buf, BytesMut};
use thiserror::Error;

use crate::frame::{Command, Frame, Limits, Version};

/// Longest command line accepted, EOL included. `UNSUBSCRIBE\r\n` is 13 bytes; the slack only
/// serves to report the garbage in [`DecodeError::UnknownCommand`] without buffering a whole
/// frame's worth of it first.
pub(crate) const MAX_COMMAND_LINE: usize = 32;

/// What one successful [`StompDecoder::decode`] call produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete frame.
    Frame(Frame),
    /// One EOL (`\n` or `\r\n`) between frames: a heart-beat, which only proves the peer is
    /// alive.
    HeartBeat,
}

/// Why the input is not valid STOMP. Every error is fatal for the connection: the stream
/// position is lost, so the caller should send an `ERROR` frame and close.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is (or is already known to become) larger than [`Limits::max_frame_bytes`].
    #[error("frame too large: limit is {limit} bytes")]
    FrameTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The frame has more header lines than [`Limits::max_headers`].
    #[error("too many headers: limit is {limit}")]
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The header section is larger than [`Limits::max_header_bytes`].
    #[error("headers too large: limit is {limit} bytes")]
    HeadersTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The command line is not a STOMP command; carries the offending text (lossy UTF-8,
    /// at most 32 bytes of it) for the error report.
    #[error("unknown command: {0}")]
    UnknownCommand(String),
    /// A header line has no `:` separating name and value.
    #[error("malformed header line (no ':')")]
    MalformedHeader,
    /// A header contains a backslash sequence the negotiated version does not define.
    #[error("invalid escape sequence in a header")]
    InvalidEscape,
    /// The command line or a header is not UTF-8, which STOMP requires.
    #[error("command or header is not valid UTF-8")]
    InvalidUtf8,
    /// The first `content-length` header is not a decimal byte count.
    #[error("invalid content-length header")]
    InvalidContentLength,
    /// The `content-length` bytes of body are not followed by a NUL octet.
    #[error("frame body not terminated by NUL")]
    MissingNul,
}

/// What is known about the frame being decoded once its command line has been read.
struct Partial {
    command: Command,
    headers: Vec<(String, String)>,
    /// From the first `content-length` header; later ones are ignored, as the spec says
    /// repeated headers are.
    content_length: Option<usize>,
    /// Whether a `content-length` header was seen, so only the first one is interpreted.
    saw_content_length: bool,
}

/// Where the decoder stopped in the buffer, so trickling input is scanned once, not
/// quadratically. All offsets are from the start of the buffer, which holds the frame's first
/// byte at offset 0 until the frame is complete.
enum State {
    /// Between frames.
    Idle,
    /// Reading the command line; `buf[..scan]` holds no LF.
    Command { scan: usize },
    /// Reading header lines; `buf[line_start..scan]` holds no LF.
    Headers {
        partial: Partial,
        headers_start: usize,
        line_start: usize,
        scan: usize,
    },
    /// Reading the body; without `content-length`, `buf[body_start..scan]` holds no NUL.
    Body {
        partial: Partial,
        body_start: usize,
        scan: usize,
    },
}

/// Which size limits apply while decoding a given part of a frame.
#[derive(Clone, Copy)]
enum Phase {
    Between,
    Command,
    Headers {
        headers_start: usize,
    },
    /// A body delimited by `content-length`, whose size was settled when the headers ended.
    SizedBody,
    /// A body that runs until the first NUL, so only the frame limit bounds it.
    UnsizedBody,
}

impl State {
    fn phase(&self) -> Phase {
        match self {
            State::Idle => Phase::Between,
            State::Command { .. } => Phase::Command,
            State::Headers { headers_start, .. } => Phase::Headers {
                headers_start: *headers_start,
            },
            State::Body { partial, .. } if partial.content_length.is_some() => Phase::SizedBody,
            State::Body { .. } => Phase::UnsizedBody,
        }
    }

    /// How far into the buffer the state reaches; a shorter buffer means the caller swapped
    /// buffers and the state no longer describes it.
    fn reach(&self) -> usize {
        match self {
            State::Idle => 0,
            State::Command { scan } | State::Headers { scan, .. } | State::Body { scan, .. } => {
                *scan
            }
        }
    }
}

/// Decodes STOMP frames from a byte stream without doing any I/O, so it can sit behind a TCP
/// socket, a WebSocket or a test equally well.
///
/// It keeps its scan position between calls, so it must always be given the same buffer,
/// with new bytes only appended at the back.
///
/// EOLs that follow a frame's NUL (which the spec allows) are not skipped: they stay in the
/// buffer and come out of later calls as [`Decoded::HeartBeat`]s, one per EOL. That is
/// harmless, since they prove the peer alive just as well, and it keeps every call to at most
/// one item.
pub struct StompDecoder {
    limits: Limits,
    version: Version,
    state: State,
}

impl StompDecoder {
    /// A decoder enforcing `limits`, applying STOMP 1.2 rules until [`set_version`] says
    /// otherwise: the version is only known once `CONNECT` has been negotiated, 1.2 accepts every
    /// line ending and escape an earlier version could send, and `CONNECT` itself is never
    /// unescaped anyway.
    ///
    /// [`set_version`]: StompDecoder::set_version
    pub fn new(limits: Limits) -> Self {
        StompDecoder {
            limits,
            version: Version::V1_2,
            state: State::Idle,
        }
    }

    /// Switches the header unescaping rules to the negotiated version for subsequent frames.
    pub fn set_version(&mut self, v: Version) {
        self.version = v;
    }

    /// Takes one frame or one heart-beat off the front of `buf`.
    ///
    /// Returns `Ok(None)` and leaves `buf` untouched when more bytes are needed; call again
    /// after appending to it. An error is returned as soon as the buffered bytes prove the
    /// input invalid; the decoder is not meant to be used after that.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, DecodeError> {
        let mut state = std::mem::replace(&mut self.state, State::Idle);
        if state.reach() > buf.len() {
            state = State::Idle;
        }
        loop {
            state = match state {
                State::Idle => match (buf.first(), buf.get(1)) {
                    (None, _) | (Some(b'\r'), None) => return Ok(None),
                    (Some(b'\n'), _) => {
                        buf.advance(1);
                        return Ok(Some(Decoded::HeartBeat));
                    }
                    (Some(b'\r'), Some(b'\n')) => {
                        buf.advance(2);
                        return Ok(Some(Decoded::HeartBeat));
                    }
                    _ => State::Command { scan: 0 },
                },
                State::Command { scan } => {
                    let Some(lf) = find(buf, scan, b'\n') else {
                        let state = State::Command { scan: buf.len() };
                        return self.need_more(state, buf);
                    };
                    self.check_sizes(Phase::Command, lf + 1, buf)?;
                    let command = parse_command(strip_cr(&buf[..lf]))?;
                    State::Headers {
                        partial: Partial {
                            command,
                            headers: Vec::new(),
                            content_length: None,
                            saw_content_length: false,
                        },
                        headers_start: lf + 1,
                        line_start: lf + 1,
                        scan: lf + 1,
                    }
                }
                State::Headers {
                    mut partial,
                    headers_start,
                    line_start,
                    scan,
                } => {
                    let Some(lf) = find(buf, scan, b'\n') else {
                        let state = State::Headers {
                            partial,
                            headers_start,
                            line_start,
                            scan: buf.len(),
                        };
                        return self.need_more(state, buf);
                    };
                    self.check_sizes(Phase::Headers { headers_start }, lf + 1, buf)?;
                    let line = strip_cr(&buf[line_start..lf]);
                    if line.is_empty() {
                        let body_start = lf + 1;
                        if let Some(len) = partial.content_length {
                            // The whole frame size is known now: refuse before buffering it.
                            let total = body_start.checked_add(len).and_then(|n| n.checked_add(1));
                            if total.is_none_or(|n| n > self.limits.max_frame_bytes) {
                                return Err(self.frame_too_large());
                            }
                        }
                        State::Body {
                            partial,
                            body_start,
                            scan: body_start,
                        }
                    } else {
                        self.add_header(&mut partial, line)?;
                        State::Headers {
                            partial,
                            headers_start,
                            line_start: lf + 1,
                            scan: lf + 1,
                        }
                    }
                }
                State::Body {
                    partial,
                    body_start,
                    scan,
                } => {
                    let Some(len) = partial.content_length else {
                        let Some(nul) = find(buf, scan, 0) else {
                            let state = State::Body {
                                partial,
                                body_start,
                                scan: buf.len(),
                            };
                            return self.need_more(state, buf);
                        };
                        self.check_sizes(Phase::UnsizedBody, nul + 1, buf)?;
                        return Ok(Some(finish(partial, buf, body_start, nul)));
                    };
                    // The size was checked against the limit when the headers ended, so this
                    // cannot overflow.
                    let end = body_start + len;
                    return match buf.get(end) {
                        None => {
                            let state = State::Body {
                                partial,
                                body_start,
                                scan,
                            };
                            self.need_more(state, buf)
                        }
                        Some(0) => Ok(Some(finish(partial, buf, body_start, end))),
                        Some(_) => Err(DecodeError::MissingNul),
                    };
                }
            };
        }
    }

    /// Parks `state` for the next call after checking that what is already buffered does not
    /// break a limit, so oversized input fails without waiting for its end.
    fn need_more(&mut self, state: State, buf: &BytesMut) -> Result<Option<Decoded>, DecodeError> {
        self.check_sizes(state.phase(), buf.len(), buf)?;
        self.state = state;
        Ok(None)
    }

    /// Fails if the frame's first `prefix` bytes already break a size limit that applies in
    /// `state`. Each limit is a threshold on the prefix length; of those crossed, the smallest
    /// wins so that the outcome does not depend on how the input was chunked.
    fn check_sizes(&self, phase: Phase, prefix: usize, buf: &[u8]) -> Result<(), DecodeError> {
        let frame = self.limits.max_frame_bytes.saturating_add(1);
        let mut worst: Option<(usize, DecodeError)> = None;
        let mut consider = |threshold: usize, error: &dyn Fn() -> DecodeError| {
            if threshold <= prefix && worst.as_ref().is_none_or(|(t, _)| threshold < *t) {
                worst = Some((threshold, error()));
            }
        };
        match phase {
            Phase::Between | Phase::SizedBody => {}
            Phase::Command => {
                consider(frame, &|| self.frame_too_large());
                consider(MAX_COMMAND_LINE + 1, &|| {
                    let shown = &buf[..buf.len().min(MAX_COMMAND_LINE)];
                    DecodeError::UnknownCommand(String::from_utf8_lossy(shown).into_owned())
                });
                // A NUL ends a frame, so a command line holding one can never become a
                // command: fail now rather than wait for an end of line that may never come.
                let scanned = &buf[..prefix.min(buf.len()).min(MAX_COMMAND_LINE)];
                if let Some(i) = scanned.iter().position(|b| *b == 0) {
                    consider(i + 1, &|| {
                        let before = String::from_utf8_lossy(&buf[..i]);
                        DecodeError::UnknownCommand(format!("{before}\\0"))
                    });
                }
            }
            Phase::Headers { headers_start } => {
                consider(frame, &|| self.frame_too_large());
                let headers = headers_start
                    .saturating_add(self.limits.max_header_bytes)
                    .saturating_add(1);
                consider(headers, &|| DecodeError::HeadersTooLarge {
                    limit: self.limits.max_header_bytes,
                });
            }
            Phase::UnsizedBody => consider(frame, &|| self.frame_too_large()),
        }
        match worst {
            Some((_, error)) => Err(error),
            None => Ok(()),
        }
    }

    fn frame_too_large(&self) -> DecodeError {
        DecodeError::FrameTooLarge {
            limit: self.limits.max_frame_bytes,
        }
    }

    /// Parses one non-empty header line into `partial`, interpreting the first
    /// `content-length`.
    fn add_header(&self, partial: &mut Partial, line: &[u8]) -> Result<(), DecodeError> {
        if partial.headers.len() >= self.limits.max_headers {
            return Err(DecodeError::TooManyHeaders {
                limit: self.limits.max_headers,
            });
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(DecodeError::MalformedHeader)?;
        let name = std::str::from_utf8(&line[..colon]).map_err(|_| DecodeError::InvalidUtf8)?;
        let value =
            std::str::from_utf8(&line[colon + 1..]).map_err(|_| DecodeError::InvalidUtf8)?;
        let version = if partial.command.is_unescaped() {
            Version::V1_0
        } else {
            self.version
        };
        let name = unescape(name, version)?;
        let value = unescape(value, version)?;
        if name == "content-length" && !partial.saw_content_length {
            partial.saw_content_length = true;
            partial.content_length = Some(self.parse_content_length(&value)?);
        }
        partial.headers.push((name, value));
        Ok(())
    }

    /// A decimal byte count; one that could never fit the frame limit (including one too big
    /// for `usize`) is reported as a size problem rather than a syntax one.
    fn parse_content_length(&self, value: &str) -> Result<usize, DecodeError> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::InvalidContentLength);
        }
        match value.parse::<usize>() {
            Ok(n) if n <= self.limits.max_frame_bytes => Ok(n),
            _ => Err(self.frame_too_large()),
        }
    }
}

/// Cuts the complete frame off the front of `buf`, sharing the body bytes instead of copying.
/// `body_end` is the position of the terminating NUL.
fn finish(partial: Partial, buf: &mut BytesMut, body_start: usize, body_end: usize) -> Decoded {
    let mut raw = buf.split_to(body_end + 1);
    raw.truncate(body_end);
    let body = raw.split_off(body_start).freeze();
    Decoded::Frame(Frame {
        command: partial.command,
        headers: partial.headers,
        body,
    })
}

/// Position of the first `byte` at or after `from`.
fn find(buf: &[u8], from: usize, byte: u8) -> Option<usize> {
    buf.get(from..)?
        .iter()
        .position(|&b| b == byte)
        .map(|i| from + i)
}

/// Drops the CR of a CRLF line ending. Only STOMP 1.2 defines CRLF, but accepting it
/// everywhere costs nothing and helps clients that always send it.
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_command(line: &[u8]) -> Result<Command, DecodeError> {
    if let Some(command) = Command::parse(line) {
        return Ok(command);
    }
    let text = std::str::from_utf8(line).map_err(|_| DecodeError::InvalidUtf8)?;
    Err(DecodeError::UnknownCommand(
        text.chars().take(MAX_COMMAND_LINE).collect(),
    ))
}

/// Reverses header escaping for `version`; `V1_0` is also used for the frames the spec
/// exempts from escaping.
fn unescape(s: &str, version: Version) -> Result<String, DecodeError> {
    if version == Version::V1_0 || !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('n') => '\n',
            Some('c') => ':',
            Some('\\') => '\\',
            Some('r') if version == Version::V1_2 => '\r',
            _ => return Err(DecodeError::InvalidEscape),
        });
    }
    Ok(out)
}
