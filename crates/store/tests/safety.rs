//! Blocks and reports (API-v2 "Safety") in storage, the same cases on SQLite, MariaDB/MySQL and
//! PostgreSQL: a block stops the commit in both directions inside its transaction, a retry of
//! a message stored before the block still gets its receipt, reports keep their evidence after
//! the room is gone and queue their mail in the same transaction.

use chat_core::ports::{BlockOutcome, ChatStore, ReportOutcome, SafetyStore};
use chat_core::safety::{NewReport, ReportReason, Warning};
use chat_core::{AppendOutcome, LeaveOutcome, Millis, NewMessage, RoomId};
use chat_store::SqlStore;

mod common;

use common::{open, text, u};

async fn append_one(store: &SqlStore, m: NewMessage) -> AppendOutcome {
    store.append(&[m]).await.unwrap().remove(0)
}

async fn blocks_stop_the_commit_both_ways(store: SqlStore) {
    let room = open(&store, "alice", "bob", "자전거").await;
    let other = open(&store, "alice", "carol", "자전거").await;
    let first = append_one(&store, text(&room.id, "bob", "안녕하세요", Some("c-1"))).await;
    assert!(matches!(first, AppendOutcome::Stored(_)), "{first:?}");

    let at = Millis::now();
    assert_eq!(
        store.block(&u("alice"), &u("bob"), at, 10).await.unwrap(),
        BlockOutcome::Added
    );
    assert_eq!(
        store.block(&u("alice"), &u("bob"), at, 10).await.unwrap(),
        BlockOutcome::Already
    );
    assert_eq!(
        store.blocked_by(&u("alice"), 10).await.unwrap(),
        vec![u("bob")]
    );
    assert!(store.blocked_by(&u("bob"), 10).await.unwrap().is_empty());
    assert_eq!(
        store.block_relations(&u("bob"), 10).await.unwrap(),
        vec![u("alice")]
    );
    assert_eq!(
        store.block_relations(&u("alice"), 10).await.unwrap(),
        vec![u("bob")]
    );

    // Both directions, in one batch with a room that is not blocked.
    let outcomes = store
        .append(&[
            text(&room.id, "bob", "왜 답이 없어요", None),
            text(&room.id, "alice", "...", None),
            text(&other.id, "alice", "carol에게", None),
            // A retry of what was stored before the block gets its receipt.
            text(&room.id, "bob", "안녕하세요", Some("c-1")),
        ])
        .await
        .unwrap();
    assert!(
        matches!(outcomes[0], AppendOutcome::Blocked),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(outcomes[1], AppendOutcome::Blocked),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[2], AppendOutcome::Stored(_)),
        "{:?}",
        outcomes[2]
    );
    assert!(matches!(&outcomes[3], AppendOutcome::Duplicate(m) if m.content == "안녕하세요"));
    let room_after = store.room(&room.id).await.unwrap().unwrap();
    assert_eq!(room_after.message_count, 1, "nothing new was stored");

    assert!(store.unblock(&u("alice"), &u("bob")).await.unwrap());
    assert!(!store.unblock(&u("alice"), &u("bob")).await.unwrap());
    let again = append_one(&store, text(&room.id, "bob", "이제 되네요", None)).await;
    assert!(matches!(again, AppendOutcome::Stored(_)), "{again:?}");
}

async fn a_user_blocks_at_most_the_limit_and_unknown_users_are_unknown(store: SqlStore) {
    let at = Millis::now();
    for other in ["b1", "b2"] {
        assert_eq!(
            store.block(&u("alice"), &u(other), at, 2).await.unwrap(),
            BlockOutcome::Added
        );
    }
    assert_eq!(
        store.block(&u("alice"), &u("b3"), at, 2).await.unwrap(),
        BlockOutcome::TooMany
    );
    assert_eq!(
        store.blocked_by(&u("alice"), 10).await.unwrap(),
        vec![u("b1"), u("b2")]
    );
    assert!(!store.user_known(&u("nobody")).await.unwrap());
    open(&store, "alice", "seller-1", "자전거").await;
    assert!(store.user_known(&u("seller-1")).await.unwrap());
    assert!(store.user_known(&u("alice")).await.unwrap());
    store.record_last_seen(&u("visitor"), at).await.unwrap();
    assert!(store.user_known(&u("visitor")).await.unwrap());
}

