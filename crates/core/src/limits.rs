//! The domain's size and count limits, with the defaults API.md gives.

/// Limits on what a caller may send or ask for; every size and count the domain accepts is
/// bounded by one of these.
#[derive(Clone, Debug)]
pub struct DomainLimits {
    /// Longest message content, in Unicode characters (API.md: 4,000).
    pub max_content_chars: usize,
    /// History page size when the caller gives none.
    pub history_default: u32,
    /// Largest history page (API.md: 200).
    pub history_max: u32,
    /// Longest room (product) name, in characters.
    pub max_room_name_chars: usize,
    /// Longest `productId`, in characters.
    pub max_product_id_chars: usize,
    /// Most rooms one `GET /room/list` returns (the most recent ones).
    pub max_rooms_listed: u32,
    /// Most messages committed in one storage transaction. Under load a batch is whatever
    /// queued while the previous one committed; a large cap lets it take all of that, so each
    /// index page a batch rewrites carries more messages (docs/BENCHMARKS.md, issue 11).
    pub commit_batch: usize,
    /// Sends waiting for the committer before senders are made to wait.
    pub commit_queue: usize,
    /// Longest inquiry title, in characters.
    pub max_inquiry_title_chars: usize,
    /// Longest inquiry text, in characters.
    pub max_inquiry_content_chars: usize,
    /// How long after a user's last session ends their partners are told they went offline,
    /// if they have not come back by then (docs/API.md, "Typing and online status").
    pub presence_grace: std::time::Duration,
    /// Most photos one message carries (API-v2 "Photos": 10).
    pub max_attachments_per_message: usize,
    /// Most users one user may block.
    pub max_blocks_per_user: u32,
    /// How long before an appointment its reminder is posted (API-v2: an hour).
    pub reminder_lead: std::time::Duration,
    /// Most push subscriptions one user keeps (one per browser; the oldest goes).
    pub max_push_subscriptions: u32,
}

impl Default for DomainLimits {
    fn default() -> Self {
        DomainLimits {
            max_content_chars: 4000,
            history_default: 50,
            history_max: 200,
            max_room_name_chars: 100,
            max_product_id_chars: 64,
            max_rooms_listed: 1000,
            commit_batch: 4096,
            commit_queue: 4096,
            max_inquiry_title_chars: 200,
            max_inquiry_content_chars: 10_000,
            presence_grace: std::time::Duration::from_secs(3),
            max_attachments_per_message: 10,
            max_blocks_per_user: 1000,
            reminder_lead: std::time::Duration::from_secs(3600),
            max_push_subscriptions: 20,
        }
    }
}
