//! Per-room ordering at the receiving end: hands each room's messages to this node's
//! subscribers exactly once and in id order, whatever order the bus brought them in, and fills
//! the gaps it notices from storage.
//!
//! Why it is needed: with several nodes, node A may commit message 5 and node B message 6 of
//! the same room, and B's publish can reach the bus first. Every message carries the id of its
//! room's previous message (`prev`, read under the room's lock when it was stored), so a
//! receiver knows whether a message is the next one, a repeat, or one that arrived early. An
//! early one waits; if the missing one does not come within a grace period (its node died, the
//! bus lost it), it is read from storage. The same path answers a bus outage: after the bus
//! comes back, [`Sequencer::resync`] reads what every known room missed.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;
// Tokio's clock, so that tests can let ten idle minutes pass in no time.
use tokio::time::Instant;

use crate::hops;
use crate::ids::RoomId;
use crate::model::{ChatMessage, HistoryCursor, HistoryPage, RoomEvent, Sequenced};
use crate::ports::{ChatStore, EventSink};

/// Tuning of the sequencer; the defaults suit production.
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// How long an early message waits for the one before it before storage is asked.
    pub gap_grace: Duration,
    /// Rooms not heard of for this long are forgotten (their next message starts afresh),
    /// unless this node still has subscribers to them.
    pub idle_forget: Duration,
    /// Most rooms remembered; beyond it, new rooms are delivered unordered (and logged).
    pub max_rooms: usize,
    /// Most early messages held per room; beyond it storage is asked at once.
    pub max_pending: usize,
}

impl Default for SequencerOptions {
    fn default() -> Self {
        SequencerOptions {
            gap_grace: Duration::from_millis(500),
            idle_forget: Duration::from_secs(600),
            max_rooms: 500_000,
            max_pending: 1_000,
        }
    }
}

struct RoomState {
    /// The newest id handed on.
    last: i64,
    /// Early events, by the id they follow, with when each arrived (to time its wait).
    pending: BTreeMap<i64, (RoomEvent, Instant)>,
    /// When the oldest unfilled gap was noticed.
    gap_since: Option<Instant>,
    touched: Instant,
}

const SHARDS: usize = 16;

/// An [`EventSink`] in front of the node's real sink that restores each room's order. The
/// inner sink is called with the room's shard lock held, so it must not block (the hub only
/// queues) and must never call back into the sequencer.
pub struct Sequencer {
    inner: Arc<dyn EventSink>,
    shards: Vec<Mutex<HashMap<RoomId, RoomState>>>,
    hasher: std::collections::hash_map::RandomState,
    work: mpsc::Sender<Work>,
    options: SequencerOptions,
    /// Registered once: the held and filled paths cost an atomic operation, the in-order path
    /// nothing.
    held: metrics::Counter,
    filled: metrics::Counter,
    waited: metrics::Histogram,
}

enum Work {
    /// A room has a gap: fill it once the grace period is over.
    Gap(RoomId),
    /// The bus was disrupted: every known room may have missed messages.
    Resync,
}

/// Bound on queued gap reports; a report that does not fit is not lost for good: the room's
/// next early message reports it again, and the periodic sweep finds old gaps.
const WORK_QUEUE: usize = 4_096;
const HISTORY_PAGE: u32 = 200;

impl Sequencer {
    /// A sequencer delivering to `inner`, reading gaps from `store`. The returned task fills
    /// gaps and forgets idle rooms; it ends when the last handle on the sequencer is dropped.
    pub fn new(
        inner: Arc<dyn EventSink>,
        store: Arc<dyn ChatStore>,
        options: SequencerOptions,
    ) -> (Arc<Sequencer>, tokio::task::JoinHandle<()>) {
        let (work, rx) = mpsc::channel(WORK_QUEUE);
        let seq = Arc::new(Sequencer {
            inner,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            work,
            options,
            held: metrics::counter!(hops::SEQUENCER_HELD),
            filled: metrics::counter!(hops::SEQUENCER_FILLED),
            waited: metrics::histogram!(hops::SEQUENCER_WAIT_SECONDS),
        });
        let task = tokio::spawn(fill_gaps(Arc::downgrade(&seq), store, rx));
        (seq, task)
    }

    /// Asks for every known room to be compared with storage: for a bus that lost or may have
    /// lost messages (broker restart, consumer reset).
    pub fn resync(&self) {
        if self.work.try_send(Work::Resync).is_err() {
            tracing::warn!("sequencer: work queue full, resync postponed to the next sweep");
        }
    }

