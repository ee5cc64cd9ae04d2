//! The listing's storage: the marketplace's status per product, appointments with their
//! reminders, and mutes. A change that members are told of is stored with its `SYSTEM`
//! notice in one transaction under the room's lock (like a leave), taking the room's next
//! place in its order.

use async_trait::async_trait;
use chat_core::listing::{
    AppointmentChange, AppointmentNotice, ListingStore, MuteOutcome, NoticeOutcome, ProductState,
    ProductStatus,
};
use chat_core::{ChatMessage, MessageKind, Millis, Notice, RoomId, Sequenced, StoreError, UserId};

use crate::rows::{corrupt, LockedRoom, SqlRow, LOCKED_ROOM_COLS};
use crate::{classify, on_pool, retried, Backend, Pools, SqlStore};

/// Inserts a `SYSTEM` notice with its details.
pub(crate) const INSERT_NOTICE: &str = "INSERT INTO messages \
     (room_uuid, sender, content, kind, created_at, client_message_id, notice, seq, notice_data, \
     search_text) VALUES (?, ?, ?, 'SYSTEM', ?, NULL, ?, ?, ?, ?)";

/// Inserts a `SYSTEM` notice (`$notice`, a [`Notice`]) in the transaction `$tx` with
/// [`INSERT_NOTICE`] (`$insert`, spelled for the backend) as the locked room's message number
/// `$seq`; yields its id.
macro_rules! insert_notice {
    ($backend:expr, $tx:ident, $insert:expr, $uuid:expr, $sender:expr, $text:expr, $at:expr, $notice:expr, $seq:expr) => {{
        let notice: &Notice = $notice;
        let text: &str = $text;
        crate::insert_id!($backend, $tx, $insert, |q| q
            .bind($uuid)
            .bind($sender)
            .bind(text)
            .bind($at)
            .bind(notice.as_str())
            .bind($seq)
            .bind(notice.details_json())
            .bind(chat_core::search::index_text(text)))
    }};
}
pub(crate) use insert_notice;

/// A notice just stored in a locked room: the message, and the room after it.
fn stored_notice(
    locked: &mut LockedRoom,
    room: RoomId,
    (id, seq): (i64, i64),
    sender: &UserId,
    content: String,
    notice: Notice,
    at: Millis,
) -> Sequenced {
    let prev = locked.last.replace(id);
    locked.count = seq;
    Sequenced {
        message: ChatMessage {
            id,
            room,
            sender: sender.clone(),
            content,
            kind: MessageKind::System,
            created_at: at,
            client_message_id: None,
            notice: Some(notice),
            attachments: Vec::new(),
            warnings: Default::default(),
        },
        prev,
        room: Some(std::sync::Arc::new(locked.snapshot(room))),
    }
}

