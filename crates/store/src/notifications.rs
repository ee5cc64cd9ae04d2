//! The notifications' storage: browsers' push subscriptions, and the outbox of offline
//! notifications, one row per burst of messages to one member in one room
//! ([`chat_core::notify::Coalescing`]), claimed under leases like inquiries (`crate::outbox`).

use async_trait::async_trait;
use chat_core::notify::{
    Burst, Candidate, Coalescing, LatestNotification, NotificationStore, PushSubscription,
    QueuedNotification, StoredSubscription,
};
use chat_core::{Millis, RoomId, StoreError, UserId};
use sha2::{Digest, Sha256};

use crate::outbox::{self, marks};
use crate::rows::{corrupt, SqlRow};
use crate::{classify, on_pool, Pools, SqlStore};

/// Longest `last_error` kept: the MySQL column holds 1,000 characters.
const MAX_ERROR_CHARS: usize = 1000;
/// The outbox's table.
const TABLE: &str = "notifications";
/// The columns [`queued_from_row`] reads.
const QUEUED_COLS: &str = "id, user_id, room_uuid, title, body, message_id, message_count, \
     created_at, attempts, done_targets";

/// The unique key of an endpoint (endpoints are too long for a key of their own in MySQL).
fn endpoint_hash(endpoint: &str) -> String {
    Sha256::digest(endpoint.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn queued_from_row(row: &impl SqlRow) -> Result<QueuedNotification, StoreError> {
    let user = row.text("user_id")?;
    let room = row.text("room_uuid")?;
    Ok(QueuedNotification {
        id: row.int("id")?,
        user: UserId::parse(&user).map_err(|e| corrupt("user_id", e))?,
        room: RoomId::parse(&room).map_err(|e| corrupt("room_uuid", e))?,
        title: row.text("title")?,
        body: row.text("body")?,
        message_id: row.int("message_id")?,
        count: row.int("message_count")?,
        created_at: Millis(row.int("created_at")?),
        attempts: u32::try_from(row.int("attempts")?.max(0)).unwrap_or(u32::MAX),
        done: row
            .opt_text("done_targets")?
            .map(|d| {
                d.split(' ')
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn save_push_subscription(
        &self,
        user: &UserId,
        subscription: &PushSubscription,
        at: Millis,
        keep: u32,
    ) -> Result<(), StoreError> {
        let backend = self.backend;
        let hash = endpoint_hash(&subscription.endpoint);
        let forget = self.sql("DELETE FROM push_subscriptions WHERE endpoint_hash = ?");
        let insert = self.sql(
            "INSERT INTO push_subscriptions (user_id, endpoint, endpoint_hash, p256dh, auth, \
             created_at) VALUES (?, ?, ?, ?, ?, ?)",
        );
        let mine = self.sql("SELECT id FROM push_subscriptions WHERE user_id = ? ORDER BY id DESC");
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            sqlx::query(&forget)
                .bind(&hash)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            sqlx::query(&insert)
                .bind(user.as_str())
                .bind(subscription.endpoint.as_str())
                .bind(&hash)
                .bind(subscription.p256dh.as_str())
                .bind(subscription.auth.as_str())
                .bind(at.0)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            let rows = sqlx::query(&mine)
                .bind(user.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
            let extra = rows
                .iter()
                .skip(keep.max(1) as usize)
                .map(|r| r.int("id"))
                .collect::<Result<Vec<i64>, _>>()?;
            if !extra.is_empty() {
                let drop = self.sql(&format!(
                    "DELETE FROM push_subscriptions WHERE id IN ({})",
                    marks(extra.len())
                ));
                let mut q = sqlx::query(&drop);
                for id in &extra {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await.map_err(classify)?;
            }
            tx.commit().await.map_err(classify)?;
            Ok(())
        })
    }

    async fn delete_push_subscription(
        &self,
        user: &UserId,
        endpoint: &str,
    ) -> Result<bool, StoreError> {
        let sql =
            self.sql("DELETE FROM push_subscriptions WHERE endpoint_hash = ? AND user_id = ?");
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(endpoint_hash(endpoint))
                .bind(user.as_str())
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn forget_push_subscription(&self, id: i64) -> Result<(), StoreError> {
        let sql = self.sql("DELETE FROM push_subscriptions WHERE id = ?");
        on_pool!(self, write, |pool| {
            sqlx::query(&sql)
                .bind(id)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }

    async fn push_subscriptions(
        &self,
        user: &UserId,
    ) -> Result<Vec<StoredSubscription>, StoreError> {
        let sql = self.sql(
            "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ? \
             ORDER BY id",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(user.as_str())
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter()
                .map(|r| {
                    Ok(StoredSubscription {
                        id: r.int("id")?,
                        subscription: PushSubscription {
                            endpoint: r.text("endpoint")?,
                            p256dh: r.text("p256dh")?,
                            auth: r.text("auth")?,
                        },
                    })
                })
                .collect()
        })
    }

    async fn queue_notifications(
        &self,
        batch: &[Candidate],
        rule: &Coalescing,
        now: Millis,
    ) -> Result<u64, StoreError> {
        let backend = self.backend;
        let latest = self.sql(
            "SELECT id, message_id, last_message_at FROM notifications \
             WHERE user_id = ? AND room_uuid = ? ORDER BY id DESC LIMIT 1",
        );
        let join = self.sql(
            "UPDATE notifications SET title = ?, body = ?, message_id = ?, \
             message_count = message_count + 1, last_message_at = ? WHERE id = ?",
        );
        let start = self.sql(
            "INSERT INTO notifications (user_id, room_uuid, title, body, message_id, \
             message_count, last_message_at, created_at, attempts, next_attempt_at) \
             VALUES (?, ?, ?, ?, ?, 1, ?, ?, 0, ?)",
        );
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let mut started = 0;
            for c in batch {
                let room = c.room.to_text();
                let row = sqlx::query(&latest)
                    .bind(c.user.as_str())
                    .bind(&room)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
                let latest = match row {
                    Some(r) => Some(LatestNotification {
                        id: r.int("id")?,
                        message_id: r.int("message_id")?,
                        last_message_at: Millis(r.int("last_message_at")?),
                    }),
                    None => None,
                };
                match rule.place(latest, c.at, c.read_up_to, now) {
                    Burst::Join(id) => {
                        sqlx::query(&join)
                            .bind(c.title.as_str())
                            .bind(c.body.as_str())
                            .bind(c.message_id)
                            .bind(c.at.0)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(classify)?;
                    }
                    Burst::Start { due } => {
                        sqlx::query(&start)
                            .bind(c.user.as_str())
                            .bind(&room)
                            .bind(c.title.as_str())
                            .bind(c.body.as_str())
                            .bind(c.message_id)
                            .bind(c.at.0)
                            .bind(now.0)
                            .bind(due.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(classify)?;
                        started += 1;
                    }
                }
            }
            tx.commit().await.map_err(classify)?;
            Ok(started)
        })
    }

    async fn claim_notifications(
        &self,
        claimer: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> Result<Vec<QueuedNotification>, StoreError> {
        let ids = outbox::claim_ids(self, TABLE, claimer, now, lease_until, limit).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = self.sql(&format!(
            "SELECT {QUEUED_COLS} FROM notifications WHERE id IN ({}) AND claimed_by = ? \
             AND sent_at IS NULL ORDER BY next_attempt_at, id",
            marks(ids.len())
        ));
        on_pool!(self, write, |pool| {
            let mut q = sqlx::query(&read);
            for id in &ids {
                q = q.bind(*id);
            }
            let rows = q.bind(claimer).fetch_all(pool).await.map_err(classify)?;
            rows.iter().map(queued_from_row).collect()
        })
    }

    async fn notification_done(
        &self,
        id: i64,
        claimer: &str,
        at: Millis,
    ) -> Result<bool, StoreError> {
        let sql = self.sql(
            "UPDATE notifications SET sent_at = ?, claimed_until = NULL, last_error = NULL \
             WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
        );
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(at.0)
                .bind(id)
                .bind(claimer)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn notification_failed(
        &self,
        id: i64,
        claimer: &str,
        retry_at: Millis,
        error: &str,
        done: &[String],
    ) -> Result<bool, StoreError> {
        let sql = self.sql(
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ?, \
             last_error = ?, done_targets = ?, claimed_by = NULL, claimed_until = NULL \
             WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
        );
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let done = done.join(" ");
        on_pool!(self, write, |pool| {
            let updated = sqlx::query(&sql)
                .bind(retry_at.0)
                .bind(error.as_str())
                .bind(done.as_str())
                .bind(id)
                .bind(claimer)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(updated.rows_affected() == 1)
        })
    }

    async fn release_notifications(&self, claimer: &str) -> Result<u64, StoreError> {
        outbox::release(self, TABLE, claimer).await
    }

    async fn pending_notifications(&self) -> Result<u64, StoreError> {
        outbox::pending(self, TABLE).await
    }
}
