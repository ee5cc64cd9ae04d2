//! Test harness: starts the real server on port 0 with a fresh database, and talks to it over
//! real HTTP and real WebSockets. The STOMP client here writes frames as raw text and parses
//! the server's frames with its own small parser, so the server's codec is not tested by itself.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

pub mod push_receiver;

use chat_store::testing::TestDatabase;
use chat_store::Backend;
use futures::{SinkExt, StreamExt};
use reuse_chat::config::Settings;
use reuse_chat::App;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(5);

/// The storage backend the suite runs against, from `REUSE_CHAT_TEST_BACKEND`: `sqlite` (the
/// default), `mysql` (MariaDB/MySQL) or `postgres`. `scripts/test.sh` runs the whole suite once
/// per backend, so the same test code covers all three.
pub fn test_backend() -> Backend {
    match std::env::var("REUSE_CHAT_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("mysql") | Ok("mariadb") => Backend::MySql,
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        Ok(other) => panic!("REUSE_CHAT_TEST_BACKEND={other}: expected sqlite, mysql or postgres"),
    }
}

/// What the servers of one test store into: a fresh database on the suite's backend (dropped
/// when the last server of the test is gone) and a data directory. Restarts and second nodes
/// share it.
pub struct Storage {
    pub db: TestDatabase,
    pub dir: tempfile::TempDir,
}

impl Storage {
    /// A fresh database on the suite's backend.
    pub async fn fresh() -> Arc<Storage> {
        Self::on(test_backend()).await
    }

    /// A fresh database on `backend`.
    pub async fn on(backend: Backend) -> Arc<Storage> {
        let db = TestDatabase::create(backend)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().expect("tempdir");
        Arc::new(Storage { db, dir })
    }

    /// Settings for a server on this storage, listening on a free port.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::for_data_dir(self.dir.path());
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.database = self.db.url().to_owned();
        // The suites send faster than a person; the safety suite turns limits on where it tests
        // them.
        settings.safety.limits = reuse_chat::rate_limits::LimitSettings::parse("off").unwrap();
        settings
    }
}

/// A running server.
pub struct TestServer {
    pub port: u16,
    pub token: CancellationToken,
    pub handle: Option<JoinHandle<()>>,
    pub storage: Arc<Storage>,
}

impl TestServer {
    /// A server with default settings on a fresh database.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server with settings adjusted by `f`, on a fresh database.
    pub async fn start_with(f: impl FnOnce(&mut Settings)) -> TestServer {
        Self::start_on(&Storage::fresh().await, f).await
    }

    /// Another server on this one's storage: a restart (after `stop`) or a second node.
    pub async fn restart(&self, f: impl FnOnce(&mut Settings)) -> TestServer {
        Self::start_on(&self.storage, f).await
    }

    /// A server on `storage`.
    pub async fn start_on(storage: &Arc<Storage>, f: impl FnOnce(&mut Settings)) -> TestServer {
        let mut settings = storage.settings();
        f(&mut settings);
        Self::start_settings(storage, settings).await
    }

    /// A server with exactly these settings; `storage` is kept alive as long as the server.
    pub async fn start_settings(storage: &Arc<Storage>, settings: Settings) -> TestServer {
        let app = App::build(settings).await.expect("server starts");
        let port = app.port();
        let token = app.shutdown_token();
        let handle = tokio::spawn(async move {
            app.run().await.expect("server runs");
        });
        TestServer {
            port,
            token,
            handle: Some(handle),
            storage: storage.clone(),
        }
    }

    /// Shuts down gracefully and waits until the server has stopped.
    pub async fn stop(&mut self) {
        self.token.cancel();
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(30), h)
                .await
                .expect("server stops in time")
                .expect("server task did not panic");
        }
    }

    pub fn api(&self, user: &str) -> Api {
        Api::on_port(self.port, user)
    }

    pub fn anonymous(&self) -> Api {
        Api {
            base: format!("http://127.0.0.1:{}", self.port),
            client: reqwest::Client::new(),
            user: None,
            bearer: None,
        }
    }

    pub async fn stomp(&self, user: &str) -> Stomp {
        Stomp::connect(self.port, user).await
    }

    /// A session of `user` following their event stream (`/user/queue/events`).
    pub async fn follow_events(&self, user: &str) -> Stomp {
        let mut c = self.stomp(user).await;
        c.send_raw("SUBSCRIBE\nid:ev\ndestination:/user/queue/events\nreceipt:ev\n\n\0")
            .await;
        let f = c.recv().await;
        assert_eq!(f.command, "RECEIPT", "{f:?}");
        c
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// A REST client acting as one user.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub user: Option<String>,
    pub bearer: Option<String>,
}

