//! Turning database errors into the domain's [`StoreError`]: "unreachable, try later", "lost a
//! race, try again", or "something is wrong", with the database's own error kept as the source.

use chat_core::{StoreError, StoreErrorKind};

/// Classifies a database error. Connection-level failures (the server is down, the pool timed
/// out, the connection broke) are `Unavailable`; lost deadlock and serialization races are
/// `Conflict`; everything else is `Internal`.
pub fn classify(e: sqlx::Error) -> StoreError {
    StoreError::with_source(kind_of(&e), "database", e)
}

fn kind_of(e: &sqlx::Error) -> StoreErrorKind {
    use sqlx::Error as E;
    match e {
        E::Io(_)
        | E::Tls(_)
        | E::Protocol(_)
        | E::PoolTimedOut
        | E::PoolClosed
        | E::WorkerCrashed => StoreErrorKind::Unavailable,
        E::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == "40001" || code == "40P01" {
                // MySQL deadlock (1213) and PostgreSQL serialization failure / deadlock.
                StoreErrorKind::Conflict
            } else if code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || matches!(code.as_str(), "5" | "6" | "261" | "262" | "517")
            {
                // Connection exceptions, PostgreSQL shutdown and resource exhaustion, SQLite
                // BUSY/LOCKED after its busy timeout.
                StoreErrorKind::Unavailable
            } else {
                StoreErrorKind::Internal
            }
        }
        E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) | E::TypeNotFound { .. } => {
            StoreErrorKind::Corrupt
        }
        _ => StoreErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_keep_their_source() {
        let e = classify(sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
        assert!(std::error::Error::source(&e).is_some());
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = classify(sqlx::Error::Io(io));
        assert!(e.is_unavailable());
        assert!(chat_core::ErrorChain(&e)
            .to_string()
            .contains("reset by peer"));
        assert_eq!(
            classify(sqlx::Error::RowNotFound).kind(),
            StoreErrorKind::Internal
        );
        assert_eq!(
            classify(sqlx::Error::ColumnNotFound("x".into())).kind(),
            StoreErrorKind::Corrupt
        );
    }
}
