//! The inquiry outbox (`InquiryOutbox`) on SQLite, MariaDB/MySQL and PostgreSQL: claims with
//! leases, lapsed leases, concurrent claimers, sent rows and backoff. Every case runs once per
//! backend on its own fresh database; times are given explicitly, so nothing waits on a clock.

use std::collections::BTreeSet;
use std::sync::Arc;

use chat_core::ports::{ChatStore, InquiryOutbox};
use chat_core::{Millis, NewInquiry, UserId};
use chat_store::testing::TestDatabase;
use chat_store::{Backend, SqlStore};

/// A minute: the lease used where the lease itself is not the point.
const LEASE: i64 = 60_000;

async fn database(backend: Backend) -> (TestDatabase, SqlStore) {
    let db = TestDatabase::create(backend)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = db.open().await.unwrap_or_else(|e| panic!("{e}"));
    (db, store)
}

/// Stores an inquiry that arrived at `at` (so it is due from `at` on); returns its id.
async fn queue(store: &SqlStore, at: i64, title: &str) -> i64 {
    let inquiry = NewInquiry {
        email: "buyer@example.com".into(),
        title: title.into(),
        content: format!("{title} — 환불 가능한가요? 😀"),
        user: Some(UserId::parse("alice").unwrap()),
        created_at: Millis(at),
    };
    store.save_inquiry(&inquiry).await.unwrap()
}

async fn claim(store: &SqlStore, claimer: &str, now: i64, limit: u32) -> Vec<i64> {
    store
        .claim_due(claimer, Millis(now), Millis(now + LEASE), limit)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect()
}

async fn claims_due_rows_under_a_lease(backend: Backend) {
    let (_db, store) = database(backend).await;
    let t0 = 1_700_000_000_000;
    let a = queue(&store, t0, "문의 1").await;
    let b = queue(&store, t0 + 1, "문의 2").await;
    let later = queue(&store, t0 + 10_000, "later").await;

    // Only what is due, oldest first, exactly as stored.
    let got = store
        .claim_due("node-a/1", Millis(t0 + 5), Millis(t0 + 5 + LEASE), 10)
        .await
        .unwrap();
    assert_eq!(got.iter().map(|q| q.id).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(got[0].title, "문의 1");
    assert_eq!(got[0].content, "문의 1 — 환불 가능한가요? 😀");
    assert_eq!(got[0].email, "buyer@example.com");
    assert_eq!(got[0].user.as_ref().map(|u| u.as_str()), Some("alice"));
    assert_eq!(got[0].created_at, Millis(t0));
    assert_eq!(got[0].attempts, 0);

    // Under the lease nobody else gets them; the limit is respected.
    assert!(claim(&store, "node-b/1", t0 + 6, 10).await.is_empty());
    assert_eq!(
        claim(&store, "node-b/2", t0 + 10_000, 10).await,
        vec![later]
    );
    assert!(claim(&store, "node-b/3", t0 + 10_001, 0).await.is_empty());
}

async fn a_lapsed_lease_is_claimed_again(backend: Backend) {
    let (_db, store) = database(backend).await;
    let t0 = 1_700_000_000_000;
    let id = queue(&store, t0, "lease").await;
    let until = t0 + 1_000;
    let got = store
        .claim_due("node-a/1", Millis(t0), Millis(until), 10)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    // The lease still runs at its last millisecond, and has lapsed right after.
    assert!(claim(&store, "node-b/1", until, 10).await.is_empty());
    assert_eq!(claim(&store, "node-b/2", until + 1, 10).await, vec![id]);
    // The first claimer lost the row: its failure report no longer applies...
    assert!(!store
        .mark_failed(id, "node-a/1", Millis(until + 99_000), "late")
        .await
        .unwrap());
    assert_eq!(store.release("node-a/1").await.unwrap(), 0);
    // ...but a send it did complete is still recorded, and then nobody mails it again.
    assert!(store.mark_sent(id, Millis(until + 2)).await.unwrap());
    assert!(!store
        .mark_failed(id, "node-b/2", Millis(until + 3), "after sent")
        .await
        .unwrap());
    assert!(claim(&store, "node-c/1", until + 10 * LEASE, 10)
        .await
        .is_empty());
}

async fn concurrent_claimers_never_share_a_row(backend: Backend) {
    let (db, first) = database(backend).await;
    let second = db.open().await.unwrap();
    let t0 = 1_700_000_000_000;
    const ROWS: usize = 60;
    let mut all = BTreeSet::new();
    for i in 0..ROWS {
        all.insert(queue(&first, t0, &format!("race {i}")).await);
    }
    // Two pools (as two nodes), three claimers each, small batches, all at once.
    let stores = [Arc::new(first), Arc::new(second)];
    let mut tasks = Vec::new();
    for (n, store) in stores.iter().enumerate() {
        for c in 0..3 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for round in 0.. {
                    let claimer = format!("node-{n}-{c}/{round}");
                    let got = claim(&store, &claimer, t0 + 1, 4).await;
                    if got.is_empty() {
                        break;
                    }
                    mine.extend(got);
                }
                mine
            }));
        }
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(
        seen.len(),
        distinct.len(),
        "a row was claimed twice: {seen:?}"
    );
    assert_eq!(distinct, all);
}

