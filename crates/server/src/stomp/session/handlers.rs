//! What each client command does to a session: sends (alone or in a transaction),
//! subscriptions, receipts and refusals, each through the domain's service.

use chat_core::typing::TypingCommand;
use chat_core::{PendingSend, ReadCommand, RoomId};

use super::{Completion, Done, Ending, Session};
use crate::stomp::command::ClientCommand;
use crate::stomp::destination::Destination;
use crate::stomp::failure::Failure;

impl Session {
    fn accept(&mut self, done: Completion) {
        self.inflight.push_back(done);
    }

    fn receipt_only(&mut self, receipt: Option<String>) {
        if receipt.is_some() {
            self.accept(Box::pin(std::future::ready(Done::Ok(receipt))));
        }
    }

    /// Queues a failure behind what is in flight, so earlier receipts still go out first.
    pub(super) fn fail(&mut self, f: Failure) {
        self.halted = true;
        self.accept(Box::pin(std::future::ready(Done::Failed(f))));
    }

    /// Answers a step that either succeeded (a receipt if asked for) or was refused.
    fn settle(&mut self, outcome: Result<(), Failure>, receipt: Option<String>) {
        match outcome {
            Ok(()) => self.receipt_only(receipt),
            Err(f) => self.fail(f),
        }
    }

    pub(super) async fn execute(&mut self, command: ClientCommand) {
        match command {
            ClientCommand::Send {
                room,
                body,
                transaction,
                receipt,
            } => self.on_send(room, &body, transaction, receipt).await,
            ClientCommand::MarkRead {
                room,
                body,
                receipt,
            } => self.on_mark_read(room, &body, receipt).await,
            ClientCommand::Typing {
                room,
                body,
                receipt,
            } => self.on_typing(room, &body, receipt).await,
            ClientCommand::Subscribe { id, room, receipt } => {
                self.on_subscribe(id, room, receipt).await
            }
            ClientCommand::SubscribeEvents { id, receipt } => {
                if let Err(f) = self.check_new_subscription(&id, receipt.clone()) {
                    return self.fail(f);
                }
                self.ctx.service.subscribe_events(self.handle.id, &id);
                self.event_subs.push(id);
                self.receipt_only(receipt)
            }
            ClientCommand::Unsubscribe { id, receipt } => {
                if let Some(at) = self.event_subs.iter().position(|s| *s == id) {
                    self.event_subs.swap_remove(at);
                    self.ctx.service.unsubscribe_events(self.handle.id, &id);
                } else if let Some(room) = self.subs.remove(&id) {
                    let last = !self.subs.values().any(|r| *r == room);
                    let (session, key) = (self.handle.id, &self.handle.key);
                    self.ctx
                        .service
                        .unsubscribe(session, key, &room, &id, last)
                        .await;
                }
                // Unsubscribing from something not subscribed is harmless: the goal holds.
                self.receipt_only(receipt)
            }
            ClientCommand::Acknowledge { receipt } => self.receipt_only(receipt),
            ClientCommand::Begin {
                transaction,
                receipt,
            } => {
                let began = self.transactions.begin(&transaction, receipt.clone());
                self.settle(began, receipt);
            }
            ClientCommand::Commit {
                transaction,
                receipt,
            } => self.on_commit(&transaction, receipt).await,
            ClientCommand::Abort {
                transaction,
                receipt,
            } => {
                let aborted = self.transactions.abort(&transaction, receipt.clone());
                self.settle(aborted, receipt);
            }
            ClientCommand::Disconnect { receipt } => self.end(Ending::Disconnect(receipt)),
        }
    }

    async fn on_send(
        &mut self,
        room: RoomId,
        body: &[u8],
        transaction: Option<String>,
        receipt: Option<String>,
    ) {
        let context = Sending::Send(room);
        let allowed = self
            .ctx
            .rate_limits
            .check_user(crate::rate_limits::Kind::Messages, &self.identity.user);
        if let Err(e) = allowed {
            return self.fail(Failure::chat(&context.to_string(), &e, receipt));
        }
        let cmd = match self.ctx.service.parse_send(&self.identity.user, room, body) {
            Ok(cmd) => cmd,
            Err(e) => return self.fail(Failure::chat(&context.to_string(), &e, receipt)),
        };
        if let Some(tx) = transaction {
            let held = self.transactions.hold(&tx, cmd, receipt.clone());
            return self.settle(held, receipt);
        }
        match self.ctx.service.submit(cmd).await {
            Ok(pending) => self.accept(Box::pin(finish_send(pending, context, receipt))),
            Err(e) => self.fail(Failure::chat(&context.to_string(), &e, receipt)),
        }
    }

