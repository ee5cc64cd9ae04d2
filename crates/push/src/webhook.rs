//! The signed webhook to the marketplace's own push service: the payload's JSON, its
//! HMAC-SHA256 in `X-Reuse-Signature` (hex), and the notification's id as `Idempotency-Key`,
//! the same on every retry.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sender::Delivery;

/// `X-Reuse-Signature` of `body` under `secret`: HMAC-SHA256, lowercase hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts `body` to the webhook.
pub(crate) async fn post(
    client: &reqwest::Client,
    config: &crate::WebhookConfig,
    id: i64,
    body: Vec<u8>,
) -> Delivery {
    let request = client
        .post(config.url.clone())
        .header("content-type", "application/json")
        .header("x-reuse-signature", signature(&config.secret, &body))
        .header("idempotency-key", format!("reuse-chat-notification-{id}"))
        .body(body);
    match request.send().await {
        Err(e) => Delivery::Retry(format!("webhook: {e}")),
        Ok(r) => Delivery::from_status(r.status().as_u16(), "webhook"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_rfc_4231_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
