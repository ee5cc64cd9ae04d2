//! The shared presence suite against the in-memory presence. Only the single-node cases apply:
//! in-memory presence belongs to one node and is shared with no other, so the multi-node cases
//! (several nodes, a node dying) run against Redis in `crates/presence-redis`.

use std::sync::Arc;

use async_trait::async_trait;
use chat_core::memory::MemoryPresence;
use chat_core::ports::Presence;
use chat_core::presence_suite::PresenceBackend;

/// Each instance is a new, empty in-memory presence.
struct Memory;

#[async_trait]
impl PresenceBackend for Memory {
    async fn node(&self, _node: &str) -> Arc<dyn Presence> {
        Arc::new(MemoryPresence::new())
    }
}

chat_core::presence_suite_tests!(single_node, Memory);