    /// A subscriber on this node is joining `room`, whose newest stored message is `last`
    /// (read after the subscriber was admitted). Unless the room is known already, its order
    /// starts there: a message after `last` that arrives before its predecessor then waits for
    /// it instead of becoming the starting point.
    pub fn watch(&self, room: RoomId, last: Option<i64>) {
        let mut shard = self.shard(&room);
        if shard.contains_key(&room) || shard.len() >= self.options.max_rooms {
            return;
        }
        shard.insert(
            room,
            RoomState {
                last: last.unwrap_or(0),
                pending: BTreeMap::new(),
                gap_since: None,
                touched: Instant::now(),
            },
        );
    }

    /// Rooms currently remembered (for tests and metrics).
    pub fn rooms(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    fn shard(&self, room: &RoomId) -> MutexGuard<'_, HashMap<RoomId, RoomState>> {
        lock(&self.shards[(self.hasher.hash_one(room) as usize) % SHARDS])
    }

    fn offer(&self, event: &RoomEvent, s: &Sequenced) {
        let room = s.message.room;
        let id = s.message.id;
        let mut shard = self.shard(&room);
        let now = Instant::now();
        let len = shard.len();
        let Some(state) = shard.get_mut(&room) else {
            // First word of this room since start (or since it was forgotten): it sets the
            // baseline. Subscribers that joined earlier read history first (see the README).
            if len < self.options.max_rooms {
                shard.insert(
                    room,
                    RoomState {
                        last: id,
                        pending: BTreeMap::new(),
                        gap_since: None,
                        touched: now,
                    },
                );
            } else {
                tracing::warn!(
                    rooms = len,
                    "sequencer: room limit reached, delivering unordered"
                );
            }
            self.inner.deliver(event);
            return;
        };
        state.touched = now;
        if id <= state.last {
            return; // Seen already: a repeat from the bus, or filled from storage.
        }
        // A room's first message follows "nothing", which `watch` records as 0.
        match s.prev.unwrap_or(0) {
            p if p > state.last => {
                // Early: the message before it has not been seen yet.
                if state.pending.len() < self.options.max_pending {
                    state.pending.insert(p, (event.clone(), now));
                }
                self.held.increment(1);
                let first = state.gap_since.is_none();
                if first {
                    state.gap_since = Some(now);
                }
                if first || state.pending.len() >= self.options.max_pending {
                    drop(shard);
                    let _ = self.work.try_send(Work::Gap(room));
                }
            }
            _ => {
                // The next one (or, for `prev` older than what was delivered, a message that
                // cannot be placed better than now).
                state.last = id;
                let mut ready = vec![event.clone()];
                drain(state, &mut ready, &self.waited);
                // Handed on under the room's lock: another thread's next message for this
                // room must not overtake these on the way to the sessions.
                for r in &ready {
                    self.inner.deliver(r);
                }
            }
        }
    }

    /// Hands on messages read from storage after `after`, in id order, skipping what was
    /// delivered meanwhile.
    fn fill(&self, room: &RoomId, after: i64, messages: Vec<ChatMessage>) {
        let mut ready = Vec::new();
        let mut from_storage = 0u64;
        {
            let mut shard = self.shard(room);
            let Some(state) = shard.get_mut(room) else {
                return;
            };
            let mut prev = after;
            for m in messages {
                let id = m.id;
                if id > state.last {
                    state.last = id;
                    let s = Sequenced {
                        message: m,
                        prev: Some(prev),
                        room: None,
                    };
                    // A leave is told by its stored notice, never by the message's kind.
                    ready.push(RoomEvent::from_stored(s));
                    from_storage += 1;
                }
                prev = id;
            }
            let last = state.last;
            // Held copies of what storage just handed on waited until now as well.
            let waited = &self.waited;
            state.pending.retain(|_, (e, since)| {
                let keep = sequenced(e).is_none_or(|s| s.message.id > last);
                if !keep {
                    waited.record(since.elapsed().as_secs_f64());
                }
                keep
            });
            drain(state, &mut ready, &self.waited);
            if state.pending.is_empty() {
                state.gap_since = None;
            }
            // Under the room's lock, as in `offer`.
            for r in &ready {
                self.inner.deliver(r);
            }
        }
        if from_storage > 0 {
            self.filled.increment(from_storage);
        }
    }