async fn warnings_are_stored_with_the_message(store: SqlStore) {
    let room = open(&store, "alice", "bob", "자전거").await;
    let mut m = text(&room.id, "bob", "010-1234-5678", None);
    m.warnings = [Warning::PhoneNumber, Warning::Prepayment]
        .into_iter()
        .collect();
    let stored = append_one(&store, m.clone()).await;
    let AppendOutcome::Stored(s) = stored else {
        panic!("{stored:?}")
    };
    assert_eq!(s.message.warnings, m.warnings);
    let page = chat_core::HistoryPage {
        cursor: chat_core::HistoryCursor::Latest,
        limit: 10,
    };
    let history = store.history(&room.id, page).await.unwrap();
    assert_eq!(history[0].warnings, m.warnings);
    let listed = store.room(&room.id).await.unwrap().unwrap();
    assert_eq!(listed.last_message.unwrap().warnings, m.warnings);
}

fn report(room: &RoomId, reporter: &str, message_id: Option<i64>) -> NewReport {
    NewReport {
        room: *room,
        reporter: u(reporter),
        reason: ReportReason::Scam,
        detail: Some("선입금을 요구해요".into()),
        message_id,
        created_at: Millis::now(),
    }
}

async fn reports_keep_their_evidence_and_queue_their_mail(store: SqlStore) {
    let room = open(&store, "alice", "bob", "자전거").await;
    let mut ids = Vec::new();
    for n in 0..105 {
        if let AppendOutcome::Stored(s) =
            append_one(&store, text(&room.id, "bob", &format!("메시지 {n}"), None)).await
        {
            ids.push(s.message.id);
        }
    }
    let mail = |id: i64, messages: &[chat_core::ChatMessage]| {
        report(&room.id, "alice", None).mail(id, messages)
    };
    let before = store.unsent_inquiries().await.unwrap();
    let saved = store
        .save_report(&report(&room.id, "alice", Some(ids[104])), 100, &mail)
        .await
        .unwrap();
    let ReportOutcome::Saved(first) = saved else {
        panic!("{saved:?}")
    };
    assert_eq!(
        store.unsent_inquiries().await.unwrap(),
        before + 1,
        "its mail is queued"
    );

    // Refusals store nothing.
    let stranger = store
        .save_report(&report(&room.id, "mallory", None), 100, &mail)
        .await;
    assert_eq!(stranger.unwrap(), ReportOutcome::NotMember);
    let unknown = store
        .save_report(&report(&RoomId::new_random(), "alice", None), 100, &mail)
        .await;
    assert_eq!(unknown.unwrap(), ReportOutcome::NoSuchRoom);
    let other_room = open(&store, "alice", "carol", "자전거").await;
    let wrong = store
        .save_report(&report(&other_room.id, "alice", Some(ids[0])), 100, &mail)
        .await;
    assert_eq!(wrong.unwrap(), ReportOutcome::NoSuchMessage);
    assert_eq!(store.unsent_inquiries().await.unwrap(), before + 1);

    // The room goes away; the evidence stays.
    assert!(matches!(
        store
            .leave(&room.id, &u("alice"), "left", Millis::now())
            .await
            .unwrap(),
        LeaveOutcome::Left(_)
    ));
    let second = match store
        .save_report(&report(&room.id, "bob", None), 100, &mail)
        .await
        .unwrap()
    {
        ReportOutcome::Saved(id) => id,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        store
            .leave(&room.id, &u("bob"), "left", Millis::now())
            .await
            .unwrap(),
        LeaveOutcome::Deleted(_)
    ));
    let page = store.reports(None, 10).await.unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    let kept = &page[1];
    assert_eq!(kept.reporter, u("alice"));
    assert_eq!(kept.reason, ReportReason::Scam);
    assert_eq!(kept.message_id, Some(ids[104]));
    let messages = kept.messages.as_array().unwrap();
    assert_eq!(messages.len(), 100, "the last 100 messages");
    assert_eq!(messages[0]["content"], "메시지 5");
    assert_eq!(messages[99]["content"], "메시지 104");
    // Paging goes back with `before`.
    let older = store.reports(Some(second), 10).await.unwrap();
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first]);
    assert!(store.reports(Some(first), 10).await.unwrap().is_empty());
}

backend_suite!(
    blocks_stop_the_commit_both_ways,
    a_user_blocks_at_most_the_limit_and_unknown_users_are_unknown,
    warnings_are_stored_with_the_message,
    reports_keep_their_evidence_and_queue_their_mail,
);
