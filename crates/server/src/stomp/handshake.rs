//! The `CONNECT` handshake: version negotiation, who the client is, and the heart-beat both
//! sides agree on. Pure: a frame and settings in, the session's terms (or the refusal) out.

use std::time::Duration;

use reuse_stomp::{Command, Frame, Version};

use super::failure::Failure;
use crate::auth::{bearer, AuthError, Authenticator, Identity};

/// The negotiated heart-beat of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// `heart-beat` header for `CONNECTED`.
    pub header: String,
    /// How often the server must send something (None: never).
    pub send_every: Option<Duration>,
    /// How long the client may stay silent before the session is dropped (None: forever).
    pub silence_limit: Option<Duration>,
}

impl Heartbeat {
    /// Agrees on heart-beats: the server offers and asks for `ours` both ways; the client's
    /// header says it can send every `cx` ms and wants to hear every `cy` ms (0: never).
    pub fn negotiate(ours: Duration, (cx, cy): (u64, u64)) -> Heartbeat {
        let hb = ours.as_millis() as u64;
        let every = |ours: u64, theirs: u64| {
            (ours > 0 && theirs > 0).then(|| Duration::from_millis(ours.max(theirs)))
        };
        Heartbeat {
            header: format!("{hb},{hb}"),
            send_every: every(hb, cy),
            // Twice the agreed interval: network jitter and busy clients must not cost a
            // session.
            silence_limit: every(hb, cx).map(|d| d * 2),
        }
    }
}

/// What a successful handshake settled.
#[derive(Debug)]
pub struct Handshake {
    /// Who the client is.
    pub identity: Identity,
    /// The STOMP version both speak.
    pub version: Version,
    /// The agreed heart-beats.
    pub heartbeat: Heartbeat,
}

/// Checks the first frame of a connection and settles the session's terms. `gateway_user` is
/// the `X-Auth-User` a gateway set on the upgrade request, if any; `heartbeat` is what the
/// server offers.
pub fn handshake(
    frame: &Frame,
    gateway_user: Option<&str>,
    auth: &Authenticator,
    heartbeat: Duration,
) -> Result<Handshake, Failure> {
    if !matches!(frame.command, Command::Connect | Command::Stomp) {
        return Err(Failure::new(
            "not_connected",
            "expected CONNECT",
            format!(
                "the first frame must be CONNECT or STOMP, not {}",
                frame.command.as_str()
            ),
            None,
        ));
    }
    let version = Version::negotiate(frame.header("accept-version")).ok_or_else(|| {
        Failure::new(
            "unsupported_version",
            "unsupported protocol version",
            "supported STOMP versions are 1.0, 1.1 and 1.2",
            None,
        )
    })?;
    let header_user = frame
        .header("X-Auth-User")
        .or_else(|| frame.header("x-auth-user"));
    let header_user = match (gateway_user, header_user) {
        (Some(g), Some(h)) if g != h => return Err(Failure::auth(&AuthError::Mismatch)),
        (Some(g), _) => Some(g),
        (None, h) => h,
    };
    let token = frame
        .header("Authorization")
        .or_else(|| frame.header("authorization"))
        .and_then(bearer)
        .or_else(|| frame.header("passcode"));
    let identity = auth
        .identify(header_user, token)
        .map_err(|e| Failure::auth(&e))?;
    let client = if version == Version::V1_0 {
        (0, 0)
    } else {
        parse_heartbeat(frame.header("heart-beat")).ok_or_else(|| {
            Failure::new(
                "invalid_heartbeat",
                "invalid heart-beat",
                "the heart-beat header must be two non-negative integers: cx,cy",
                None,
            )
        })?
    };
    Ok(Handshake {
        identity,
        version,
        heartbeat: Heartbeat::negotiate(heartbeat, client),
    })
}

/// Reads a `heart-beat: cx,cy` header; a missing header means no heart-beats.
pub fn parse_heartbeat(h: Option<&str>) -> Option<(u64, u64)> {
    let Some(h) = h else {
        return Some((0, 0));
    };
    let (a, b) = h.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(headers: &[(&str, &str)]) -> Frame {
        headers
            .iter()
            .fold(Frame::new(Command::Connect), |f, (k, v)| {
                f.with_header(k, v)
            })
    }

    fn shake(frame: &Frame, gateway: Option<&str>) -> Result<Handshake, Failure> {
        handshake(
            frame,
            gateway,
            &Authenticator::Header,
            Duration::from_secs(10),
        )
    }

    #[test]
    fn heart_beats_follow_the_slower_side_and_zero_means_never() {
        let hb = Heartbeat::negotiate(Duration::from_secs(10), (5_000, 20_000));
        assert_eq!(hb.header, "10000,10000");
        assert_eq!(hb.send_every, Some(Duration::from_secs(20)));
        assert_eq!(hb.silence_limit, Some(Duration::from_secs(20)));
        let none = Heartbeat::negotiate(Duration::from_secs(10), (0, 0));
        assert_eq!((none.send_every, none.silence_limit), (None, None));
        let off = Heartbeat::negotiate(Duration::ZERO, (1_000, 1_000));
        assert_eq!(off.header, "0,0");
        assert_eq!((off.send_every, off.silence_limit), (None, None));
    }

    #[test]
    fn heart_beat_headers() {
        assert_eq!(parse_heartbeat(None), Some((0, 0)));
        assert_eq!(parse_heartbeat(Some("10, 20")), Some((10, 20)));
        for bad in ["", "10", "a,b", "-1,0", "1,2,3", "18446744073709551616,0"] {
            assert_eq!(parse_heartbeat(Some(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_connect_settles_version_identity_and_heart_beat() {
        let f = connect(&[
            ("accept-version", "1.1,1.2"),
            ("X-Auth-User", "alice"),
            ("heart-beat", "0,5000"),
        ]);
        let h = shake(&f, None).unwrap();
        assert_eq!(h.version, Version::V1_2);
        assert_eq!(h.identity.user.as_str(), "alice");
        assert_eq!(h.heartbeat.send_every, Some(Duration::from_secs(10)));
        assert_eq!(h.heartbeat.silence_limit, None);
        // STOMP 1.0 has no heart-beats, whatever the header says.
        let old = connect(&[("X-Auth-User", "bob"), ("heart-beat", "junk")]);
        let h = shake(&old, None).unwrap();
        assert_eq!(h.version, Version::V1_0);
        assert_eq!(h.heartbeat.send_every, None);
        // The gateway's user is used when the frame names none.
        let h = shake(&connect(&[("accept-version", "1.2")]), Some("carol")).unwrap();
        assert_eq!(h.identity.user.as_str(), "carol");
    }

    #[test]
    fn refusals_carry_their_codes() {
        let code = |f: Frame, gw: Option<&str>| shake(&f, gw).unwrap_err().code;
        assert_eq!(code(Frame::new(Command::Send), None), "not_connected");
        assert_eq!(
            code(
                connect(&[("accept-version", "2.0"), ("X-Auth-User", "a")]),
                None
            ),
            "unsupported_version"
        );
        assert_eq!(
            code(connect(&[("accept-version", "1.2")]), None),
            "unauthorized"
        );
        assert_eq!(
            code(connect(&[("X-Auth-User", "alice")]), Some("mallory")),
            "unauthorized"
        );
        assert_eq!(
            code(
                connect(&[
                    ("accept-version", "1.2"),
                    ("X-Auth-User", "a"),
                    ("heart-beat", "x")
                ]),
                None
            ),
            "invalid_heartbeat"
        );
    }
}
