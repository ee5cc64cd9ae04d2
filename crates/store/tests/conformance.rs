//! One storage test suite, run unchanged against SQLite, MariaDB/MySQL and PostgreSQL: every
//! case runs once per backend on its own freshly created database.

use std::sync::Arc;

use chat_core::ports::ChatStore;
use chat_core::{
    AppendOutcome, ChatMessage, HistoryCursor, HistoryPage, LeaveOutcome, MarkReadOutcome,
    MessageKind, Millis, NewInquiry, NewMessage, NewRoom, Notice, ReadMark, Room, RoomId,
};
use chat_store::testing::TestDatabase;
use chat_store::{Backend, SqlStore, StoreOptions};

mod common;

use common::{new_room, open, text, u};

/// The notice text the service writes when alice leaves.
const ALICE_LEFT: &str = "alice님이 채팅방을 나갔습니다.";

fn stored(outcome: &AppendOutcome) -> &ChatMessage {
    match outcome {
        AppendOutcome::Stored(s) => &s.message,
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn page(cursor: HistoryCursor, limit: u32) -> HistoryPage {
    HistoryPage { cursor, limit }
}

async fn opens_rooms_idempotently(store: SqlStore) {
    let (a, created) = store
        .open_room(&new_room("alice", "bob", Some("p-1"), "자전거"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(a.name, "자전거");
    assert!(a.is_member(&u("alice")) && a.is_member(&u("bob")));
    // Same pair in the other order, same product: the same room.
    let (b, created) = store
        .open_room(&new_room("bob", "alice", Some("p-1"), "other name"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(a.id, b.id);
    assert_eq!(b.name, "자전거");
    // Another product: another room.
    let (c, created) = store
        .open_room(&new_room("alice", "bob", Some("p-2"), "책상"))
        .await
        .unwrap();
    assert!(created);
    assert_ne!(a.id, c.id);
    let read = store.room(&a.id).await.unwrap().expect("room exists");
    assert_eq!(read.product_id.as_deref(), Some("p-1"));
    assert_eq!(read.buyer, u("alice"));
    assert_eq!(read.seller, u("bob"));
    assert!(store.room(&RoomId::new_random()).await.unwrap().is_none());
}

async fn concurrent_opens_make_one_room(store: SqlStore) {
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let (b, s) = if i % 2 == 0 { ("x", "y") } else { ("y", "x") };
                store
                    .open_room(&new_room(b, s, None, "의자"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let (room, c) = t.await.unwrap();
        ids.push(room.id);
        created += usize::from(c);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all requests must get the same room");
    assert_eq!(created, 1, "exactly one request creates it");
}

async fn appends_with_increasing_ids_and_keeps_text_exact(store: SqlStore) {
    let (room, _) = store
        .open_room(&new_room("alice", "bob", None, "bike"))
        .await
        .unwrap();
    let contents = [
        "안녕하세요",
        "emoji 😀🚲",
        "quote ' \" \\ ? $1 %s",
        "line\nbreak\ttab",
    ];
    let batch: Vec<_> = contents
        .iter()
        .map(|c| text(&room.id, "alice", c, None))
        .collect();
    let out = store.append(&batch).await.unwrap();
    let ids: Vec<i64> = out.iter().map(|o| stored(o).id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let more = store
        .append(&[text(&room.id, "bob", "네", None)])
        .await
        .unwrap();
    assert!(stored(&more[0]).id > ids[3]);
    let history = store
        .history(&room.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap();
    let read: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        read,
        [
            "안녕하세요",
            "emoji 😀🚲",
            "quote ' \" \\ ? $1 %s",
            "line\nbreak\ttab",
            "네"
        ]
    );
    assert_eq!(history[0], *stored(&out[0]));
    assert_eq!(history[4].sender, u("bob"));
    let room = store.room(&room.id).await.unwrap().unwrap();
    assert_eq!(
        room.last_message.as_ref().map(|m| m.content.as_str()),
        Some("네")
    );
}

async fn refuses_strangers_unknown_rooms_and_other_case(store: SqlStore) {
    let (room, _) = store
        .open_room(&new_room("alice", "bob", None, "bike"))
        .await
        .unwrap();
    let out = store
        .append(&[
            text(&room.id, "mallory", "hi", None),
            text(&room.id, "Alice", "case matters", None),
            text(&RoomId::new_random(), "alice", "nowhere", None),
            text(&room.id, "alice", "ok", None),
        ])
        .await
        .unwrap();
    assert_eq!(out[0], AppendOutcome::NotMember);
    assert_eq!(out[1], AppendOutcome::NotMember);
    assert_eq!(out[2], AppendOutcome::NoSuchRoom);
    assert_eq!(stored(&out[3]).content, "ok");
    let history = store
        .history(&room.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
}

async fn client_message_ids_make_sends_idempotent(store: SqlStore) {
    let (room, _) = store
        .open_room(&new_room("alice", "bob", None, "bike"))
        .await
        .unwrap();
    let first = store
        .append(&[text(&room.id, "alice", "once", Some("c-1"))])
        .await
        .unwrap();
    let original = stored(&first[0]).clone();
    // A retry in a later batch, twice within one batch, and the same key from the other member.
    let again = store
        .append(&[
            text(&room.id, "alice", "once (retry)", Some("c-1")),
            text(&room.id, "alice", "two", Some("c-2")),
            text(&room.id, "alice", "two (retry)", Some("c-2")),
            text(&room.id, "bob", "bob's own c-1", Some("c-1")),
        ])
        .await
        .unwrap();
    assert_eq!(again[0], AppendOutcome::Duplicate(original.clone()));
    let two = stored(&again[1]).clone();
    assert_eq!(again[2], AppendOutcome::Duplicate(two));
    assert_eq!(stored(&again[3]).sender, u("bob"));
    let history = store
        .history(&room.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap();
    let read: Vec<&str> = history.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(read, ["once", "two", "bob's own c-1"]);
    assert_eq!(
        history[0].client_message_id.as_ref().map(|c| c.as_str()),
        Some("c-1")
    );
}

async fn pages_history_with_cursors(store: SqlStore) {
    let (room, _) = store
        .open_room(&new_room("alice", "bob", None, "bike"))
        .await
        .unwrap();
    let batch: Vec<_> = (0..10)
        .map(|i| text(&room.id, "alice", &format!("m{i}"), None))
        .collect();
    let out = store.append(&batch).await.unwrap();
    let ids: Vec<i64> = out.iter().map(|o| stored(o).id).collect();
    let contents = |v: Vec<ChatMessage>| v.into_iter().map(|m| m.content).collect::<Vec<_>>();
    let latest = store
        .history(&room.id, page(HistoryCursor::Latest, 3))
        .await
        .unwrap();
    assert_eq!(contents(latest), ["m7", "m8", "m9"]);
    let before = store
        .history(&room.id, page(HistoryCursor::Before(ids[7]), 3))
        .await
        .unwrap();
    assert_eq!(contents(before), ["m4", "m5", "m6"]);
    let after = store
        .history(&room.id, page(HistoryCursor::After(ids[2]), 4))
        .await
        .unwrap();
    assert_eq!(contents(after), ["m3", "m4", "m5", "m6"]);
    let tail = store
        .history(&room.id, page(HistoryCursor::After(ids[9]), 50))
        .await
        .unwrap();
    assert!(tail.is_empty());
    let head = store
        .history(&room.id, page(HistoryCursor::Before(ids[0]), 50))
        .await
        .unwrap();
    assert!(head.is_empty());
    // Other rooms' messages never show up.
    let (other, _) = store
        .open_room(&new_room("carol", "bob", None, "bike"))
        .await
        .unwrap();
    store
        .append(&[text(&other.id, "carol", "elsewhere", None)])
        .await
        .unwrap();
    let all = store
        .history(&room.id, page(HistoryCursor::After(0), 50))
        .await
        .unwrap();
    assert_eq!(all.len(), 10);
}

async fn lists_rooms_by_recent_activity(store: SqlStore) {
    let (r1, _) = store
        .open_room(&new_room("alice", "bob", None, "one"))
        .await
        .unwrap();
    let (r2, _) = store
        .open_room(&new_room("carol", "alice", None, "two"))
        .await
        .unwrap();
    let (r3, _) = store
        .open_room(&new_room("dave", "erin", None, "not alice's"))
        .await
        .unwrap();
    let mut m = text(&r1.id, "bob", "newest", None);
    m.created_at = Millis(Millis::now().0 + 10_000);
    store.append(&[m]).await.unwrap();
    let rooms = store.rooms_of(&u("alice"), 100).await.unwrap();
    let ids: Vec<&RoomId> = rooms.iter().map(|r| &r.id).collect();
    assert_eq!(ids, [&r1.id, &r2.id]);
    assert_eq!(
        rooms[0].last_message.as_ref().map(|m| m.content.as_str()),
        Some("newest")
    );
    assert!(rooms[1].last_message.is_none());
    assert_eq!(store.rooms_of(&u("alice"), 1).await.unwrap().len(), 1);
    assert_eq!(store.rooms_of(&u("erin"), 100).await.unwrap()[0].id, r3.id);
    assert!(store.rooms_of(&u("nobody"), 100).await.unwrap().is_empty());
}

async fn leaving_notifies_then_deletes(store: SqlStore) {
    let spec = new_room("alice", "bob", Some("p-9"), "bike");
    let (room, _) = store.open_room(&spec).await.unwrap();
    store
        .append(&[text(&room.id, "alice", "hello", None)])
        .await
        .unwrap();
    assert_eq!(
        store
            .leave(&room.id, &u("mallory"), "x", Millis::now())
            .await
            .unwrap(),
        LeaveOutcome::NotMember
    );
    let notice = match store
        .leave(&room.id, &u("alice"), ALICE_LEFT, Millis::now())
        .await
        .unwrap()
    {
        LeaveOutcome::Left(s) => s.message,
        other => panic!("expected Left, got {other:?}"),
    };
    assert_eq!(notice.kind, MessageKind::System);
    assert_eq!(notice.notice, Some(Notice::MemberLeft));
    assert_eq!(notice.sender, u("alice"));
    // Alice is out: she can no longer write, the list no longer shows the room, leaving again
    // is refused; Bob still sees the room, with the notice as its last message.
    assert_eq!(
        store
            .append(&[text(&room.id, "alice", "still here?", None)])
            .await
            .unwrap()[0],
        AppendOutcome::NotMember
    );
    assert!(store.rooms_of(&u("alice"), 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .leave(&room.id, &u("alice"), "x", Millis::now())
            .await
            .unwrap(),
        LeaveOutcome::NotMember
    );
    let bobs = store.rooms_of(&u("bob"), 10).await.unwrap();
    assert_eq!(bobs[0].last_message.as_ref(), Some(&notice));
    assert_eq!(bobs[0].members(), [&u("bob")]);
    // Opening the room again brings Alice back into the same room.
    let (again, created) = store.open_room(&spec).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, room.id);
    assert!(again.is_member(&u("alice")));
    store
        .leave(&room.id, &u("alice"), "again", Millis::now())
        .await
        .unwrap();
    // The last member leaves: the room and its messages are gone.
    match store
        .leave(&room.id, &u("bob"), "bye", Millis::now())
        .await
        .unwrap()
    {
        // The room as it stood before the last member left: for bob's last ROOM_UPDATED.
        LeaveOutcome::Deleted(before) => {
            assert_eq!(before.id, room.id);
            assert_eq!(before.members(), [&u("bob")]);
            assert_eq!(before.name, "bike");
        }
        other => panic!("expected Deleted, got {other:?}"),
    }
    assert!(store.room(&room.id).await.unwrap().is_none());
    assert!(store
        .history(&room.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .leave(&room.id, &u("bob"), "x", Millis::now())
            .await
            .unwrap(),
        LeaveOutcome::NoSuchRoom
    );
    // A new room for the same pair and product can be opened afterwards.
    let respec = NewRoom {
        id: RoomId::new_random(),
        ..spec
    };
    let (fresh, created) = store.open_room(&respec).await.unwrap();
    assert!(created);
    assert_ne!(fresh.id, room.id);
}

async fn notices_are_stored_and_read_back(store: SqlStore) {
    let room = open(&store, "alice", "bob", "notices").await;
    let status = NewMessage {
        kind: MessageKind::System,
        notice: Some(Notice::from_stored("PRODUCT_STATUS")),
        ..text(
            &room.id,
            "bob",
            "판매자가 상품을 예약중으로 변경했습니다.",
            None,
        )
    };
    store
        .append(&[status, text(&room.id, "alice", "hi", None)])
        .await
        .unwrap();
    store
        .leave(&room.id, &u("alice"), ALICE_LEFT, Millis::now())
        .await
        .unwrap();
    let got: Vec<(MessageKind, Option<Notice>)> = store
        .history(&room.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.kind, m.notice))
        .collect();
    assert_eq!(
        got,
        [
            (
                MessageKind::System,
                Some(Notice::from_stored("PRODUCT_STATUS"))
            ),
            (MessageKind::Text, None),
            (MessageKind::System, Some(Notice::MemberLeft)),
        ]
    );
}

async fn stores_inquiries(store: SqlStore) {
    let inquiry = |email: &str| NewInquiry {
        email: email.into(),
        title: "환불 문의".into(),
        content: "내용 😀".into(),
        user: Some(u("alice")),
        created_at: Millis::now(),
    };
    let a = store.save_inquiry(&inquiry("a@example.com")).await.unwrap();
    let b = store.save_inquiry(&inquiry("b@example.com")).await.unwrap();
    assert!(b > a);
    store.ping().await.unwrap();
}

/// Two stores (two pools, as two nodes would have) write to one room at once while a reader
/// follows with `After(last seen)`. If ids were not handed out in commit order, the reader would
/// step over an id that commits later and miss it.
async fn concurrent_writers_keep_room_order(first: SqlStore) {
    let url = first_url(&first);
    let second = SqlStore::connect(&url, StoreOptions::default())
        .await
        .unwrap();
    let (room, _) = first
        .open_room(&new_room("alice", "bob", None, "race"))
        .await
        .unwrap();
    let stores = [Arc::new(first), Arc::new(second)];
    const PER_WRITER: usize = 60;
    let mut writers = Vec::new();
    for (w, store) in stores.iter().enumerate() {
        for lane in 0..2 {
            let store = store.clone();
            let room = room.id;
            writers.push(tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    let sender = if lane == 0 { "alice" } else { "bob" };
                    let m = text(&room, sender, &format!("w{w}-{lane}-{i}"), None);
                    let out = store.append(&[m]).await.unwrap();
                    stored(&out[0]);
                }
            }));
        }
    }
    let reader_store = stores[0].clone();
    let reader_room = room.id;
    let total = 4 * PER_WRITER;
    let reader = tokio::spawn(async move {
        let mut seen: Vec<i64> = Vec::new();
        let mut last = 0;
        while seen.len() < total {
            let page = reader_store
                .history(&reader_room, page(HistoryCursor::After(last), 7))
                .await
                .unwrap();
            for m in page {
                assert!(m.id > last, "ids must increase: {} after {last}", m.id);
                last = m.id;
                seen.push(m.id);
            }
            tokio::task::yield_now().await;
        }
        seen
    });
    for w in writers {
        w.await.unwrap();
    }
    let seen = tokio::time::timeout(std::time::Duration::from_secs(60), reader)
        .await
        .expect("the reader must catch up with every stored message")
        .unwrap();
    let all: Vec<i64> = stores[1]
        .history(&room.id, page(HistoryCursor::After(0), 1000))
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all.len(), total);
    assert_eq!(
        seen, all,
        "the follower saw every message, in order, none skipped"
    );
}

/// Two nodes starting at once both run migrations: both succeed, the schema is made once.
async fn concurrent_migrations_are_safe(first: SqlStore) {
    // Four nodes starting at once on an empty database: each runs the migrations.
    let db = TestDatabase::create(first.backend())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(
            SqlStore::connect(db.url(), StoreOptions::default())
                .await
                .unwrap(),
        );
    }
    let results = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    for r in results {
        r.expect("every node's migration run succeeds");
    }
    stores[0].migrate().await.expect("and again: nothing to do");
    let (room, _) = stores[1]
        .open_room(&new_room("alice", "bob", None, "x"))
        .await
        .unwrap();
    assert!(stores[2].room(&room.id).await.unwrap().is_some());
    for s in &stores {
        s.close().await;
    }
}

// The suite hands each case a store; the two multi-store cases need the URL back.
thread_local! {
    static URL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}
fn first_url(_: &SqlStore) -> String {
    URL.with(|u| u.borrow().clone())
}

/// Every stored message carries the id of the room's message before it (what receivers use to
/// restore order across nodes): within a batch, across batches, across rooms, and for a leave.
async fn each_new_message_names_its_predecessor(store: SqlStore) {
    let (a, _) = store
        .open_room(&new_room("alice", "bob", None, "a"))
        .await
        .unwrap();
    let (b, _) = store
        .open_room(&new_room("alice", "carol", None, "b"))
        .await
        .unwrap();
    let prevs = |outcomes: Vec<AppendOutcome>| -> Vec<(i64, Option<i64>)> {
        outcomes
            .into_iter()
            .map(|o| match o {
                AppendOutcome::Stored(s) => (s.message.id, s.prev),
                other => panic!("not stored: {other:?}"),
            })
            .collect()
    };
    let first = prevs(
        store
            .append(&[
                text(&a.id, "alice", "a1", None),
                text(&b.id, "alice", "b1", None),
                text(&a.id, "bob", "a2", None),
            ])
            .await
            .unwrap(),
    );
    assert_eq!(first[0].1, None, "a room's first message follows nothing");
    assert_eq!(first[1].1, None);
    assert_eq!(
        first[2].1,
        Some(first[0].0),
        "the other room's message is not between"
    );
    let second = prevs(
        store
            .append(&[text(&a.id, "alice", "a3", None)])
            .await
            .unwrap(),
    );
    assert_eq!(second[0].1, Some(first[2].0));
    match store
        .leave(&a.id, &u("bob"), "bob left", Millis::now())
        .await
        .unwrap()
    {
        LeaveOutcome::Left(notice) => assert_eq!(notice.prev, Some(second[0].0)),
        other => panic!("{other:?}"),
    }
}

/// One batch mixing two rooms, a stranger, an unknown room and a key repeated within the batch
/// and from an earlier batch: each message gets its own outcome, in order, and the stored ones
/// chain their predecessors per room.
async fn mixed_batch_keeps_per_message_outcomes(store: SqlStore) {
    let a = open(&store, "alice", "bob", "a").await;
    let b = open(&store, "carol", "alice", "b").await;
    let before = store
        .append(&[text(&b.id, "carol", "b0", Some("k-0"))])
        .await
        .unwrap();
    let b0 = stored(&before[0]).clone();
    let out = store
        .append(&[
            text(&a.id, "alice", "a1", Some("k-1")),
            text(&b.id, "carol", "b1", None),
            text(&a.id, "mallory", "stranger", Some("k-9")),
            text(&a.id, "bob", "a2", None),
            text(&a.id, "alice", "a1 again", Some("k-1")),
            text(&RoomId::new_random(), "alice", "nowhere", Some("k-1")),
            text(&b.id, "carol", "b0 again", Some("k-0")),
            text(&b.id, "alice", "b2", Some("k-1")),
            text(&a.id, "alice", "a3", Some("k-1 other")),
        ])
        .await
        .unwrap();
    let seq = |o: &AppendOutcome| match o {
        AppendOutcome::Stored(s) => (s.message.clone(), s.prev),
        other => panic!("expected Stored, got {other:?}"),
    };
    let (a1, a1_prev) = seq(&out[0]);
    let (b1, b1_prev) = seq(&out[1]);
    assert_eq!(out[2], AppendOutcome::NotMember);
    let (a2, a2_prev) = seq(&out[3]);
    assert_eq!(out[4], AppendOutcome::Duplicate(a1.clone()));
    assert_eq!(out[5], AppendOutcome::NoSuchRoom);
    assert_eq!(out[6], AppendOutcome::Duplicate(b0.clone()));
    let (b2, b2_prev) = seq(&out[7]);
    let (a3, a3_prev) = seq(&out[8]);
    assert_eq!(
        (a1_prev, a2_prev, a3_prev),
        (None, Some(a1.id), Some(a2.id))
    );
    assert_eq!((b1_prev, b2_prev), (Some(b0.id), Some(b1.id)));
    assert!(a1.id < a2.id && a2.id < a3.id && b0.id < b1.id && b1.id < b2.id);
    assert_eq!((a1.content.as_str(), b2.sender.as_str()), ("a1", "alice"));
    let contents = |v: Vec<ChatMessage>| v.into_iter().map(|m| m.content).collect::<Vec<_>>();
    let in_a = store
        .history(&a.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap();
    assert_eq!(in_a, [a1, a2, a3.clone()]);
    let in_b = store
        .history(&b.id, page(HistoryCursor::Latest, 50))
        .await
        .unwrap();
    assert_eq!(contents(in_b), ["b0", "b1", "b2"]);
    let room_a = store.room(&a.id).await.unwrap().unwrap();
    assert_eq!(room_a.last_message, Some(a3));
    let room_b = store.room(&b.id).await.unwrap().unwrap();
    assert_eq!(room_b.last_message, Some(b2));
}

/// A batch larger than one statement: ids and predecessors stay in batch order across the
/// statements, and a key first stored in one statement is a duplicate in the next.
async fn batch_larger_than_one_statement(store: SqlStore) {
    let a = open(&store, "alice", "bob", "a").await;
    let b = open(&store, "alice", "carol", "b").await;
    let n = chat_store::ROWS_PER_STATEMENT * 2 + 7;
    let mut batch: Vec<NewMessage> = (0..n)
        .map(|i| {
            let room = if i % 3 == 0 { &b.id } else { &a.id };
            text(room, "alice", &format!("m{i}"), Some(&format!("k-{i}")))
        })
        .collect();
    // The last message repeats the key of the first message of room a.
    batch.push(text(&a.id, "alice", "repeat", Some("k-1")));
    let out = store.append(&batch).await.unwrap();
    assert_eq!(out.len(), n + 1);
    let mut last: std::collections::HashMap<RoomId, i64> = Default::default();
    let mut ids = Vec::new();
    for (i, o) in out[..n].iter().enumerate() {
        let AppendOutcome::Stored(s) = o else {
            panic!("message {i}: {o:?}")
        };
        assert_eq!(s.message.content, format!("m{i}"));
        assert_eq!(s.prev, last.get(&s.message.room).copied(), "message {i}");
        last.insert(s.message.room, s.message.id);
        ids.push(s.message.id);
    }
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids follow batch order"
    );
    assert_eq!(out[n], AppendOutcome::Duplicate(stored(&out[1]).clone()));
    let all_a = store
        .history(&a.id, page(HistoryCursor::After(0), 5000))
        .await
        .unwrap();
    let expected: Vec<String> = (0..n)
        .filter(|i| i % 3 != 0)
        .map(|i| format!("m{i}"))
        .collect();
    let read: Vec<String> = all_a.iter().map(|m| m.content.clone()).collect();
    assert_eq!(read, expected);
    let room_b = store.room(&b.id).await.unwrap().unwrap();
    // Counts and ordinals stay exact across the statements of one batch.
    let in_b = (0..n).filter(|i| i % 3 == 0).count() as i64;
    assert_eq!(room_b.message_count, in_b);
    assert_eq!(room_b.buyer_read.count, in_b);
    assert_eq!(
        reread(&store, &a.id).await.message_count,
        expected.len() as i64
    );
    let newest_b = (0..n).rev().find(|i| i % 3 == 0).unwrap();
    assert_eq!(
        room_b.last_message.map(|m| m.content),
        Some(format!("m{newest_b}"))
    );
}

/// The room as storage has it now.
async fn reread(store: &SqlStore, room: &RoomId) -> Room {
    store.room(room).await.unwrap().expect("the room exists")
}

/// Read marks: sending marks read for the sender; a mark moves forward only, to the newest
/// message at or before `upTo` (past the newest: the newest); unread counts are exact after
/// every step, in the room and in the caller's totals.
async fn read_marks_make_unread_a_subtraction(store: SqlStore) {
    let a = open(&store, "alice", "bob", "a").await;
    let other = open(&store, "carol", "dave", "other").await;
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), 5).await.unwrap(),
        MarkReadOutcome::Unchanged,
        "an empty room has nothing to read"
    );
    // Ids of one room are not consecutive: another room's messages come between.
    let mut ids = Vec::new();
    for i in 0..3 {
        let out = store
            .append(&[
                text(&a.id, "alice", &format!("a{i}"), None),
                text(&other.id, "carol", &format!("o{i}"), None),
            ])
            .await
            .unwrap();
        ids.push(stored(&out[0]).id);
    }
    let room = reread(&store, &a.id).await;
    assert_eq!(room.message_count, 3);
    assert_eq!(
        room.buyer_read,
        ReadMark {
            up_to: ids[2],
            count: 3
        }
    );
    assert_eq!(room.seller_read, ReadMark::default());
    assert_eq!(
        (room.unread_for(&u("alice")), room.unread_for(&u("bob"))),
        (0, 3)
    );
    assert_eq!(store.unread_counts(&u("bob"), 100).await.unwrap(), [3]);
    assert_eq!(store.unread_counts(&u("alice"), 100).await.unwrap(), [0]);

    // Up to the second message; then an id between the second and third (another room's
    // message): still the second; a lower one changes nothing.
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), ids[1]).await.unwrap(),
        MarkReadOutcome::Moved(ids[1])
    );
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), ids[1] + 1).await.unwrap(),
        MarkReadOutcome::Unchanged
    );
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), ids[0]).await.unwrap(),
        MarkReadOutcome::Unchanged
    );
    let room = reread(&store, &a.id).await;
    assert_eq!(
        room.seller_read,
        ReadMark {
            up_to: ids[1],
            count: 2
        }
    );
    assert_eq!(room.unread_for(&u("bob")), 1);
    // Past the newest: the newest.
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), i64::MAX).await.unwrap(),
        MarkReadOutcome::Moved(ids[2])
    );
    assert_eq!(reread(&store, &a.id).await.unread_for(&u("bob")), 0);

    // Strangers and unknown rooms change nothing.
    assert_eq!(
        store.mark_read(&a.id, &u("carol"), ids[2]).await.unwrap(),
        MarkReadOutcome::NotMember
    );
    assert_eq!(
        store
            .mark_read(&RoomId::new_random(), &u("bob"), 1)
            .await
            .unwrap(),
        MarkReadOutcome::NoSuchRoom
    );

    // bob answers twice in one batch: his mark is his newest; alice has two unread.
    let out = store
        .append(&[
            text(&a.id, "bob", "b1", None),
            text(&a.id, "bob", "b2", None),
        ])
        .await
        .unwrap();
    let b2 = stored(&out[1]).id;
    let room = reread(&store, &a.id).await;
    assert_eq!(room.message_count, 5);
    assert_eq!(
        room.seller_read,
        ReadMark {
            up_to: b2,
            count: 5
        }
    );
    assert_eq!(
        room.buyer_read,
        ReadMark {
            up_to: ids[2],
            count: 3
        }
    );
    assert_eq!(room.unread_for(&u("alice")), 2);
    // The same figures in the list and in the totals.
    let listed = store.rooms_of(&u("alice"), 10).await.unwrap();
    assert_eq!(listed[0].unread_for(&u("alice")), 2);
    assert_eq!(store.unread_counts(&u("alice"), 100).await.unwrap(), [2]);
    // A duplicate send (same clientMessageId) moves nothing.
    store
        .append(&[text(&a.id, "alice", "k", Some("k-1"))])
        .await
        .unwrap();
    store
        .append(&[text(&a.id, "alice", "k", Some("k-1"))])
        .await
        .unwrap();
    let room = reread(&store, &a.id).await;
    assert_eq!((room.message_count, room.unread_for(&u("bob"))), (6, 1));
}

