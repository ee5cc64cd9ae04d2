//! Mails stored inquiries to the operators over SMTP: the settings ([`MailConfig`]), the
//! message an inquiry becomes ([`compose`]), and the background sender that drains the
//! domain's [`InquiryOutbox`](chat_core::ports::InquiryOutbox) with retries and backoff
//! ([`spawn`]).
//!
//! Why a crate of its own: the domain owns the outbox port and stays free of lettre; storage
//! implements the port; this crate is the only one that speaks SMTP.

mod message;
mod sender;
mod smtp;

pub use chat_core::backoff::retry_delay;
pub use message::compose;
pub use sender::{spawn, MailHealth, MailStatus};
pub use smtp::{Mailer, SendError, SmtpUrl};

use std::time::Duration;

pub use lettre::message::Mailbox;
use thiserror::Error;

/// Settings that cannot be used; each names what is wrong so the server can report it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MailError {
    /// The SMTP URL is not `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://…`.
    #[error("{0}")]
    InvalidUrl(String),
    /// An address cannot be parsed as a mailbox (`name@example.com` or `Name <…>`).
    #[error("'{address}' is not a mail address: {reason}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// A message could not be built (a bug or an impossible header).
    #[error("cannot build the message: {0}")]
    Compose(String),
}

/// Parses a mailbox (`ops@example.com` or `Ops <ops@example.com>`).
pub fn parse_mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::InvalidAddress {
            address: address.to_owned(),
            reason: e.to_string(),
        })
}

/// How the sender paces itself. Not operator flags: the defaults suit production, tests
/// shorten them so that an outage and its recovery take seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderTuning {
    /// How often the sender looks for due inquiries when nothing wakes it (retries that come
    /// due, inquiries stored by other nodes).
    pub poll_interval: Duration,
    /// The delay after the first failed attempt; each further failure doubles it.
    pub retry_base: Duration,
    /// The longest delay between attempts: after an outage ends, every queued inquiry goes
    /// out within about this long.
    pub retry_cap: Duration,
    /// How long a claim keeps other nodes off a row; a node that dies mid-batch holds its rows
    /// this long. A send is only started when it can finish (by `send_timeout`) within it.
    pub lease: Duration,
    /// Most inquiries claimed at once.
    pub batch: u32,
    /// Longest one delivery (connect to the server's final reply) may take.
    pub send_timeout: Duration,
    /// How often an idle sender checks that the SMTP server answers, for `/ready`.
    pub probe_interval: Duration,
}

impl Default for SenderTuning {
    fn default() -> Self {
        SenderTuning {
            poll_interval: Duration::from_secs(5),
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(300),
            lease: Duration::from_secs(120),
            batch: 10,
            send_timeout: Duration::from_secs(20),
            probe_interval: Duration::from_secs(60),
        }
    }
}

/// Everything the sender needs: where to deliver, from and to whom, and its pacing.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// The SMTP server.
    pub smtp: SmtpUrl,
    /// Who receives inquiries (the operators).
    pub to: Mailbox,
    /// The sender address of inquiry mails; its domain also names their `Message-ID`s.
    pub from: Mailbox,
    /// Pacing.
    pub tuning: SenderTuning,
}
