//! The session driven without a socket: an in-memory pair of channels stands for the
//! WebSocket, and the domain runs on a real SQLite database in a temporary directory.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use chat_core::memory::{LocalBus, MemoryPresence};
use chat_core::sequencer::{Sequencer, SequencerOptions};
use chat_core::service::ServiceParts;
use chat_core::{ChatService, DomainLimits, OpenRoomRequest, RoomId, UserId};
use chat_store::{SqlStore, StoreOptions};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use reuse_stomp::{Decoded, Frame, Limits, StompDecoder};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::run;
use crate::auth::Authenticator;
use crate::stomp::connection::{Connection, TransportError, WriteError};
use crate::stomp::context::{SessionLimits, WsContext};
use crate::stomp::hub::Hub;

/// The in-memory transport's error: what the WebSocket library reports, as far as the
/// session must tell.
#[derive(Debug, thiserror::Error)]
enum FakeError {
    #[error("message too large")]
    TooLarge,
    #[error("closed")]
    Closed,
}

impl TransportError for FakeError {
    fn is_too_large(&self) -> bool {
        matches!(self, FakeError::TooLarge)
    }
    fn is_closed(&self) -> bool {
        matches!(self, FakeError::Closed)
    }
}

/// The client's end of an in-memory WebSocket.
struct Client {
    to_server: mpsc::Sender<Result<Message, FakeError>>,
    from_server: mpsc::Receiver<Message>,
    decoder: StompDecoder,
    buf: BytesMut,
    close_code: Option<u16>,
}

impl Client {
    async fn send(&mut self, text: &str) {
        self.to_server
            .send(Ok(Message::Text(text.into())))
            .await
            .expect("the session reads");
    }

    /// The next frame from the server; `None` once it closed (its close code is kept).
    async fn frame(&mut self) -> Option<Frame> {
        loop {
            match self.decoder.decode(&mut self.buf).expect("valid STOMP") {
                Some(Decoded::Frame(f)) => return Some(f),
                Some(Decoded::HeartBeat) => continue,
                None => {}
            }
            let msg = tokio::time::timeout(Duration::from_secs(10), self.from_server.next())
                .await
                .expect("the server answers within 10 s");
            match msg {
                Some(Message::Text(t)) => self.buf.extend_from_slice(t.as_bytes()),
                Some(Message::Close(c)) => {
                    self.close_code = c.map(|CloseFrame { code, .. }| u16::from(code));
                    return None;
                }
                Some(_) => {}
                None => return None,
            }
        }
    }

    async fn expect(&mut self, command: &str) -> Frame {
        let f = self.frame().await.expect("a frame before the close");
        assert_eq!(f.command.as_str(), command, "{f:?}");
        f
    }
}

struct Fixture {
    ctx: Arc<WsContext>,
    room: RoomId,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store = Arc::new(
        SqlStore::connect(&url, StoreOptions::default())
            .await
            .expect("sqlite opens"),
    );
    store.migrate().await.expect("migrations");
    let hub = Arc::new(Hub::new());
    let (sequencer, _) = Sequencer::new(hub.clone(), store.clone(), SequencerOptions::default());
    let (store_for_safety, store_for_blocks) = (store.clone(), store.clone());
    let (listing, notifications) = (store.clone(), store.clone());
    let parts = ServiceParts {
        store,
        bus: Arc::new(LocalBus::new(sequencer.clone())),
        presence: Arc::new(MemoryPresence::new()),
        sequencer,
        subscriptions: hub.clone(),
        photos: None,
        safety: store_for_safety,
        blocks: Arc::new(chat_core::safety::BlockList::new(store_for_blocks)),
        listing,
        notifications,
        notify: None,
    };
    let (service, _) = ChatService::new(parts, DomainLimits::default());
    let alice = UserId::parse("alice").expect("user id");
    let open = OpenRoomRequest {
        seller: Some("bob".into()),
        name: Some("자전거".into()),
        product_id: None,
    };
    let (room, _) = service.open_room(&alice, open).await.expect("room opens");
    let limits = SessionLimits {
        frame: Limits::default(),
        max_subscriptions: 2,
        outbound_queue: 64,
        heartbeat: Duration::ZERO,
        connect_timeout: Duration::from_secs(10),
        max_inflight: 16,
        max_transactions: 2,
        max_transaction_frames: 4,
        drain_timeout: Duration::from_secs(5),
        write_timeout: Duration::from_secs(5),
        max_message_bytes: 1024,
    };
    let ctx = WsContext::new(
        Arc::new(service),
        hub,
        Arc::new(Authenticator::Header),
        limits,
        "test".into(),
        CancellationToken::new(),
    );
    Fixture {
        ctx: Arc::new(ctx),
        room: room.id,
        _dir: dir,
    }
}