impl Api {
    /// A client of the node on `port`, acting as `user` (the gateway header).
    pub fn on_port(port: u16, user: &str) -> Api {
        Api {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            user: Some(user.to_owned()),
            bearer: None,
        }
    }

    pub fn with_bearer(mut self, token: &str) -> Api {
        self.user = None;
        self.bearer = Some(token.to_owned());
        self
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(u) = &self.user {
            req = req.header("X-Auth-User", u);
        }
        if let Some(t) = &self.bearer {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("http request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON response ({status}): {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        self.call("POST", path, None).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }

    /// Opens a room with `seller` about `name`; returns its roomUUID.
    pub async fn open_room(&self, seller: &str, name: &str) -> String {
        let (status, room) = self
            .post(&format!("/room/create?user={seller}&name={}", enc(name)))
            .await;
        assert!(
            status == 201 || status == 200,
            "create room: {status} {room}"
        );
        room["roomUUID"].as_str().expect("roomUUID").to_owned()
    }

    pub async fn history(&self, room: &str, query: &str) -> Vec<Value> {
        let (status, v) = self.get(&format!("/chat/room/{room}{query}")).await;
        assert_eq!(status, 200, "history: {v}");
        v.as_array().expect("array").clone()
    }

    /// The room's messages after id `after`, oldest first, read page by page as a resuming
    /// client does (again from the last id of each page while a page comes back full).
    #[allow(dead_code)] // Not every test binary reads whole histories.
    pub async fn history_after(&self, room: &str, mut after: i64) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let page = self
                .history(room, &format!("?after={after}&limit=200"))
                .await;
            let full = page.len() == 200;
            let last = page.last().and_then(|m| m["id"].as_i64());
            all.extend(page);
            match last {
                Some(l) if full => after = l,
                _ => return all,
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A frame received from the server.
#[derive(Debug, Clone)]
pub struct TFrame {
    pub command: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl TFrame {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "frame body is not JSON: {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('c') => out.push(':'),
                Some('\\') => out.push('\\'),
                other => panic!("server sent a bad escape: \\{other:?}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses one frame from the front of `buf`; `None` if incomplete. Leading EOLs are
/// heart-beats and are skipped (and counted).
fn parse(buf: &mut Vec<u8>, beats: &mut usize) -> Option<TFrame> {
    while buf.first() == Some(&b'\n') || buf.starts_with(b"\r\n") {
        let n = if buf[0] == b'\n' { 1 } else { 2 };
        buf.drain(..n);
        *beats += 1;
    }
    let head_end = buf.windows(2).position(|w| w == b"\n\n")?;
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("utf8 headers");
    let mut lines = head.split('\n');
    let command = lines.next().unwrap().to_owned();
    let raw = command != "CONNECTED";
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').expect("header has a colon");
            if raw {
                (unescape(k), unescape(v))
            } else {
                (k.to_owned(), v.to_owned())
            }
        })
        .collect();
    let body_start = head_end + 2;
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse::<usize>().expect("content-length"));
    let body_end = match len {
        Some(n) => {
            if buf.len() < body_start + n + 1 {
                return None;
            }
            assert_eq!(buf[body_start + n], 0, "NUL after content-length bytes");
            body_start + n
        }
        None => body_start + buf[body_start..].iter().position(|&b| b == 0)?,
    };
    let body = buf[body_start..body_end].to_vec();
    buf.drain(..=body_end);
    Some(TFrame {
        command,
        headers,
        body,
    })
}

/// A STOMP client over a real WebSocket.
pub struct Stomp {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub buf: Vec<u8>,
    /// Heart-beats received so far.
    pub beats: usize,
    pub closed: bool,
    /// The code of the server's close frame, once it closed with one.
    pub close_code: Option<u16>,
}

impl Stomp {
    /// Opens the WebSocket (no STOMP yet).
    pub async fn open(port: u16) -> Stomp {
        let mut req = format!("ws://127.0.0.1:{port}/ws-stomp")
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "v12.stomp, v11.stomp, v10.stomp".parse().unwrap(),
        );
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("v12.stomp")
        );
        Stomp {
            ws,
            buf: Vec::new(),
            beats: 0,
            closed: false,
            close_code: None,
        }
    }

    /// Opens and sends `CONNECT` for `user` (header mode), expecting `CONNECTED` 1.2.
    pub async fn connect(port: u16, user: &str) -> Stomp {
        let mut c = Stomp::open(port).await;
        c.send_raw(format!(
            "CONNECT\naccept-version:1.2\nhost:localhost\nX-Auth-User:{user}\nheart-beat:0,0\n\n\0"
        ))
        .await;
        let f = c.recv().await;
        assert_eq!(f.command, "CONNECTED", "{f:?}");
        assert_eq!(f.header("version"), Some("1.2"));
        c
    }

    pub async fn send_raw(&mut self, s: impl Into<Vec<u8>>) {
        let bytes: Vec<u8> = s.into();
        let msg = match String::from_utf8(bytes) {
            Ok(t) => Message::text(t),
            Err(e) => Message::binary(e.into_bytes()),
        };
        self.ws.send(msg).await.expect("websocket send");
    }

    /// The next frame, or `None` once the server closed the connection; panics on timeout.
    pub async fn next(&mut self, wait: Duration) -> Option<TFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(f) = parse(&mut self.buf, &mut self.beats) {
                return Some(f);
            }
            if self.closed {
                return None;
            }
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {wait:?}"));
            match msg {
                Some(Ok(Message::Text(t))) => self.buf.extend_from_slice(t.as_bytes()),
                Some(Ok(Message::Binary(b))) => self.buf.extend_from_slice(&b),
                Some(Ok(Message::Close(c))) => {
                    self.close_code = c.map(|c| u16::from(c.code));
                    self.closed = true;
                }
                None | Some(Err(_)) => self.closed = true,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next frame; panics on timeout or close.
    pub async fn recv(&mut self) -> TFrame {
        self.next(WAIT).await.expect("connection closed")
    }

    /// The next frame if one arrives within `wait`.
    pub async fn maybe(&mut self, wait: Duration) -> Option<TFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(f) = parse(&mut self.buf, &mut self.beats) {
                return Some(f);
            }
            if self.closed {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(Message::Text(t)))) => self.buf.extend_from_slice(t.as_bytes()),
                Ok(Some(Ok(Message::Binary(b)))) => self.buf.extend_from_slice(&b),
                Ok(Some(Ok(Message::Close(c)))) => {
                    self.close_code = c.map(|c| u16::from(c.code));
                    self.closed = true;
                }
                Ok(None) | Ok(Some(Err(_))) => self.closed = true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Expects an `ERROR` frame and then the connection closing; returns the `ERROR`.
    pub async fn expect_error(&mut self) -> TFrame {
        let f = self.recv().await;
        assert_eq!(f.command, "ERROR", "expected ERROR, got {f:?}");
        self.expect_closed().await;
        f
    }

    /// Expects the server to close the connection (frames before the close are returned).
    pub async fn expect_closed(&mut self) -> Vec<TFrame> {
        let mut rest = Vec::new();
        while let Some(f) = self.next(WAIT).await {
            rest.push(f);
        }
        rest
    }

    pub async fn subscribe(&mut self, id: &str, room: &str) {
        self.send_raw(format!(
            "SUBSCRIBE\nid:{id}\ndestination:/sub/chat/room/{room}\nreceipt:sub-{id}\n\n\0"
        ))
        .await;
        let f = self.recv().await;
        assert_eq!(f.command, "RECEIPT", "subscribe {room}: {f:?}");
        assert_eq!(f.header("receipt-id"), Some(format!("sub-{id}").as_str()));
    }

    /// Sends a chat message with a receipt and waits for the receipt, returning frames that
    /// arrived before it (e.g. the sender's own MESSAGE).
    pub async fn say(
        &mut self,
        room: &str,
        user: &str,
        content: &str,
        receipt: &str,
    ) -> Vec<TFrame> {
        let body = serde_json::json!({"roomUUID": room, "sender": user, "content": content});
        self.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:{receipt}\n\n{body}\0"
        ))
        .await;
        let mut before = Vec::new();
        loop {
            let f = self.recv().await;
            if f.command == "RECEIPT" {
                assert_eq!(f.header("receipt-id"), Some(receipt));
                return before;
            }
            assert_ne!(f.command, "ERROR", "send failed: {f:?} {}", f.text());
            before.push(f);
        }
    }

    /// The next MESSAGE frame's JSON body (skipping nothing else: anything else fails).
    pub async fn message(&mut self) -> Value {
        let f = self.recv().await;
        assert_eq!(
            f.command,
            "MESSAGE",
            "expected MESSAGE, got {f:?} {}",
            f.text()
        );
        f.json()
    }
}

/// A room between `a` (buyer) and `b` (seller), both connected and subscribed.
pub async fn pair(server: &TestServer, a: &str, b: &str, product: &str) -> (String, Stomp, Stomp) {
    let room = server.api(a).open_room(b, product).await;
    let mut ca = server.stomp(a).await;
    let mut cb = server.stomp(b).await;
    ca.subscribe("sub-0", &room).await;
    cb.subscribe("sub-0", &room).await;
    (room, ca, cb)
}

/// A TCP proxy in front of a real database that a test can cut and restore: how the outage
/// tests take the database away from one server without stopping the shared database service.
/// While cut, every open connection is closed and new ones are closed as soon as accepted.
pub struct CuttableProxy {
    pub port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    epoch: tokio::sync::watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl CuttableProxy {
    /// A proxy to `target` (`host:port`), passing traffic.
    pub async fn start(target: String) -> CuttableProxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy binds");
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (epoch, _) = tokio::sync::watch::channel(0u64);
        let (up2, epoch2) = (up.clone(), epoch.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cut = epoch2.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        CuttableProxy {
            port,
            up,
            epoch,
            task,
        }
    }

    /// A proxy for the database URL `url`; returns it and the URL that goes through it.
    pub async fn for_url(url: &str) -> (CuttableProxy, String) {
        let after_scheme = url.find("://").expect("URL has a scheme") + 3;
        let host_start = url[after_scheme..]
            .find('@')
            .map(|i| after_scheme + i + 1)
            .unwrap_or(after_scheme);
        let host_end = url[host_start..]
            .find('/')
            .map(|i| host_start + i)
            .unwrap_or(url.len());
        let proxy = CuttableProxy::start(url[host_start..host_end].to_owned()).await;
        let proxied = format!(
            "{}127.0.0.1:{}{}",
            &url[..host_start],
            proxy.port,
            &url[host_end..]
        );
        (proxy, proxied)
    }

    /// Takes the database away: open connections are closed, new ones refused.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }

    /// Brings the database back.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TCP port that was free on 127.0.0.1 a moment ago, for a server started as a process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the `reuse-chat` binary as `reuse-chat serve --listen 127.0.0.1:{port} {args}`,
/// its output to `log` (discarded when `None`): a node that a test can kill with SIGKILL.
pub fn spawn_node(
    port: u16,
    args: &[&str],
    env: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> std::process::Child {
    use std::process::Stdio;
    let (out, err) = match log {
        Some(path) => {
            let file = std::fs::File::create(path).expect("node log");
            (
                Stdio::from(file.try_clone().expect("node log")),
                Stdio::from(file),
            )
        }
        None => (Stdio::null(), Stdio::null()),
    };
    std::process::Command::new(env!("CARGO_BIN_EXE_reuse-chat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        // Tests send faster than a person: no rate limits unless the test sets its own.
        .args(if args.contains(&"--rate-limits") {
            &[][..]
        } else {
            &["--rate-limits", "off"][..]
        })
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("reuse-chat starts")
}

/// Waits until the node on `port` answers `/ready` with 200 (at most 20 s), failing with its
/// log (if it has one) otherwise.
pub async fn wait_ready(port: u16, log: Option<&std::path::Path>) {
    let client = reqwest::Client::new();
    for _ in 0..400 {
        let r = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "node on port {port} not ready; its log:\n{}",
        log.map(|l| std::fs::read_to_string(l).unwrap_or_default())
            .unwrap_or_default()
    );
}

/// Uploads `bytes` as a photo to `room` on the node at `port`, as `user` (a one-part
/// `multipart/form-data` body); the status and JSON answer.
#[allow(dead_code)] // Only the photo and cluster tests upload.
pub async fn upload_photo(port: u16, user: &str, room: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "----reuse-chat-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/room/{room}/attachments"))
        .header("X-Auth-User", user)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A JPEG of `w`×`h` pixels.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    use image::ImageEncoder;
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 77]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}
