//! The STOMP data model shared by the decoder and the encoder: protocol versions, commands,
//! frames and the size limits a peer must respect.

use bytes::Bytes;

/// A STOMP protocol version; the escaping rules for header names and values depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// STOMP 1.0: no header escaping at all.
    V1_0,
    /// STOMP 1.1: escapes `\\`, `\n` and `:` in headers.
    V1_1,
    /// STOMP 1.2: like 1.1, plus `\r`; CRLF line endings allowed.
    V1_2,
}

impl Version {
    /// The version as written in `accept-version` and `version` headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0 => "1.0",
            Version::V1_1 => "1.1",
            Version::V1_2 => "1.2",
        }
    }

    /// Picks the version a server should speak from a client's `accept-version` header.
    ///
    /// An absent header means a STOMP 1.0 client (1.0 predates the header). Otherwise the
    /// header is a comma-separated list; the highest supported entry wins and unknown entries
    /// are ignored, so future versions do not break negotiation. `None` means nothing in the
    /// list is supported and the server should answer with an `ERROR`.
    pub fn negotiate(accept_version: Option<&str>) -> Option<Version> {
        let Some(list) = accept_version else {
            return Some(Version::V1_0);
        };
        list.split(',')
            .filter_map(|v| match v.trim() {
                "1.0" => Some(Version::V1_0),
                "1.1" => Some(Version::V1_1),
                "1.2" => Some(Version::V1_2),
                _ => None,
            })
            .max()
    }
}

/// A STOMP command: the first line of every frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Client opens a session.
    Connect,
    /// Client opens a session (1.1+ alias of `CONNECT` that is distinguishable from HTTP).
    Stomp,
    /// Server accepts a session.
    Connected,
    /// Client sends a message to a destination.
    Send,
    /// Client subscribes to a destination.
    Subscribe,
    /// Client cancels a subscription.
    Unsubscribe,
    /// Client acknowledges a message.
    Ack,
    /// Client rejects a message.
    Nack,
    /// Client starts a transaction.
    Begin,
    /// Client commits a transaction.
    Commit,
    /// Client rolls back a transaction.
    Abort,
    /// Client ends the session gracefully.
    Disconnect,
    /// Server delivers a message to a subscriber.
    Message,
    /// Server confirms a frame that asked for a receipt.
    Receipt,
    /// Server reports an error (and normally closes the connection).
    Error,
}

impl Command {
    /// Every command, so callers (and tests) can enumerate them.
    pub const ALL: [Command; 15] = [
        Command::Connect,
        Command::Stomp,
        Command::Connected,
        Command::Send,
        Command::Subscribe,
        Command::Unsubscribe,
        Command::Ack,
        Command::Nack,
        Command::Begin,
        Command::Commit,
        Command::Abort,
        Command::Disconnect,
        Command::Message,
        Command::Receipt,
        Command::Error,
    ];

    /// The wire name of the command (upper case, as the spec requires).
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Connected => "CONNECTED",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Disconnect => "DISCONNECT",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
        }
    }

    /// Recognises a command line (without its EOL). Commands are case-sensitive per the spec,
    /// so `send` is not `SEND`.
    pub fn parse(line: &[u8]) -> Option<Command> {
        Some(match line {
            b"CONNECT" => Command::Connect,
            b"STOMP" => Command::Stomp,
            b"CONNECTED" => Command::Connected,
            b"SEND" => Command::Send,
            b"SUBSCRIBE" => Command::Subscribe,
            b"UNSUBSCRIBE" => Command::Unsubscribe,
            b"ACK" => Command::Ack,
            b"NACK" => Command::Nack,
            b"BEGIN" => Command::Begin,
            b"COMMIT" => Command::Commit,
            b"ABORT" => Command::Abort,
            b"DISCONNECT" => Command::Disconnect,
            b"MESSAGE" => Command::Message,
            b"RECEIPT" => Command::Receipt,
            b"ERROR" => Command::Error,
            _ => return None,
        })
    }

    /// Whether header escaping is disabled for this command: the spec exempts `CONNECT` and
    /// `CONNECTED` so that 1.0 peers can still read them before a version is agreed.
    pub(crate) fn is_unescaped(self) -> bool {
        matches!(self, Command::Connect | Command::Connected)
    }
}

/// One STOMP frame, already unescaped: what the application reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The frame's command.
    pub command: Command,
    /// Headers in wire order; repeated names are kept because only the first one counts
    /// (STOMP 1.2) yet a proxy may need to forward all of them.
    pub headers: Vec<(String, String)>,
    /// The body: arbitrary bytes, shared rather than copied.
    pub body: Bytes,
}

impl Frame {
    /// A frame with no headers and an empty body, to be filled with the builder methods.
    pub fn new(command: Command) -> Frame {
        Frame {
            command,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The value of header `name`; when it is repeated the first occurrence wins, as STOMP 1.2
    /// requires.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends a header (an existing one with the same name keeps precedence).
    pub fn with_header(mut self, name: &str, value: &str) -> Frame {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }
}

/// Bounds on what a peer may send, so a hostile or broken client cannot make the decoder
/// buffer without limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a whole frame: command line, headers, body and the NUL.
    pub max_frame_bytes: usize,
    /// Maximum number of header lines in a frame.
    pub max_headers: usize,
    /// Maximum size of the header section: every header line and the blank line ending it,
    /// EOLs included.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 64 KiB frames, 64 headers, 8 KiB of headers: generous for chat-style traffic.
    fn default() -> Self {
        Limits {
            max_frame_bytes: 65536,
            max_headers: 64,
            max_header_bytes: 8192,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_highest_supported_version() {
        assert_eq!(Version::negotiate(None), Some(Version::V1_0));
        assert_eq!(Version::negotiate(Some("1.2")), Some(Version::V1_2));
        assert_eq!(Version::negotiate(Some("1.0,1.1")), Some(Version::V1_1));
        assert_eq!(
            Version::negotiate(Some("1.2, 1.0 ,2.0")),
            Some(Version::V1_2)
        );
        assert_eq!(Version::negotiate(Some("1.1,3.0,foo")), Some(Version::V1_1));
        assert_eq!(Version::negotiate(Some("2.0,2.1")), None);
        assert_eq!(Version::negotiate(Some("")), None);
    }

    #[test]
    fn version_names() {
        assert_eq!(Version::V1_0.as_str(), "1.0");
        assert_eq!(Version::V1_1.as_str(), "1.1");
        assert_eq!(Version::V1_2.as_str(), "1.2");
        assert!(Version::V1_0 < Version::V1_1 && Version::V1_1 < Version::V1_2);
    }

    #[test]
    fn command_names_roundtrip_and_are_case_sensitive() {
        for command in Command::ALL {
            assert_eq!(Command::parse(command.as_str().as_bytes()), Some(command));
            let lower = command.as_str().to_ascii_lowercase();
            assert_eq!(Command::parse(lower.as_bytes()), None);
        }
        assert_eq!(Command::parse(b""), None);
        assert_eq!(Command::parse(b"SEND "), None);
    }

    #[test]
    fn frame_builders() {
        let f = Frame::new(Command::Send)
            .with_header("foo", "World")
            .with_header("foo", "Hello")
            .with_body("hi");
        assert_eq!(f.header("foo"), Some("World"));
        assert_eq!(f.header("bar"), None);
        assert_eq!(f.headers.len(), 2);
        assert_eq!(&f.body[..], b"hi");
        assert!(Frame::new(Command::Ack).body.is_empty());
    }
}