    /// The room's gap if it still has one and it is older than the grace period.
    fn due_gap(&self, room: &RoomId) -> Option<(i64, Duration)> {
        let shard = self.shard(room);
        let state = shard.get(room)?;
        let since = state.gap_since?;
        let waited = since.elapsed();
        let full = state.pending.len() >= self.options.max_pending;
        if full || waited >= self.options.gap_grace {
            Some((state.last, Duration::ZERO))
        } else {
            Some((state.last, self.options.gap_grace - waited))
        }
    }

    fn snapshot(&self) -> Vec<(RoomId, i64)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            out.extend(lock(shard).iter().map(|(r, s)| (*r, s.last)));
        }
        out
    }

    fn forget_idle(&self) -> Vec<RoomId> {
        let mut old_gaps = Vec::new();
        for shard in &self.shards {
            let mut shard = lock(shard);
            // A room with subscribers here is never forgotten: its next message could be a
            // late one with an earlier id than one already handed on, and a forgotten room
            // would take the later one as its new start and drop the late one as a repeat.
            shard.retain(|room, s| {
                s.touched.elapsed() < self.options.idle_forget || self.inner.has_subscribers(room)
            });
            old_gaps.extend(
                shard
                    .iter()
                    .filter(|(_, s)| s.gap_since.is_some())
                    .map(|(r, _)| *r),
            );
        }
        old_gaps
    }
}

/// The ordered part of an event: messages and leaves have a place in the room's order.
fn sequenced(event: &RoomEvent) -> Option<&Sequenced> {
    match event {
        RoomEvent::Message(s) | RoomEvent::MemberLeft(s) => Some(s),
        _ => None,
    }
}

