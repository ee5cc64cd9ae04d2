//! Upgrading a database that already holds chats: the read-marks migration (0003) gives every
//! stored message its ordinal, every room its count, and counts everything already stored as
//! read, on each backend. The database is brought to the schema before 0003 with sqlx's own
//! migrator (so it records the first two as applied), filled the way that schema was written,
//! then opened by the store, which applies the rest. Search's backfill then makes those
//! messages findable.

use std::borrow::Cow;
use std::str::FromStr;

use chat_core::ports::ChatStore;
use chat_core::{ReadMark, RoomId, UserId};
use chat_store::testing::TestDatabase;
use chat_store::Backend;

/// Migrations before read marks.
const BEFORE_READ_MARKS: usize = 2;

/// Two rooms, one with three messages (from both members), one with one, interleaved so that
/// ids within a room are not consecutive. The values are fixed: no placeholders needed.
fn seed(r1: &str, r2: &str) -> Vec<String> {
    let room = |uuid: &str, key: &str, name: &str| {
        format!(
            "INSERT INTO rooms (uuid, pair_key, name, product_id, buyer, seller, buyer_active, \
             seller_active, created_at, last_activity_at, last_message_id) \
             VALUES ('{uuid}', '{key}', '{name}', NULL, 'alice', 'bob', 1, 1, 1, 1, NULL)"
        )
    };
    let msg = |uuid: &str, sender: &str, content: &str| {
        format!(
            "INSERT INTO messages (room_uuid, sender, content, kind, created_at, \
             client_message_id, notice) VALUES ('{uuid}', '{sender}', '{content}', 'TEXT', 2, \
             NULL, NULL)"
        )
    };
    vec![
        room(r1, &"a".repeat(64), "one"),
        room(r2, &"b".repeat(64), "two"),
        msg(r1, "alice", "m0"),
        msg(r2, "alice", "n0"),
        msg(r1, "bob", "m1"),
        msg(r1, "alice", "m2"),
    ]
}

/// Brings the database at `$url` to the schema before read marks and fills it as that schema
/// was written (each room pointing at its newest message).
macro_rules! old_database {
    ($pool:ty, $opts:expr, $dir:literal, $rooms:expr) => {{
        let pool = <$pool>::connect_with($opts).await.unwrap();
        let mut migrator = sqlx::migrate!($dir);
        migrator.migrations = Cow::Owned(migrator.migrations[..BEFORE_READ_MARKS].to_vec());
        migrator.run(&pool).await.unwrap();
        let (r1, r2): (String, String) = $rooms;
        for s in seed(&r1, &r2) {
            sqlx::query(&s).execute(&pool).await.unwrap();
        }
        for r in [&r1, &r2] {
            let newest: i64 = sqlx::query_scalar(&format!(
                "SELECT MAX(id) FROM messages WHERE room_uuid = '{r}'"
            ))
            .fetch_one(&pool)
            .await
            .unwrap();
            sqlx::query(&format!(
                "UPDATE rooms SET last_message_id = {newest} WHERE uuid = '{r}'"
            ))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
    }};
}

/// The contents of bob's hits for `q`.
async fn bobs_hits(store: &chat_store::SqlStore, q: &str) -> Vec<String> {
    let query = chat_core::search::SearchQuery::parse(q).unwrap();
    let bob = UserId::parse("bob").unwrap();
    let hits = store.search(&bob, &query, None, None, 10).await.unwrap();
    hits.into_iter().map(|m| m.content).collect()
}

async fn upgrade_counts_what_is_stored_as_read(backend: Backend) {
    let db = TestDatabase::create(backend)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let rooms = (r1.to_text(), r2.to_text());
    match backend {
        Backend::Sqlite => old_database!(
            sqlx::SqlitePool,
            sqlx::sqlite::SqliteConnectOptions::from_str(db.url())
                .unwrap()
                .create_if_missing(true),
            "./migrations/sqlite",
            rooms
        ),
        Backend::MySql => old_database!(
            sqlx::MySqlPool,
            sqlx::mysql::MySqlConnectOptions::from_str(db.url()).unwrap(),
            "./migrations/mysql",
            rooms
        ),
        Backend::Postgres => old_database!(
            sqlx::PgPool,
            sqlx::postgres::PgConnectOptions::from_str(db.url()).unwrap(),
            "./migrations/postgres",
            rooms
        ),
    }

    let store = db.open().await.unwrap_or_else(|e| panic!("{e}"));
    let one = store.room(&r1).await.unwrap().expect("room one");
    let newest = one.last_message.as_ref().expect("a newest message").id;
    assert_eq!(one.message_count, 3);
    let all_read = ReadMark {
        up_to: newest,
        count: 3,
    };
    assert_eq!((one.buyer_read, one.seller_read), (all_read, all_read));
    let two = store.room(&r2).await.unwrap().expect("room two");
    assert_eq!(
        (
            two.message_count,
            two.unread_for(&UserId::parse("bob").unwrap())
        ),
        (1, 0)
    );
    // Messages stored before search are found once the backfill has given them their
    // searchable form; it writes each one once.
    assert!(bobs_hits(&store, "M2").await.is_empty());
    assert_eq!(store.backfill_search_text().await.unwrap(), 4);
    assert_eq!(store.backfill_search_text().await.unwrap(), 0);
    assert_eq!(bobs_hits(&store, "M2").await, ["m2"]);
    // The ordinals are right: a new message continues them, and a mark on the middle message
    // leaves exactly the ones after it unread.
    let bob = UserId::parse("bob").unwrap();
    let out = store
        .append(&[chat_core::NewMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            room: r1,
            sender: UserId::parse("alice").unwrap(),
            content: "m3".into(),
            kind: chat_core::MessageKind::Text,
            created_at: chat_core::Millis::now(),
            client_message_id: None,
            notice: None,
        }])
        .await
        .unwrap();
    assert!(matches!(out[0], chat_core::AppendOutcome::Stored(_)));
    // A message stored after the migration is written with its form: found with no backfill.
    assert_eq!(bobs_hits(&store, "M3").await, ["m3"]);
    assert_eq!(store.backfill_search_text().await.unwrap(), 0);
    let one = store.room(&r1).await.unwrap().unwrap();
    assert_eq!((one.message_count, one.unread_for(&bob)), (4, 1));
    assert_eq!(
        store
            .unread_counts(&bob, 10)
            .await
            .unwrap()
            .iter()
            .sum::<i64>(),
        1
    );
    drop(store);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrade_counts_what_is_stored_as_read() {
    upgrade_counts_what_is_stored_as_read(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_upgrade_counts_what_is_stored_as_read() {
    upgrade_counts_what_is_stored_as_read(Backend::MySql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_upgrade_counts_what_is_stored_as_read() {
    upgrade_counts_what_is_stored_as_read(Backend::Postgres).await
}
