//! What the storage suites share: users, rooms and messages built the same way.
#![allow(dead_code)]

use chat_core::ports::ChatStore;
use chat_core::{ClientMessageId, MessageKind, Millis, NewMessage, NewRoom, Room, RoomId, UserId};
use chat_store::SqlStore;

pub fn u(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

pub fn new_room(buyer: &str, seller: &str, product: Option<&str>, name: &str) -> NewRoom {
    let (b, s) = (u(buyer), u(seller));
    NewRoom {
        id: RoomId::new_random(),
        pair_key: NewRoom::pair_key(&b, &s, product, name),
        name: name.into(),
        product_id: product.map(str::to_owned),
        buyer: b,
        seller: s,
        created_at: Millis::now(),
    }
}

pub fn text(room: &RoomId, sender: &str, content: &str, cmid: Option<&str>) -> NewMessage {
    NewMessage {
        attachments: Vec::new(),
        warnings: Default::default(),
        room: *room,
        sender: u(sender),
        content: content.into(),
        kind: MessageKind::Text,
        created_at: Millis::now(),
        client_message_id: cmid.map(|c| ClientMessageId::parse(c).unwrap()),
        notice: None,
    }
}

/// A new room with no product, for cases that only need somewhere to write.
pub async fn open(store: &SqlStore, buyer: &str, seller: &str, name: &str) -> Room {
    store
        .open_room(&new_room(buyer, seller, None, name))
        .await
        .unwrap()
        .0
}

/// The cases `$case` (each an `async fn(SqlStore)`), one test per backend, each on a fresh
/// database of its own.
#[macro_export]
macro_rules! backend_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { $crate::common::run(chat_store::Backend::Sqlite, super::$case).await })*
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { $crate::common::run(chat_store::Backend::MySql, super::$case).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { $crate::common::run(chat_store::Backend::Postgres, super::$case).await })*
        }
    };
}

/// Runs one case on a fresh database of `backend`, removed afterwards.
pub async fn run<F, Fut>(backend: chat_store::Backend, case: F)
where
    F: FnOnce(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (db, store) = chat_store::testing::fresh_store(backend).await;
    case(store).await;
    drop(db);
}
