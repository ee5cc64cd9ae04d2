//! Identity: who a REST request or a STOMP session belongs to, in `header` or `jwt` mode.

use std::time::{SystemTime, UNIX_EPOCH};

use chat_core::UserId;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use thiserror::Error;

use crate::config::AuthSetting;

/// Why a caller could not be identified. The text is safe to show the caller.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No identity was presented.
    #[error("{0} is required")]
    Missing(&'static str),
    /// The identity presented is not a valid user id.
    #[error("the user id is invalid: 1-128 characters of letters, digits and -_.@:")]
    InvalidUser,
    /// The token is malformed, badly signed, of the wrong algorithm or lacks `sub`/`exp`.
    #[error("the token is invalid")]
    InvalidToken,
    /// The token's `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// In header mode the gateway's identity (on the WebSocket upgrade) and the `CONNECT`
    /// frame's disagree.
    #[error("X-Auth-User in CONNECT differs from the gateway's")]
    Mismatch,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user.
    pub user: UserId,
    /// When the credential stops being valid (Unix seconds), for sessions to end themselves.
    pub expires_at: Option<u64>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// Verifies identities according to the configured mode.
pub enum Authenticator {
    /// Trust `X-Auth-User`: the service sits behind a gateway that sets it.
    Header,
    /// Verify a signed JWT.
    Jwt {
        /// The verification key.
        key: DecodingKey,
        /// Algorithm, `exp` and `sub` rules (boxed: one authenticator exists per server).
        validation: Box<Validation>,
    },
}

/// Checks that `pem` is an RSA or EC public key, so a bad key stops start-up, not a login.
pub fn check_public_key(pem: &[u8]) -> Result<(), String> {
    public_key(pem).map(|_| ())
}

fn public_key(pem: &[u8]) -> Result<(DecodingKey, Algorithm), String> {
    if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
        return Ok((k, Algorithm::RS256));
    }
    if let Ok(k) = DecodingKey::from_ec_pem(pem) {
        return Ok((k, Algorithm::ES256));
    }
    Err("not a PEM RSA or EC (P-256) public key".to_owned())
}

impl Authenticator {
    /// Builds the verifier for the configured mode.
    pub fn new(setting: &AuthSetting) -> Result<Self, String> {
        let (key, alg) = match setting {
            AuthSetting::Header => return Ok(Authenticator::Header),
            AuthSetting::JwtSecret(secret) => (
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            ),
            AuthSetting::JwtPublicKey(pem) => public_key(pem)?,
        };
        let mut validation = Validation::new(alg);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Authenticator::Jwt {
            key,
            validation: Box::new(validation),
        })
    }

    /// Whether the service trusts a gateway's header (and must warn about it).
    pub fn is_header_mode(&self) -> bool {
        matches!(self, Authenticator::Header)
    }

    /// Identifies a caller from an `X-Auth-User` value or a bearer token, whichever the mode
    /// uses; `what` names the missing credential in the error.
    pub fn identify(
        &self,
        header_user: Option<&str>,
        token: Option<&str>,
    ) -> Result<Identity, AuthError> {
        match self {
            Authenticator::Header => {
                let v = header_user.ok_or(AuthError::Missing("X-Auth-User"))?;
                let user = UserId::parse(v.trim()).map_err(|_| AuthError::InvalidUser)?;
                Ok(Identity {
                    user,
                    expires_at: None,
                })
            }
            Authenticator::Jwt { key, validation } => {
                let token = token.ok_or(AuthError::Missing("a bearer token"))?;
                let data = decode::<Claims>(token.trim(), key, validation).map_err(|e| match e
                    .kind()
                {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                    _ => AuthError::InvalidToken,
                })?;
                let user = UserId::parse(&data.claims.sub).map_err(|_| AuthError::InvalidUser)?;
                Ok(Identity {
                    user,
                    expires_at: Some(data.claims.exp),
                })
            }
        }
    }
}

/// Takes the token out of an `Authorization: Bearer <token>` value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Seconds since the Unix epoch, for comparing with `exp`.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde::Serialize;

    #[derive(Serialize)]
    struct C<'a> {
        sub: &'a str,
        exp: u64,
    }

    const SECRET: &str = "0123456789abcdef-secret";

    fn hs(sub: &str, exp: u64, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &C { sub, exp },
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn header_mode() {
        let a = Authenticator::new(&AuthSetting::Header).unwrap();
        assert_eq!(
            a.identify(Some("alice"), None).unwrap().user.as_str(),
            "alice"
        );
        assert_eq!(
            a.identify(None, Some("t")),
            Err(AuthError::Missing("X-Auth-User"))
        );
        assert_eq!(a.identify(Some("a b"), None), Err(AuthError::InvalidUser));
    }

    #[test]
    fn jwt_hs256() {
        let a = Authenticator::new(&AuthSetting::JwtSecret(SECRET.into())).unwrap();
        let exp = unix_now() + 600;
        let id = a.identify(None, Some(&hs("alice", exp, SECRET))).unwrap();
        assert_eq!(id.user.as_str(), "alice");
        assert_eq!(id.expires_at, Some(exp));
        assert_eq!(
            a.identify(None, Some(&hs("alice", unix_now() - 5, SECRET))),
            Err(AuthError::Expired)
        );
        assert_eq!(
            a.identify(None, Some(&hs("alice", exp, "another-secret-0123"))),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            a.identify(None, Some("garbage")),
            Err(AuthError::InvalidToken)
        );
        assert_eq!(
            a.identify(None, Some(&hs("bad user", exp, SECRET))),
            Err(AuthError::InvalidUser)
        );
        // The header is ignored in jwt mode.
        assert_eq!(
            a.identify(Some("alice"), None),
            Err(AuthError::Missing("a bearer token"))
        );
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
    }
}
