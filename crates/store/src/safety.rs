//! Blocks and reports (API-v2 "Safety") in SQL: who blocks whom, and members' reports with a
//! copy of their room's last messages, mailed to the operators through the inquiry outbox in
//! the report's own transaction.

use async_trait::async_trait;
use chat_core::ports::{BlockOutcome, ReportMail, ReportOutcome, SafetyStore};
use chat_core::safety::{NewReport, Report, ReportReason};
use chat_core::{ChatMessage, Millis, StoreError, UserId};

use crate::rows::{message_from_row, room_id, user, SqlRow};
use crate::{classify, on_pool, Backend, Pools, SqlStore, MESSAGE_COLS};

fn users(rows: &[impl SqlRow], col: &str) -> Result<Vec<UserId>, StoreError> {
    rows.iter().map(|r| user(r, col)).collect()
}

fn report_from_row(row: &impl SqlRow) -> Result<Report, StoreError> {
    let reason = row.text("reason")?;
    let messages = row.text("messages")?;
    Ok(Report {
        id: row.int("id")?,
        room: room_id(row, "room_uuid")?,
        reporter: user(row, "reporter")?,
        reason: ReportReason::parse(&reason).ok_or_else(|| {
            StoreError::new(
                chat_core::StoreErrorKind::Corrupt,
                format!("column reason: {reason:?}"),
            )
        })?,
        detail: row.opt_text("detail")?,
        message_id: row.opt_int("message_id")?,
        created_at: Millis(row.int("created_at")?),
        messages: serde_json::from_str(&messages).map_err(|e| {
            StoreError::new(
                chat_core::StoreErrorKind::Corrupt,
                format!("column messages: {e}"),
            )
        })?,
    })
}

