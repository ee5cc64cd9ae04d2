//! The photo settings (`--blobs`, `--max-attachment-bytes`, `--url-signing-key`,
//! `--attachment-url-ttl-secs`, `--public-url`, `--photo-decode-memory-mb`), validated.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{bad, AuthSetting, ConfigError, RawSettings};

/// Validated photo settings.
#[derive(Clone)]
pub struct PhotoSettings {
    /// `file://DIR` or `s3://…`.
    pub blobs: String,
    /// Largest upload in bytes.
    pub max_bytes: u64,
    /// The key photo addresses are signed with.
    pub signing_key: Vec<u8>,
    /// Whether the key was given or derived (the same on every node), not made up at start.
    pub signing_key_shared: bool,
    /// How long a signed address works.
    pub url_ttl: Duration,
    /// Prefix of photo addresses.
    pub public_url: String,
    /// Bytes decoding may take at once.
    pub decode_memory: u64,
}

impl std::fmt::Debug for PhotoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoSettings")
            .field("blobs", &self.blobs.split('?').next().unwrap_or_default())
            .field("max_bytes", &self.max_bytes)
            .field("signing_key_shared", &self.signing_key_shared)
            .field("url_ttl", &self.url_ttl)
            .field("public_url", &self.public_url)
            .field("decode_memory", &self.decode_memory)
            .finish_non_exhaustive()
    }
}

impl PhotoSettings {
    pub(crate) fn resolve(
        raw: &RawSettings,
        data_dir: &Path,
        auth: &AuthSetting,
    ) -> Result<Self, ConfigError> {
        let blobs = match &raw.blobs {
            Some(b) if b.starts_with("file://") || b.starts_with("s3://") => b.clone(),
            Some(_) => {
                return Err(bad(
                    "--blobs",
                    "expected file://DIR or s3://BUCKET?endpoint=URL&region=R",
                ))
            }
            None => {
                let dir = data_dir.join("blobs");
                let dir = if dir.is_absolute() {
                    dir
                } else {
                    std::env::current_dir().map(|c| c.join(&dir)).unwrap_or(dir)
                };
                format!("file://{}", dir.display())
            }
        };
        let max_bytes = raw.max_attachment_bytes.unwrap_or(10 * 1024 * 1024);
        if !(1024..=100 * 1024 * 1024).contains(&max_bytes) {
            return Err(bad(
                "--max-attachment-bytes",
                "must be between 1024 and 104857600",
            ));
        }
        let (signing_key, signing_key_shared) = match (&raw.url_signing_key, auth) {
            (Some(k), _) if k.len() < 16 => {
                return Err(bad("--url-signing-key", "must be at least 16 bytes"))
            }
            (Some(k), _) => (k.as_bytes().to_vec(), true),
            // A key of its own, derived one way from the shared secret: a photo address never
            // helps forge a token.
            (None, AuthSetting::JwtSecret(secret)) => {
                let mut h = Sha256::new();
                h.update(b"reuse-chat photo address key\0");
                h.update(secret.as_bytes());
                (h.finalize().to_vec(), true)
            }
            (None, _) => (uuid::Uuid::new_v4().as_bytes().repeat(2), false),
        };
        let ttl = raw.attachment_url_ttl_secs.unwrap_or(3600);
        if !(60..=7 * 24 * 3600).contains(&ttl) {
            return Err(bad(
                "--attachment-url-ttl-secs",
                "must be between 60 and 604800",
            ));
        }
        let public_url = raw.public_url.clone().unwrap_or_default();
        let web_origin = public_url.starts_with("https://") || public_url.starts_with("http://");
        if !(public_url.is_empty() || web_origin) {
            return Err(bad("--public-url", "expected https://host[:port]"));
        }
        let decode_mb = raw.photo_decode_memory_mb.unwrap_or(512);
        if !(64..=65_536).contains(&decode_mb) {
            return Err(bad(
                "--photo-decode-memory-mb",
                "must be between 64 and 65536",
            ));
        }
        Ok(PhotoSettings {
            blobs,
            max_bytes,
            signing_key,
            signing_key_shared,
            url_ttl: Duration::from_secs(ttl),
            public_url: public_url.trim_end_matches('/').to_owned(),
            decode_memory: decode_mb * 1024 * 1024,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(raw: RawSettings) -> Result<PhotoSettings, ConfigError> {
        PhotoSettings::resolve(&raw, Path::new("/var/lib/reuse-chat"), &AuthSetting::Header)
    }

    #[test]
    fn defaults() {
        let p = resolve(RawSettings::default()).unwrap();
        assert_eq!(p.blobs, "file:///var/lib/reuse-chat/blobs");
        assert_eq!(p.max_bytes, 10 * 1024 * 1024);
        assert_eq!(p.url_ttl, Duration::from_secs(3600));
        assert!(!p.signing_key_shared);
        assert_eq!(p.decode_memory, 512 * 1024 * 1024);
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: [(RawSettings, &str); 6] = [
            (
                RawSettings {
                    blobs: Some("/tmp".into()),
                    ..Default::default()
                },
                "--blobs",
            ),
            (
                RawSettings {
                    max_attachment_bytes: Some(10),
                    ..Default::default()
                },
                "--max-attachment-bytes",
            ),
            (
                RawSettings {
                    url_signing_key: Some("short".into()),
                    ..Default::default()
                },
                "--url-signing-key",
            ),
            (
                RawSettings {
                    attachment_url_ttl_secs: Some(1),
                    ..Default::default()
                },
                "--attachment-url-ttl-secs",
            ),
            (
                RawSettings {
                    public_url: Some("chat.example.com".into()),
                    ..Default::default()
                },
                "--public-url",
            ),
            (
                RawSettings {
                    photo_decode_memory_mb: Some(1),
                    ..Default::default()
                },
                "--photo-decode-memory-mb",
            ),
        ];
        for (raw, flag) in cases {
            assert_eq!(resolve(raw).unwrap_err().name, flag);
        }
    }

    #[test]
    fn the_signing_key_is_shared_when_given_or_derived() {
        let given = resolve(RawSettings {
            url_signing_key: Some("0123456789abcdef0123".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(given.signing_key_shared);
        let secret = AuthSetting::JwtSecret("a-very-long-jwt-secret".into());
        let a = PhotoSettings::resolve(&RawSettings::default(), Path::new("/d"), &secret).unwrap();
        let b = PhotoSettings::resolve(&RawSettings::default(), Path::new("/d"), &secret).unwrap();
        assert!(a.signing_key_shared);
        assert_eq!(
            a.signing_key, b.signing_key,
            "two nodes derive the same key"
        );
        assert_ne!(a.signing_key, b"a-very-long-jwt-secret".to_vec());
    }
}