/// Starts a session on an in-memory pair and connects as `user`.
async fn connect(ctx: &Arc<WsContext>, user: &str) -> Client {
    let (to_server, server_in) = mpsc::channel(16);
    let (server_out, from_server) = mpsc::channel(16);
    let writer = server_out.sink_map_err(|_| FakeError::Closed);
    tokio::spawn(run(server_in, writer, ctx.clone(), None));
    let mut c = Client {
        to_server,
        from_server,
        decoder: StompDecoder::new(Limits::default()),
        buf: BytesMut::new(),
        close_code: None,
    };
    c.send(&format!(
        "CONNECT\naccept-version:1.2\nX-Auth-User:{user}\n\n\0"
    ))
    .await;
    let connected = c.expect("CONNECTED").await;
    assert_eq!(connected.header("user-name"), Some(user));
    c
}

#[tokio::test]
async fn a_member_subscribes_sends_and_gets_message_then_receipt() {
    let fx = fixture().await;
    let mut alice = connect(&fx.ctx, "alice").await;
    let room = fx.room;
    alice
        .send(&format!(
            "SUBSCRIBE\nid:sub-0\ndestination:/sub/chat/room/{room}\nreceipt:s1\n\n\0"
        ))
        .await;
    assert_eq!(
        alice.expect("RECEIPT").await.header("receipt-id"),
        Some("s1")
    );
    alice
        .send(&format!(
            "SEND\ndestination:/pub/room/{room}/message\nreceipt:m1\n\n{{\"content\":\"안녕하세요\"}}\0"
        ))
        .await;
    let msg = alice.expect("MESSAGE").await;
    assert_eq!(msg.header("subscription"), Some("sub-0"));
    assert!(std::str::from_utf8(&msg.body)
        .unwrap()
        .contains("안녕하세요"));
    assert_eq!(
        alice.expect("RECEIPT").await.header("receipt-id"),
        Some("m1")
    );
    alice.send("DISCONNECT\nreceipt:bye\n\n\0").await;
    assert_eq!(
        alice.expect("RECEIPT").await.header("receipt-id"),
        Some("bye")
    );
    assert!(alice.frame().await.is_none());
    assert_eq!(alice.close_code, Some(1000));
}

#[tokio::test]
async fn a_stranger_is_refused_with_code_and_receipt_and_the_session_closes() {
    let fx = fixture().await;
    let mut mallory = connect(&fx.ctx, "mallory").await;
    mallory
        .send(&format!(
            "SUBSCRIBE\nid:x\ndestination:/sub/chat/room/{}\nreceipt:r\n\n\0",
            fx.room
        ))
        .await;
    let err = mallory.expect("ERROR").await;
    assert_eq!(err.header("code"), Some("not_a_member"));
    assert_eq!(err.header("receipt-id"), Some("r"));
    assert!(mallory.frame().await.is_none());
    assert_eq!(fx.ctx.hub.subscribers(&fx.room), 0);
}

