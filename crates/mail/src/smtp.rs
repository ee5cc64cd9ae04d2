//! The SMTP side: a validated server URL (its password kept out of logs and `Debug`) and the
//! transport that delivers one inquiry.

use std::fmt;
use std::time::Duration;

use chat_core::QueuedInquiry;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use thiserror::Error;

use crate::{compose, MailConfig, MailError};

/// An SMTP server URL with lettre's `from_url` meaning: `smtp://[user:pass@]host[:port]` plain,
/// `smtp://…?tls=required` (or `opportunistic`) upgrading with STARTTLS, `smtps://…` TLS from
/// the first byte. Credentials are percent-decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    /// Checks the URL the way the transport will read it.
    pub fn parse(url: &str) -> Result<SmtpUrl, MailError> {
        let url = url.trim();
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
            MailError::InvalidUrl(format!(
                "'{}' is not smtp://[user:pass@]host[:port][?tls=required] or smtps://…: {e}",
                redact(url)
            ))
        })?;
        Ok(SmtpUrl(url.to_owned()))
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({})", self.redacted())
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of `scheme://user:password@host…` with `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// Why a delivery did not happen. Either way the inquiry stays queued and is retried.
#[derive(Debug, Error)]
pub enum SendError {
    /// The server answered 5xx: retrying will not help until an operator fixes the settings
    /// (sender, recipient, credentials).
    #[error("the SMTP server refused the mail: {0}")]
    Refused(String),
    /// The server is unreachable, busy (4xx), or too slow.
    #[error("the SMTP server is unavailable: {0}")]
    Unavailable(String),
    /// The message could not be built.
    #[error(transparent)]
    Compose(#[from] MailError),
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        if e.is_permanent() {
            SendError::Refused(e.to_string())
        } else {
            SendError::Unavailable(e.to_string())
        }
    }
}

/// Delivers inquiries to the operators through one SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Mailbox,
    timeout: Duration,
}

impl Mailer {
    /// A mailer for `config`; connects only when it sends.
    pub fn new(config: &MailConfig) -> Result<Mailer, MailError> {
        let timeout = config.tuning.send_timeout;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp.0)
            .map_err(|e| MailError::InvalidUrl(format!("{}: {e}", config.smtp)))?
            .timeout(Some(timeout))
            .build();
        Ok(Mailer {
            transport,
            from: config.from.clone(),
            to: config.to.clone(),
            timeout,
        })
    }

    /// Mails one inquiry. `Ok` means the server accepted it (250 after `DATA`).
    pub async fn send(&self, inquiry: &QueuedInquiry) -> Result<(), SendError> {
        let message = compose(inquiry, &self.from, &self.to)?;
        // lettre's timeout bounds each step; this bounds the whole delivery, so that a send
        // never outlives the claim's lease.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(result) => result.map(|_| ()).map_err(SendError::from),
            Err(_) => Err(SendError::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    /// Connects, greets and says `NOOP`: whether the server answers (for `/ready`).
    pub async fn probe(&self) -> Result<(), SendError> {
        match tokio::time::timeout(self.timeout, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SendError::Unavailable("NOOP was not answered".into())),
            Ok(Err(e)) => Err(SendError::from(e)),
            Err(_) => Err(SendError::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_lettre_reads_them() {
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "smtps://user:pass@mail.example.com",
            "smtp://mail.example.com",
        ] {
            SmtpUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=sometimes",
            "mail.example.com:25",
            "smtp://",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn passwords_never_show() {
        let url = SmtpUrl::parse("smtp://mailer:s3cret@mail.example.com:587?tls=required").unwrap();
        assert_eq!(
            url.to_string(),
            "smtp://mailer:***@mail.example.com:587?tls=required"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let err = SmtpUrl::parse("ftp://mailer:s3cret@host").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert_eq!(redact("smtp://host:25"), "smtp://host:25");
    }
}
