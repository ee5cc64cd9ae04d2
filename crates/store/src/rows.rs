//! Reading rows back into domain values, the same way for every backend.

use chat_core::attachment::Attachment;
use chat_core::listing::{Appointment, Mutes, ProductStatus, Trade};
use chat_core::safety::Warnings;
use chat_core::{
    ChatMessage, ClientMessageId, MessageKind, Millis, Notice, ReadMark, Room, RoomId, StoreError,
    StoreErrorKind, UserId,
};
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// The column reads every backend's row offers, so that row mapping is written once.
pub(crate) trait SqlRow {
    /// A nullable text column. MySQL reports columns with a binary collation as bytes, so
    /// text falls back to UTF-8-checked bytes there.
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;

    /// A non-null text column.
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?
            .ok_or_else(|| corrupt(col, "unexpected NULL"))
    }
    /// A non-null integer column.
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?
            .ok_or_else(|| corrupt(col, "unexpected NULL"))
    }
}

pub(crate) fn corrupt(col: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, format!("column {col}: {what}"))
}

macro_rules! impl_sql_row {
    ($($row:ty),*) => {$(
        impl SqlRow for $row {
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                match self.try_get::<Option<String>, _>(col) {
                    Ok(v) => Ok(v),
                    Err(first) => match self.try_get::<Option<Vec<u8>>, _>(col) {
                        Ok(Some(bytes)) => String::from_utf8(bytes)
                            .map(Some)
                            .map_err(|e| corrupt(col, e)),
                        Ok(None) => Ok(None),
                        Err(_) => Err(corrupt(col, first)),
                    },
                }
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get::<Option<i64>, _>(col).map_err(|e| corrupt(col, e))
            }
        }
    )*};
}
impl_sql_row!(SqliteRow, MySqlRow, PgRow);

pub(crate) fn user(row: &impl SqlRow, col: &str) -> Result<UserId, StoreError> {
    UserId::parse(&row.text(col)?).map_err(|e| corrupt(col, e))
}

pub(crate) fn room_id(row: &impl SqlRow, col: &str) -> Result<RoomId, StoreError> {
    RoomId::parse(&row.text(col)?).map_err(|e| corrupt(col, e))
}

/// A message selected with the `m_` column aliases.
pub(crate) fn message_from_row(row: &impl SqlRow) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        id: row.int("m_id")?,
        room: room_id(row, "m_room")?,
        sender: user(row, "m_sender")?,
        content: row.text("m_content")?,
        kind: MessageKind::from_stored(&row.text("m_kind")?),
        created_at: Millis(row.int("m_created_at")?),
        client_message_id: match row.opt_text("m_cmid")? {
            Some(c) => Some(ClientMessageId::parse(&c).map_err(|e| corrupt("m_cmid", e))?),
            None => None,
        },
        notice: match row.opt_text("m_notice")? {
            Some(n) => Some(Notice::with_details(&n, row.opt_text("m_nd")?.as_deref())),
            None => None,
        },
        attachments: match row.opt_text("m_att")? {
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt("m_att", e))?,
            None => Vec::new(),
        },
        warnings: Warnings::from_bits(row.opt_int("m_warn")?.unwrap_or(0)),
    })
}

/// A message's photos as stored with it (JSON, without links), `NULL` for none.
pub(crate) fn attachments_json(attachments: &[Attachment]) -> Option<String> {
    if attachments.is_empty() {
        return None;
    }
    // Serializing ids, numbers and fixed strings cannot fail.
    serde_json::to_string(attachments).ok()
}

/// A room joined with its newest message (`m_` columns, NULL when it has none).
pub(crate) fn room_from_row(row: &impl SqlRow) -> Result<Room, StoreError> {
    let last_message = match row.opt_int("m_id")? {
        Some(_) => Some(message_from_row(row)?),
        None => None,
    };
    Ok(Room {
        id: room_id(row, "uuid")?,
        name: row.text("name")?,
        product_id: row.opt_text("product_id")?,
        buyer: user(row, "buyer")?,
        seller: user(row, "seller")?,
        buyer_active: row.int("buyer_active")? != 0,
        seller_active: row.int("seller_active")? != 0,
        created_at: Millis(row.int("created_at")?),
        last_message,
        message_count: row.int("message_count")?,
        buyer_read: mark(row, "buyer_read_id", "buyer_read_count")?,
        seller_read: mark(row, "seller_read_id", "seller_read_count")?,
        trade: trade(row)?,
        mutes: mutes(row)?,
    })
}

/// The listing's columns of a room.
pub(crate) fn trade(row: &impl SqlRow) -> Result<Trade, StoreError> {
    let product_status = match row.opt_text("product_status")? {
        Some(s) => Some(ProductStatus::parse(&s).ok_or_else(|| corrupt("product_status", s))?),
        None => None,
    };
    let appointment = match (
        row.opt_int("appointment_at")?,
        row.opt_text("appointment_place")?,
        row.opt_text("appointment_by")?,
    ) {
        (Some(at), Some(place), Some(by)) => Some(Appointment {
            at: Millis(at),
            place,
            set_by: UserId::parse(&by).map_err(|e| corrupt("appointment_by", e))?,
        }),
        _ => None,
    };
    Ok(Trade {
        product_status,
        appointment,
    })
}

