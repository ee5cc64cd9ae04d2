//! The inquiry outbox: inquiries are stored first and mailed later by a background sender, so
//! that a mail outage loses nothing. Mailers claim due rows under a lease (`claimed_by`,
//! `claimed_until`), record each outcome (`sent_at`, or `attempts`/`next_attempt_at`/
//! `last_error`), and a lapsed lease makes a row claimable again.

use async_trait::async_trait;
use chat_core::ports::InquiryOutbox;
use chat_core::{Millis, NewInquiry, QueuedInquiry, StoreError, UserId};

use crate::outbox::{self, marks};
use crate::rows::SqlRow;
use crate::{classify, on_pool, Backend, Pools, SqlStore};

/// Longest `last_error` kept: the MySQL column holds 1,000 characters.
const MAX_ERROR_CHARS: usize = 1000;

/// The columns [`queued_from_row`] reads.
const QUEUED_COLS: &str = "id, email, title, content, user_id, created_at, attempts";

/// Stores a new inquiry, due for mailing at once; returns its id.
pub(crate) async fn save(store: &SqlStore, inquiry: &NewInquiry) -> Result<i64, StoreError> {
    let insert = store.sql(
        "INSERT INTO inquiries (email, title, content, user_id, created_at, attempts, \
         next_attempt_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
    );
    let backend = store.backend;
    on_pool!(store, write, |pool| {
        let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
        let id = crate::insert_id!(backend, tx, &insert, |q| q
            .bind(inquiry.email.as_str())
            .bind(inquiry.title.as_str())
            .bind(inquiry.content.as_str())
            .bind(inquiry.user.as_ref().map(|u| u.as_str()))
            .bind(inquiry.created_at.0)
            .bind(inquiry.created_at.0));
        tx.commit().await.map_err(classify)?;
        Ok(id)
    })
}

fn queued_from_row(row: &impl SqlRow) -> Result<QueuedInquiry, StoreError> {
    let user = match row.opt_text("user_id")? {
        Some(u) => Some(
            UserId::parse(&u).map_err(|e| StoreError::internal(format!("column user_id: {e}")))?,
        ),
        None => None,
    };
    Ok(QueuedInquiry {
        id: row.int("id")?,
        email: row.text("email")?,
        title: row.text("title")?,
        content: row.text("content")?,
        user,
        created_at: Millis(row.int("created_at")?),
        attempts: u32::try_from(row.int("attempts")?.max(0)).unwrap_or(u32::MAX),
    })
}

#[async_trait]
impl InquiryOutbox for SqlStore {
    async fn claim_due(
        &self,
        claimer: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> Result<Vec<QueuedInquiry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids = outbox::claim_ids(self, "inquiries", claimer, now, lease_until, limit).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = self.sql(&format!(
            "SELECT {QUEUED_COLS} FROM inquiries WHERE id IN ({}) AND claimed_by = ? \
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

    async fn mark_sent(&self, id: i64, at: Millis) -> Result<bool, StoreError> {
        let sql = self.sql(
            "UPDATE inquiries SET sent_at = ?, claimed_until = NULL, last_error = NULL \
             WHERE id = ? AND sent_at IS NULL",
        );
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(at.0)
                .bind(id)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn mark_failed(
        &self,
        id: i64,
        claimer: &str,
        retry_at: Millis,
        error: &str,
    ) -> Result<bool, StoreError> {
        let sql = self.sql(
            "UPDATE inquiries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, \
             claimed_by = NULL, claimed_until = NULL \
             WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
        );
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(retry_at.0)
                .bind(error.as_str())
                .bind(id)
                .bind(claimer)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn release(&self, claimer: &str) -> Result<u64, StoreError> {
        outbox::release(self, "inquiries", claimer).await
    }
}
