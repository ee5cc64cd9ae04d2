//! Why a session ends with an `ERROR` frame: a machine code (API-v2 "Errors"; the REST code
//! where REST has the same cause), the `message` header, a detail for the body, and the
//! receipt of the frame that failed. Every refusal of the session goes through here, so the
//! codes are mapped in one place.

use chat_core::ChatError;
use reuse_stomp::{Command, DecodeError, Frame};

use crate::auth::AuthError;

/// An error to report in an `ERROR` frame before the session closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `code` header: stable, for clients to match on.
    pub code: &'static str,
    /// The `message` header: a short sentence for people.
    pub message: String,
    /// The body: what exactly was wrong.
    pub detail: String,
    /// The `receipt` of the frame that failed, echoed as `receipt-id`.
    pub receipt: Option<String>,
}

impl Failure {
    /// A failure with its code, message and detail.
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        detail: impl Into<String>,
        receipt: Option<String>,
    ) -> Self {
        Failure {
            code,
            message: message.into(),
            detail: detail.into(),
            receipt,
        }
    }

    /// A domain refusal or failure while doing `context` (e.g. "SEND to /pub/room/…").
    pub fn chat(context: &str, e: &ChatError, receipt: Option<String>) -> Self {
        Failure::new(e.code(), e.to_string(), format!("{context}: {e}"), receipt)
    }

    /// The credentials were missing, wrong or expired.
    pub fn auth(e: &AuthError) -> Self {
        Failure::new("unauthorized", "authentication failed", e.to_string(), None)
    }

    /// The client's bytes are not valid STOMP (or exceed a size limit).
    pub fn decode(e: &DecodeError) -> Self {
        let code = match e {
            DecodeError::FrameTooLarge { .. }
            | DecodeError::TooManyHeaders { .. }
            | DecodeError::HeadersTooLarge { .. } => "too_large",
            _ => "malformed_frame",
        };
        Failure::new(code, e.to_string(), format!("malformed frame: {e}"), None)
    }

    /// The server is stopping.
    pub fn shutting_down() -> Self {
        Failure::new(
            "shutting_down",
            "server shutting down",
            "the server is shutting down; reconnect shortly",
            None,
        )
    }

    /// The `ERROR` frame that tells the client.
    pub fn to_frame(&self) -> Frame {
        let mut frame = Frame::new(Command::Error)
            .with_header("message", &self.message)
            .with_header("code", self.code)
            .with_header("content-type", "text/plain");
        if let Some(r) = &self.receipt {
            frame = frame.with_header("receipt-id", r);
        }
        frame.with_body(self.detail.clone().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_frame_carries_code_message_receipt_and_detail() {
        let f = Failure::chat("SEND to x", &ChatError::NotMember, Some("r-1".into()));
        let frame = f.to_frame();
        assert_eq!(frame.command, Command::Error);
        assert_eq!(frame.header("code"), Some("not_a_member"));
        assert_eq!(frame.header("message"), Some("not a member of this room"));
        assert_eq!(frame.header("receipt-id"), Some("r-1"));
        assert_eq!(&frame.body[..], b"SEND to x: not a member of this room");
    }

    #[test]
    fn size_limits_share_the_rest_code() {
        let too_big = Failure::decode(&DecodeError::FrameTooLarge { limit: 10 });
        assert_eq!(too_big.code, "too_large");
        assert_eq!(
            Failure::decode(&DecodeError::MissingNul).code,
            "malformed_frame"
        );
        assert_eq!(
            Failure::shutting_down().code,
            ChatError::ShuttingDown.code()
        );
    }
}
