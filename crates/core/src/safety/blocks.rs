//! Blocks between users: who blocks whom, read from storage and cached per user on each node,
//! every node's cache told at once through the bus when a block is made or lifted.
//!
//! Sends do not rely on this cache: storage checks blocks inside the commit's transaction, so a
//! block is in force for every send committed after it on any node. The cache serves what is
//! advisory and frequent: typing, presence, and the early refusal of a send.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{ChatError, StoreError};
use crate::ids::UserId;
use crate::model::RoomEvent;
use crate::ports::{EventSink, SafetyStore};

/// The users one user has a block with, in either direction.
pub type Relations = Arc<HashSet<UserId>>;

/// How long a cached entry is trusted without news: the bus tells of every change, this bounds
/// how long a lost event could leave a stale entry.
const CACHE_TTL: Duration = Duration::from_secs(300);
/// Users cached per node; when full, the cache starts over (it refills from storage).
const CACHE_USERS: usize = 100_000;
/// Most relations read for one user: the most blocks a user may make is far below.
pub const MAX_RELATIONS: u32 = 10_000;

/// The block relations of users, cached, read through from storage.
pub struct BlockList {
    store: Arc<dyn SafetyStore>,
    cache: Mutex<HashMap<UserId, (Relations, Instant)>>,
}

