//! The SQLite writer: a thread of its own with a connection on which every group commit runs,
//! through statements prepared once.
//!
//! Why: through sqlx, each statement of a batch is a message to sqlx's SQLite worker thread and
//! each row a message back, with every value copied into an owned row; most of the CPU a stored
//! message cost went there and to the allocator (docs/BENCHMARKS.md, "The cost of a stored
//! message"). Here the batch is one hand-off to the thread and the statements are the bare
//! loop's: one prepared statement per step, bound and stepped per row, in one `BEGIN IMMEDIATE`
//! transaction. The rules (who may write, duplicates, sequencing) are [`crate::plan`]'s, the
//! same as the sqlx path's. Durability is the connection's: WAL with `synchronous=NORMAL`,
//! the reply is sent only after `COMMIT` returned.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chat_core::search::index_text;
use chat_core::{AppendOutcome, ChatMessage, NewMessage, StoreError, StoreErrorKind};
use rusqlite::{params, Connection, ErrorCode, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::plan::{key, keys_to_look_up, rooms_to_lock, BatchPlan, LockedRooms};
use crate::rows::{attachments_json, message_from_row, LockedRoom, SqlRow, LOCKED_ROOM_COLS};
use crate::{Backend, MESSAGE_COLS};

/// Batches waiting for the writer. The committer has one batch in flight at a time; a little
/// room lets a second store handle (tests, tools) queue without blocking.
const QUEUE: usize = 4;

/// The writer connection's page cache, in KiB: the leaves of both message indexes for a
/// thousand busy rooms. Much larger costs more than it saves: SQLite walks the whole cache's
/// hash table at the end of every write transaction (`pcache1TruncateUnsafe`).
const WRITER_CACHE_KIB: i64 = 8 * 1024;

/// How often the checkpointer thread moves committed WAL frames into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// WAL pages after which the writer checkpoints itself, in case the checkpointer thread falls
/// behind (SQLite's default is 1,000). Normally never reached: the checkpointer runs first.
const WAL_BACKSTOP_PAGES: i64 = 16_000;

/// One batch to store and where its outcomes go.
struct Job {
    batch: Vec<NewMessage>,
    /// Each message's `search_text`, made before the hand-off so the one writer thread does
    /// not spend its time on it.
    search_texts: Vec<String>,
    reply: oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>,
}

/// The handle to the writer thread; the thread ends (and closes its connection) when the
/// handle is dropped and the queued batches are stored.
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// Dropped with the writer, which ends the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

impl SqliteWriter {
    /// Opens a second connection on the database file `path` (which sqlx has created) with the
    /// store's settings and starts the thread.
    pub(crate) fn open(path: &Path, busy_timeout: Duration) -> Result<SqliteWriter, StoreError> {
        let conn = Connection::open(path).map_err(classify)?;
        conn.busy_timeout(busy_timeout).map_err(classify)?;
        // WAL is a property of the file (sqlx set it); synchronous and foreign keys are per
        // connection. NORMAL in WAL mode: a commit survives a crash of the process; only a
        // power loss can take back the last commits, as on the sqlx connections.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(classify)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(classify)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(classify)?;
        // Each batch dirties a leaf of both message indexes per room it touches: a page cache
        // that holds the indexes' working set saves re-reading those pages from the WAL on
        // every batch (SQLite's default is 2 MiB).
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
            .map_err(classify)?;
        // Checkpoints run on a thread of their own (below), so a commit never waits for one:
        // copying the WAL's pages back and the database file's `fsync` took the writer tens
        // of milliseconds at a time, in the tail of every sender waiting on that commit.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)
            .map_err(classify)?;
        conn.set_prepared_statement_cache_capacity(16);
        let checkpointer = Connection::open(path).map_err(classify)?;
        checkpointer.busy_timeout(busy_timeout).map_err(classify)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (jobs, rx) = mpsc::channel(QUEUE);
        let thread_failed =
            |e| StoreError::with_source(StoreErrorKind::Internal, "SQLite writer threads", e);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint(checkpointer, stopped))
            .map_err(thread_failed)?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(thread_failed)?;
        Ok(SqliteWriter {
            jobs,
            _checkpointer: stop,
        })
    }

    /// Stores a batch in one transaction; the outcome of each message, in batch order.
    pub(crate) async fn append(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            batch: batch.to_vec(),
            search_texts: batch.iter().map(|m| index_text(&m.content)).collect(),
            reply,
        };
        self.jobs.send(job).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::unavailable("the SQLite writer thread has stopped")
}

/// Every [`CHECKPOINT_EVERY`], a passive checkpoint: it copies what it can without waiting
/// for (or blocking) the writer or any reader, so commits go on while it copies and syncs.
/// Ends when the writer's handle is dropped.
fn checkpoint(conn: Connection, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(0)
        });
        if let Err(e) = done {
            // The writer's own backstop checkpoint keeps the WAL bounded meanwhile.
            tracing::warn!(error = %e, "SQLite checkpoint failed");
        }
    }
}

fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.blocking_recv() {
        let outcome = append(&mut conn, &job.batch, &job.search_texts);
        // The sender may have gone (its task was cancelled): the batch is stored regardless.
        let _ = job.reply.send(outcome);
    }
}

/// The statement texts, kept constant so that the connection's statement cache finds them.
fn select_room() -> String {
    format!("SELECT {LOCKED_ROOM_COLS} FROM rooms WHERE uuid = ?1")
}
const INSERT_MESSAGE: &str = "INSERT INTO messages \
     (room_uuid, sender, content, kind, created_at, client_message_id, notice, seq, attachments, \
     warnings, search_text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
const TOUCH_ROOM: &str = "UPDATE rooms SET last_message_id = ?2, last_activity_at = ?3, \
     message_count = ?4, buyer_read_id = ?5, buyer_read_count = ?6, seller_read_id = ?7, \
     seller_read_count = ?8 WHERE uuid = ?1";

fn select_by_key() -> String {
    format!(
        "SELECT {MESSAGE_COLS} FROM messages \
         WHERE room_uuid = ?1 AND sender = ?2 AND client_message_id = ?3"
    )
}

/// One group commit: lock, look up, decide, insert, sequence, touch the rooms, commit.
fn append(
    conn: &mut Connection,
    batch: &[NewMessage],
    search_texts: &[String],
) -> Result<Vec<AppendOutcome>, StoreError> {
    let room_texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
    // IMMEDIATE takes the write lock up front, so the transaction never has to upgrade a read
    // lock (which SQLite refuses with BUSY at once, whatever the busy timeout).
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(classify)?;

    let rooms = rooms_to_lock(&room_texts);
    let mut locked: LockedRooms = HashMap::with_capacity(rooms.len());
    {
        let mut select = tx.prepare_cached(&select_room()).map_err(classify)?;
        for room in rooms {
            let mut rows = select.query([room]).map_err(classify)?;
            if let Some(row) = rows.next().map_err(classify)? {
                locked.insert(room.to_owned(), LockedRoom::from_row(row)?);
            }
        }
    }

    let mut stored_before: HashMap<_, ChatMessage> = HashMap::new();
    let keys = keys_to_look_up(batch, &room_texts, &locked);
    if !keys.is_empty() {
        let mut select = tx.prepare_cached(&select_by_key()).map_err(classify)?;
        for (room, sender, cmid) in keys {
            let mut rows = select.query([room, sender, cmid]).map_err(classify)?;
            while let Some(row) = rows.next().map_err(classify)? {
                let m = message_from_row(row)?;
                if let Some(cmid) = &m.client_message_id {
                    let k = key(Backend::Sqlite, room, m.sender.as_str(), cmid.as_str());
                    stored_before.insert(k, m);
                }
            }
        }
    }

    let plan = BatchPlan::decide(Backend::Sqlite, batch, &room_texts, &locked, &stored_before);
    let mut ids = Vec::with_capacity(plan.inserts.len());
    {
        let mut insert = tx.prepare_cached(INSERT_MESSAGE).map_err(classify)?;
        for (&i, &seq) in plan.inserts.iter().zip(&plan.seqs) {
            let m = &batch[i];
            insert
                .execute(params![
                    room_texts[i],
                    m.sender.as_str(),
                    m.content,
                    m.kind.as_str(),
                    m.created_at.0,
                    m.client_message_id.as_ref().map(|c| c.as_str()),
                    m.notice.as_ref().map(|n| n.as_str()),
                    seq,
                    attachments_json(&m.attachments),
                    m.warnings.bits(),
                    search_texts[i],
                ])
                .map_err(classify)?;
            ids.push(tx.last_insert_rowid());
        }
    }

    let (sequenced, touched) = plan.sequence(batch, &room_texts, &mut locked, &ids)?;
    {
        let mut touch = tx.prepare_cached(TOUCH_ROOM).map_err(classify)?;
        for (room, t) in &touched {
            touch
                .execute(params![
                    room,
                    t.last_id,
                    t.at,
                    t.count,
                    t.buyer_read.up_to,
                    t.buyer_read.count,
                    t.seller_read.up_to,
                    t.seller_read.count,
                ])
                .map_err(classify)?;
        }
    }
    tx.commit().map_err(classify)?;
    plan.outcomes(sequenced)
}

/// Classifies a SQLite error as [`crate::classify`] does sqlx's: BUSY/LOCKED after the busy
/// timeout is `Unavailable`, a value that does not decode is `Corrupt`, the rest `Internal`.
fn classify(e: rusqlite::Error) -> StoreError {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreErrorKind::Unavailable
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::InvalidColumnName(_)
        | rusqlite::Error::Utf8Error(_) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Internal,
    };
    StoreError::with_source(kind, "database", e)
}

impl SqlRow for rusqlite::Row<'_> {
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.get::<_, Option<String>>(col).map_err(classify)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.get::<_, Option<i64>>(col).map_err(classify)
    }
}
