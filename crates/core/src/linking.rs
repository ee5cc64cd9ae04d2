//! A storage decorator that gives every photo read from storage fresh signed links, so every
//! reader (history, room lists, the live fan-out after a commit, a sequencer's gap fill)
//! hands out addresses that work, and none of them has to remember to.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::{RoomId, UserId};
use crate::links::LinkSigner;
use crate::model::{
    AppendOutcome, ChatMessage, HistoryPage, LeaveOutcome, MarkReadOutcome, Millis, NewInquiry,
    NewMessage, NewRoom, Room,
};
use crate::ports::ChatStore;

/// [`ChatStore`] with links: the same store, whose messages' photos carry signed addresses.
pub struct LinkingStore {
    inner: Arc<dyn ChatStore>,
    signer: LinkSigner,
}

impl LinkingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ChatStore>, signer: LinkSigner) -> Self {
        LinkingStore { inner, signer }
    }

    fn message(&self, m: &mut ChatMessage, now: Millis) {
        for a in &mut m.attachments {
            self.signer.link(&m.room, a, now);
        }
    }

    /// A page of messages (history, search hits) with every photo linked.
    fn messages(&self, mut messages: Vec<ChatMessage>) -> Vec<ChatMessage> {
        let now = Millis::now();
        for m in &mut messages {
            self.message(m, now);
        }
        messages
    }

    fn room(&self, r: &mut Room, now: Millis) {
        if let Some(m) = &mut r.last_message {
            self.message(m, now);
        }
    }
}

#[async_trait]
impl ChatStore for LinkingStore {
    async fn open_room(&self, new: &NewRoom) -> Result<(Room, bool), StoreError> {
        let (mut room, created) = self.inner.open_room(new).await?;
        self.room(&mut room, Millis::now());
        Ok((room, created))
    }

    async fn room(&self, id: &RoomId) -> Result<Option<Room>, StoreError> {
        let mut room = self.inner.room(id).await?;
        if let Some(r) = &mut room {
            self.room(r, Millis::now());
        }
        Ok(room)
    }

    async fn rooms_of(&self, user: &UserId, limit: u32) -> Result<Vec<Room>, StoreError> {
        let mut rooms = self.inner.rooms_of(user, limit).await?;
        let now = Millis::now();
        for r in &mut rooms {
            self.room(r, now);
        }
        Ok(rooms)
    }

    async fn leave(
        &self,
        room: &RoomId,
        user: &UserId,
        notice: &str,
        at: Millis,
    ) -> Result<LeaveOutcome, StoreError> {
        let mut outcome = self.inner.leave(room, user, notice, at).await?;
        if let LeaveOutcome::Deleted(r) = &mut outcome {
            self.room(r, Millis::now());
        }
        Ok(outcome)
    }

    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<AppendOutcome>, StoreError> {
        let mut outcomes = self.inner.append(batch).await?;
        let now = Millis::now();
        for o in &mut outcomes {
            match o {
                AppendOutcome::Stored(s) => self.message(&mut s.message, now),
                AppendOutcome::Duplicate(m) => self.message(m, now),
                AppendOutcome::NoSuchRoom | AppendOutcome::NotMember | AppendOutcome::Blocked => {}
            }
        }
        Ok(outcomes)
    }

    async fn history(
        &self,
        room: &RoomId,
        page: HistoryPage,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        Ok(self.messages(self.inner.history(room, page).await?))
    }

    async fn search(
        &self,
        user: &UserId,
        query: &crate::search::SearchQuery,
        room: Option<&RoomId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        Ok(self.messages(self.inner.search(user, query, room, before, limit).await?))
    }

    async fn mark_read(
        &self,
        room: &RoomId,
        user: &UserId,
        up_to: i64,
    ) -> Result<MarkReadOutcome, StoreError> {
        self.inner.mark_read(room, user, up_to).await
    }

    async fn unread_counts(&self, user: &UserId, limit: u32) -> Result<Vec<i64>, StoreError> {
        self.inner.unread_counts(user, limit).await
    }

    async fn partners(&self, user: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError> {
        self.inner.partners(user, limit).await
    }

    async fn record_last_seen(&self, user: &UserId, at: Millis) -> Result<(), StoreError> {
        self.inner.record_last_seen(user, at).await
    }

    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Millis)>, StoreError> {
        self.inner.last_seen(users).await
    }

    async fn save_inquiry(&self, inquiry: &NewInquiry) -> Result<i64, StoreError> {
        self.inner.save_inquiry(inquiry).await
    }

    async fn unsent_inquiries(&self) -> Result<u64, StoreError> {
        self.inner.unsent_inquiries().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