impl BlockList {
    /// A cache in front of `store`.
    pub fn new(store: Arc<dyn SafetyStore>) -> Self {
        BlockList {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<UserId, (Relations, Instant)>> {
        // Only plain map updates happen under this lock; a poisoned one is still consistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The users `user` blocks or is blocked by.
    pub async fn relations(&self, user: &UserId) -> Result<Relations, StoreError> {
        if let Some((relations, at)) = self.cache().get(user) {
            if at.elapsed() < CACHE_TTL {
                return Ok(relations.clone());
            }
        }
        let relations: Relations = Arc::new(
            self.store
                .block_relations(user, MAX_RELATIONS)
                .await?
                .into_iter()
                .collect(),
        );
        let mut cache = self.cache();
        if cache.len() >= CACHE_USERS {
            cache.clear();
        }
        cache.insert(user.clone(), (relations.clone(), Instant::now()));
        Ok(relations)
    }

    /// Whether either of `a` and `b` blocks the other. Used where the answer is advisory
    /// (typing, presence): when storage cannot be read the answer is "no", and logged.
    pub async fn between(&self, a: &UserId, b: &UserId) -> bool {
        match self.relations(a).await {
            Ok(r) => r.contains(b),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read blocks");
                false
            }
        }
    }

    /// The same, for a refusal that must be right: a storage failure is the caller's error.
    pub async fn check(&self, a: &UserId, b: &UserId) -> Result<(), ChatError> {
        let relations = self
            .relations(a)
            .await
            .map_err(|e| e.into_chat_error("blocks", None))?;
        if relations.contains(b) {
            return Err(ChatError::Blocked);
        }
        Ok(())
    }

    /// Drops what this node knows of `users`: a block between them changed.
    pub fn forget(&self, users: &[UserId]) {
        let mut cache = self.cache();
        for user in users {
            cache.remove(user);
        }
    }
}

/// Sits in front of this node's event sink: a block change forgets the cached relations of both
/// users, then the event goes on (the session layer ends nothing: a block keeps history).
pub struct BlockWatch {
    blocks: Arc<BlockList>,
    inner: Arc<dyn EventSink>,
}

impl BlockWatch {
    /// Watches the events on their way to `inner`.
    pub fn new(blocks: Arc<BlockList>, inner: Arc<dyn EventSink>) -> Self {
        BlockWatch { blocks, inner }
    }
}

impl EventSink for BlockWatch {
    fn deliver(&self, event: &RoomEvent) {
        if let RoomEvent::BlocksChanged(users) = event {
            self.blocks.forget(users.as_slice());
        }
        self.inner.deliver(event);
    }

    fn has_subscribers(&self, room: &crate::ids::RoomId) -> bool {
        self.inner.has_subscribers(room)
    }
}

/// Blocks as the API offers them: make, lift, list (API-v2 "Safety").
pub struct Blocks {
    store: Arc<dyn SafetyStore>,
    list: Arc<BlockList>,
    max_per_user: u32,
}

/// What `POST /user/blocks` asked.
#[derive(serde::Deserialize)]
struct BlockBody {
    user: Option<serde_json::Value>,
}

impl Blocks {
    /// Blocks over `store`, its cache `list`, a user blocking at most `max_per_user` others.
    pub fn new(store: Arc<dyn SafetyStore>, list: Arc<BlockList>, max_per_user: u32) -> Self {
        Blocks {
            store,
            list,
            max_per_user,
        }
    }

    /// The cache, for the checks elsewhere in the domain.
    pub fn list(&self) -> &Arc<BlockList> {
        &self.list
    }

    /// Reads `{"user": "bob"}`: whom `caller` wants to block.
    pub fn parse(caller: &UserId, body: &[u8]) -> Result<UserId, ChatError> {
        let invalid = || ChatError::bad("invalid_body", "the body must be {\"user\": \"…\"}");
        // An object only: serde would also read a struct from a JSON array.
        let body: BlockBody = match serde_json::from_slice(body) {
            Ok(v @ serde_json::Value::Object(_)) => {
                serde_json::from_value(v).map_err(|_| invalid())?
            }
            _ => return Err(invalid()),
        };
        let user = match body.user {
            Some(serde_json::Value::String(s)) => UserId::parse(&s)?,
            _ => return Err(ChatError::bad("invalid_user", "'user' must be a user id")),
        };
        if &user == caller {
            return Err(ChatError::bad("self_block", "you cannot block yourself"));
        }
        Ok(user)
    }

    /// `caller` blocks `user` (again is no error). The user must be known to chat; a caller
    /// blocks at most the configured number. Returns whether it is new.
    pub async fn block(&self, caller: &UserId, user: &UserId) -> Result<bool, ChatError> {
        if caller == user {
            return Err(ChatError::bad("self_block", "you cannot block yourself"));
        }
        let known = self
            .store
            .user_known(user)
            .await
            .map_err(|e| e.into_chat_error("user_known", None))?;
        if !known {
            return Err(ChatError::NotFound {
                code: "user_not_found",
                message: "no such user".into(),
            });
        }
        let outcome = self
            .store
            .block(caller, user, crate::model::Millis::now(), self.max_per_user)
            .await
            .map_err(|e| e.into_chat_error("block", None))?;
        match outcome {
            crate::ports::BlockOutcome::TooMany => Err(ChatError::TooMany {
                code: "too_many_blocks",
                message: format!("you can block at most {} users", self.max_per_user),
            }),
            crate::ports::BlockOutcome::Added => Ok(true),
            crate::ports::BlockOutcome::Already => Ok(false),
        }
    }

    /// `caller` lifts their block of `user`; `false` when there was none.
    pub async fn unblock(&self, caller: &UserId, user: &UserId) -> Result<bool, ChatError> {
        self.store
            .unblock(caller, user)
            .await
            .map_err(|e| e.into_chat_error("unblock", None))
    }

    /// Whom `caller` blocks, sorted.
    pub async fn blocked_by(&self, caller: &UserId) -> Result<Vec<UserId>, ChatError> {
        self.store
            .blocked_by(caller, self.max_per_user)
            .await
            .map_err(|e| e.into_chat_error("blocked_by", None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_bodies() {
        let alice = UserId::parse("alice").unwrap();
        assert_eq!(
            Blocks::parse(&alice, br#"{"user":"bob"}"#)
                .unwrap()
                .as_str(),
            "bob"
        );
        let code = |b: &[u8]| Blocks::parse(&alice, b).unwrap_err().code();
        assert_eq!(code(br#"{"user":"alice"}"#), "self_block");
        assert_eq!(code(br#"{"user":"a b"}"#), "invalid_user");
        assert_eq!(code(br#"{"user":7}"#), "invalid_user");
        assert_eq!(code(br#"{}"#), "invalid_user");
        assert_eq!(code(b"[]"), "invalid_body");
        assert_eq!(code(b"nope"), "invalid_body");
    }
}
