//! The group commit of chat messages through sqlx (MySQL/MariaDB, PostgreSQL, in-memory SQLite;
//! a SQLite file has its own writer thread, `crate::sqlite_writer`): one transaction per batch
//! with a constant number of statements per batch (lock the rooms, look up the idempotency
//! keys, insert the messages, touch the rooms), however many messages and rooms it holds. The
//! rules of the batch are `crate::plan`'s.
//!
//! Why: every statement is a round trip — to sqlx's SQLite worker thread, or over the network
//! to MySQL/PostgreSQL — and with one to three statements per message those round trips, not
//! the databases, bounded persisted throughput (docs/BENCHMARKS.md, "What limits each number").

use std::collections::HashMap;

use chat_core::search::index_text;
use chat_core::{AppendOutcome, ChatMessage, NewMessage, StoreError};

use crate::plan::{key, keys_to_look_up, rooms_to_lock, BatchPlan, LockedRooms};
use crate::rows::{attachments_json, message_from_row, LockedRoom, SqlRow, LOCKED_ROOM_COLS};
use crate::{classify, on_pool, Backend, Pools, SqlStore, MESSAGE_COLS};

/// Rows (rooms, idempotency keys or messages) per statement. At most 15 placeholders per row
/// (the rooms' update; 11 per message) keeps a statement below every backend's limit (SQLite
/// 32,766, MySQL and PostgreSQL 65,535), and a committer batch fits in a few statements. Public so that
/// tests can send a batch larger than one statement.
pub const ROWS_PER_STATEMENT: usize = 500;

/// `n` copies of `group` joined by `sep`: the only part of a statement's text that depends on
/// the batch, and it depends on the batch's size alone (values are always bound).
fn repeat(group: &str, n: usize, sep: &str) -> String {
    vec![group; n].join(sep)
}

