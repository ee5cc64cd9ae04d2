//! SQL storage for reuse-chat: one body of queries behind the core's [`ChatStore`], compiled for
//! SQLite, MySQL/MariaDB and PostgreSQL.
//!
//! Why sqlx with per-backend pools rather than its `Any` driver or an ORM: every query is written
//! once in portable SQL and the bodies are instantiated once per backend by [`on_pool!`], so each
//! backend decodes with its own native types (`Any` cannot decode MySQL `TEXT` into `String` and
//! does not rewrite `?` placeholders for PostgreSQL). The few real dialect differences (the
//! placeholder syntax, `FOR UPDATE`, how an inserted id comes back, the DDL) live in [`sql`],
//! in `append` (ids of a multi-row insert) and in `migrations/<backend>/`.

mod append;
mod attachments;
mod error;
pub mod inquiries;
mod listing;
mod notifications;
mod outbox;
mod people;
mod plan;
mod rows;
mod safety;
mod search;
mod sql;
mod sqlite_writer;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::ports::ChatStore;
use chat_core::{
    AppendOutcome, ChatMessage, HistoryCursor, HistoryPage, LeaveOutcome, MarkReadOutcome,
    MessageKind, Millis, NewInquiry, NewMessage, NewRoom, Notice, ReadMark, Room, RoomId,
    Sequenced, StoreError, StoreErrorKind, UserId,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use append::ROWS_PER_STATEMENT;
pub use error::classify;
use rows::{message_from_row, room_from_row, LockedRoom, SqlRow, LOCKED_ROOM_COLS};
pub use sql::Backend;
use sqlite_writer::SqliteWriter;

/// How long a SQLite connection waits for another connection's write lock before it reports
/// the database unavailable.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection settings that do not belong in the URL.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections in the pool (MySQL and PostgreSQL; SQLite has one writer and a few readers).
    pub max_connections: u32,
    /// How long an operation waits for a connection before it reports the database unavailable:
    /// the upper bound on how long a `SEND` waits while the database is down.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The pools of whichever backend the URL named.
enum Pools {
    /// SQLite allows one writer at a time: a one-connection writer pool serialises writes in
    /// this process (so a transaction never has to upgrade its lock and fail with `BUSY`),
    /// while WAL lets the reader pool run beside it.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
    },
    MySql(MySqlPool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the configured backend's pool (`write` or `read`): the
/// body is compiled once per backend, which is how one body of queries serves three dialects.
macro_rules! on_pool {
    ($store:expr, $kind:ident, |$pool:ident| $body:expr) => {
        match &$store.pools {
            Pools::Sqlite { $kind, .. } => {
                let $pool = $kind;
                $body
            }
            Pools::MySql(p) => {
                let $pool = p;
                $body
            }
            Pools::Postgres(p) => {
                let $pool = p;
                $body
            }
        }
    };
}

/// Inserts a row inside the transaction `$tx` and yields its generated `id`: MySQL cannot say
/// `RETURNING`, so it asks `LAST_INSERT_ID()` on the same connection instead.
macro_rules! insert_id {
    ($backend:expr, $tx:ident, $sql:expr, |$q:ident| $binds:expr) => {{
        if $backend == Backend::MySql {
            let $q = sqlx::query($sql);
            $binds.execute(&mut *$tx).await.map_err(classify)?;
            sqlx::query_scalar::<_, i64>("SELECT CAST(LAST_INSERT_ID() AS SIGNED)")
                .fetch_one(&mut *$tx)
                .await
                .map_err(classify)?
        } else {
            let returning = format!("{} RETURNING id", $sql);
            let $q = sqlx::query(&returning);
            let row = $binds.fetch_one(&mut *$tx).await.map_err(classify)?;
            $crate::rows::SqlRow::int(&row, "id")?
        }
    }};
}

pub(crate) use {insert_id, on_pool};

/// How many times a transaction that lost a deadlock or serialization race is retried.
const TX_ATTEMPTS: usize = 3;

/// Runs a transaction again, up to [`TX_ATTEMPTS`] times in all, while it fails with an error
/// worth retrying at once (a deadlock or serialization failure).
pub(crate) async fn retried<T, F, Fut>(mut transaction: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match transaction().await {
            Err(e) if attempt < TX_ATTEMPTS && e.is_retryable() => continue,
            other => return other,
        }
    }
}

/// Message columns, in the order [`message_from_row`] reads them by name.
pub(crate) const MESSAGE_COLS: &str =
    "id AS m_id, room_uuid AS m_room, sender AS m_sender, content AS m_content, kind AS m_kind, \
     created_at AS m_created_at, client_message_id AS m_cmid, notice AS m_notice, \
     attachments AS m_att, warnings AS m_warn, notice_data AS m_nd";

/// A room with its newest message, as [`room_from_row`] reads it.
const ROOM_SELECT: &str = "SELECT r.uuid, r.name, r.product_id, r.buyer, r.seller, \
     r.buyer_active, r.seller_active, r.created_at, r.message_count, r.buyer_read_id, \
     r.buyer_read_count, r.seller_read_id, r.seller_read_count, r.product_status, \
     r.appointment_at, r.appointment_place, r.appointment_by, r.buyer_muted_until, \
     r.seller_muted_until, m.id AS m_id, m.room_uuid AS m_room, \
     m.sender AS m_sender, m.content AS m_content, m.kind AS m_kind, \
     m.created_at AS m_created_at, m.client_message_id AS m_cmid, m.notice AS m_notice, \
     m.attachments AS m_att, m.warnings AS m_warn, m.notice_data AS m_nd \
     FROM rooms r LEFT JOIN messages m ON m.id = r.last_message_id";

/// The SQL implementation of [`ChatStore`].
pub struct SqlStore {
    pools: Pools,
    backend: Backend,
    /// SQLite on a file: the thread every group commit runs on (`None` for the server
    /// databases, and for an in-memory SQLite database, which exists only on sqlx's connection).
    sqlite_writer: Option<SqliteWriter>,
}

impl SqlStore {
    /// Opens a pool for `url` (`sqlite://…`, `mysql://…`/`mariadb://…` or `postgres://…`) and
    /// checks that the database answers.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<SqlStore, StoreError> {
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::internal(
                "unsupported database URL: expected sqlite://, mysql:// or postgres://",
            )
        })?;
        let bad_url = |e: sqlx::Error| {
            StoreError::with_source(StoreErrorKind::Internal, "invalid database URL", e)
        };
        let (pools, sqlite_writer) = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // sqlx's SQLite worker thread hands rows over through a bounded channel
                    // (50 by default) and sleeps whenever it is full: room for a whole
                    // statement's rows (a batch's `INSERT … RETURNING`) saves those hand-offs.
                    .row_buffer_size(ROWS_PER_STATEMENT);
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let file = (!in_memory).then(|| opts.get_filename().to_path_buf());
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(opts.clone())
                    .await
                    .map_err(classify)?;
                // An in-memory database exists once per connection: readers must share it.
                let read = if in_memory {
                    write.clone()
                } else {
                    SqlitePoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(options.acquire_timeout)
                        .connect_with(opts)
                        .await
                        .map_err(classify)?
                };
                let writer = match file {
                    Some(path) => Some(SqliteWriter::open(&path, SQLITE_BUSY_TIMEOUT)?),
                    None => None,
                };
                (Pools::Sqlite { write, read }, writer)
            }
            Backend::MySql => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                let opts = MySqlConnectOptions::from_str(&url)
                    .map_err(bad_url)?
                    .charset("utf8mb4");
                let pool = MySqlPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(classify)?;
                (Pools::MySql(pool), None)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url).map_err(bad_url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(opts)
                    .await
                    .map_err(classify)?;
                (Pools::Postgres(pool), None)
            }
        };
        Ok(SqlStore {
            pools,
            backend,
            sqlite_writer,
        })
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date. Safe when several nodes start at once on one database:
    /// - PostgreSQL: sqlx's migrator holds a database-wide advisory lock.
    /// - MySQL/MariaDB: sqlx's own lock (`GET_LOCK(…, -1)`) does not hold on MariaDB, and MySQL
    ///   DDL is not transactional, so the whole run happens on one connection holding a
    ///   `GET_LOCK` we take and check ourselves.
    /// - SQLite: DDL is transactional, so a run that lost the race rolls back completely; it is
    ///   retried and then finds the migrations applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let failed = |e: sqlx::migrate::MigrateError| match e {
            sqlx::migrate::MigrateError::Execute(e) => classify(e),
            other => StoreError::with_source(StoreErrorKind::Internal, "migration failed", other),
        };
        match &self.pools {
            Pools::Postgres(p) => sqlx::migrate!("./migrations/postgres")
                .run(p)
                .await
                .map_err(failed),
            Pools::MySql(p) => {
                let mut conn = p.acquire().await.map_err(classify)?;
                let got: Option<i64> = sqlx::query_scalar(
                    "SELECT GET_LOCK(CONCAT('reuse-chat-migrate:', DATABASE()), 120)",
                )
                .fetch_one(&mut *conn)
                .await
                .map_err(classify)?;
                if got != Some(1) {
                    return Err(StoreError::unavailable(
                        "another node held the migration lock for 120 s",
                    ));
                }
                let mut migrator = sqlx::migrate!("./migrations/mysql");
                migrator.set_locking(false);
                let result = migrator.run(&mut *conn).await.map_err(failed);
                let released =
                    sqlx::query("SELECT RELEASE_LOCK(CONCAT('reuse-chat-migrate:', DATABASE()))")
                        .execute(&mut *conn)
                        .await;
                if released.is_err() {
                    // The lock dies with the connection: do not hand it back to the pool.
                    conn.detach();
                }
                result
            }
            Pools::Sqlite { write, .. } => {
                let mut attempt = 0;
                loop {
                    match sqlx::migrate!("./migrations/sqlite").run(write).await {
                        Ok(()) => return Ok(()),
                        Err(e) if attempt < 5 => {
                            attempt += 1;
                            tracing::debug!(error = %e, attempt, "migration raced; retrying");
                            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                        }
                        Err(e) => return Err(failed(e)),
                    }
                }
            }
        }
    }

    /// Closes every connection; waits for operations in progress.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
            Pools::MySql(p) => p.close().await,
            Pools::Postgres(p) => p.close().await,
        }
    }

    fn sql(&self, s: &str) -> String {
        self.backend.placeholders(s)
    }

    /// Reads one room under its row lock (SQLite: the transaction's write lock).
    fn lock_room_sql(&self) -> String {
        self.sql(&format!(
            "SELECT {LOCKED_ROOM_COLS} FROM rooms WHERE uuid = ?{}",
            self.backend.for_update()
        ))
    }

    async fn leave_once(
        &self,
        room: &RoomId,
        user: &UserId,
        notice: &str,
        at: Millis,
    ) -> Result<LeaveOutcome, StoreError> {
        let backend = self.backend;
        let uuid = room.to_text();
        let lock_room = self.lock_room_sql();
        let insert = self.sql(listing::INSERT_NOTICE);
        let leave_buyer = self.sql(
            "UPDATE rooms SET buyer_active = 0, last_message_id = ?, last_activity_at = ?, \
             message_count = ? WHERE uuid = ?",
        );
        let leave_seller = self.sql(
            "UPDATE rooms SET seller_active = 0, last_message_id = ?, last_activity_at = ?, \
             message_count = ? WHERE uuid = ?",
        );
        let delete_messages = self.sql("DELETE FROM messages WHERE room_uuid = ?");
        let doom_photos = self.sql(
            "UPDATE attachments SET state = 'doomed' WHERE room_uuid = ? AND state <> 'uploading'",
        );
        let delete_room = self.sql("DELETE FROM rooms WHERE uuid = ?");
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let row = sqlx::query(&lock_room)
                .bind(&uuid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(LeaveOutcome::NoSuchRoom);
            };
            let mut locked = LockedRoom::from_row(&row)?;
            let (m, prev, seq) = (&locked.membership, locked.last, locked.count + 1);
            let user_s = user.as_str();
            let is_buyer = m.buyer_active && m.buyer.as_str() == user_s;
            let is_seller = m.seller_active && m.seller.as_str() == user_s;
            if !is_buyer && !is_seller {
                return Ok(LeaveOutcome::NotMember);
            }
            let other_remains = if is_buyer {
                m.seller_active && m.seller.as_str() != user_s
            } else {
                m.buyer_active && m.buyer.as_str() != user_s
            };
            if !other_remains {
                // The room's photos go with it: the janitor deletes their bytes. One still
                // being written stays until its 24 h are over, so its bytes are surely written
                // by the time they are deleted.
                sqlx::query(&doom_photos)
                    .bind(&uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                sqlx::query(&delete_messages)
                    .bind(&uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                sqlx::query(&delete_room)
                    .bind(&uuid)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                return Ok(LeaveOutcome::Deleted(Box::new(locked.snapshot(*room))));
            }
            let id = listing::insert_notice!(
                backend,
                tx,
                &insert,
                &uuid,
                user_s,
                notice,
                at.0,
                &Notice::MemberLeft,
                seq
            );
            let update = if is_buyer {
                &leave_buyer
            } else {
                &leave_seller
            };
            sqlx::query(update)
                .bind(id)
                .bind(at.0)
                .bind(seq)
                .bind(&uuid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            locked.count = seq;
            locked.last = Some(id);
            // The leaver's last view has their own notice read: nothing of the room is
            // unread for someone who is gone (a rejoin starts from the newest anyway).
            let read_all = ReadMark {
                up_to: id,
                count: seq,
            };
            if is_buyer {
                locked.membership.buyer_active = false;
                locked.buyer_read = read_all;
            } else {
                locked.membership.seller_active = false;
                locked.seller_read = read_all;
            }
            let after = locked.snapshot(*room);
            Ok(LeaveOutcome::Left(Sequenced {
                message: ChatMessage {
                    attachments: Vec::new(),
                    id,
                    room: *room,
                    sender: user.clone(),
                    content: notice.to_owned(),
                    kind: MessageKind::System,
                    created_at: at,
                    client_message_id: None,
                    notice: Some(Notice::MemberLeft),
                    warnings: chat_core::safety::Warnings::NONE,
                },
                prev,
                room: Some(Arc::new(after)),
            }))
        })
    }

    async fn mark_read_once(
        &self,
        room: &RoomId,
        user: &UserId,
        up_to: i64,
    ) -> Result<MarkReadOutcome, StoreError> {
        let backend = self.backend;
        let uuid = room.to_text();
        let lock_room = self.lock_room_sql();
        // The newest message at or before the mark, by the (room_uuid, id) index: one seek.
        let target = self.sql(
            "SELECT id, seq FROM messages WHERE room_uuid = ? AND id <= ? \
             ORDER BY id DESC LIMIT 1",
        );
        let move_buyer =
            self.sql("UPDATE rooms SET buyer_read_id = ?, buyer_read_count = ? WHERE uuid = ?");
        let move_seller =
            self.sql("UPDATE rooms SET seller_read_id = ?, seller_read_count = ? WHERE uuid = ?");
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin_with(backend.begin()).await.map_err(classify)?;
            let row = sqlx::query(&lock_room)
                .bind(&uuid)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(MarkReadOutcome::NoSuchRoom);
            };
            let mut locked = LockedRoom::from_row(&row)?;
            let is_buyer = locked.membership.buyer == *user;
            let newest = locked.last.unwrap_or_default();
            let Some(mark) = locked.mark_of(user.as_str()) else {
                return Ok(MarkReadOutcome::NotMember);
            };
            let wanted = up_to.min(newest);
            if wanted <= mark.up_to {
                return Ok(MarkReadOutcome::Unchanged);
            }
            let row = sqlx::query(&target)
                .bind(&uuid)
                .bind(wanted)
                .fetch_optional(&mut *tx)
                .await
                .map_err(classify)?;
            let Some(row) = row else {
                return Ok(MarkReadOutcome::Unchanged);
            };
            let to = ReadMark {
                up_to: row.int("id")?,
                count: row.int("seq")?,
            };
            if to.up_to <= mark.up_to {
                return Ok(MarkReadOutcome::Unchanged);
            }
            let update = if is_buyer { &move_buyer } else { &move_seller };
            sqlx::query(update)
                .bind(to.up_to)
                .bind(to.count)
                .bind(&uuid)
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
            tx.commit().await.map_err(classify)?;
            Ok(MarkReadOutcome::Moved(to.up_to))
        })
    }

    /// Reads a room on the writer's side, so that it sees what this process just wrote.
    async fn room_where(&self, column: &str, value: &str) -> Result<Option<Room>, StoreError> {
        let sql = self.sql(&format!("{ROOM_SELECT} WHERE r.{column} = ?"));
        on_pool!(self, write, |pool| {
            let row = sqlx::query(&sql)
                .bind(value)
                .fetch_optional(pool)
                .await
                .map_err(classify)?;
            match row {
                Some(row) => Ok(Some(room_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    async fn insert_room(&self, new: &NewRoom) -> Result<bool, StoreError> {
        let sql = self.sql(
            "INSERT INTO rooms (uuid, pair_key, name, product_id, buyer, seller, buyer_active, \
             seller_active, created_at, last_activity_at, last_message_id, product_status) \
             VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, NULL, \
             (SELECT status FROM products WHERE product_id = ?))",
        );
        on_pool!(self, write, |pool| {
            let result = sqlx::query(&sql)
                .bind(new.id.to_text())
                .bind(new.pair_key.as_str())
                .bind(new.name.as_str())
                .bind(new.product_id.as_deref())
                .bind(new.buyer.as_str())
                .bind(new.seller.as_str())
                .bind(new.created_at.0)
                .bind(new.created_at.0)
                .bind(new.product_id.as_deref())
                .execute(pool)
                .await;
            match result {
                Ok(_) => Ok(true),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                Err(e) => Err(classify(e)),
            }
        })
    }

    async fn rejoin(&self, room: &Room, user: &UserId) -> Result<(), StoreError> {
        let column = if &room.buyer == user {
            "buyer"
        } else {
            "seller"
        };
        // A member who comes back opens the room afresh: what was said while they were away
        // is there to scroll through, not a badge (docs/API.md, "Read marks").
        let sql = self.sql(&format!(
            "UPDATE rooms SET {column}_active = 1, \
             {column}_read_id = COALESCE(last_message_id, 0), {column}_read_count = message_count \
             WHERE uuid = ? AND {column} = ?"
        ));
        on_pool!(self, write, |pool| {
            sqlx::query(&sql)
                .bind(room.id.to_text())
                .bind(user.as_str())
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }
}

#[async_trait]
impl ChatStore for SqlStore {
    async fn open_room(&self, new: &NewRoom) -> Result<(Room, bool), StoreError> {
        // Find, else insert; a unique-key conflict means another request created it first.
        // A room can vanish in between (its last member left), hence the bounded loop.
        for _ in 0..TX_ATTEMPTS {
            if let Some(room) = self.room_where("pair_key", &new.pair_key).await? {
                if room.is_member(&new.buyer) {
                    return Ok((room, false));
                }
                if room.buyer == new.buyer || room.seller == new.buyer {
                    self.rejoin(&room, &new.buyer).await?;
                    if let Some(room) = self.room_where("uuid", &room.id.to_text()).await? {
                        return Ok((room, false));
                    }
                }
                continue;
            }
            if self.insert_room(new).await? {
                // Read back: the room starts with the listing's recorded status.
                if let Some(room) = self.room_where("uuid", &new.id.to_text()).await? {
                    return Ok((room, true));
                }
            }
        }
        Err(StoreError::internal(
            "open_room: the room kept changing under concurrent requests",
        ))
    }

    async fn room(&self, id: &RoomId) -> Result<Option<Room>, StoreError> {
        let sql = self.sql(&format!("{ROOM_SELECT} WHERE r.uuid = ?"));
        on_pool!(self, read, |pool| {
            let row = sqlx::query(&sql)
                .bind(id.to_text())
                .fetch_optional(pool)
                .await
                .map_err(classify)?;
            match row {
                Some(row) => Ok(Some(room_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    async fn rooms_of(&self, user: &UserId, limit: u32) -> Result<Vec<Room>, StoreError> {
        let sql = self.sql(&format!(
            "{ROOM_SELECT} WHERE (r.buyer = ? AND r.buyer_active = 1) \
             OR (r.seller = ? AND r.seller_active = 1) \
             ORDER BY r.last_activity_at DESC, r.uuid LIMIT ?"
        ));
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(user.as_str())
                .bind(user.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter().map(room_from_row).collect()
        })
    }

    async fn leave(
        &self,
        room: &RoomId,
        user: &UserId,
        notice: &str,
        at: Millis,
    ) -> Result<LeaveOutcome, StoreError> {
        retried(|| self.leave_once(room, user, notice, at)).await
    }

    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<AppendOutcome>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(writer) = &self.sqlite_writer {
            return writer.append(batch).await;
        }
        retried(|| append::append_once(self, batch)).await
    }

    async fn history(
        &self,
        room: &RoomId,
        page: HistoryPage,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let (filter, order, cursor) = match page.cursor {
            HistoryCursor::Latest => ("", "DESC", None),
            HistoryCursor::Before(id) => (" AND id < ?", "DESC", Some(id)),
            HistoryCursor::After(id) => (" AND id > ?", "ASC", Some(id)),
        };
        let sql = self.sql(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE room_uuid = ?{filter} \
             ORDER BY id {order} LIMIT ?"
        ));
        on_pool!(self, read, |pool| {
            let mut query = sqlx::query(&sql).bind(room.to_text());
            if let Some(id) = cursor {
                query = query.bind(id);
            }
            let rows = query
                .bind(i64::from(page.limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            let mut messages = rows
                .iter()
                .map(message_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            if order == "DESC" {
                messages.reverse();
            }
            Ok(messages)
        })
    }

    async fn search(
        &self,
        user: &UserId,
        query: &chat_core::search::SearchQuery,
        room: Option<&RoomId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.search_messages(user, query, room, before, limit).await
    }

    async fn mark_read(
        &self,
        room: &RoomId,
        user: &UserId,
        up_to: i64,
    ) -> Result<MarkReadOutcome, StoreError> {
        retried(|| self.mark_read_once(room, user, up_to)).await
    }

    async fn unread_counts(&self, user: &UserId, limit: u32) -> Result<Vec<i64>, StoreError> {
        // Each half reads one index (rooms_buyer, rooms_seller) and the rooms' counters.
        let sql = self.sql(
            "SELECT message_count - buyer_read_count AS unread FROM rooms \
             WHERE buyer = ? AND buyer_active = 1 \
             UNION ALL SELECT message_count - seller_read_count AS unread FROM rooms \
             WHERE seller = ? AND seller_active = 1 LIMIT ?",
        );
        on_pool!(self, read, |pool| {
            let rows = sqlx::query(&sql)
                .bind(user.as_str())
                .bind(user.as_str())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(classify)?;
            rows.iter()
                .map(|row| row.int("unread").map(|n| n.max(0)))
                .collect()
        })
    }

    async fn partners(&self, user: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError> {
        people::partners(self, user, limit).await
    }

    async fn record_last_seen(&self, user: &UserId, at: Millis) -> Result<(), StoreError> {
        people::record_last_seen(self, user, at).await
    }

    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Millis)>, StoreError> {
        people::last_seen(self, users).await
    }

    async fn save_inquiry(&self, inquiry: &NewInquiry) -> Result<i64, StoreError> {
        inquiries::save(self, inquiry).await
    }

    async fn unsent_inquiries(&self) -> Result<u64, StoreError> {
        outbox::pending(self, "inquiries").await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, read, |pool| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(classify)?;
            Ok(())
        })
    }
}
