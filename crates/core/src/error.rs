//! The domain's error types: what a caller did wrong, and what a backend failed to do.

use std::borrow::Cow;
use std::sync::Arc;

use thiserror::Error;

use crate::ids::RoomId;

/// Everything a domain operation can refuse or fail with; adapters map each variant to their
/// own wire form (an HTTP status, a STOMP `ERROR` frame) in one place.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ChatError {
    /// The input is malformed; `code` is a stable machine-readable name, `message` is for people.
    #[error("{message}")]
    BadInput { code: &'static str, message: String },
    /// The input exceeds a configured size or count limit; the message names the limit.
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// The input's type is not one the operation takes (e.g. a file that is not a photo).
    #[error("{message}")]
    Unsupported { code: &'static str, message: String },
    /// The caller has too many of something outstanding (e.g. unsent uploads).
    #[error("{message}")]
    TooMany { code: &'static str, message: String },
    /// Something other than a room is not there (or not visible to the caller).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The caller's proof of access (e.g. a signed address) is not valid.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// No room has that id (or it was deleted when its last member left).
    #[error("unknown room")]
    RoomNotFound,
    /// The caller is not (or no longer) a member of the room.
    #[error("not a member of this room")]
    NotMember,
    /// A backend is unreachable; nothing was acknowledged, the caller may retry.
    #[error("a backend is unavailable, try again later")]
    Unavailable,
    /// A backend answered with something unexpected; details are logged, never shown.
    #[error("internal error")]
    Internal,
    /// The service is stopping and accepts no new work.
    #[error("server shutting down")]
    ShuttingDown,
    /// One of the two users blocks the other (API-v2 "Safety"): nothing passes between them.
    #[error("you cannot exchange messages with this user")]
    Blocked,
    /// The request conflicts with how the server is set up (e.g. push subscriptions on a
    /// server that sends no Web Push).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The caller went over a rate limit; may try again after `retry_after_secs`.
    #[error("too many requests, try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
}

impl ChatError {
    /// Shorthand for [`ChatError::BadInput`], the most common refusal.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ChatError::BadInput {
            code,
            message: message.into(),
        }
    }

    /// Shorthand for [`ChatError::TooLarge`].
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        ChatError::TooLarge {
            code,
            message: message.into(),
        }
    }

    /// A stable machine-readable code for the error, used in JSON bodies and STOMP headers.
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::BadInput { code, .. }
            | ChatError::TooLarge { code, .. }
            | ChatError::Unsupported { code, .. }
            | ChatError::TooMany { code, .. }
            | ChatError::NotFound { code, .. }
            | ChatError::Forbidden { code, .. }
            | ChatError::Conflict { code, .. } => code,
            ChatError::RoomNotFound => "room_not_found",
            ChatError::NotMember => "not_a_member",
            ChatError::Unavailable => "backend_unavailable",
            ChatError::Internal => "internal",
            ChatError::ShuttingDown => "shutting_down",
            ChatError::Blocked => "blocked",
            ChatError::RateLimited { .. } => "rate_limited",
        }
    }
}

/// Why a storage operation failed, as far as the domain must tell causes apart: "try later",
/// "lost a race, try again now", or "something is wrong".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database cannot be reached or timed out; the operation did not take effect.
    Unavailable,
    /// The transaction lost a deadlock or serialization race; it did not take effect and a
    /// retry may succeed at once.
    Conflict,
    /// Stored data could not be read back as a domain value (a bug or a hand-edited row).
    Corrupt,
    /// Any other failure (a bug, a bad setting); the operation did not take effect.
    Internal,
}

/// The source of a [`StoreError`]: the backend's own error, kept for the log.
pub type StoreErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A storage backend's failure: its kind, what it was doing, and the backend's own error as
/// the source, so that the log at the boundary shows the whole chain.
#[derive(Debug, Clone, Error)]
#[error("storage {kind}: {context}")]
pub struct StoreError {
    kind: StoreErrorKind,
    context: Cow<'static, str>,
    #[source]
    source: Option<StoreErrorSource>,
}

impl std::fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Conflict => "conflict",
            StoreErrorKind::Corrupt => "data corrupt",
            StoreErrorKind::Internal => "error",
        })
    }
}

impl StoreError {
    /// An error of `kind` with no underlying cause (a check of the backend's own).
    pub fn new(kind: StoreErrorKind, context: impl Into<Cow<'static, str>>) -> Self {
        StoreError {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(
        kind: StoreErrorKind,
        context: impl Into<Cow<'static, str>>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            kind,
            context: context.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// Shorthand: the database cannot be reached.
    pub fn unavailable(context: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StoreErrorKind::Unavailable, context)
    }

    /// Shorthand: any other failure.
    pub fn internal(context: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StoreErrorKind::Internal, context)
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether trying the same operation again now may succeed (a lost race).
    pub fn is_retryable(&self) -> bool {
        self.kind == StoreErrorKind::Conflict
    }

    /// Whether the database is unreachable (as opposed to refusing or failing).
    pub fn is_unavailable(&self) -> bool {
        self.kind == StoreErrorKind::Unavailable
    }

    /// Turns the failure into the domain's answer to the caller and logs it once, with the
    /// operation and the room it concerned: the single place storage errors are logged.
    pub fn into_chat_error(self, operation: &'static str, room: Option<&RoomId>) -> ChatError {
        let room = room.map(tracing::field::display);
        match self.kind {
            StoreErrorKind::Unavailable => {
                tracing::warn!(operation, room, error = %ErrorChain(&self), "storage unavailable");
                ChatError::Unavailable
            }
            StoreErrorKind::Conflict | StoreErrorKind::Corrupt | StoreErrorKind::Internal => {
                tracing::error!(operation, room, error = %ErrorChain(&self), "storage error");
                ChatError::Internal
            }
        }
    }
}

/// Displays an error with every source after it (`a: b: c`), for one log line per failure.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_error_keeps_its_kind_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = StoreError::with_source(StoreErrorKind::Unavailable, "connect", io);
        assert!(e.is_unavailable());
        assert!(!e.is_retryable());
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("refused"));
        assert_eq!(
            ErrorChain(&e).to_string(),
            "storage unavailable: connect: refused"
        );
        assert_eq!(
            e.clone().into_chat_error("append", None),
            ChatError::Unavailable
        );
        let race = StoreError::new(StoreErrorKind::Conflict, "deadlock");
        assert!(race.is_retryable());
        assert_eq!(race.into_chat_error("append", None), ChatError::Internal);
    }
}
