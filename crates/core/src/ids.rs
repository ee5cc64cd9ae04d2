//! Validated identifiers: user ids, room ids and client idempotency keys.

use std::fmt;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::ChatError;

/// Longest user id the service accepts (API.md: 1–128 characters).
pub const MAX_USER_ID_CHARS: usize = 128;
/// Longest `clientMessageId` the service accepts.
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 64;

/// A user's id as the gateway or the JWT `sub` names it: 1–128 ASCII letters, digits and `-_.@:`.
/// Kept ASCII so it travels unchanged in HTTP and STOMP headers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// Validates `s` as a user id.
    pub fn parse(s: &str) -> Result<Self, ChatError> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.@:".contains(c);
        if s.is_empty() || s.len() > MAX_USER_ID_CHARS || !s.chars().all(ok_char) {
            return Err(ChatError::bad(
                "invalid_user",
                "a user id is 1-128 characters of letters, digits and -_.@:",
            ));
        }
        Ok(UserId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A room's public id (`roomUUID`): a random UUID, so ids reveal nothing and cannot be guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(Uuid);

impl RoomId {
    /// A fresh random room id.
    pub fn new_random() -> Self {
        RoomId(Uuid::new_v4())
    }

    /// Parses the text form clients send back; any UUID spelling is accepted.
    pub fn parse(s: &str) -> Result<Self, ChatError> {
        Uuid::parse_str(s)
            .map(RoomId)
            .map_err(|_| ChatError::bad("invalid_room_id", "a roomUUID must be a UUID"))
    }

    /// The canonical (lowercase, hyphenated) text form used in storage and on the wire.
    pub fn to_text(&self) -> String {
        self.0.hyphenated().to_string()
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl Serialize for RoomId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0.hyphenated())
    }
}

/// The sender's idempotency key for a message: 1–64 printable characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientMessageId(String);

impl ClientMessageId {
    /// Validates `s` as an idempotency key.
    pub fn parse(s: &str) -> Result<Self, ChatError> {
        let n = s.chars().count();
        if n == 0 || n > MAX_CLIENT_MESSAGE_ID_CHARS || s.chars().any(char::is_control) {
            return Err(ChatError::bad(
                "invalid_client_message_id",
                "clientMessageId must be 1-64 printable characters",
            ));
        }
        Ok(ClientMessageId(s.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for ClientMessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse("a.b-c_d@e:f9").is_ok());
        assert!(UserId::parse(&"x".repeat(128)).is_ok());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("al ice").is_err());
        assert!(UserId::parse("앨리스").is_err());
        assert!(UserId::parse("a\nb").is_err());
    }

    #[test]
    fn room_ids_round_trip_canonically() {
        let id = RoomId::new_random();
        let upper = id.to_text().to_uppercase();
        assert_eq!(RoomId::parse(&upper).unwrap(), id);
        assert_eq!(
            RoomId::parse(&id.to_text()).unwrap().to_text(),
            id.to_text()
        );
        assert!(RoomId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn client_message_ids() {
        assert!(ClientMessageId::parse("c-17").is_ok());
        assert!(ClientMessageId::parse(&"가".repeat(64)).is_ok());
        assert!(ClientMessageId::parse(&"x".repeat(65)).is_err());
        assert!(ClientMessageId::parse("").is_err());
        assert!(ClientMessageId::parse("a\u{0}b").is_err());
    }
}
