//! Signed, expiring photo addresses: what lets an `<img src>` fetch a photo without headers,
//! while the same path without a valid signature needs a member's identity.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::attachment::{Attachment, AttachmentId, Links, Variant};
use crate::ids::RoomId;
use crate::model::Millis;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed address was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The signature does not match (tampered, or made with another key).
    BadSignature,
    /// The signature matched but its time is over.
    Expired,
}

impl LinkError {
    /// The error code clients see.
    pub fn code(self) -> &'static str {
        match self {
            LinkError::BadSignature => "invalid_signature",
            LinkError::Expired => "link_expired",
        }
    }
}

/// Signs and checks photo addresses with one key, shared by every node of a cluster (a node
/// can serve what another signed). Expiry times are rounded up to a step, so the same photo
/// gets the same address for a while and browsers' caches work across history reloads.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
    ttl_secs: i64,
    step_secs: i64,
    base: String,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("ttl_secs", &self.ttl_secs)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LinkSigner {
    /// A signer with `key`, addresses valid for at least `ttl` (and at most a tenth longer),
    /// prefixed with `base` (e.g. `https://chat.example.com`; empty for same-origin paths).
    pub fn new(key: &[u8], ttl: std::time::Duration, base: &str) -> Self {
        let ttl_secs = ttl.as_secs().clamp(1, 7 * 24 * 3600) as i64;
        LinkSigner {
            key: key.to_vec(),
            ttl_secs,
            step_secs: (ttl_secs / 10).max(1),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The path a variant of a photo is served at (the same with or without a signature).
    pub fn path(room: &RoomId, id: &AttachmentId, variant: Variant) -> String {
        match variant {
            Variant::Full => format!("/room/{}/attachments/{id}", room.to_text()),
            Variant::Thumbnail => format!("/room/{}/attachments/{id}/thumbnail", room.to_text()),
        }
    }

    fn signature(&self, path: &str, expires: i64) -> HmacSha256 {
        // The key has any length; HMAC takes every length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The signed address of a variant of a photo, valid from `now` for the signer's time.
    pub fn sign(&self, room: &RoomId, id: &AttachmentId, variant: Variant, now: Millis) -> String {
        let path = Self::path(room, id, variant);
        let earliest = now.0.div_euclid(1000) + self.ttl_secs;
        let expires =
            earliest + (self.step_secs - earliest.rem_euclid(self.step_secs)) % self.step_secs;
        let sig = self.signature(&path, expires).finalize().into_bytes();
        let mut hex = String::with_capacity(64);
        for b in sig {
            hex.push_str(&format!("{b:02x}"));
        }
        format!("{}{path}?exp={expires}&sig={hex}", self.base)
    }

    /// Checks a signature given with a request for `path`: `expires` and `sig` are the query's
    /// `exp` and `sig`, as sent.
    pub fn verify(
        &self,
        path: &str,
        expires: &str,
        sig: &str,
        now: Millis,
    ) -> Result<(), LinkError> {
        let exp: i64 = expires.parse().map_err(|_| LinkError::BadSignature)?;
        if sig.len() != 64 {
            return Err(LinkError::BadSignature);
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(
                sig.get(2 * i..2 * i + 2).ok_or(LinkError::BadSignature)?,
                16,
            )
            .map_err(|_| LinkError::BadSignature)?;
        }
        // Constant-time comparison: a wrong guess tells nothing about the right one.
        self.signature(path, exp)
            .verify_slice(&bytes)
            .map_err(|_| LinkError::BadSignature)?;
        if exp.saturating_mul(1000) <= now.0 {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// Gives a photo fresh links for a reader of `room`.
    pub fn link(&self, room: &RoomId, attachment: &mut Attachment, now: Millis) {
        attachment.links = Some(Links {
            url: self.sign(room, &attachment.id, Variant::Full, now),
            thumbnail_url: self.sign(room, &attachment.id, Variant::Thumbnail, now),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parts(url: &str) -> (String, String, String) {
        let (path, query) = url.split_once('?').unwrap();
        let mut exp = String::new();
        let mut sig = String::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "exp" => exp = v.into(),
                "sig" => sig = v.into(),
                _ => panic!("unexpected {k}"),
            }
        }
        (path.into(), exp, sig)
    }

    fn sample() -> (LinkSigner, RoomId, AttachmentId) {
        (
            LinkSigner::new(b"secret", Duration::from_secs(3600), ""),
            RoomId::new_random(),
            AttachmentId::random(),
        )
    }

    #[test]
    fn a_signed_address_verifies_until_it_expires() {
        let (s, room, id) = sample();
        let now = Millis(1_700_000_000_123);
        let url = s.sign(&room, &id, Variant::Full, now);
        let (path, exp, sig) = parts(&url);
        assert_eq!(path, LinkSigner::path(&room, &id, Variant::Full));
        let exp_secs: i64 = exp.parse().unwrap();
        assert!((1_700_000_000 + 3600..=1_700_000_000 + 3600 + 360).contains(&exp_secs));
        assert_eq!(s.verify(&path, &exp, &sig, now), Ok(()));
        assert_eq!(
            s.verify(&path, &exp, &sig, Millis(exp_secs * 1000)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn tampering_with_anything_breaks_it() {
        let (s, room, id) = sample();
        let now = Millis::now();
        let (path, exp, sig) = parts(&s.sign(&room, &id, Variant::Thumbnail, now));
        let other_path = LinkSigner::path(&room, &id, Variant::Full);
        assert_eq!(
            s.verify(&other_path, &exp, &sig, now),
            Err(LinkError::BadSignature)
        );
        let later = (exp.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(
            s.verify(&path, &later, &sig, now),
            Err(LinkError::BadSignature)
        );
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            s.verify(&path, &exp, &flipped, now),
            Err(LinkError::BadSignature)
        );
        for bad in ["", "zz", &sig[..63], "é".repeat(32).as_str()] {
            assert_eq!(
                s.verify(&path, &exp, bad, now),
                Err(LinkError::BadSignature)
            );
        }
        assert_eq!(
            s.verify(&path, "soon", &sig, now),
            Err(LinkError::BadSignature)
        );
        let other_key = LinkSigner::new(b"other", Duration::from_secs(3600), "");
        assert_eq!(
            other_key.verify(&path, &exp, &sig, now),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn the_same_address_is_handed_out_within_a_step() {
        let (s, room, id) = sample();
        let a = s.sign(&room, &id, Variant::Full, Millis(1_700_000_000_000));
        let b = s.sign(&room, &id, Variant::Full, Millis(1_700_000_001_000));
        assert_eq!(a, b);
        let with_base = LinkSigner::new(b"secret", Duration::from_secs(3600), "https://x.test/");
        assert!(with_base
            .sign(&room, &id, Variant::Full, Millis::now())
            .starts_with("https://x.test/room/"));
    }
}