#[async_trait]
impl SafetyStore for SqlStore {
    async fn block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        at: Millis,
        max: u32,
    ) -> Result<BlockOutcome, StoreError> {
        let backend = self.backend;
        let exists = self.sql("SELECT COUNT(*) AS n FROM blocks WHERE blocker = ? AND blocked = ?");
        let count = self.sql("SELECT COUNT(*) AS n FROM blocks WHERE blocker = ?");
        let insert = self.sql(match backend {
            Backend::MySql => {
                "INSERT IGNORE INTO blocks (blocker, blocked, created_at) VALUES (?, ?, ?)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO blocks (blocker, blocked, created_at) VALUES (?, ?, ?) \
                 ON CONFLICT (blocker, blocked) DO NOTHING"
            }
        });
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let row = sqlx::query(&exists)
                .bind(blocker.as_str())
                .bind(blocked.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
            if row.int("n")? > 0 {
                return Ok(BlockOutcome::Already);
            }
            let row = sqlx::query(&count)
                .bind(blocker.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
            if row.int("n")? >= i64::from(max) {
                return Ok(BlockOutcome::TooMany);
            }
            let done = sqlx::query(&insert)
                .bind(blocker.as_str())
                .bind(blocked.as_str())
                .bind(at.0)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            // A concurrent block of the same pair got there first: the same end state.
            Ok(if done.rows_affected() > 0 {
                BlockOutcome::Added
            } else {
                BlockOutcome::Already
            })
        })
    }

    async fn unblock(&self, blocker: &UserId, blocked: &UserId) -> Result<bool, StoreError> {
        let sql = self.sql("DELETE FROM blocks WHERE blocker = ? AND blocked = ?");
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(blocker.as_str())
                .bind(blocked.as_str())
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn blocked_by(&self, blocker: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError> {
        let sql = self.sql("SELECT blocked FROM blocks WHERE blocker = ? ORDER BY blocked LIMIT ?");
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(blocker.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            users(&rows, "blocked")
        })
    }

    async fn block_relations(&self, user: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError> {
        // The primary key serves the first half, `blocks_blocked` the second.
        let sql = self.sql(
            "SELECT blocked AS other FROM blocks WHERE blocker = ? \
             UNION SELECT blocker AS other FROM blocks WHERE blocked = ? LIMIT ?",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(user.as_str())
                .bind(user.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            users(&rows, "other")
        })
    }

    async fn user_known(&self, user: &UserId) -> Result<bool, StoreError> {
        // One round trip; each part is an index lookup (rooms by buyer, by seller, last_seen's key).
        let sql = self.sql(
            "SELECT 1 AS hit FROM rooms WHERE buyer = ? \
             UNION ALL SELECT 1 AS hit FROM rooms WHERE seller = ? \
             UNION ALL SELECT 1 AS hit FROM last_seen WHERE user_id = ? LIMIT 1",
        );
        on_pool!(self, read, |pool| {
            let row = sqlx::query(&sql)
                .bind(user.as_str())
                .bind(user.as_str())
                .bind(user.as_str())
                .fetch_optional(pool)
                .await
                .map_err(classify)?;
            Ok(row.is_some())
        })
    }

    async fn save_report(
        &self,
        report: &NewReport,
        snapshot: u32,
        mail: ReportMail<'_>,
    ) -> Result<ReportOutcome, StoreError> {
        let backend = self.backend;
        let room = report.room.to_text();
        let read_room =
            self.sql("SELECT buyer, seller, buyer_active, seller_active FROM rooms WHERE uuid = ?");
        let read_message = self.sql("SELECT id FROM messages WHERE room_uuid = ? AND id = ?");
        let last_messages = self.sql(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE room_uuid = ? ORDER BY id DESC LIMIT ?"
        ));
        let insert_report = self.sql(
            "INSERT INTO reports (room_uuid, reporter, reason, detail, message_id, created_at, \
             messages) VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let insert_mail = self.sql(
            "INSERT INTO inquiries (email, title, content, user_id, created_at, attempts, \
             next_attempt_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
        );
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let Some(row) = sqlx::query(&read_room)
                .bind(room.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?
            else {
                return Ok(ReportOutcome::NoSuchRoom);
            };
            let me = report.reporter.as_str();
            let member = (row.text("buyer")? == me && row.int("buyer_active")? != 0)
                || (row.text("seller")? == me && row.int("seller_active")? != 0);
            if !member {
                return Ok(ReportOutcome::NotMember);
            }
            if let Some(id) = report.message_id {
                let found = sqlx::query(&read_message)
                    .bind(room.as_str())
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(classify)?;
                if found.is_none() {
                    return Ok(ReportOutcome::NoSuchMessage);
                }
            }
            let rows = sqlx::query(&last_messages)
                .bind(room.as_str())
                .bind(i64::from(snapshot))
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
            let mut messages: Vec<ChatMessage> = rows
                .iter()
                .map(message_from_row)
                .collect::<Result<_, _>>()?;
            messages.reverse();
            let evidence = serde_json::to_string(&messages)
                .map_err(|e| StoreError::internal(format!("cannot encode a report: {e}")))?;
            let id = crate::insert_id!(backend, tx, &insert_report, |q| q
                .bind(room.as_str())
                .bind(me)
                .bind(report.reason.as_str())
                .bind(report.detail.as_deref())
                .bind(report.message_id)
                .bind(report.created_at.0)
                .bind(evidence.as_str()));
            let letter = mail(id, &messages);
            crate::insert_id!(backend, tx, &insert_mail, |q| q
                .bind(letter.email.as_str())
                .bind(letter.title.as_str())
                .bind(letter.content.as_str())
                .bind(letter.user.as_ref().map(|u| u.as_str()))
                .bind(letter.created_at.0)
                .bind(letter.created_at.0));
            tx.commit().await.map_err(classify)?;
            Ok(ReportOutcome::Saved(id))
        })
    }

    async fn reports(&self, before: Option<i64>, limit: u32) -> Result<Vec<Report>, StoreError> {
        let sql = self.sql(
            "SELECT id, room_uuid, reporter, reason, detail, message_id, created_at, messages \
             FROM reports WHERE id < ? ORDER BY id DESC LIMIT ?",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter().map(report_from_row).collect()
        })
    }
}
