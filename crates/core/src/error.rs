//! The domain's error types: what a caller did wrong, and what a backend failed to do.

use thiserror::Error;

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
            ChatError::BadInput { code, .. } | ChatError::TooLarge { code, .. } => code,
            ChatError::RoomNotFound => "room_not_found",
            ChatError::NotMember => "not_a_member",
            ChatError::Unavailable => "backend_unavailable",
            ChatError::Internal => "internal",
            ChatError::ShuttingDown => "shutting_down",
        }
    }
}

/// A storage backend's failure, classified so the domain can tell "try later" from "bug".
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The database cannot be reached or timed out; the operation did not take effect.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Any other database error; the operation did not take effect.
    #[error("storage error: {0}")]
    Internal(String),
}

impl From<StoreError> for ChatError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "storage unavailable");
                ChatError::Unavailable
            }
            StoreError::Internal(detail) => {
                tracing::error!(%detail, "storage error");
                ChatError::Internal
            }
        }
    }
}