/// The members' mutes of a room.
pub(crate) fn mutes(row: &impl SqlRow) -> Result<Mutes, StoreError> {
    Ok(Mutes {
        buyer_until: row.opt_int("buyer_muted_until")?.map(Millis),
        seller_until: row.opt_int("seller_muted_until")?.map(Millis),
    })
}

/// A member's read mark from its two columns.
fn mark(row: &impl SqlRow, id: &str, count: &str) -> Result<ReadMark, StoreError> {
    Ok(ReadMark {
        up_to: row.int(id)?,
        count: row.int(count)?,
    })
}

/// The room columns a group commit reads under the room's lock, as [`LockedRoom::from_row`]
/// reads them.
pub(crate) const LOCKED_ROOM_COLS: &str = "buyer, seller, buyer_active, seller_active, \
     last_message_id, message_count, buyer_read_id, buyer_read_count, seller_read_id, \
     seller_read_count, name, product_id, created_at, product_status, appointment_at, \
     appointment_place, appointment_by, buyer_muted_until, seller_muted_until, \
     (SELECT COUNT(*) FROM blocks b WHERE (b.blocker = rooms.buyer AND b.blocked = rooms.seller) \
     OR (b.blocker = rooms.seller AND b.blocked = rooms.buyer)) AS blocks";

/// A room of a batch as read under its lock: who may write, its newest message (exactly the
/// message before the ones the batch adds), how many messages it holds and both read marks.
pub(crate) struct LockedRoom {
    pub membership: Membership,
    pub last: Option<i64>,
    pub count: i64,
    pub buyer_read: ReadMark,
    pub seller_read: ReadMark,
    /// What never changes after creation, for the snapshots the members' streams are told.
    pub name: String,
    pub product_id: Option<String>,
    pub created_at: Millis,
    /// One member blocks the other (read in the same statement as the lock): nothing may be
    /// written between them.
    pub blocked: bool,
    /// The listing's status and the appointment.
    pub trade: Trade,
    /// The members' mutes.
    pub mutes: Mutes,
}

impl LockedRoom {
    /// Reads [`LOCKED_ROOM_COLS`].
    pub fn from_row(row: &impl SqlRow) -> Result<Self, StoreError> {
        Ok(LockedRoom {
            membership: Membership::from_row(row)?,
            last: row.opt_int("last_message_id")?,
            count: row.int("message_count")?,
            buyer_read: mark(row, "buyer_read_id", "buyer_read_count")?,
            seller_read: mark(row, "seller_read_id", "seller_read_count")?,
            name: row.text("name")?,
            product_id: row.opt_text("product_id")?,
            created_at: Millis(row.int("created_at")?),
            blocked: row.int("blocks")? > 0,
            trade: trade(row)?,
            mutes: mutes(row)?,
        })
    }

    /// The room as it stands now under the lock, without its newest message (the caller has
    /// it): what a stored message carries to the members' event streams.
    pub fn snapshot(&self, id: RoomId) -> Room {
        let m = &self.membership;
        Room {
            id,
            name: self.name.clone(),
            product_id: self.product_id.clone(),
            buyer: m.buyer.clone(),
            seller: m.seller.clone(),
            buyer_active: m.buyer_active,
            seller_active: m.seller_active,
            created_at: self.created_at,
            last_message: None,
            message_count: self.count,
            buyer_read: self.buyer_read,
            seller_read: self.seller_read,
            trade: self.trade.clone(),
            mutes: self.mutes,
        }
    }

    /// The mark of `user`, if they are a current member.
    pub fn mark_of(&mut self, user: &str) -> Option<&mut ReadMark> {
        let m = &self.membership;
        if m.buyer_active && m.buyer.as_str() == user {
            Some(&mut self.buyer_read)
        } else if m.seller_active && m.seller.as_str() == user {
            Some(&mut self.seller_read)
        } else {
            None
        }
    }
}

/// Who may write to a room, read under the room's row lock.
pub(crate) struct Membership {
    pub buyer: UserId,
    pub seller: UserId,
    pub buyer_active: bool,
    pub seller_active: bool,
}

impl Membership {
    /// Reads `buyer, seller, buyer_active, seller_active`.
    pub fn from_row(row: &impl SqlRow) -> Result<Self, StoreError> {
        Ok(Membership {
            buyer: user(row, "buyer")?,
            seller: user(row, "seller")?,
            buyer_active: row.int("buyer_active")? != 0,
            seller_active: row.int("seller_active")? != 0,
        })
    }

    /// The rule of [`Room::is_member`], on the locked row.
    pub fn is_member(&self, user: &str) -> bool {
        (self.buyer_active && self.buyer.as_str() == user)
            || (self.seller_active && self.seller.as_str() == user)
    }
}
