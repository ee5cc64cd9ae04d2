//! Web Push requests: the payload encrypted for the subscription (aes128gcm, RFC 8291) and
//! signed with the server's VAPID key (RFC 8292), built by the `web-push` crate and sent with
//! reqwest. The JWT's audience is the endpoint's origin, port included.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chat_core::notify::PushSubscription;
use web_push::{
    ContentEncoding, PartialVapidSignatureBuilder, SubscriptionInfo, Urgency,
    VapidSignatureBuilder, WebPushMessageBuilder,
};

use crate::config::PushError;
use crate::sender::Delivery;

/// How long a push service keeps an undelivered notification (seconds).
const TTL_SECS: u32 = 24 * 3600;

/// The server's VAPID key pair.
#[derive(Clone)]
pub struct VapidKey {
    builder: PartialVapidSignatureBuilder,
}

impl VapidKey {
    /// Reads a P-256 private key in PEM (`EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, PushError> {
        let builder = VapidSignatureBuilder::from_pem_no_sub(pem.as_bytes())
            .map_err(|e| PushError::Vapid(format!("not a P-256 private key in PEM ({e:?})")))?;
        Ok(VapidKey { builder })
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.builder.get_public_key())
    }
}

/// A request as the `web-push` crate builds it: address, headers, encrypted body.
type Built = (String, Vec<(String, String)>, Vec<u8>);

/// Sends `payload` to `subscription`, under `topic` (the same on every retry, so a push
/// service holding an earlier attempt replaces it).
pub(crate) async fn send(
    client: &reqwest::Client,
    config: &crate::WebPushConfig,
    subscription: &PushSubscription,
    topic: &str,
    payload: &[u8],
) -> Delivery {
    let (uri, headers, body) = match build(config, subscription, topic, payload) {
        Ok(r) => r,
        // The stored keys cannot be used: nothing will ever reach this subscription.
        Err(e) => return Delivery::Gone(format!("web push: cannot encrypt or sign: {e}")),
    };
    let mut builder = client.post(uri);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    match builder.body(body).send().await {
        Err(e) => Delivery::Retry(format!("web push: {e}")),
        Ok(r) => Delivery::from_status(r.status().as_u16(), "web push"),
    }
}

fn build(
    config: &crate::WebPushConfig,
    subscription: &PushSubscription,
    topic: &str,
    payload: &[u8],
) -> Result<Built, String> {
    let info = SubscriptionInfo::new(
        subscription.endpoint.as_str(),
        subscription.p256dh.as_str(),
        subscription.auth.as_str(),
    );
    let origin = url::Url::parse(&subscription.endpoint)
        .map_err(|e| e.to_string())?
        .origin()
        .ascii_serialization();
    let mut signer = config.key.builder.clone().add_sub_info(&info);
    signer.add_claim("sub", config.subject.as_str());
    signer.add_claim("aud", origin.as_str());
    let signature = signer.build().map_err(|e| format!("{e:?}"))?;
    let mut message = WebPushMessageBuilder::new(&info);
    message.set_payload(ContentEncoding::Aes128Gcm, payload);
    message.set_ttl(TTL_SECS);
    message.set_urgency(Urgency::High);
    message.set_topic(topic.to_owned());
    message.set_vapid_signature(signature);
    let message = message.build().map_err(|e| format!("{e:?}"))?;
    let request = web_push::request_builder::build_request::<Vec<u8>>(message);
    let uri = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    Ok((uri, headers, request.into_body()))
}