/// A leave's notice is unread for the member who stays; the leaver's room leaves their totals;
/// a member who comes back starts with everything read.
async fn read_marks_survive_leaves_and_rejoins(store: SqlStore) {
    let a = store
        .open_room(&new_room("alice", "bob", Some("p-9"), "의자"))
        .await
        .unwrap()
        .0;
    store
        .append(&[
            text(&a.id, "alice", "1", None),
            text(&a.id, "bob", "2", None),
        ])
        .await
        .unwrap();
    assert_eq!(store.unread_counts(&u("alice"), 10).await.unwrap(), [1]);
    let LeaveOutcome::Left(notice) = store
        .leave(&a.id, &u("bob"), "bob left", Millis::now())
        .await
        .unwrap()
    else {
        panic!("bob left, alice stays")
    };
    let room = reread(&store, &a.id).await;
    assert_eq!(room.message_count, 3);
    assert_eq!(
        room.unread_for(&u("alice")),
        2,
        "bob's message and the notice"
    );
    assert!(store.unread_counts(&u("bob"), 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .mark_read(&a.id, &u("bob"), notice.message.id)
            .await
            .unwrap(),
        MarkReadOutcome::NotMember
    );
    store
        .append(&[text(&a.id, "alice", "still there?", None)])
        .await
        .unwrap();
    // bob comes back through the same listing: nothing is unread for him.
    let (back, created) = store
        .open_room(&new_room("bob", "alice", Some("p-9"), "의자"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(back.message_count, 4);
    assert_eq!(back.unread_for(&u("bob")), 0);
    assert_eq!(
        back.unread_for(&u("alice")),
        0,
        "alice's own message marked it read"
    );
    store
        .append(&[text(&a.id, "alice", "welcome back", None)])
        .await
        .unwrap();
    assert_eq!(store.unread_counts(&u("bob"), 10).await.unwrap(), [1]);
    // Leaves and rejoins never disturb the ordinals: marking the newest reads everything.
    let newest = reread(&store, &a.id).await.last_message.unwrap().id;
    assert_eq!(
        store.mark_read(&a.id, &u("bob"), newest).await.unwrap(),
        MarkReadOutcome::Moved(newest)
    );
    assert_eq!(store.unread_counts(&u("bob"), 10).await.unwrap(), [0]);
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { run(Backend::Sqlite, super::$case).await })*
        }
        mod mysql {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { run(Backend::MySql, super::$case).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { run(Backend::Postgres, super::$case).await })*
        }
    };
}

