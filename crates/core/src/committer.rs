//! Group commit: one task takes sends from a bounded queue and stores them in batches, one
//! transaction per batch, then publishes each new message and answers each sender.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::ChatError;
use crate::model::{AppendOutcome, Millis, NewMessage, RoomEvent};
use crate::notify::NotifyQueue;
use crate::ports::{Bus, ChatStore};

/// Counter: chat messages stored (duplicates excluded).
pub const MESSAGES_STORED: &str = "reuse_chat_messages_stored_total";
/// Histogram: messages per group commit.
pub const COMMIT_BATCH_SIZE: &str = "reuse_chat_commit_batch_size";
/// Histogram: seconds to store one batch.
pub const COMMIT_SECONDS: &str = "reuse_chat_commit_seconds";

/// What a committed send resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendOutcome {
    /// The stored message's id (for a duplicate: the one stored the first time).
    pub id: i64,
    /// True when the `clientMessageId` was seen before and nothing new was stored or broadcast.
    pub duplicate: bool,
}

/// Where a send's outcome goes.
type Reply = oneshot::Sender<Result<SendOutcome, ChatError>>;

pub(crate) struct CommitRequest {
    pub(crate) message: NewMessage,
    pub(crate) reply: Reply,
}

/// The sending half of the committer's queue.
#[derive(Clone)]
pub(crate) struct Committer {
    tx: mpsc::Sender<CommitRequest>,
}

impl Committer {
    /// Starts the committer task; it ends when every `Committer` handle is dropped and the
    /// queue is drained, so in-flight sends are finished on shutdown.
    pub(crate) fn spawn(
        store: Arc<dyn ChatStore>,
        bus: Arc<dyn Bus>,
        notify: Option<NotifyQueue>,
        queue: usize,
        batch: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let handle = tokio::spawn(run(rx, store, bus, notify, batch.max(1)));
        (Committer { tx }, handle)
    }

    /// Waits for room in the queue, then enqueues. Returns the receiver of the outcome.
    pub(crate) async fn submit(
        &self,
        message: NewMessage,
    ) -> Result<oneshot::Receiver<Result<SendOutcome, ChatError>>, ChatError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(CommitRequest { message, reply })
            .await
            .map_err(|_| ChatError::ShuttingDown)?;
        Ok(rx)
    }
}

async fn run(
    mut rx: mpsc::Receiver<CommitRequest>,
    store: Arc<dyn ChatStore>,
    bus: Arc<dyn Bus>,
    notify: Option<NotifyQueue>,
    max_batch: usize,
) {
    let mut batch: Vec<CommitRequest> = Vec::with_capacity(max_batch);
    let mut messages: Vec<NewMessage> = Vec::with_capacity(max_batch);
    let mut replies: Vec<Reply> = Vec::with_capacity(max_batch);
    // Registered once: recording then costs an atomic operation per batch or message.
    let stored_total = metrics::counter!(MESSAGES_STORED);
    let batch_size = metrics::histogram!(COMMIT_BATCH_SIZE);
    let commit_seconds = metrics::histogram!(COMMIT_SECONDS);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        // Senders that gave up (closed connection) still get their message stored: it may
        // have been seen by nobody, but dropping it would make a retry with the same
        // clientMessageId behave differently from the first attempt.
        let now = Millis::now();
        for req in batch.drain(..) {
            messages.push(NewMessage {
                created_at: now,
                ..req.message
            });
            replies.push(req.reply);
        }
        let started = Instant::now();
        let appended = store.append(&messages).await;
        commit_seconds.record(started.elapsed().as_secs_f64());
        batch_size.record(messages.len() as f64);
        match appended {
            Ok(outcomes) if outcomes.len() == replies.len() => {
                let mut stored = 0u64;
                for (reply, outcome) in replies.drain(..).zip(outcomes) {
                    let result = match outcome {
                        AppendOutcome::Stored(s) => {
                            stored += 1;
                            let id = s.message.id;
                            if let Some(notify) = &notify {
                                notify.offer(&s);
                            }
                            if let Err(e) = bus.publish(RoomEvent::Message(s)).await {
                                // Stored is stored: the receipt stands, and subscribers that
                                // missed the live copy find it in history.
                                tracing::warn!(error = %e, id, "publish failed");
                            }
                            Ok(SendOutcome {
                                id,
                                duplicate: false,
                            })
                        }
                        AppendOutcome::Duplicate(m) => Ok(SendOutcome {
                            id: m.id,
                            duplicate: true,
                        }),
                        AppendOutcome::NoSuchRoom => Err(ChatError::RoomNotFound),
                        AppendOutcome::NotMember => Err(ChatError::NotMember),
                        AppendOutcome::Blocked => Err(ChatError::Blocked),
                    };
                    let _ = reply.send(result);
                }
                stored_total.increment(stored);
            }
            Ok(outcomes) => {
                tracing::error!(
                    expected = replies.len(),
                    got = outcomes.len(),
                    "storage answered a batch with the wrong number of outcomes"
                );
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(ChatError::Internal));
                }
            }
            Err(e) => {
                let err = e.into_chat_error("append", messages.first().map(|m| &m.room));
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
        messages.clear();
    }
}
