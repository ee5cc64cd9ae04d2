//! `--auth jwt`: HS256 with a secret, RS256 and ES256 with PEM public keys, `exp` enforced on
//! REST and STOMP, and a STOMP session ended when its token expires.

mod common;

use std::time::Duration;

use common::{Stomp, TestServer};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reuse_chat::auth::unix_now;
use reuse_chat::config::AuthSetting;
use serde_json::json;

const SECRET: &str = "test-secret-0123456789";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn token(alg: Algorithm, key: &EncodingKey, sub: &str, exp: u64) -> String {
    encode(&Header::new(alg), &json!({"sub": sub, "exp": exp}), key).unwrap()
}

fn hs(sub: &str, exp: u64) -> String {
    token(
        Algorithm::HS256,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        sub,
        exp,
    )
}

async fn connect_with(port: u16, header: &str) -> Stomp {
    let mut c = Stomp::open(port).await;
    c.send_raw(format!(
        "CONNECT\naccept-version:1.2\nhost:x\n{header}\n\n\0"
    ))
    .await;
    c
}

#[tokio::test]
async fn hs256_tokens_on_rest_and_stomp() {
    let s = TestServer::start_with(|st| st.auth = AuthSetting::JwtSecret(SECRET.into())).await;
    let exp = unix_now() + 600;
    let alice = s.api("ignored").with_bearer(&hs("alice", exp));
    let room = alice.open_room("bob", "bike").await;
    let (st, _) = alice.get("/room/list").await;
    assert_eq!(st, 200);
    // X-Auth-User means nothing in jwt mode.
    let (st, _) = s.api("alice").get("/room/list").await;
    assert_eq!(st, 401);
    // Expired, forged and malformed tokens are refused.
    let (st, body) = s
        .api("x")
        .with_bearer(&hs("alice", unix_now() - 10))
        .get("/room/list")
        .await;
    assert_eq!(
        (st, body["message"].as_str()),
        (401, Some("the token has expired"))
    );
    let forged = token(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-xyz"),
        "alice",
        exp,
    );
    let (st, _) = s.api("x").with_bearer(&forged).get("/room/list").await;
    assert_eq!(st, 401);
    let (st, _) = s
        .api("x")
        .with_bearer("not.a.token")
        .get("/room/list")
        .await;
    assert_eq!(st, 401);

    // STOMP: Authorization header or passcode.
    let mut c = connect_with(
        s.port,
        &format!("Authorization:Bearer {}", hs("alice", exp)),
    )
    .await;
    assert_eq!(c.recv().await.header("user-name"), Some("alice"));
    c.subscribe("s", &room).await;
    c.say(&room, "alice", "hi", "r").await;
    let mut c = connect_with(s.port, &format!("passcode:{}", hs("bob", exp))).await;
    assert_eq!(c.recv().await.header("user-name"), Some("bob"));
    let mut c = connect_with(
        s.port,
        &format!("passcode:{}", hs("alice", unix_now() - 10)),
    )
    .await;
    let e = c.expect_error().await;
    assert_eq!(e.header("message"), Some("authentication failed"));
    assert!(e.text().contains("expired"));
    let mut c = connect_with(s.port, "X-Auth-User:alice").await;
    c.expect_error().await;
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let s = TestServer::start_with(|st| st.auth = AuthSetting::JwtSecret(SECRET.into())).await;
    let mut c = connect_with(s.port, &format!("passcode:{}", hs("alice", unix_now() + 2))).await;
    assert_eq!(c.recv().await.command, "CONNECTED");
    let f = tokio::time::timeout(Duration::from_secs(5), c.expect_error())
        .await
        .expect("the session ends once the token expires");
    assert_eq!(f.header("message"), Some("token expired"));
}

#[tokio::test]
async fn rs256_and_es256_with_pem_public_keys() {
    for (alg, public, private) in [
        (Algorithm::RS256, "rsa-public.pem", "rsa-private.pem"),
        (Algorithm::ES256, "ec-public.pem", "ec-private.pem"),
    ] {
        let s =
            TestServer::start_with(|st| st.auth = AuthSetting::JwtPublicKey(fixture(public))).await;
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&fixture(private)).unwrap(),
            _ => EncodingKey::from_ec_pem(&fixture(private)).unwrap(),
        };
        let good = token(alg, &key, "alice", unix_now() + 600);
        let (st, _) = s.api("x").with_bearer(&good).get("/room/list").await;
        assert_eq!(st, 200, "{alg:?}");
        let mut c = connect_with(s.port, &format!("Authorization:Bearer {good}")).await;
        assert_eq!(c.recv().await.command, "CONNECTED");
        // An HS256 token signed with the public key bytes (algorithm confusion) is refused.
        let confused = token(
            Algorithm::HS256,
            &EncodingKey::from_secret(&fixture(public)),
            "alice",
            unix_now() + 600,
        );
        let (st, _) = s.api("x").with_bearer(&confused).get("/room/list").await;
        assert_eq!(st, 401, "{alg:?}");
        let expired = token(alg, &key, "alice", unix_now() - 10);
        let (st, _) = s.api("x").with_bearer(&expired).get("/room/list").await;
        assert_eq!(st, 401);
    }
}
