//! The mail an inquiry becomes: the same bytes on every attempt (fixed `Message-ID` and
//! `Date`), so a receiver can tell a repeated delivery from a new inquiry.

use std::time::{Duration, SystemTime};

use chat_core::QueuedInquiry;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::Message;

use crate::MailError;

/// The `Message-ID` of inquiry `id`: derived from the stored id and the sender's domain, so a
/// retried delivery carries the same id as the first one.
pub(crate) fn message_id(id: i64, from: &Mailbox) -> String {
    format!("<inquiry-{id}@{}>", from.email.domain())
}

/// Builds the mail for `inquiry` from `from` to `to`. The subject is the inquiry's title, the
/// body its text followed by who sent it; replies go to the inquirer. UTF-8 throughout
/// (lettre encodes the subject per RFC 2047 and picks a transfer encoding for the body).
pub fn compose(
    inquiry: &QueuedInquiry,
    from: &Mailbox,
    to: &Mailbox,
) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(format!("[inquiry #{}] {}", inquiry.id, inquiry.title))
        .message_id(Some(message_id(inquiry.id, from)))
        .date(created_at(inquiry))
        .header(ContentType::TEXT_PLAIN);
    // The domain checks addresses loosely; one lettre refuses is still mailed, without
    // Reply-To (the address is in the body either way).
    // A report to the operators (API-v2 "Safety") has no address to answer to.
    if !inquiry.email.is_empty() {
        match inquiry.email.parse::<Mailbox>() {
            Ok(reply_to) => builder = builder.reply_to(reply_to),
            Err(e) => {
                tracing::warn!(id = inquiry.id, error = %e, "inquiry address unusable as Reply-To")
            }
        }
    }
    let user = inquiry
        .user
        .as_ref()
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| "(not signed in)".to_owned());
    let body = format!(
        "{content}\n\n--\nInquiry #{id}\nFrom: {email}\nUser: {user}\nReceived: {at}\n",
        content = inquiry.content,
        id = inquiry.id,
        email = if inquiry.email.is_empty() {
            "(none)"
        } else {
            inquiry.email.as_str()
        },
        at = inquiry.created_at.to_rfc3339(),
    );
    builder
        .body(body)
        .map_err(|e| MailError::Compose(e.to_string()))
}

fn created_at(inquiry: &QueuedInquiry) -> SystemTime {
    let ms = u64::try_from(inquiry.created_at.0).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::{Millis, UserId};

    fn inquiry(email: &str) -> QueuedInquiry {
        QueuedInquiry {
            id: 42,
            email: email.into(),
            title: "환불 문의드립니다".into(),
            content: "자전거 환불 가능한가요?\n감사합니다 😀".into(),
            user: Some(UserId::parse("alice").unwrap()),
            created_at: Millis(1_700_000_000_123),
            attempts: 3,
        }
    }

    fn mailbox(s: &str) -> Mailbox {
        s.parse().unwrap()
    }

    #[test]
    fn the_mail_is_the_same_on_every_attempt_and_names_the_inquirer() {
        let from = mailbox("reuse-chat@chat.example");
        let to = mailbox("Ops <ops@example.com>");
        let a = compose(&inquiry("buyer@example.com"), &from, &to).unwrap();
        let b = compose(&inquiry("buyer@example.com"), &from, &to).unwrap();
        assert_eq!(
            a.formatted(),
            b.formatted(),
            "a retry must repeat the same bytes"
        );
        let text = String::from_utf8(a.formatted()).unwrap();
        assert!(
            text.contains("Message-ID: <inquiry-42@chat.example>\r\n"),
            "{text}"
        );
        assert!(text.contains("Reply-To: buyer@example.com\r\n"), "{text}");
        assert!(text.contains("From: reuse-chat@chat.example\r\n"), "{text}");
        assert!(text.contains("To: Ops <ops@example.com>\r\n"), "{text}");
        // The Korean subject is encoded (RFC 2047), never sent as raw 8-bit.
        assert!(text.contains("Subject: [inquiry #42] =?utf-8?"), "{text}");
        assert!(text.is_ascii(), "headers and body must be 7-bit encoded");
        let envelope = a.envelope();
        assert_eq!(
            envelope.from().map(|a| a.to_string()).as_deref(),
            Some("reuse-chat@chat.example")
        );
        assert_eq!(envelope.to().len(), 1);
        assert_eq!(envelope.to()[0].to_string(), "ops@example.com");
    }

    #[test]
    fn an_address_lettre_refuses_still_yields_a_mail_without_reply_to() {
        let from = mailbox("reuse-chat@localhost");
        let to = mailbox("ops@example.com");
        let m = compose(&inquiry("odd@@example.com"), &from, &to).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(!text.contains("Reply-To:"), "{text}");
        assert!(
            text.contains("Message-ID: <inquiry-42@localhost>"),
            "{text}"
        );
    }
}