/// Moves the events that now follow on from `state.pending` to `ready`, recording in `waited`
/// how long each was held.
fn drain(state: &mut RoomState, ready: &mut Vec<RoomEvent>, waited: &metrics::Histogram) {
    while let Some((next, since)) = state.pending.remove(&state.last) {
        if let Some(s) = sequenced(&next) {
            state.last = s.message.id;
        }
        waited.record(since.elapsed().as_secs_f64());
        ready.push(next);
    }
    if state.pending.is_empty() {
        state.gap_since = None;
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only plain map updates happen under these locks; a poisoned one is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl EventSink for Sequencer {
    fn deliver(&self, event: &RoomEvent) {
        match event {
            RoomEvent::Message(s) | RoomEvent::MemberLeft(s) => self.offer(event, s),
            RoomEvent::RoomDeleted { room, .. } => {
                self.shard(room).remove(room);
                self.inner.deliver(event);
            }
            // State around the messages (marks, typing, presence, a room's state) has no place
            // in a room's order: each carries all it says.
            RoomEvent::Updated(_)
            | RoomEvent::Read(_)
            | RoomEvent::Typing(_)
            | RoomEvent::Presence(_)
            | RoomEvent::BlocksChanged(_) => self.inner.deliver(event),
        }
    }

    fn has_subscribers(&self, room: &RoomId) -> bool {
        self.inner.has_subscribers(room)
    }
}

async fn fill_gaps(
    seq: std::sync::Weak<Sequencer>,
    store: Arc<dyn ChatStore>,
    mut rx: mpsc::Receiver<Work>,
) {
    let mut sweep = tokio::time::interval(Duration::from_secs(5));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweeps = 0u64;
    loop {
        let work = tokio::select! {
            w = rx.recv() => match w {
                Some(w) => w,
                None => return,
            },
            _ = sweep.tick() => {
                let Some(s) = seq.upgrade() else { return };
                sweeps += 1;
                // Forgetting is cheap but walks every room: once a minute is plenty.
                let gaps = if sweeps.is_multiple_of(12) { s.forget_idle() } else { Vec::new() };
                for room in gaps {
                    fill_room(&s, &*store, room).await;
                }
                continue;
            }
        };
        let Some(s) = seq.upgrade() else { return };
        match work {
            Work::Gap(room) => {
                if let Some((_, wait)) = s.due_gap(&room) {
                    if !wait.is_zero() {
                        drop(s);
                        tokio::time::sleep(wait).await;
                        let Some(s) = seq.upgrade() else { return };
                        fill_room(&s, &*store, room).await;
                        continue;
                    }
                    fill_room(&s, &*store, room).await;
                }
            }
            Work::Resync => {
                for (room, last) in s.snapshot() {
                    catch_up(&s, &*store, room, last).await;
                }
            }
        }
    }
}

async fn fill_room(s: &Sequencer, store: &dyn ChatStore, room: RoomId) {
    if let Some((last, _)) = s.due_gap(&room) {
        catch_up(s, store, room, last).await;
    }
}

/// Reads everything after `last` from storage and hands it on.
async fn catch_up(s: &Sequencer, store: &dyn ChatStore, room: RoomId, mut last: i64) {
    loop {
        let page = HistoryPage {
            cursor: HistoryCursor::After(last),
            limit: HISTORY_PAGE,
        };
        match store.history(&room, page).await {
            Ok(messages) => {
                let full = messages.len() as u32 >= HISTORY_PAGE;
                let newest = messages.last().map(|m| m.id);
                s.fill(&room, last, messages);
                match newest {
                    Some(n) if full => last = n,
                    _ => return,
                }
            }
            Err(e) => {
                // The room's next early message, or the next sweep, tries again.
                tracing::warn!(error = %e, room = %room, "sequencer: cannot read a gap");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StoreError;
    use crate::ids::UserId;
    use crate::model::{
        AppendOutcome, LeaveOutcome, MessageKind, Millis, NewInquiry, NewMessage, NewRoom, Notice,
        Room,
    };
    use async_trait::async_trait;

    /// What reached the sink: message ids in order, and (id, was it a leave) for every event;
    /// it has subscribers to the rooms in its third field.
    #[derive(Default)]
    struct Collect(Mutex<Vec<i64>>, Mutex<Vec<(i64, bool)>>, Mutex<Vec<RoomId>>);
    impl EventSink for Collect {
        fn deliver(&self, event: &RoomEvent) {
            if let Some(s) = sequenced(event) {
                lock(&self.0).push(s.message.id);
                let left = matches!(event, RoomEvent::MemberLeft(_));
                lock(&self.1).push((s.message.id, left));
            }
        }
        fn has_subscribers(&self, room: &RoomId) -> bool {
            lock(&self.2).contains(room)
        }
    }
    impl Collect {
        fn ids(&self) -> Vec<i64> {
            lock(&self.0).clone()
        }
    }

    /// Storage as far as the sequencer reads it: one room's history.
    #[derive(Default)]
    struct History(Mutex<Vec<ChatMessage>>);

    #[async_trait]
    impl ChatStore for History {
        async fn open_room(&self, _: &NewRoom) -> Result<(Room, bool), StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn room(&self, _: &RoomId) -> Result<Option<Room>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn rooms_of(&self, _: &UserId, _: u32) -> Result<Vec<Room>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn leave(
            &self,
            _: &RoomId,
            _: &UserId,
            _: &str,
            _: Millis,
        ) -> Result<LeaveOutcome, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn append(&self, _: &[NewMessage]) -> Result<Vec<AppendOutcome>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn history(
            &self,
            room: &RoomId,
            page: HistoryPage,
        ) -> Result<Vec<ChatMessage>, StoreError> {
            let HistoryCursor::After(after) = page.cursor else {
                panic!("the sequencer only reads forward");
            };
            Ok(lock(&self.0)
                .iter()
                .filter(|m| m.room == *room && m.id > after)
                .take(page.limit as usize)
                .cloned()
                .collect())
        }
        async fn search(
            &self,
            _: &UserId,
            _: &crate::search::SearchQuery,
            _: Option<&RoomId>,
            _: Option<i64>,
            _: u32,
        ) -> Result<Vec<ChatMessage>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn mark_read(
            &self,
            _: &RoomId,
            _: &UserId,
            _: i64,
        ) -> Result<crate::model::MarkReadOutcome, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn unread_counts(&self, _: &UserId, _: u32) -> Result<Vec<i64>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn partners(&self, _: &UserId, _: u32) -> Result<Vec<UserId>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn record_last_seen(&self, _: &UserId, _: Millis) -> Result<(), StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn last_seen(&self, _: &[UserId]) -> Result<Vec<(UserId, Millis)>, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn save_inquiry(&self, _: &NewInquiry) -> Result<i64, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn unsent_inquiries(&self) -> Result<u64, StoreError> {
            unimplemented!("not used by the sequencer")
        }
        async fn ping(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn msg(room: RoomId, id: i64, prev: Option<i64>) -> Sequenced {
        Sequenced {
            message: ChatMessage {
                attachments: Vec::new(),
                warnings: Default::default(),
                id,
                room,
                sender: UserId::parse("alice").unwrap(),
                content: format!("m{id}"),
                kind: MessageKind::Text,
                created_at: Millis(0),
                client_message_id: None,
                notice: None,
            },
            prev,
            room: None,
        }
    }

    fn setup(grace_ms: u64) -> (Arc<Sequencer>, Arc<Collect>, Arc<History>) {
        let out = Arc::new(Collect::default());
        let store = Arc::new(History::default());
        let (seq, _task) = Sequencer::new(
            out.clone(),
            store.clone(),
            SequencerOptions {
                gap_grace: Duration::from_millis(grace_ms),
                ..SequencerOptions::default()
            },
        );
        (seq, out, store)
    }

    fn send(seq: &Sequencer, m: Sequenced) {
        seq.deliver(&RoomEvent::Message(m));
    }

    async fn until(out: &Collect, n: usize) -> Vec<i64> {
        for _ in 0..200 {
            if out.ids().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        out.ids()
    }

    #[tokio::test]
    async fn in_order_messages_pass_once_and_repeats_are_dropped() {
        let (seq, out, _) = setup(60_000);
        let r = RoomId::new_random();
        send(&seq, msg(r, 1, None));
        send(&seq, msg(r, 4, Some(1)));
        send(&seq, msg(r, 4, Some(1)));
        send(&seq, msg(r, 1, None));
        send(&seq, msg(r, 9, Some(4)));
        assert_eq!(out.ids(), [1, 4, 9]);
    }

    #[tokio::test]
    async fn an_early_message_waits_for_the_one_before_it() {
        let (seq, out, _) = setup(60_000);
        let (r, other) = (RoomId::new_random(), RoomId::new_random());
        send(&seq, msg(r, 1, None));
        send(&seq, msg(r, 7, Some(5)));
        send(&seq, msg(r, 8, Some(7)));
        // Another room is not held up by this one's gap.
        send(&seq, msg(other, 6, None));
        assert_eq!(out.ids(), [1, 6]);
        send(&seq, msg(r, 5, Some(1)));
        assert_eq!(out.ids(), [1, 6, 5, 7, 8]);
        send(&seq, msg(r, 7, Some(5)));
        assert_eq!(out.ids(), [1, 6, 5, 7, 8], "a late repeat stays dropped");
    }

    #[tokio::test]
    async fn a_gap_that_never_fills_is_read_from_storage_after_the_grace_period() {
        let (seq, out, store) = setup(50);
        let r = RoomId::new_random();
        lock(&store.0).extend([1, 3, 5, 8].map(|id| msg(r, id, None).message));
        send(&seq, msg(r, 1, None));
        // 3 and 5 were lost on the way (their node died); 8 arrives.
        send(&seq, msg(r, 8, Some(5)));
        assert_eq!(out.ids(), [1]);
        assert_eq!(until(&out, 4).await, [1, 3, 5, 8]);
    }

    #[tokio::test]
    async fn resync_reads_what_every_known_room_missed() {
        let (seq, out, store) = setup(60_000);
        let (a, b) = (RoomId::new_random(), RoomId::new_random());
        send(&seq, msg(a, 1, None));
        send(&seq, msg(b, 2, None));
        // Stored while the bus was down; nothing more is ever sent in these rooms.
        lock(&store.0)
            .extend([msg(a, 1, None), msg(b, 2, None), msg(a, 3, Some(1))].map(|s| s.message));
        lock(&store.0).push(msg(b, 4, Some(2)).message);
        seq.resync();
        let mut got = until(&out, 4).await;
        got.sort();
        assert_eq!(got, [1, 2, 3, 4]);
        // What resync delivered is not delivered again when the bus repeats it.
        send(&seq, msg(a, 3, Some(1)));
        assert_eq!(out.ids().len(), 4);
    }

    #[tokio::test]
    async fn a_watched_room_starts_where_storage_stood_at_subscribe() {
        let (seq, out, _) = setup(60_000);
        let (r, empty) = (RoomId::new_random(), RoomId::new_random());
        seq.watch(r, Some(5));
        seq.watch(empty, None);
        // 7 arrives first from another node: it is not taken as the starting point.
        send(&seq, msg(r, 7, Some(6)));
        assert_eq!(out.ids(), Vec::<i64>::new());
        send(&seq, msg(r, 6, Some(5)));
        assert_eq!(out.ids(), [6, 7]);
        send(&seq, msg(empty, 2, Some(1)));
        send(&seq, msg(empty, 1, None));
        assert_eq!(out.ids(), [6, 7, 1, 2]);
        // Watching again does not move a known room back.
        seq.watch(r, Some(5));
        send(&seq, msg(r, 6, Some(5)));
        assert_eq!(out.ids(), [6, 7, 1, 2]);
    }

    #[tokio::test]
    async fn a_leave_keeps_its_place_among_the_messages() {
        let (seq, out, store) = setup(50);
        let r = RoomId::new_random();
        seq.watch(r, Some(1));
        // The leave (id 3) arrives before message 2 that was stored before it.
        let mut leave = msg(r, 3, Some(2));
        leave.message.kind = MessageKind::System;
        leave.message.notice = Some(Notice::MemberLeft);
        seq.deliver(&RoomEvent::MemberLeft(leave.clone()));
        assert_eq!(
            out.ids(),
            Vec::<i64>::new(),
            "the leave waits for message 2"
        );
        send(&seq, msg(r, 2, Some(1)));
        assert_eq!(out.ids(), [2, 3]);
        // A leave read back from storage to fill a gap is still a leave.
        let mut stored_leave = msg(r, 5, Some(4)).message;
        stored_leave.kind = MessageKind::System;
        stored_leave.notice = Some(Notice::MemberLeft);
        lock(&store.0).extend([msg(r, 4, Some(3)).message, stored_leave]);
        send(&seq, msg(r, 6, Some(5)));
        assert_eq!(until(&out, 5).await, [2, 3, 4, 5, 6]);
        assert!(lock(&out.1).iter().any(|(id, left)| *id == 5 && *left));
    }

    #[tokio::test]
    async fn a_system_message_read_back_is_a_leave_only_when_its_notice_says_so() {
        let (seq, out, store) = setup(50);
        let r = RoomId::new_random();
        seq.watch(r, Some(1));
        // Gap: 2 and 3 are read back from storage. 2 is a SYSTEM message with another notice
        // (say a trade-status change), 3 a SYSTEM message of a kind this node does not know.
        let mut status = msg(r, 2, Some(1)).message;
        status.kind = MessageKind::System;
        status.notice = Some(Notice::from_stored("PRODUCT_STATUS"));
        let mut unknown = msg(r, 3, Some(2)).message;
        unknown.kind = MessageKind::from_stored("SOMETHING_NEW");
        lock(&store.0).extend([status, unknown]);
        send(&seq, msg(r, 4, Some(3)));
        assert_eq!(until(&out, 3).await, [2, 3, 4]);
        assert!(
            lock(&out.1).iter().all(|(_, left)| !left),
            "no notice but MEMBER_LEFT ends its sender's subscriptions: {:?}",
            lock(&out.1)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_room_with_subscribers_here_is_never_forgotten() {
        let (seq, out, _) = setup(60_000);
        let (watched, idle) = (RoomId::new_random(), RoomId::new_random());
        lock(&out.2).push(watched);
        seq.watch(watched, Some(5));
        seq.watch(idle, Some(5));
        send(&seq, msg(watched, 6, Some(5)));
        assert_eq!(out.ids(), [6]);
        // Eleven quiet minutes: the idle sweep runs many times.
        tokio::time::sleep(Duration::from_secs(11 * 60)).await;
        assert_eq!(
            seq.rooms(),
            1,
            "the room nobody here subscribes to is forgotten"
        );
        // Node B's 9 (after A's 8) arrives before A's late 8: 9 must wait, not become the
        // room's new start (which would drop 8 as a repeat).
        send(&seq, msg(watched, 9, Some(8)));
        send(&seq, msg(watched, 8, Some(6)));
        assert_eq!(out.ids(), [6, 8, 9]);
    }

    #[tokio::test]
    async fn a_deleted_room_is_forgotten() {
        let (seq, out, _) = setup(60_000);
        let r = RoomId::new_random();
        send(&seq, msg(r, 1, None));
        assert_eq!(seq.rooms(), 1);
        seq.deliver(&RoomEvent::RoomDeleted {
            room: r,
            last_member: None,
        });
        assert_eq!(seq.rooms(), 0);
        assert_eq!(out.ids(), [1]);
    }
}
