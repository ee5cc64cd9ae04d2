//! Search in storage: the caller's current rooms joined to their messages through
//! `messages_room`, each word a substring test on `search_text` (written with every message,
//! `chat_core::search::index_text`), newest first; and the backfill that gives messages stored
//! before search their `search_text`.
//!
//! Why no inverted index: a search is always within one person's rooms, so the rooms index
//! already narrows it to their own history, and a substring test on the folded text is exact
//! for Korean (particles, words inside words, 초성) where every tokenizer the three databases
//! offer is not. docs/DESIGN.md ("Search") has the reasoning and the numbers.

use chat_core::search::{index_text, SearchQuery};
use chat_core::{ChatMessage, RoomId, StoreError, UserId};

use crate::rows::{message_from_row, SqlRow};
use crate::{classify, on_pool, Backend, Pools, SqlStore, MESSAGE_COLS};

/// Messages given their `search_text` per backfill statement: small enough that the
/// writer it shares the database with waits at most a few milliseconds.
const BACKFILL_BATCH: i64 = 500;

/// `search_text` contains `?`, spelled for the backend. Each is a plain substring test: no
/// character of the word is a pattern.
fn contains(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite | Backend::MySql => "INSTR(m.search_text, ?) > 0",
        Backend::Postgres => "STRPOS(m.search_text, ?) > 0",
    }
}

/// The statement for a query of `words` words, with or without a room and a cursor.
fn search_sql(backend: Backend, words: usize, room: bool, before: bool) -> String {
    let mut sql = format!(
        "SELECT {cols} FROM (SELECT uuid FROM rooms WHERE buyer = ? AND buyer_active = 1 \
         UNION ALL SELECT uuid FROM rooms WHERE seller = ? AND seller_active = 1) mine \
         JOIN messages m ON m.room_uuid = mine.uuid WHERE 1 = 1",
        cols = MESSAGE_COLS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if room {
        sql.push_str(" AND m.room_uuid = ?");
    }
    if before {
        sql.push_str(" AND m.id < ?");
    }
    for _ in 0..words {
        sql.push_str(" AND ");
        sql.push_str(contains(backend));
    }
    let sql = match backend {
        // PostgreSQL would otherwise plan for the LIMIT: whenever its estimates make the
        // caller's rooms look large, it walks the whole primary key backwards, testing every
        // message of the service until it has a page (828 ms on the bench's 1,000,000
        // messages). The `OFFSET 0` fence plans the hits without the LIMIT: through the
        // caller's rooms and the room index (16 ms). docs/BENCHMARKS.md, "Search".
        Backend::Postgres => {
            format!("SELECT * FROM ({sql} OFFSET 0) hits ORDER BY m_id DESC LIMIT ?")
        }
        Backend::Sqlite | Backend::MySql => format!("{sql} ORDER BY m.id DESC LIMIT ?"),
    };
    backend.placeholders(&sql)
}

impl SqlStore {
    /// See [`chat_core::ports::ChatStore::search`].
    pub(crate) async fn search_messages(
        &self,
        user: &UserId,
        query: &SearchQuery,
        room: Option<&RoomId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let sql = search_sql(
            self.backend,
            query.words().len(),
            room.is_some(),
            before.is_some(),
        );
        let room = room.map(RoomId::to_text);
        on_pool!(self, read, |pool| {
            let mut q = sqlx::query(&sql).bind(user.as_str()).bind(user.as_str());
            if let Some(room) = &room {
                q = q.bind(room.as_str());
            }
            if let Some(before) = before {
                q = q.bind(before);
            }
            for word in query.words() {
                q = q.bind(word.as_str());
            }
            let rows = q
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter().map(message_from_row).collect()
        })
    }

    /// Writes `search_text` for messages stored without it (before search existed), oldest
    /// first, in small transactions; returns how many it wrote. It walks only the ids the
    /// migration found (`search_backfill.up_to`: every later message is written with its
    /// form) and deletes that mark when done, so a start after the first finds nothing to
    /// scan. Safe to run on every node at once: a row is only ever given the same value.
    pub async fn backfill_search_text(&self) -> Result<u64, StoreError> {
        let up_to: Option<i64> = on_pool!(self, read, |pool| {
            sqlx::query_scalar("SELECT MAX(up_to) FROM search_backfill")
                .fetch_one(pool)
                .await
                .map_err(classify)
        })?;
        let Some(up_to) = up_to else {
            return Ok(0);
        };
        let select = self.sql(
            "SELECT id, content FROM messages WHERE id > ? AND id <= ? \
             AND search_text IS NULL ORDER BY id LIMIT ?",
        );
        let update = self.sql("UPDATE messages SET search_text = ? WHERE id = ?");
        let mut after = 0i64;
        let mut written = 0u64;
        loop {
            let batch: Vec<(i64, String)> = on_pool!(self, read, |pool| {
                let rows = sqlx::query(&select)
                    .bind(after)
                    .bind(up_to)
                    .bind(BACKFILL_BATCH)
                    .fetch_all(pool)
                    .await
                    .map_err(classify)?;
                rows.iter()
                    .map(|r| Ok((r.int("id")?, r.text("content")?)))
                    .collect::<Result<Vec<_>, StoreError>>()
            })?;
            let Some(&(last, _)) = batch.last() else {
                on_pool!(self, write, |pool| {
                    sqlx::query("DELETE FROM search_backfill")
                        .execute(pool)
                        .await
                        .map(|_| ())
                        .map_err(classify)
                })?;
                return Ok(written);
            };
            after = last;
            on_pool!(self, write, |pool| {
                let mut tx = pool
                    .begin_with(self.backend.begin())
                    .await
                    .map_err(classify)?;
                for (id, content) in &batch {
                    sqlx::query(&update)
                        .bind(index_text(content))
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(classify)?;
                }
                tx.commit().await.map_err(classify)
            })?;
            written += batch.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_have_one_placeholder_per_value() {
        for backend in [Backend::Sqlite, Backend::MySql, Backend::Postgres] {
            for (words, room, before) in [(1, false, false), (3, true, true)] {
                let sql = search_sql(backend, words, room, before);
                let values = 2 + words + usize::from(room) + usize::from(before) + 1;
                let marks = match backend {
                    Backend::Postgres => sql.matches('$').count(),
                    _ => sql.matches('?').count(),
                };
                assert_eq!(marks, values, "{sql}");
            }
        }
        assert!(search_sql(Backend::Postgres, 1, false, false).contains("STRPOS"));
    }
}
