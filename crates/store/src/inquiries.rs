//! The inquiry outbox: inquiries are stored first and mailed later by a background sender, so
//! that a mail outage loses nothing.

use chat_core::{NewInquiry, StoreError};

use crate::{classify, on_pool, Backend, Pools, SqlStore};

/// Stores a new inquiry, due for mailing at once; returns its id.
pub(crate) async fn save(store: &SqlStore, inquiry: &NewInquiry) -> Result<i64, StoreError> {
    let insert = store.sql(
        "INSERT INTO inquiries (email, title, content, user_id, created_at, attempts, \
         next_attempt_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
    );
    let backend = store.backend;
    on_pool!(store, write, |pool| {
        let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
        let id = crate::insert_id!(backend, tx, &insert, |q| q
            .bind(inquiry.email.as_str())
            .bind(inquiry.title.as_str())
            .bind(inquiry.content.as_str())
            .bind(inquiry.user.as_ref().map(|u| u.as_str()))
            .bind(inquiry.created_at.0)
            .bind(inquiry.created_at.0));
        tx.commit().await.map_err(classify)?;
        Ok(id)
    })
}
