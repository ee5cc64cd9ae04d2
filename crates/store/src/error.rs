//! Turning database errors into the domain's [`StoreError`]: "unreachable, try later" versus
//! "something is wrong", with the details kept for the logs.

use chat_core::StoreError;

/// Marks a [`StoreError`] as a lost deadlock or serialization race, which is worth retrying.
const RETRY_MARK: &str = "[retryable] ";

/// Classifies a database error. Connection-level failures (the server is down, the pool timed
/// out, the connection broke) become `Unavailable`; everything else is `Internal`.
pub fn classify(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match &e {
        E::Io(_)
        | E::Tls(_)
        | E::Protocol(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == "40001" || code == "40P01" {
                // MySQL deadlock (1213) and PostgreSQL serialization failure / deadlock.
                StoreError::Internal(format!("{RETRY_MARK}{e}"))
            } else if code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || matches!(code.as_str(), "5" | "6" | "261" | "262" | "517")
            {
                // Connection exceptions, PostgreSQL shutdown and resource exhaustion, SQLite
                // BUSY/LOCKED after its busy timeout.
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Internal(e.to_string())
            }
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// Whether a failed transaction lost a race that a retry can win.
pub(crate) fn is_retry(e: &StoreError) -> bool {
    matches!(e, StoreError::Internal(detail) if detail.starts_with(RETRY_MARK))
}