impl SqlStore {
    async fn set_product_status_once(
        &self,
        product: &str,
        state: &ProductState,
        at: Millis,
    ) -> Result<Vec<Sequenced>, StoreError> {
        let backend = self.backend;
        let read_product = self.sql(&format!(
            "SELECT status, buyer FROM products WHERE product_id = ?{}",
            backend.for_update()
        ));
        let upsert = self.sql(match backend {
            Backend::MySql => {
                "INSERT INTO products (product_id, status, buyer, updated_at) VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE status = VALUES(status), buyer = VALUES(buyer), \
                 updated_at = VALUES(updated_at)"
            }
            Backend::Sqlite | Backend::Postgres => {
                "INSERT INTO products (product_id, status, buyer, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (product_id) DO UPDATE SET status = excluded.status, \
                 buyer = excluded.buyer, updated_at = excluded.updated_at"
            }
        });
        let lock_rooms = self.sql(&format!(
            "SELECT uuid, {LOCKED_ROOM_COLS} FROM rooms WHERE product_id = ? ORDER BY uuid{}",
            backend.for_update()
        ));
        let insert = self.sql(INSERT_NOTICE);
        let touch = self.sql(
            "UPDATE rooms SET last_message_id = ?, last_activity_at = ?, message_count = ?, \
             product_status = ? WHERE uuid = ?",
        );
        let status = state.status.as_str();
        let notice = Notice::ProductStatus(state.status);
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let before = sqlx::query(&read_product)
                .bind(product)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            if let Some(row) = before {
                let same_status = row.text("status")? == status;
                let same_buyer =
                    row.opt_text("buyer")?.as_deref() == state.buyer.as_ref().map(|b| b.as_str());
                if same_status && same_buyer {
                    tx.commit().await.map_err(classify)?;
                    return Ok(Vec::new());
                }
            }
            sqlx::query(&upsert)
                .bind(product)
                .bind(status)
                .bind(state.buyer.as_ref().map(|b| b.as_str()))
                .bind(at.0)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            let rows = sqlx::query(&lock_rooms)
                .bind(product)
                .fetch_all(&mut *tx)
                .await
                .map_err(classify)?;
            let mut notices = Vec::with_capacity(rows.len());
            for row in &rows {
                let uuid = row.text("uuid")?;
                let room = RoomId::parse(&uuid).map_err(|e| corrupt("uuid", e))?;
                let mut locked = LockedRoom::from_row(row)?;
                let seq = locked.count + 1;
                let seller = locked.membership.seller.clone();
                let buyer_here = state.buyer.as_ref() == Some(&locked.membership.buyer);
                let text = state
                    .status
                    .notice_text(buyer_here, state.buyer.is_some())
                    .to_owned();
                let id = insert_notice!(
                    backend,
                    tx,
                    &insert,
                    &uuid,
                    seller.as_str(),
                    text.as_str(),
                    at.0,
                    &notice,
                    seq
                );
                sqlx::query(&touch)
                    .bind(id)
                    .bind(at.0)
                    .bind(seq)
                    .bind(status)
                    .bind(&uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                locked.trade.product_status = Some(state.status);
                notices.push(stored_notice(
                    &mut locked,
                    room,
                    (id, seq),
                    &seller,
                    text,
                    notice.clone(),
                    at,
                ));
            }
            tx.commit().await.map_err(classify)?;
            Ok(notices)
        })
    }

    async fn set_appointment_once(
        &self,
        room: &RoomId,
        by: &UserId,
        change: &AppointmentChange,
        text: &str,
        at: Millis,
    ) -> Result<NoticeOutcome, StoreError> {
        let backend = self.backend;
        let uuid = room.to_text();
        let lock_room = self.lock_room_sql();
        let insert = self.sql(INSERT_NOTICE);
        let touch = self.sql(
            "UPDATE rooms SET last_message_id = ?, last_activity_at = ?, message_count = ?, \
             appointment_at = ?, appointment_place = ?, appointment_by = ?, reminder_due = ? \
             WHERE uuid = ?",
        );
        let (appointment, remind_at) = match change {
            AppointmentChange::Set {
                appointment,
                remind_at,
            } => (Some(appointment.clone()), *remind_at),
            AppointmentChange::Cancel => (None, None),
        };
        let notice = Notice::Appointment(Box::new(AppointmentNotice {
            appointment: appointment.clone(),
            reminder: false,
        }));
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let row = sqlx::query(&lock_room)
                .bind(&uuid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(NoticeOutcome::NoSuchRoom);
            };
            let mut locked = LockedRoom::from_row(&row)?;
            if !locked.membership.is_member(by.as_str()) {
                return Ok(NoticeOutcome::NotMember);
            }
            if locked.blocked {
                return Ok(NoticeOutcome::Blocked);
            }
            let same = match (&locked.trade.appointment, &appointment) {
                (None, None) => true,
                (Some(a), Some(b)) => a.at == b.at && a.place == b.place,
                _ => false,
            };
            if same {
                return Ok(NoticeOutcome::Unchanged);
            }
            let seq = locked.count + 1;
            let id = insert_notice!(
                backend,
                tx,
                &insert,
                &uuid,
                by.as_str(),
                text,
                at.0,
                &notice,
                seq
            );
            sqlx::query(&touch)
                .bind(id)
                .bind(at.0)
                .bind(seq)
                .bind(appointment.as_ref().map(|a| a.at.0))
                .bind(appointment.as_ref().map(|a| a.place.as_str()))
                .bind(appointment.as_ref().map(|a| a.set_by.as_str()))
                .bind(remind_at.map(|r| r.0))
                .bind(&uuid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            locked.trade.appointment = appointment;
            Ok(NoticeOutcome::Posted(stored_notice(
                &mut locked,
                *room,
                (id, seq),
                by,
                text.to_owned(),
                notice,
                at,
            )))
        })
    }

    async fn post_reminder_once(
        &self,
        room: &RoomId,
        appointment_at: Millis,
        lead_minutes: i64,
        now: Millis,
    ) -> Result<Option<Sequenced>, StoreError> {
        let backend = self.backend;
        let uuid = room.to_text();
        let lock_room = self.sql(&format!(
            "SELECT {LOCKED_ROOM_COLS}, reminder_due FROM rooms WHERE uuid = ?{}",
            backend.for_update()
        ));
        let insert = self.sql(INSERT_NOTICE);
        let touch = self.sql(
            "UPDATE rooms SET last_message_id = ?, last_activity_at = ?, message_count = ?, \
             reminder_due = NULL WHERE uuid = ?",
        );
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let row = sqlx::query(&lock_room)
                .bind(&uuid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let due = row.opt_int("reminder_due")?;
            let mut locked = LockedRoom::from_row(&row)?;
            let Some(appointment) = locked.trade.appointment.clone() else {
                return Ok(None);
            };
            // Another node posted it, or the appointment moved or went since it was found.
            if appointment.at != appointment_at || due.is_none_or(|d| d > now.0) {
                return Ok(None);
            }
            let notice = Notice::Appointment(Box::new(AppointmentNotice {
                appointment: Some(appointment.clone()),
                reminder: true,
            }));
            let text = appointment.reminder_text(lead_minutes);
            let seq = locked.count + 1;
            let id = insert_notice!(
                backend,
                tx,
                &insert,
                &uuid,
                appointment.set_by.as_str(),
                text.as_str(),
                now.0,
                &notice,
                seq
            );
            sqlx::query(&touch)
                .bind(id)
                .bind(now.0)
                .bind(seq)
                .bind(&uuid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            Ok(Some(stored_notice(
                &mut locked,
                *room,
                (id, seq),
                &appointment.set_by,
                text,
                notice,
                now,
            )))
        })
    }
}

