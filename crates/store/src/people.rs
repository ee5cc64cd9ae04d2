//! What storage knows about people rather than rooms: whom a user shares rooms with (whom their
//! presence is told to) and when each user was last online (`lastSeenAt`, kept durably).

use chat_core::{Millis, StoreError, StoreErrorKind, UserId};

use crate::rows::SqlRow;
use crate::{classify, on_pool, Backend, Pools, SqlStore};

/// Most users one `last_seen` call looks up.
const MAX_LOOKUP: usize = 1000;

/// The other members of `user`'s current rooms where both are still members, distinct.
pub(crate) async fn partners(
    store: &SqlStore,
    user: &UserId,
    limit: u32,
) -> Result<Vec<UserId>, StoreError> {
    // Both halves use the (buyer, …) and (seller, …) indexes; UNION makes them distinct.
    let sql = store.sql(
        "SELECT seller AS partner FROM rooms \
         WHERE buyer = ? AND buyer_active = 1 AND seller_active = 1 \
         UNION SELECT buyer AS partner FROM rooms \
         WHERE seller = ? AND seller_active = 1 AND buyer_active = 1 \
         LIMIT ?",
    );
    on_pool!(store, read, |pool| {
        let rows = sqlx::query(&sql)
            .bind(user.as_str())
            .bind(user.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(classify)?;
        rows.iter()
            .map(|r| {
                let p = r.text("partner")?;
                UserId::parse(&p).map_err(|e| corrupt("partner", e))
            })
            .collect()
    })
}

/// Keeps `at` as `user`'s last seen time unless a later one is kept already (two nodes may
/// report the same user).
pub(crate) async fn record_last_seen(
    store: &SqlStore,
    user: &UserId,
    at: Millis,
) -> Result<(), StoreError> {
    let sql = store.sql(match store.backend {
        Backend::Sqlite => {
            "INSERT INTO last_seen (user_id, seen_at) VALUES (?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at)"
        }
        Backend::Postgres => {
            "INSERT INTO last_seen (user_id, seen_at) VALUES (?, ?) \
             ON CONFLICT (user_id) DO UPDATE \
             SET seen_at = GREATEST(last_seen.seen_at, excluded.seen_at)"
        }
        Backend::MySql => {
            "INSERT INTO last_seen (user_id, seen_at) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE seen_at = GREATEST(seen_at, VALUES(seen_at))"
        }
    });
    on_pool!(store, write, |pool| {
        sqlx::query(&sql)
            .bind(user.as_str())
            .bind(at.0)
            .execute(pool)
            .await
            .map_err(classify)?;
        Ok(())
    })
}

/// The kept last seen time of each of `users` (the first [`MAX_LOOKUP`]) that has one.
pub(crate) async fn last_seen(
    store: &SqlStore,
    users: &[UserId],
) -> Result<Vec<(UserId, Millis)>, StoreError> {
    let users = &users[..users.len().min(MAX_LOOKUP)];
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; users.len()].join(", ");
    let sql = store.sql(&format!(
        "SELECT user_id, seen_at FROM last_seen WHERE user_id IN ({marks})"
    ));
    on_pool!(store, read, |pool| {
        let mut q = sqlx::query(&sql);
        for u in users {
            q = q.bind(u.as_str());
        }
        let rows = q.fetch_all(pool).await.map_err(classify)?;
        rows.iter()
            .map(|r| {
                let u = r.text("user_id")?;
                let user = UserId::parse(&u).map_err(|e| corrupt("user_id", e))?;
                Ok((user, Millis(r.int("seen_at")?)))
            })
            .collect()
    })
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("column {col}: {e}"))
}