#[tokio::test]
async fn a_transaction_commits_its_sends_together() {
    let fx = fixture().await;
    let mut bob = connect(&fx.ctx, "bob").await;
    let room = fx.room;
    bob.send("BEGIN\ntransaction:t\n\n\0").await;
    for i in 0..3 {
        bob.send(&format!(
            "SEND\ndestination:/pub/room/{room}/message\ntransaction:t\n\n{{\"content\":\"m{i}\"}}\0"
        ))
        .await;
    }
    bob.send("COMMIT\ntransaction:t\nreceipt:c\n\n\0").await;
    assert_eq!(bob.expect("RECEIPT").await.header("receipt-id"), Some("c"));
    let bob_id = UserId::parse("bob").unwrap();
    let history = fx
        .ctx
        .service
        .history(&bob_id, &room, chat_core::HistoryCursor::Latest, None)
        .await
        .unwrap();
    let contents: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, ["m0", "m1", "m2"]);
    // An unknown transaction ends the session with its code.
    bob.send("COMMIT\ntransaction:nope\n\n\0").await;
    assert_eq!(
        bob.expect("ERROR").await.header("code"),
        Some("unknown_transaction")
    );
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let fx = fixture().await;
    let mut alice = connect(&fx.ctx, "alice").await;
    alice
        .to_server
        .send(Err(FakeError::TooLarge))
        .await
        .unwrap();
    let err = alice.expect("ERROR").await;
    assert_eq!(err.header("code"), Some("too_large"));
    assert!(alice.frame().await.is_none());
    assert_eq!(alice.close_code, Some(1009));
}

#[tokio::test]
async fn the_session_count_is_freed_when_its_holder_is_dropped() {
    let fx = fixture().await;
    let slot = fx.ctx.reserve(1).expect("one place");
    assert!(fx.ctx.reserve(1).is_none(), "the only place is taken");
    let task = tokio::spawn(async move {
        let _held = slot;
        panic!("a session task that panics");
    });
    assert!(task.await.is_err());
    assert_eq!(fx.ctx.open_sessions(), 0);
    assert!(fx.ctx.reserve(1).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_client_that_reads_nothing_times_the_write_out() {
    let (_to_server, server_in) = mpsc::channel::<Result<Message, FakeError>>(1);
    // Room for one message; nobody reads the other end.
    let (server_out, _from_server) = mpsc::channel::<Message>(0);
    let writer = server_out.sink_map_err(|_| FakeError::Closed);
    let mut conn = Connection::new(server_in, writer, Limits::default(), Duration::from_secs(3));
    let mut outcome = Ok(());
    for _ in 0..4 {
        outcome = conn.write(Message::Text("x".into())).await;
        if outcome.is_err() {
            break;
        }
    }
    assert!(
        matches!(outcome, Err(WriteError::Timeout(d)) if d == Duration::from_secs(3)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn frames_split_across_messages_are_put_back_together() {
    let (mut to_server, server_in) = mpsc::channel::<Result<Message, FakeError>>(8);
    let (server_out, _from_server) = mpsc::channel::<Message>(8);
    let writer = server_out.sink_map_err(|_| FakeError::Closed);
    let mut conn = Connection::new(server_in, writer, Limits::default(), Duration::from_secs(3));
    for part in ["SEN", "D\ndestination:/x\n", "\nhi\0\n", "\nACK\n\n\0"] {
        to_server
            .send(Ok(Message::Text(part.into())))
            .await
            .unwrap();
    }
    let first = conn.next_frame().await.unwrap();
    assert_eq!(
        (first.command.as_str(), &first.body[..]),
        ("SEND", &b"hi"[..])
    );
    assert_eq!(conn.next_frame().await.unwrap().command.as_str(), "ACK");
    drop(to_server);
    assert!(matches!(
        conn.next_frame().await,
        Err(crate::stomp::connection::ReadError::Closed)
    ));
}