/// Stores a batch in one transaction; the outcome of each message, in batch order. A message
/// is stored when its room exists, its sender is a current member (checked on the locked row),
/// and its (room, sender, clientMessageId) was stored neither before nor earlier in the batch.
pub(crate) async fn append_once(
    store: &SqlStore,
    batch: &[NewMessage],
) -> Result<Vec<AppendOutcome>, StoreError> {
    let backend = store.backend;
    let room_texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
    // Rooms are locked in one global order (sorted uuids, chunk after chunk, `ORDER BY` within
    // a chunk) so that two batches never wait on each other in a cycle.
    let rooms = rooms_to_lock(&room_texts);
    on_pool!(store, write, |pool| {
        let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;

        // Per room: who may write, the id of its newest message (under the room's lock, so
        // exactly the message before the ones this batch adds), its count and read marks.
        let mut locked: LockedRooms = HashMap::with_capacity(rooms.len());
        for chunk in rooms.chunks(ROWS_PER_STATEMENT) {
            let sql = store.sql(&format!(
                "SELECT uuid, {LOCKED_ROOM_COLS} FROM rooms WHERE uuid IN ({}) ORDER BY uuid{}",
                repeat("?", chunk.len(), ", "),
                backend.for_update()
            ));
            let mut q = sqlx::query(&sql);
            for room in chunk {
                q = q.bind(*room);
            }
            for row in q.fetch_all(&mut *tx).await.map_err(classify)? {
                locked.insert(row.text("uuid")?, LockedRoom::from_row(&row)?);
            }
        }

        // The keys of the batch's messages that may be stored, looked up in one statement.
        let keys = keys_to_look_up(batch, &room_texts, &locked);
        let mut stored_before: HashMap<(String, String, String), ChatMessage> = HashMap::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = store.sql(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE {}",
                repeat(
                    "(room_uuid = ? AND sender = ? AND client_message_id = ?)",
                    chunk.len(),
                    " OR "
                )
            ));
            let mut q = sqlx::query(&sql);
            for (room, sender, cmid) in chunk {
                q = q.bind(*room).bind(*sender).bind(*cmid);
            }
            for row in q.fetch_all(&mut *tx).await.map_err(classify)? {
                let m = message_from_row(&row)?;
                if let Some(cmid) = &m.client_message_id {
                    let k = key(backend, &m.room.to_text(), m.sender.as_str(), cmid.as_str());
                    stored_before.insert(k, m);
                }
            }
        }

        let plan = BatchPlan::decide(backend, batch, &room_texts, &locked, &stored_before);

        // The inserts, in batch order, a multi-row statement per chunk; `ids[n]` is the id of
        // the n-th inserted row.
        let mut ids: Vec<i64> = Vec::with_capacity(plan.inserts.len());
        let mut start = 0;
        for chunk in plan.inserts.chunks(ROWS_PER_STATEMENT) {
            let mut sql = format!(
                "INSERT INTO messages \
                 (room_uuid, sender, content, kind, created_at, client_message_id, notice, seq, \
                 attachments, warnings, search_text) VALUES {}",
                repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk.len(), ", ")
            );
            if backend != Backend::MySql {
                sql.push_str(
                    " RETURNING id, room_uuid, sender, content, created_at, client_message_id",
                );
            }
            let sql = store.sql(&sql);
            let mut q = sqlx::query(&sql);
            for (&i, &seq) in chunk.iter().zip(&plan.seqs[start..]) {
                let m = &batch[i];
                q = q
                    .bind(room_texts[i].as_str())
                    .bind(m.sender.as_str())
                    .bind(m.content.as_str())
                    .bind(m.kind.as_str())
                    .bind(m.created_at.0)
                    .bind(m.client_message_id.as_ref().map(|c| c.as_str()))
                    .bind(m.notice.as_ref().map(|n| n.as_str()))
                    .bind(seq)
                    .bind(attachments_json(&m.attachments))
                    .bind(m.warnings.bits())
                    .bind(index_text(&m.content));
            }
            start += chunk.len();
            if backend == Backend::MySql {
                // MySQL 8 has no `INSERT … RETURNING`. `LAST_INSERT_ID()` after a multi-row
                // INSERT is the id of its FIRST row ("if you insert multiple rows using a single
                // INSERT statement, LAST_INSERT_ID() returns the value generated for the first
                // inserted row only": https://dev.mysql.com/doc/refman/8.0/en/information-functions.html#function_last-insert-id;
                // MariaDB: https://mariadb.com/kb/en/last_insert_id/ and
                // https://mariadb.com/kb/en/mysql_insert_id/). This is a "simple insert" (row
                // count known up front, no explicit ids), for which InnoDB reserves all of the
                // statement's values in one allocation in every `innodb_autoinc_lock_mode`, so
                // they are consecutive steps of `auto_increment_increment`; only "bulk inserts"
                // (INSERT … SELECT, LOAD DATA) can have gaps in mode 2
                // (https://dev.mysql.com/doc/refman/8.0/en/innodb-auto-increment-handling.html,
                // "Gaps in auto-increment values for bulk inserts").
                let done = q.execute(&mut *tx).await.map_err(classify)?;
                if done.rows_affected() != chunk.len() as u64 {
                    return Err(StoreError::internal(format!(
                        "a multi-row insert of {} messages stored {}",
                        chunk.len(),
                        done.rows_affected()
                    )));
                }
                let row = sqlx::query(
                    "SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS first_id, \
                     CAST(@@auto_increment_increment AS SIGNED) AS step",
                )
                .fetch_one(&mut *tx)
                .await
                .map_err(classify)?;
                let (first, step) = (row.int("first_id")?, row.int("step")?);
                ids.extend((0..chunk.len()).map(|k| first + step * k as i64));
            } else {
                // The order of RETURNING rows is not documented, so they are sorted by id, and
                // each is matched to its message: that also checks that the ids of one
                // statement were assigned in VALUES order (SQLite and PostgreSQL evaluate the
                // VALUES rows in order and draw each id from the AUTOINCREMENT counter or
                // identity sequence as it inserts the row), which the per-room order relies on.
                // Rows that compare equal on every column are interchangeable.
                let rows = q.fetch_all(&mut *tx).await.map_err(classify)?;
                let mut by_id = Vec::with_capacity(rows.len());
                for row in &rows {
                    by_id.push((row.int("id")?, row));
                }
                by_id.sort_unstable_by_key(|(id, _)| *id);
                if by_id.len() != chunk.len() {
                    return Err(StoreError::internal(format!(
                        "a multi-row insert of {} messages returned {} ids",
                        chunk.len(),
                        by_id.len()
                    )));
                }
                for ((id, row), &i) in by_id.into_iter().zip(chunk) {
                    let m = &batch[i];
                    let matches = row.text("room_uuid")? == room_texts[i]
                        && row.text("sender")? == m.sender.as_str()
                        && row.text("content")? == m.content
                        && row.int("created_at")? == m.created_at.0
                        && row.opt_text("client_message_id")?.as_deref()
                            == m.client_message_id.as_ref().map(|c| c.as_str());
                    if !matches {
                        return Err(StoreError::internal(
                            "a multi-row insert did not assign ids in VALUES order",
                        ));
                    }
                    ids.push(id);
                }
            }
        }

        // Sequence the stored messages: each names the room's previous message.
        let (sequenced, touched) = plan.sequence(batch, &room_texts, &mut locked, &ids)?;

        // Every touched room now points at its newest message, with its count and marks, one
        // statement per chunk.
        for chunk in touched.chunks(ROWS_PER_STATEMENT) {
            let cases = repeat("WHEN ? THEN ?", chunk.len(), " ");
            let sql = store.sql(&format!(
                "UPDATE rooms SET last_message_id = CASE uuid {cases} END, \
                 last_activity_at = CASE uuid {cases} END, \
                 message_count = CASE uuid {cases} END, \
                 buyer_read_id = CASE uuid {cases} END, \
                 buyer_read_count = CASE uuid {cases} END, \
                 seller_read_id = CASE uuid {cases} END, \
                 seller_read_count = CASE uuid {cases} END \
                 WHERE uuid IN ({})",
                repeat("?", chunk.len(), ", ")
            ));
            let columns: [fn(&crate::plan::RoomTouch) -> i64; 7] = [
                |t| t.last_id,
                |t| t.at,
                |t| t.count,
                |t| t.buyer_read.up_to,
                |t| t.buyer_read.count,
                |t| t.seller_read.up_to,
                |t| t.seller_read.count,
            ];
            let mut q = sqlx::query(&sql);
            for column in columns {
                for (room, touch) in chunk {
                    q = q.bind(*room).bind(column(touch));
                }
            }
            for (room, _) in chunk {
                q = q.bind(*room);
            }
            q.execute(&mut *tx).await.map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;

        plan.outcomes(sequenced)
    })
}
