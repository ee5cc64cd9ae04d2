//! The port storage implements for the listing: each change and its notice in one transaction
//! under the room's lock, so a notice never tells of a change that did not happen.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::{RoomId, UserId};
use crate::model::{Millis, Room, Sequenced};

use super::{Appointment, ProductState};

/// An appointment change a member asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppointmentChange {
    /// Set (or move) the appointment; its reminder is due at `remind_at` (`None`: too soon
    /// for one).
    Set {
        /// The appointment.
        appointment: Appointment,
        /// When its reminder is due.
        remind_at: Option<Millis>,
    },
    /// Cancel it.
    Cancel,
}

/// What posting a notice that changes a room did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// No such room.
    NoSuchRoom,
    /// The caller is not a current member.
    NotMember,
    /// One member blocks the other: nothing passes between them.
    Blocked,
    /// The room already stood so (the same appointment, or none to cancel): no notice.
    Unchanged,
    /// Changed; the notice as stored, with the room after it.
    Posted(Sequenced),
}

/// What setting a mute did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MuteOutcome {
    /// No such room.
    NoSuchRoom,
    /// The caller is not a current member.
    NotMember,
    /// Set; the room after it, with its newest message.
    Set(Box<Room>),
}

/// Storage of the listing's state. Every change that members are told of is stored with its
/// `SYSTEM` notice in one transaction, under the room's lock, taking the room's next place in
/// its order like any message.
#[async_trait]
pub trait ListingStore: Send + Sync + 'static {
    /// Records `product`'s status. When it differs from the stored one, every room of the
    /// product takes it with a `PRODUCT_STATUS` notice (the sentence of
    /// [`super::ProductStatus::notice_text`]), all in one transaction; the notices are
    /// returned. Rooms opened later start with the recorded status.
    async fn set_product_status(
        &self,
        product: &str,
        state: &ProductState,
        at: Millis,
    ) -> Result<Vec<Sequenced>, StoreError>;

    /// The recorded status of `product`, if the marketplace has set one.
    async fn product_status(&self, product: &str) -> Result<Option<ProductState>, StoreError>;

    /// Sets or cancels `room`'s appointment as `by`, with an `APPOINTMENT` notice saying
    /// `text`.
    async fn set_appointment(
        &self,
        room: &RoomId,
        by: &UserId,
        change: &AppointmentChange,
        text: &str,
        at: Millis,
    ) -> Result<NoticeOutcome, StoreError>;

    /// Rooms whose appointment reminder is due at `now`, with the appointment's time, oldest
    /// first.
    async fn due_reminders(
        &self,
        now: Millis,
        limit: u32,
    ) -> Result<Vec<(RoomId, Millis)>, StoreError>;

    /// Posts `room`'s reminder for the appointment at `appointment_at`, once: under the room's
    /// lock, only while that appointment stands and its reminder is still due, and marks it
    /// sent in the same transaction. `None` when there was nothing (left) to remind of, so
    /// any number of nodes may try at once. `lead_minutes` goes into the sentence.
    async fn post_reminder(
        &self,
        room: &RoomId,
        appointment_at: Millis,
        lead_minutes: i64,
        now: Millis,
    ) -> Result<Option<Sequenced>, StoreError>;

    /// Mutes `room` for `user` until `until` (`None`: unmutes).
    async fn set_mute(
        &self,
        room: &RoomId,
        user: &UserId,
        until: Option<Millis>,
    ) -> Result<MuteOutcome, StoreError>;
}
