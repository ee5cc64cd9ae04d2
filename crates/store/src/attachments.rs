//! The records of photo uploads (`attachments`) and their lifecycle: recorded before their
//! bytes, claimed by a send in one conditional update, settled after the commit, doomed with
//! their room (in the leave's transaction, `lib.rs`), and forgotten once the janitor deleted
//! their bytes.

use async_trait::async_trait;
use chat_core::attachment::{
    Attachment, AttachmentId, AttachmentRecord, AttachmentState, MediaType,
};
use chat_core::ports::{AttachmentStore, ClaimRefused, ExpiredUpload};
use chat_core::{Millis, RoomId, StoreError, UserId};

use crate::outbox::marks;
use crate::rows::SqlRow;
use crate::{classify, on_pool, Pools, SqlStore};

/// The columns [`record_from_row`] reads.
const COLS: &str = "id, room_uuid, uploader, content_type, size, width, height, thumbnail_type, \
                    state, created_at";

fn corrupt(col: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::internal(format!("column {col}: {e}"))
}

fn media(row: &impl SqlRow, col: &str) -> Result<MediaType, StoreError> {
    let s = row.text(col)?;
    MediaType::from_mime(&s).ok_or_else(|| corrupt(col, s))
}

fn dimension(row: &impl SqlRow, col: &str) -> Result<u32, StoreError> {
    u32::try_from(row.int(col)?).map_err(|e| corrupt(col, e))
}

fn record_from_row(row: &impl SqlRow) -> Result<AttachmentRecord, StoreError> {
    let id = AttachmentId::parse(&row.text("id")?).map_err(|e| corrupt("id", e))?;
    Ok(AttachmentRecord {
        attachment: Attachment {
            id,
            media: media(row, "content_type")?,
            size: u64::try_from(row.int("size")?).map_err(|e| corrupt("size", e))?,
            width: dimension(row, "width")?,
            height: dimension(row, "height")?,
            links: None,
        },
        room: RoomId::parse(&row.text("room_uuid")?).map_err(|e| corrupt("room_uuid", e))?,
        uploader: UserId::parse(&row.text("uploader")?).map_err(|e| corrupt("uploader", e))?,
        thumbnail_media: media(row, "thumbnail_type")?,
        state: AttachmentState::from_stored(&row.text("state")?),
        created_at: Millis(row.int("created_at")?),
    })
}