#[async_trait]
impl ListingStore for SqlStore {
    async fn set_product_status(
        &self,
        product: &str,
        state: &ProductState,
        at: Millis,
    ) -> Result<Vec<Sequenced>, StoreError> {
        retried(|| self.set_product_status_once(product, state, at)).await
    }

    async fn product_status(&self, product: &str) -> Result<Option<ProductState>, StoreError> {
        let sql = self.sql("SELECT status, buyer FROM products WHERE product_id = ?");
        on_pool!(self, read, |pool| {
            let row = sqlx::query(&sql)
                .bind(product)
                .fetch_optional(pool)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let status = row.text("status")?;
            let status =
                ProductStatus::parse(&status).ok_or_else(|| corrupt("products.status", status))?;
            let buyer = match row.opt_text("buyer")? {
                Some(b) => Some(UserId::parse(&b).map_err(|e| corrupt("products.buyer", e))?),
                None => None,
            };
            Ok(Some(ProductState { status, buyer }))
        })
    }

    async fn set_appointment(
        &self,
        room: &RoomId,
        by: &UserId,
        change: &AppointmentChange,
        text: &str,
        at: Millis,
    ) -> Result<NoticeOutcome, StoreError> {
        retried(|| self.set_appointment_once(room, by, change, text, at)).await
    }

    async fn due_reminders(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<(RoomId, Millis)>, StoreError> {
        let sql = self.sql(
            "SELECT uuid, appointment_at FROM rooms WHERE reminder_due IS NOT NULL \
             AND reminder_due <= ? ORDER BY reminder_due LIMIT ?",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(now.0)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            let mut due = Vec::with_capacity(rows.len());
            for row in &rows {
                let uuid = row.text("uuid")?;
                let room = RoomId::parse(&uuid).map_err(|e| corrupt("uuid", e))?;
                if let Some(at) = row.opt_int("appointment_at")? {
                    due.push((room, Millis(at)));
                }
            }
            Ok(due)
        })
    }

    async fn post_reminder(
        &self,
        room: &RoomId,
        appointment_at: Millis,
        lead_minutes: i64,
        now: Millis,
    ) -> Result<Option<Sequenced>, StoreError> {
        retried(|| self.post_reminder_once(room, appointment_at, lead_minutes, now)).await
    }

    async fn set_mute(
        &self,
        room: &RoomId,
        user: &UserId,
        until: Option<Millis>,
    ) -> Result<MuteOutcome, StoreError> {
        let uuid = room.to_text();
        let mut changed = 0;
        for side in ["buyer", "seller"] {
            let sql = self.sql(&format!(
                "UPDATE rooms SET {side}_muted_until = ? WHERE uuid = ? AND {side} = ? \
                 AND {side}_active = 1"
            ));
            changed += on_pool!(self, write, |pool| {
                sqlx::query(&sql)
                    .bind(until.map(|u| u.0))
                    .bind(&uuid)
                    .bind(user.as_str())
                    .execute(pool)
                    .await
                    .map_err(classify)?
                    .rows_affected()
            });
        }
        let after = chat_core::ports::ChatStore::room(self, room).await?;
        Ok(match after {
            None => MuteOutcome::NoSuchRoom,
            Some(r) if changed == 0 && !r.is_member(user) => MuteOutcome::NotMember,
            Some(r) => MuteOutcome::Set(Box::new(r)),
        })
    }
}
