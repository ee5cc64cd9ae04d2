//! `GET /openapi.json` on the real server: an OpenAPI 3.1 document naming every REST route.
//! (`scripts/schemathesis.sh` fuzzes the server against it.)

mod common;

use common::TestServer;

#[tokio::test]
async fn the_server_serves_its_openapi_document() {
    let s = TestServer::start().await;
    let (st, doc) = s.anonymous().get("/openapi.json").await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/room/create", "post"),
        ("/room/list", "get"),
        ("/room/enter/{roomUUID}", "get"),
        ("/room/delete/{roomUUID}", "delete"),
        ("/room/{roomUUID}/presence", "get"),
        ("/chat/room/{roomUUID}", "get"),
        ("/inquiry", "post"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/ws-stomp", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is documented"
        );
    }
    assert!(doc["paths"]["/ws-stomp"]["get"]["responses"]["101"].is_object());
    assert!(doc["components"]["securitySchemes"]["gatewayUser"].is_object());
    let (st, body) = s.anonymous().post("/openapi.json").await;
    assert_eq!(
        (st, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
}