async fn a_sent_row_is_never_claimed_again(backend: Backend) {
    let (_db, store) = database(backend).await;
    let t0 = 1_700_000_000_000;
    let sent = queue(&store, t0, "sent").await;
    let kept = queue(&store, t0, "kept").await;
    assert_eq!(claim(&store, "node-a/1", t0, 10).await, vec![sent, kept]);
    assert!(store.mark_sent(sent, Millis(t0 + 1)).await.unwrap());
    assert!(!store.mark_sent(sent, Millis(t0 + 2)).await.unwrap());
    // Releasing the claim frees only the row that was not sent, at once.
    assert_eq!(store.release("node-a/1").await.unwrap(), 1);
    assert_eq!(claim(&store, "node-b/1", t0 + 3, 10).await, vec![kept]);
    // Long after every lease has lapsed, the sent row stays sent.
    assert!(store.mark_sent(kept, Millis(t0 + 4)).await.unwrap());
    assert!(claim(&store, "node-c/1", t0 + 100 * LEASE, 10)
        .await
        .is_empty());
}

async fn a_failed_row_waits_for_its_backoff(backend: Backend) {
    let (_db, store) = database(backend).await;
    let t0 = 1_700_000_000_000;
    let failing = queue(&store, t0, "failing").await;
    let other = queue(&store, t0 + 1, "other").await;
    assert_eq!(claim(&store, "node-a/1", t0 + 1, 1).await, vec![failing]);
    let retry_at = t0 + 8_000;
    let long_error = "421 4.3.2 service not available ".repeat(100);
    assert!(store
        .mark_failed(failing, "node-a/1", Millis(retry_at), &long_error)
        .await
        .unwrap());
    // Its claim ended with the failure, but it is not due before `retry_at`: the other row is.
    assert_eq!(claim(&store, "node-b/1", t0 + 2, 10).await, vec![other]);
    assert!(claim(&store, "node-b/2", retry_at - 1, 10).await.is_empty());
    let again = store
        .claim_due("node-b/3", Millis(retry_at), Millis(retry_at + LEASE), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, failing);
    assert_eq!(again[0].attempts, 1, "the failed attempt is counted");
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(chat_store::Backend::Sqlite).await })*
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(chat_store::Backend::MySql).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() { super::$case(chat_store::Backend::Postgres).await })*
        }
    };
}

on_every_backend!(
    claims_due_rows_under_a_lease,
    a_lapsed_lease_is_claimed_again,
    concurrent_claimers_never_share_a_row,
    a_sent_row_is_never_claimed_again,
    a_failed_row_waits_for_its_backoff,
);