async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (db, store) = chat_store::testing::fresh_store(backend).await;
    URL.with(|u| *u.borrow_mut() = db.url().to_owned());
    case(store).await;
    drop(db);
}

suite!(
    opens_rooms_idempotently,
    concurrent_opens_make_one_room,
    appends_with_increasing_ids_and_keeps_text_exact,
    refuses_strangers_unknown_rooms_and_other_case,
    client_message_ids_make_sends_idempotent,
    pages_history_with_cursors,
    lists_rooms_by_recent_activity,
    leaving_notifies_then_deletes,
    notices_are_stored_and_read_back,
    stores_inquiries,
    concurrent_writers_keep_room_order,
    concurrent_migrations_are_safe,
    each_new_message_names_its_predecessor,
    mixed_batch_keeps_per_message_outcomes,
    batch_larger_than_one_statement,
    read_marks_make_unread_a_subtraction,
    read_marks_survive_leaves_and_rejoins,
    stored_messages_carry_the_room_after_them,
    partners_and_last_seen,
);

/// Every stored message (and a leave's notice) carries the room as it stood right after it,
/// read under the room's lock: what the members' `ROOM_UPDATED` is built from without a read.
async fn stored_messages_carry_the_room_after_them(store: SqlStore) {
    let a = open(&store, "alice", "bob", "의자").await;
    let out = store
        .append(&[
            text(&a.id, "alice", "one", None),
            text(&a.id, "bob", "two", None),
            text(&a.id, "alice", "three", None),
        ])
        .await
        .unwrap();
    let snaps: Vec<Room> = out
        .iter()
        .map(|o| match o {
            AppendOutcome::Stored(s) => (**s.room.as_ref().expect("a snapshot")).clone(),
            other => panic!("expected Stored, got {other:?}"),
        })
        .collect();
    let ids: Vec<i64> = out.iter().map(|o| stored(o).id).collect();
    assert_eq!(
        snaps.iter().map(|r| r.message_count).collect::<Vec<_>>(),
        [1, 2, 3],
        "each message's own count, not the batch's"
    );
    assert_eq!(snaps[0].buyer_read.up_to, ids[0]);
    assert_eq!(snaps[0].seller_read.up_to, 0);
    assert_eq!(snaps[1].seller_read.up_to, ids[1]);
    assert_eq!(snaps[1].buyer_read.up_to, ids[0]);
    assert_eq!(
        (
            snaps[2].unread_for(&u("bob")),
            snaps[2].unread_for(&u("alice"))
        ),
        (1, 0)
    );
    // The last snapshot is the room as read back, but for its newest message.
    let mut now = reread(&store, &a.id).await;
    assert_eq!(now.last_message.take().map(|m| m.id), Some(ids[2]));
    assert_eq!(snaps[2], now);
    assert_eq!(
        (snaps[2].name.as_str(), snaps[2].created_at),
        ("의자", a.created_at)
    );
    // A leave's notice carries the room without the leaver.
    match store
        .leave(&a.id, &u("bob"), "bob left", Millis::now())
        .await
        .unwrap()
    {
        LeaveOutcome::Left(s) => {
            let r = s.room.expect("a snapshot");
            assert_eq!(r.members(), [&u("alice")]);
            assert_eq!(r.message_count, 4);
            assert_eq!(r.unread_for(&u("alice")), 1);
        }
        other => panic!("expected Left, got {other:?}"),
    }
}