#[async_trait]
impl AttachmentStore for SqlStore {
    async fn record_upload(&self, r: &AttachmentRecord) -> Result<(), StoreError> {
        let sql = self.sql(&format!(
            "INSERT INTO attachments ({COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ));
        let a = &r.attachment;
        on_pool!(self, write, |pool| {
            sqlx::query(&sql)
                .bind(a.id.as_str())
                .bind(r.room.to_text())
                .bind(r.uploader.as_str())
                .bind(a.media.as_mime())
                .bind(a.size as i64)
                .bind(i64::from(a.width))
                .bind(i64::from(a.height))
                .bind(r.thumbnail_media.as_mime())
                .bind(AttachmentState::Uploading.as_str())
                .bind(r.created_at.0)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }

    async fn upload_stored(&self, id: &AttachmentId) -> Result<bool, StoreError> {
        let sql =
            self.sql("UPDATE attachments SET state = 'ready' WHERE id = ? AND state = 'uploading'");
        on_pool!(self, write, |pool| {
            let done = sqlx::query(&sql)
                .bind(id.as_str())
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn attachment(
        &self,
        room: &RoomId,
        id: &AttachmentId,
    ) -> Result<Option<AttachmentRecord>, StoreError> {
        let sql = self.sql(&format!(
            "SELECT {COLS} FROM attachments WHERE id = ? AND room_uuid = ?"
        ));
        on_pool!(self, read, |pool| {
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .bind(room.to_text())
                .fetch_optional(pool)
                .await
                .map_err(classify)?;
            row.as_ref().map(record_from_row).transpose()
        })
    }

    async fn unsent_uploads(&self, uploader: &UserId) -> Result<u64, StoreError> {
        let sql = self.sql(
            "SELECT COUNT(*) AS n FROM attachments WHERE uploader = ? \
             AND state IN ('uploading', 'ready', 'claimed')",
        );
        on_pool!(self, read, |pool| {
            let row = sqlx::query(&sql)
                .bind(uploader.as_str())
                .fetch_one(pool)
                .await
                .map_err(classify)?;
            Ok(row.int("n")?.max(0) as u64)
        })
    }

    async fn claim(
        &self,
        room: &RoomId,
        uploader: &UserId,
        ids: &[AttachmentId],
        key: &str,
        at: Millis,
    ) -> Result<Result<Vec<Attachment>, ClaimRefused>, StoreError> {
        if ids.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let backend = self.backend;
        // One conditional update takes what is ready (row locks make two claims of one photo
        // take turns, and the second finds it claimed); the read then checks that every id is
        // held under this key, which also accepts a retried send's own earlier claim.
        let take = self.sql(&format!(
            "UPDATE attachments SET state = 'claimed', claim_key = ?, claimed_at = ? \
             WHERE id IN ({}) AND room_uuid = ? AND uploader = ? AND state = 'ready'",
            marks(ids.len())
        ));
        let held = self.sql(&format!(
            "SELECT {COLS} FROM attachments WHERE id IN ({}) AND room_uuid = ? AND uploader = ? \
             AND claim_key = ? AND state IN ('claimed', 'sent')",
            marks(ids.len())
        ));
        let room_text = room.to_text();
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let mut q = sqlx::query(&take).bind(key).bind(at.0);
            for id in ids {
                q = q.bind(id.as_str());
            }
            q.bind(&room_text)
                .bind(uploader.as_str())
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            let mut q = sqlx::query(&held);
            for id in ids {
                q = q.bind(id.as_str());
            }
            let rows = q
                .bind(&room_text)
                .bind(uploader.as_str())
                .bind(key)
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
            if rows.len() != ids.len() {
                // Dropping the transaction rolls the partial claim back.
                return Ok(Err(ClaimRefused::NotClaimable));
            }
            let mut records = rows
                .iter()
                .map(record_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().await.map_err(classify)?;
            let mut ordered = Vec::with_capacity(ids.len());
            for id in ids {
                let at = records
                    .iter()
                    .position(|r| &r.attachment.id == id)
                    .ok_or_else(|| StoreError::internal("a claimed photo went missing"))?;
                ordered.push(records.swap_remove(at).attachment);
            }
            Ok(Ok(ordered))
        })
    }

    async fn settle_claim(&self, key: &str, sent: bool) -> Result<(), StoreError> {
        let sql = self.sql(if sent {
            "UPDATE attachments SET state = 'sent' WHERE claim_key = ? AND state = 'claimed'"
        } else {
            "UPDATE attachments SET state = 'ready', claim_key = NULL, claimed_at = NULL \
             WHERE claim_key = ? AND state = 'claimed'"
        });
        on_pool!(self, write, |pool| {
            sqlx::query(&sql)
                .bind(key)
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }

    async fn resolve_stale_claims(&self, before: Millis, limit: u32) -> Result<u64, StoreError> {
        let stale = self.sql(
            "SELECT id, room_uuid, uploader FROM attachments \
             WHERE state = 'claimed' AND claimed_at < ? ORDER BY claimed_at LIMIT ?",
        );
        // A stored message names its photos' ids in its JSON; ids are hex, so the pattern has
        // no LIKE metacharacters. Only the sender's messages in that room are looked at.
        let carried = self.sql(
            "SELECT COUNT(*) AS n FROM messages WHERE room_uuid = ? AND sender = ? \
             AND attachments LIKE ?",
        );
        let to_sent =
            self.sql("UPDATE attachments SET state = 'sent' WHERE id = ? AND state = 'claimed'");
        let to_ready = self.sql(
            "UPDATE attachments SET state = 'ready', claim_key = NULL, claimed_at = NULL \
             WHERE id = ? AND state = 'claimed'",
        );
        on_pool!(self, write, |pool| {
            let rows = sqlx::query(&stale)
                .bind(before.0)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            let mut resolved = 0;
            for row in &rows {
                let id = row.text("id")?;
                let n = sqlx::query(&carried)
                    .bind(row.text("room_uuid")?)
                    .bind(row.text("uploader")?)
                    .bind(format!("%\"{id}\"%"))
                    .fetch_one(pool)
                    .await
                    .map_err(classify)?
                    .int("n")?;
                let update = if n > 0 { &to_sent } else { &to_ready };
                sqlx::query(update)
                    .bind(&id)
                    .execute(pool)
                    .await
                    .map_err(classify)?;
                resolved += 1;
            }
            Ok(resolved)
        })
    }

    async fn expired_uploads(
        &self,
        unsent_before: Millis,
        limit: u32,
    ) -> Result<Vec<ExpiredUpload>, StoreError> {
        let sql = self.sql(
            "SELECT id, room_uuid FROM attachments WHERE state = 'doomed' \
             OR (state IN ('uploading', 'ready') AND created_at < ?) LIMIT ?",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(unsent_before.0)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter()
                .map(|row| {
                    Ok(ExpiredUpload {
                        id: AttachmentId::parse(&row.text("id")?).map_err(|e| corrupt("id", e))?,
                        room: RoomId::parse(&row.text("room_uuid")?)
                            .map_err(|e| corrupt("room_uuid", e))?,
                    })
                })
                .collect()
        })
    }

    async fn forget_uploads(&self, ids: &[AttachmentId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = self.sql(&format!(
            "DELETE FROM attachments WHERE id IN ({})",
            marks(ids.len())
        ));
        on_pool!(self, write, |pool| {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            q.execute(pool).await.map_err(classify)?;
            Ok(())
        })
    }
}
