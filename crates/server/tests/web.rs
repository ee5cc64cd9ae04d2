//! The chat page served by the binary: `/` and its hashed assets, caching, compression, ETags,
//! the security headers, and `/client/config` that the page reads before signing in.

mod common;

use std::io::Read;

use common::TestServer;
use reuse_chat::config::AuthSetting;

async fn get(port: u16, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("http://127.0.0.1:{port}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request answered")
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
        .unwrap_or_default()
}

/// The script and stylesheet `index.html` links, as absolute paths.
fn linked_assets(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_page_is_served_at_the_root_uncached_with_a_strict_policy() {
    let mut s = TestServer::start().await;
    for path in ["/", "/?room=0b8e0000-0000-4000-8000-000000000000"] {
        let r = get(s.port, path, &[]).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            header(&r, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("unsafe-eval"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
        let html = r.text().await.unwrap();
        assert!(html.contains("lang=\"ko\""), "a Korean page: {html}");
        // Nothing inline: the policy would block it.
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<style"), "{html}");
        assert!(!html.contains("style="), "{html}");
    }
    // The service worker keeps its name across releases: never cached, served as script.
    let r = get(s.port, "/sw.js", &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "cache-control"), "no-cache");
    assert!(
        header(&r, "content-type").contains("javascript"),
        "{}",
        header(&r, "content-type")
    );
    s.stop().await;
}

#[tokio::test]
async fn assets_have_hashed_names_long_lifetimes_compression_and_etags() {
    let mut s = TestServer::start().await;
    let html = get(s.port, "/", &[]).await.text().await.unwrap();
    let assets = linked_assets(&html);
    assert!(
        assets.iter().any(|a| a.ends_with(".js")),
        "index.html links its script: {html}"
    );
    for asset in &assets {
        // Vite's content hash: `name-XXXXXXXX.ext`.
        let file = asset.rsplit('/').next().unwrap();
        let stem = file.rsplit_once('.').unwrap().0;
        let hash = stem.rsplit_once('-').map(|(_, h)| h).unwrap_or("");
        assert!(hash.len() >= 8, "{asset} carries a content hash");

        let plain = get(s.port, asset, &[]).await;
        assert_eq!(plain.status(), 200, "{asset}");
        assert_eq!(
            header(&plain, "cache-control"),
            "max-age=31536000, immutable"
        );
        assert_eq!(header(&plain, "content-encoding"), "", "{asset}: identity");
        let etag = header(&plain, "etag");
        assert!(!etag.is_empty(), "{asset} has an ETag");
        let plain_bytes = plain.bytes().await.unwrap();

        let gz = get(s.port, asset, &[("accept-encoding", "gzip")]).await;
        assert_eq!(header(&gz, "content-encoding"), "gzip", "{asset}");
        assert!(header(&gz, "vary")
            .to_ascii_lowercase()
            .contains("accept-encoding"));
        let gz_bytes = gz.bytes().await.unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz_bytes[..])
            .read_to_end(&mut unzipped)
            .expect("valid gzip");
        assert_eq!(unzipped, plain_bytes, "{asset}: gzip is the same file");
        assert!(gz_bytes.len() < plain_bytes.len(), "{asset}: smaller");

        let br = get(s.port, asset, &[("accept-encoding", "gzip, deflate, br")]).await;
        assert_eq!(header(&br, "content-encoding"), "br", "{asset}");

        let again = get(s.port, asset, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304, "{asset}: If-None-Match");
    }
    let missing = get(s.port, "/assets/index-00000000.js", &[]).await;
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    s.stop().await;
}

#[tokio::test]
async fn the_client_config_names_the_identity_mode_and_the_limits() {
    let mut s = TestServer::start_with(|st| st.max_content_chars = 1234).await;
    let r = get(s.port, "/client/config", &[]).await;
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["auth"], "header");
    assert_eq!(body["heartbeatMs"], 10_000);
    assert_eq!(body["limits"]["contentChars"], 1234);
    assert_eq!(body["limits"]["historyPage"], 200);
    assert_eq!(body["limits"]["subscriptions"], 64);
    s.stop().await;

    let mut s =
        TestServer::start_with(|st| st.auth = AuthSetting::JwtSecret("s3cret-s3cret".into())).await;
    let body: serde_json::Value = get(s.port, "/client/config", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["auth"], "jwt");
    s.stop().await;
}