/// Partners are the other members of rooms both are still in, once each; last seen keeps the
/// latest time reported.
async fn partners_and_last_seen(store: SqlStore) {
    open(&store, "alice", "bob", "one").await;
    open(&store, "carol", "alice", "two").await;
    let again = open(&store, "bob", "alice", "three").await;
    let gone = open(&store, "alice", "dave", "four").await;
    store
        .leave(&gone.id, &u("dave"), "dave left", Millis::now())
        .await
        .unwrap();
    let mut p = store.partners(&u("alice"), 100).await.unwrap();
    p.sort();
    assert_eq!(p, [u("bob"), u("carol")], "dave left; bob once");
    assert_eq!(store.partners(&u("alice"), 1).await.unwrap().len(), 1);
    assert_eq!(store.partners(&u("bob"), 100).await.unwrap(), [u("alice")]);
    assert!(store.partners(&u("nobody"), 100).await.unwrap().is_empty());
    let _ = again;

    assert!(store.last_seen(&[u("alice")]).await.unwrap().is_empty());
    store
        .record_last_seen(&u("alice"), Millis(2_000))
        .await
        .unwrap();
    store
        .record_last_seen(&u("bob"), Millis(5_000))
        .await
        .unwrap();
    // An older report (another node, late) does not move it back.
    store
        .record_last_seen(&u("alice"), Millis(1_000))
        .await
        .unwrap();
    let mut seen = store
        .last_seen(&[u("alice"), u("bob"), u("carol")])
        .await
        .unwrap();
    seen.sort();
    assert_eq!(
        seen,
        [(u("alice"), Millis(2_000)), (u("bob"), Millis(5_000))]
    );
    store
        .record_last_seen(&u("alice"), Millis(9_000))
        .await
        .unwrap();
    assert_eq!(
        store.last_seen(&[u("alice")]).await.unwrap(),
        [(u("alice"), Millis(9_000))]
    );
    assert!(store.last_seen(&[]).await.unwrap().is_empty());
}