    async fn on_mark_read(&mut self, room: RoomId, body: &[u8], receipt: Option<String>) {
        let context = format!("SEND to {}", Destination::RoomRead(room));
        let marked = match ReadCommand::parse(body) {
            Ok(cmd) => {
                self.ctx
                    .service
                    .mark_read(&self.identity.user, &room, cmd)
                    .await
            }
            Err(e) => Err(e),
        };
        let outcome = marked
            .map(|_| ())
            .map_err(|e| Failure::chat(&context, &e, receipt.clone()));
        self.settle(outcome, receipt);
    }

    async fn on_typing(&mut self, room: RoomId, body: &[u8], receipt: Option<String>) {
        let context = format!("SEND to {}", Destination::RoomTyping(room));
        let typed = match TypingCommand::parse(body) {
            Ok(cmd) => {
                self.ctx
                    .service
                    .typing(&self.identity.user, &room, cmd, &mut self.typing)
                    .await
            }
            Err(e) => Err(e),
        };
        let outcome = typed
            .map(|_| ())
            .map_err(|e| Failure::chat(&context, &e, receipt.clone()));
        self.settle(outcome, receipt);
    }

    /// A new subscription id must be unused, and the connection under its limit (room and
    /// event-stream subscriptions together).
    fn check_new_subscription(&self, id: &str, receipt: Option<String>) -> Result<(), Failure> {
        if self.subs.contains_key(id) || self.event_subs.iter().any(|s| s == id) {
            return Err(Failure::new(
                "duplicate_subscription",
                "duplicate subscription id",
                format!("subscription id '{id}' is already in use on this connection"),
                receipt,
            ));
        }
        let limit = self.ctx.limits.max_subscriptions;
        if self.subs.len() + self.event_subs.len() >= limit {
            return Err(Failure::new(
                "too_many_subscriptions",
                "too many subscriptions",
                format!("a connection may hold at most {limit} subscriptions (max-subscriptions)"),
                receipt,
            ));
        }
        Ok(())
    }

    async fn on_subscribe(&mut self, id: String, room: RoomId, receipt: Option<String>) {
        if let Err(f) = self.check_new_subscription(&id, receipt.clone()) {
            return self.fail(f);
        }
        let (user, session, key) = (&self.identity.user, self.handle.id, &self.handle.key);
        match self
            .ctx
            .service
            .subscribe(user, session, key, room, &id)
            .await
        {
            Ok(()) => {
                self.subs.insert(id, room);
                self.receipt_only(receipt);
            }
            Err(e) => {
                let context = format!("SUBSCRIBE to {}", Destination::RoomMessages(room));
                self.fail(Failure::chat(&context, &e, receipt));
            }
        }
    }

    async fn on_commit(&mut self, transaction: &str, receipt: Option<String>) {
        let sends = match self.transactions.commit(transaction, receipt.clone()) {
            Ok(sends) => sends,
            Err(f) => return self.fail(f),
        };
        let context = Sending::Commit(transaction.to_owned());
        let mut pending = Vec::with_capacity(sends.len());
        for cmd in sends {
            match self.ctx.service.submit(cmd).await {
                Ok(p) => pending.push(p),
                Err(e) => {
                    // Those already queued still commit; the session reports the failure.
                    self.accept(Box::pin(finish_sends(pending, context.clone(), None)));
                    return self.fail(Failure::chat(&context.to_string(), &e, receipt));
                }
            }
        }
        self.accept(Box::pin(finish_sends(pending, context, receipt)));
    }
}

/// What queued a send, named in the `ERROR` when it fails. Kept as data and formatted only
/// then: a send that succeeds costs no string.
#[derive(Clone)]
enum Sending {
    Send(RoomId),
    Commit(String),
}

impl std::fmt::Display for Sending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sending::Send(room) => write!(f, "SEND to {}", Destination::RoomSend(*room)),
            Sending::Commit(tx) => write!(f, "COMMIT of transaction '{tx}'"),
        }
    }
}

/// Waits for one queued send and turns its outcome into a receipt or a failure.
async fn finish_send(pending: PendingSend, context: Sending, receipt: Option<String>) -> Done {
    match pending.await {
        Ok(_) => Done::Ok(receipt),
        Err(e) => Done::Failed(Failure::chat(&context.to_string(), &e, receipt)),
    }
}

/// Waits for queued sends (in order) and turns their outcome into a receipt or a failure.
async fn finish_sends(
    pending: Vec<PendingSend>,
    context: Sending,
    receipt: Option<String>,
) -> Done {
    for p in pending {
        if let Err(e) = p.await {
            return Done::Failed(Failure::chat(&context.to_string(), &e, receipt));
        }
    }
    Done::Ok(receipt)
}
