//! The physical limit of storage: the rows reuse-chat's group commit stores in the `persist`
//! scenario, stored by a bare loop with no reuse-chat around it — one connection, the same
//! schema and indexes (reuse-chat's own migrations), the same statements per transaction, the
//! same batch and the same durability — so that reuse-chat's stored messages per second read
//! as a share of what the database itself does on the same machine.
//!
//! SQLite is driven as reuse-chat's SQLite writer thread drives it — rusqlite over the same
//! bundled SQLite, its connection settings, one prepared statement per step bound per row — but
//! on the calling thread: no hand-off, channel or async runtime between the loop and the
//! B-trees. MariaDB and PostgreSQL are driven through sqlx on a single-threaded runtime with
//! reuse-chat's multi-row statements, one transaction per batch on one connection, as its
//! committer drives them.

use std::str::FromStr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rusqlite::OpenFlags;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

use crate::client::now_us;
use crate::procstat::{self, Snapshot};
use crate::report::{latency_histogram, Percentiles, Report};
use crate::scenario::FILLER;
use crate::BenchError;

/// Rows per statement, as reuse-chat's store uses (`chat_store::ROWS_PER_STATEMENT`): a batch
/// larger than this is split into statements of this many rows, as reuse-chat splits it.
pub const ROWS_PER_STATEMENT: usize = 500;

/// reuse-chat's schema, applied as its own migrations apply it (in order).
const MIGRATIONS: [(&str, [&str; 3]); 3] = [
    (
        "sqlite",
        [
            include_str!("../../store/migrations/sqlite/0001_init.sql"),
            include_str!("../../store/migrations/sqlite/0002_message_notice.sql"),
            include_str!("../../store/migrations/sqlite/0003_read_marks.sql"),
        ],
    ),
    (
        "mysql",
        [
            include_str!("../../store/migrations/mysql/0001_init.sql"),
            include_str!("../../store/migrations/mysql/0002_message_notice.sql"),
            include_str!("../../store/migrations/mysql/0003_read_marks.sql"),
        ],
    ),
    (
        "postgres",
        [
            include_str!("../../store/migrations/postgres/0001_init.sql"),
            include_str!("../../store/migrations/postgres/0002_message_notice.sql"),
            include_str!("../../store/migrations/postgres/0003_read_marks.sql"),
        ],
    ),
];

/// Which database the bare loop stores into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageBackend {
    /// A SQLite file, with the settings and statements of reuse-chat's SQLite writer thread.
    Sqlite,
    /// MySQL or MariaDB (`mysql://…`).
    Mysql,
    /// PostgreSQL (`postgres://…`).
    Postgres,
}

impl StorageBackend {
    /// The name reuse-chat's persistence rows are labelled with.
    pub fn name(self) -> &'static str {
        match self {
            StorageBackend::Sqlite => "sqlite",
            StorageBackend::Mysql => "mysql",
            StorageBackend::Postgres => "postgres",
        }
    }

    fn migrations(self) -> [&'static str; 3] {
        MIGRATIONS
            .iter()
            .find(|(name, _)| *name == self.name())
            .map_or([""; 3], |(_, m)| *m)
    }

    /// `?` placeholders, numbered `$n` for PostgreSQL: reuse-chat's store's own rewrite.
    fn sql(self, s: &str) -> String {
        let backend = match self {
            StorageBackend::Sqlite => chat_store::Backend::Sqlite,
            StorageBackend::Mysql => chat_store::Backend::MySql,
            StorageBackend::Postgres => chat_store::Backend::Postgres,
        };
        backend.placeholders(s)
    }
}

/// How much of reuse-chat's transaction the loop repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Work {
    /// The statements of reuse-chat's group commit: lock the batch's rooms, look up its
    /// idempotency keys (when messages carry them), the multi-row insert with its ids back,
    /// point each room at its newest message.
    Append,
    /// Only the multi-row insert: the floor of storing the rows at all.
    Insert,
}

/// One bare-storage run.
#[derive(Clone, Debug)]
pub struct BareStorage {
    /// The database.
    pub backend: StorageBackend,
    /// Where: `mysql://…` or `postgres://…` naming a database with no tables yet; for SQLite a
    /// `sqlite://PATH` of a file that does not exist yet, or none for a new temporary directory.
    pub url: Option<String>,
    /// Rooms the messages go to (the persist scenario: one per publisher).
    pub rooms: usize,
    /// Messages from one room in a row within a transaction, so that a transaction of `batch`
    /// messages spans `batch / per_room` rooms, taken in turn. The rooms a transaction touches
    /// decide its cost (rows locked and updated, index pages dirtied) more than anything else.
    /// In the persist scenario (64 publishers × 32 in flight) each publisher sends a run as
    /// its receipts come back, and reuse-chat's batches held ~27 messages per room whatever
    /// their size: 256 over 9.6 rooms, 682 over 25.8, 1,042 over 37.6 (means).
    pub per_room: usize,
    /// Messages per transaction.
    pub batch: usize,
    /// Length of the measured window.
    pub secs: Duration,
    /// Batches stored before it.
    pub warmup: Duration,
    /// Which statements each transaction runs.
    pub work: Work,
    /// Give every message a `client_message_id` (and so look them up), as a client that sends
    /// `clientMessageId` makes reuse-chat do; the persist scenario sends none.
    pub client_ids: bool,
    /// Extra SQLite pragmas (`name=value`) after reuse-chat's, to try a setting reuse-chat
    /// does not use; such a run is labelled with them, never as SQLite's limit.
    pub sqlite_pragmas: Vec<String>,
    /// The database server's pid for its CPU time; found by itself when the database is local.
    pub db_pid: Option<u32>,
    /// The table label; empty for the backend's name (plus the non-default options).
    pub label: String,
}

/// A room as reuse-chat creates one (`POST /room/create`).
struct RoomRow {
    uuid: String,
    pair_key: String,
    name: String,
    product_id: String,
    buyer: String,
    seller: String,
}

/// A message as reuse-chat's committer hands one to the store.
struct Message {
    room: usize,
    content: String,
    created_at: i64,
    client_id: Option<String>,
}

/// The rooms and the running counters of one run.
struct Fixture {
    rooms: Vec<RoomRow>,
    /// Messages stored per room so far: each new message's ordinal (`messages.seq`) follows.
    counts: Vec<i64>,
    /// Messages from one room in a row.
    per_room: usize,
    /// The first room of the next batch.
    cursor: usize,
    next: u64,
    client_ids: bool,
}

impl Fixture {
    fn new(run: &str, rooms: usize, per_room: usize, client_ids: bool) -> Fixture {
        let mut seed = unix_nanos() ^ u64::from(std::process::id()).rotate_left(32);
        let rooms: Vec<RoomRow> = (0..rooms.max(1))
            .map(|i| {
                let (a, b) = (xorshift(&mut seed), xorshift(&mut seed));
                RoomRow {
                    uuid: uuid_text(a, b),
                    pair_key: format!(
                        "{:016x}{:016x}{:016x}{:016x}",
                        xorshift(&mut seed),
                        xorshift(&mut seed),
                        xorshift(&mut seed),
                        xorshift(&mut seed)
                    ),
                    name: format!("bench-item-{i}"),
                    product_id: format!("p-{i}"),
                    buyer: format!("b{run}-{i}"),
                    seller: format!("s{run}-{i}"),
                }
            })
            .collect();
        Fixture {
            counts: vec![0; rooms.len()],
            rooms,
            per_room: per_room.max(1),
            cursor: 0,
            next: 0,
            client_ids,
        }
    }

    /// The next `n` messages as the persist scenario's SENDs reach reuse-chat's committer:
    /// runs of `per_room` consecutive messages from one room after another (a publisher sends as its
    /// receipts come back), the next batch from the next rooms in turn; the content is
    /// `ts=<µs> ` and the filler, from the room's buyer.
    /// Each message's ordinal in its room, counted on as reuse-chat's batch plan counts.
    fn sequence(&mut self, batch: &[Message]) -> Vec<i64> {
        batch
            .iter()
            .map(|m| {
                self.counts[m.room] += 1;
                self.counts[m.room]
            })
            .collect()
    }

    fn batch(&mut self, n: usize) -> Vec<Message> {
        let created_at = unix_ms();
        let total = self.rooms.len();
        let k = n.div_ceil(self.per_room).clamp(1, total);
        let first = self.cursor;
        self.cursor = (first + k) % total;
        (0..n)
            .map(|j| {
                let id = self.next;
                self.next += 1;
                Message {
                    room: (first + j * k / n) % total,
                    content: format!("ts={} {FILLER}", now_us()),
                    created_at,
                    client_id: self.client_ids.then(|| format!("c-{id}")),
                }
            })
            .collect()
    }
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
fn unix_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Milliseconds since the Unix epoch: reuse-chat's `created_at`.
fn unix_ms() -> i64 {
    (unix_nanos() / 1_000_000) as i64
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = (*state).max(1);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// A version-4 UUID's text (36 characters) from 128 random bits.
fn uuid_text(a: u64, b: u64) -> String {
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// The statements of one transaction for a batch of `rows` messages over `rooms` rooms on
/// MySQL/MariaDB or PostgreSQL (reuse-chat's sqlx path; SQLite has its writer's statements).
struct Statements {
    lock: Vec<String>,
    keys: Vec<String>,
    insert: Vec<String>,
    update: Vec<String>,
}

/// `n` copies of `group` joined by `sep`.
fn repeat(group: &str, n: usize, sep: &str) -> String {
    vec![group; n].join(sep)
}

/// Sizes of the chunks `n` rows are split into.
fn chunks(n: usize) -> Vec<usize> {
    (0..n)
        .step_by(ROWS_PER_STATEMENT)
        .map(|s| (n - s).min(ROWS_PER_STATEMENT))
        .collect()
}

impl Statements {
    /// reuse-chat's statements (`crates/store/src/append.rs`), word for word.
    fn new(
        backend: StorageBackend,
        work: Work,
        rows: usize,
        rooms: usize,
        keys: usize,
    ) -> Statements {
        let for_update = match backend {
            StorageBackend::Sqlite => "",
            _ => " FOR UPDATE",
        };
        let append = work == Work::Append;
        let lock = chunks(rooms)
            .into_iter()
            .filter(|_| append)
            .map(|n| {
                backend.sql(&format!(
                    "SELECT uuid, buyer, seller, buyer_active, seller_active, \
                     last_message_id, message_count, buyer_read_id, buyer_read_count, \
                     seller_read_id, seller_read_count, name, product_id, created_at \
                     FROM rooms WHERE uuid IN ({}) ORDER BY uuid{for_update}",
                    repeat("?", n, ", ")
                ))
            })
            .collect();
        let keys = chunks(keys)
            .into_iter()
            .filter(|_| append)
            .map(|n| {
                backend.sql(&format!(
                    "SELECT id AS m_id, room_uuid AS m_room, sender AS m_sender, \
                     content AS m_content, kind AS m_kind, created_at AS m_created_at, \
                     client_message_id AS m_cmid, notice AS m_notice FROM messages WHERE {}",
                    repeat(
                        "(room_uuid = ? AND sender = ? AND client_message_id = ?)",
                        n,
                        " OR "
                    )
                ))
            })
            .collect();
        let insert = chunks(rows)
            .into_iter()
            .map(|n| {
                let mut sql = format!(
                    "INSERT INTO messages \
                     (room_uuid, sender, content, kind, created_at, client_message_id, notice, \
                     seq) VALUES {}",
                    repeat("(?, ?, ?, ?, ?, ?, ?, ?)", n, ", ")
                );
                if append && backend != StorageBackend::Mysql {
                    sql.push_str(
                        " RETURNING id, room_uuid, sender, content, created_at, client_message_id",
                    );
                }
                backend.sql(&sql)
            })
            .collect();
        let update = chunks(rooms)
            .into_iter()
            .filter(|_| append)
            .map(|n| {
                let cases = repeat("WHEN ? THEN ?", n, " ");
                backend.sql(&format!(
                    "UPDATE rooms SET last_message_id = CASE uuid {cases} END, \
                     last_activity_at = CASE uuid {cases} END, \
                     message_count = CASE uuid {cases} END, \
                     buyer_read_id = CASE uuid {cases} END, \
                     buyer_read_count = CASE uuid {cases} END, \
                     seller_read_id = CASE uuid {cases} END, \
                     seller_read_count = CASE uuid {cases} END \
                     WHERE uuid IN ({})",
                    repeat("?", n, ", ")
                ))
            })
            .collect();
        Statements {
            lock,
            keys,
            insert,
            update,
        }
    }
}

/// What one batch needs besides its messages: its rooms in lock order.
fn batch_rooms(fixture: &Fixture, batch: &[Message]) -> Vec<usize> {
    let mut rooms: Vec<usize> = batch.iter().map(|m| m.room).collect();
    rooms.sort_unstable_by(|a, b| fixture.rooms[*a].uuid.cmp(&fixture.rooms[*b].uuid));
    rooms.dedup();
    rooms
}

/// What a touched room's row says after a batch: (room, newest id, its time, message count).
/// The sender is always the buyer here, so the buyer's mark is (newest id, count) and the
/// seller's stays (0, 0).
type Touch = (usize, i64, i64, i64);

/// The newest id, time and count per room after a batch whose n-th row got `ids[n]`, in lock
/// order.
fn newest(fixture: &Fixture, rooms: &[usize], batch: &[Message], ids: &[i64]) -> Vec<Touch> {
    rooms
        .iter()
        .filter_map(|&room| {
            batch
                .iter()
                .zip(ids)
                .filter(|(m, _)| m.room == room)
                .max_by_key(|(_, id)| **id)
                .map(|(m, id)| (room, *id, m.created_at, fixture.counts[room]))
        })
        .collect()
}

/// The measured window: warm-up, then rows and transaction times counted between two
/// snapshots of this process's and the database server's CPU.
struct Window {
    measure_from: Instant,
    end: Instant,
    db_pid: Option<u32>,
    start: Option<(Snapshot, u64)>,
    rows: u64,
    commits: Histogram<u64>,
}

impl Window {
    fn new(warmup: Duration, secs: Duration, db_pid: Option<u32>) -> Window {
        let measure_from = Instant::now() + warmup;
        Window {
            measure_from,
            end: measure_from + secs,
            db_pid,
            start: None,
            rows: 0,
            commits: latency_histogram(),
        }
    }

    /// Whether another batch is to be stored; opens the window when the warm-up is over.
    fn another(&mut self) -> bool {
        let now = Instant::now();
        if self.start.is_none() && now >= self.measure_from {
            self.start = Some((Snapshot::take_with_db(None, self.db_pid), self.rows));
        }
        now < self.end
    }

    /// Counts a committed batch of `rows` that took `took`.
    fn stored(&mut self, rows: usize, took: Duration) {
        self.rows += rows as u64;
        if self.start.is_some() {
            self.commits
                .saturating_record((took.as_micros() as u64).max(1));
        }
    }

    /// Closes the window into `report`.
    fn finish(self, report: &mut Report) {
        let end = Snapshot::take_with_db(None, self.db_pid);
        let (start, rows0) = self.start.unwrap_or((end, self.rows));
        report.costs(&start, &end);
        // The loop's own process is where reuse-chat's server would be.
        report.server_cpu_s = Some(report.generator_cpu_s);
        let rows = self.rows - rows0;
        report.sent = rows;
        report.receipts = rows;
        report.sessions = 1;
        report.rate = rows as f64 / report.seconds.max(1e-9);
        report.per_item(rows);
        report.receipt_latency = (!self.commits.is_empty()).then(|| Percentiles::of(&self.commits));
    }
}

/// The bare loop on an sqlx connection (`MySqlConnection` or `PgConnection`): written once,
/// compiled per backend, as reuse-chat's store writes its bodies once.
macro_rules! server_loop {
    ($bare:expr, $conn:ident, $db_pid:expr) => {{
        let bare: &BareStorage = $bare;
        let backend = bare.backend;
        for m in backend.migrations() {
            sqlx::raw_sql(m).execute(&mut $conn).await?;
        }
        let mut fixture = Fixture::new(
            &BareStorage::run_name(),
            bare.rooms,
            bare.per_room,
            bare.client_ids,
        );
        let now = unix_ms();
        let room_insert = backend.sql(ROOM_INSERT);
        for r in &fixture.rooms {
            sqlx::query(&room_insert)
                .bind(r.uuid.as_str())
                .bind(r.pair_key.as_str())
                .bind(r.name.as_str())
                .bind(r.product_id.as_str())
                .bind(r.buyer.as_str())
                .bind(r.seller.as_str())
                .bind(now)
                .bind(now)
                .execute(&mut $conn)
                .await?;
        }
        let mut report = bare.report();
        let mut window = Window::new(bare.warmup, bare.secs, $db_pid);
        while window.another() {
            let batch = fixture.batch(bare.batch);
            let started = Instant::now();
            let rooms = batch_rooms(&fixture, &batch);
            let keys: Vec<usize> = (0..batch.len())
                .filter(|&i| batch[i].client_id.is_some())
                .collect();
            let sql = Statements::new(backend, bare.work, batch.len(), rooms.len(), keys.len());
            let mut tx = $conn.begin().await?;
            for (stmt, chunk) in sql.lock.iter().zip(rooms.chunks(ROWS_PER_STATEMENT)) {
                let mut q = sqlx::query(stmt);
                for &room in chunk {
                    q = q.bind(fixture.rooms[room].uuid.as_str());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                for row in &rows {
                    // What reuse-chat reads off the locked rows: membership, the newest id, the
                    // counters and what its snapshot for the event stream needs. MySQL reports
                    // text of a binary collation as bytes.
                    for col in ["uuid", "buyer", "seller", "name"] {
                        row.try_get::<&str, _>(col)
                            .map(str::len)
                            .or_else(|_| row.try_get::<&[u8], _>(col).map(<[u8]>::len))?;
                    }
                    let _: (i64, i64, Option<i64>) = (
                        row.try_get("buyer_active")?,
                        row.try_get("seller_active")?,
                        row.try_get("last_message_id")?,
                    );
                    for col in [
                        "message_count",
                        "buyer_read_id",
                        "buyer_read_count",
                        "seller_read_id",
                        "seller_read_count",
                        "created_at",
                    ] {
                        let _: i64 = row.try_get(col)?;
                    }
                    let _ = row
                        .try_get::<Option<&str>, _>("product_id")
                        .map(|p| p.map(str::len))
                        .or_else(|_| {
                            row.try_get::<Option<&[u8]>, _>("product_id")
                                .map(|p| p.map(<[u8]>::len))
                        })?;
                }
                if rows.len() != chunk.len() {
                    return Err(BenchError::Storage(format!(
                        "locked {} of {} rooms",
                        rows.len(),
                        chunk.len()
                    )));
                }
            }
            for (stmt, chunk) in sql.keys.iter().zip(keys.chunks(ROWS_PER_STATEMENT)) {
                let mut q = sqlx::query(stmt);
                for &m in chunk {
                    let room = &fixture.rooms[batch[m].room];
                    q = q
                        .bind(room.uuid.as_str())
                        .bind(room.buyer.as_str())
                        .bind(batch[m].client_id.as_deref());
                }
                if !q.fetch_all(&mut *tx).await?.is_empty() {
                    return Err(BenchError::Storage(
                        "a new clientMessageId was found stored".into(),
                    ));
                }
            }
            let mut ids: Vec<i64> = Vec::with_capacity(batch.len());
            let seqs = fixture.sequence(&batch);
            for (stmt, (chunk, seqs)) in sql.insert.iter().zip(
                batch
                    .chunks(ROWS_PER_STATEMENT)
                    .zip(seqs.chunks(ROWS_PER_STATEMENT)),
            ) {
                let mut q = sqlx::query(stmt);
                for (m, seq) in chunk.iter().zip(seqs) {
                    let room = &fixture.rooms[m.room];
                    q = q
                        .bind(room.uuid.as_str())
                        .bind(room.buyer.as_str())
                        .bind(m.content.as_str())
                        .bind("TEXT")
                        .bind(m.created_at)
                        .bind(m.client_id.as_deref())
                        .bind(None::<&str>)
                        .bind(*seq);
                }
                if bare.work == Work::Insert || backend == StorageBackend::Mysql {
                    let done = q.execute(&mut *tx).await?;
                    if done.rows_affected() != chunk.len() as u64 {
                        return Err(BenchError::Storage(format!(
                            "inserted {} of {} rows",
                            done.rows_affected(),
                            chunk.len()
                        )));
                    }
                    if bare.work == Work::Append {
                        // MySQL has no RETURNING: the first id and the step, as reuse-chat
                        // asks them.
                        let row = sqlx::query(
                            "SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS first_id, \
                             CAST(@@auto_increment_increment AS SIGNED) AS step",
                        )
                        .fetch_one(&mut *tx)
                        .await?;
                        let first: i64 = row.try_get("first_id")?;
                        let step: i64 = row.try_get("step")?;
                        ids.extend((0..chunk.len()).map(|k| first + step * k as i64));
                    }
                } else {
                    let rows = q.fetch_all(&mut *tx).await?;
                    let from = ids.len();
                    for row in &rows {
                        ids.push(row.try_get("id")?);
                    }
                    ids[from..].sort_unstable();
                    if rows.len() != chunk.len() {
                        return Err(BenchError::Storage(format!(
                            "a multi-row insert of {} returned {} ids",
                            chunk.len(),
                            rows.len()
                        )));
                    }
                }
            }
            let touched = newest(&fixture, &rooms, &batch, &ids);
            let columns: [fn(&Touch) -> i64; 7] =
                [|t| t.1, |t| t.2, |t| t.3, |t| t.1, |t| t.3, |_| 0, |_| 0];
            for (stmt, chunk) in sql.update.iter().zip(touched.chunks(ROWS_PER_STATEMENT)) {
                let mut q = sqlx::query(stmt);
                for column in columns {
                    for t in chunk {
                        q = q.bind(fixture.rooms[t.0].uuid.as_str()).bind(column(t));
                    }
                }
                for t in chunk {
                    q = q.bind(fixture.rooms[t.0].uuid.as_str());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            window.stored(batch.len(), started.elapsed());
        }
        window.finish(&mut report);
        $conn.close().await?;
        Ok(report)
    }};
}

impl BareStorage {
    fn report(&self) -> Report {
        let label = if self.label.is_empty() {
            let mut l = self.backend.name().to_owned();
            if self.work == Work::Insert {
                l.push_str(" insert-only");
            }
            if self.client_ids {
                l.push_str(" client-ids");
            }
            for p in &self.sqlite_pragmas {
                l.push(' ');
                l.push_str(p);
            }
            l
        } else {
            self.label.clone()
        };
        let mut report = Report::new(
            "persist",
            "bare-storage",
            &label,
            format!(
                "backend={} rooms={} per_room={} batch={} work={:?} client_ids={} secs={}",
                self.backend.name(),
                self.rooms,
                self.per_room,
                self.batch,
                self.work,
                self.client_ids,
                self.secs.as_secs()
            )
            .to_lowercase(),
        );
        report.batch = Some(self.batch as f64);
        report
    }

    fn run_name() -> String {
        format!("{:x}{:x}", std::process::id(), now_us() & 0xffff_ffff)
    }

    /// Stores batches into SQLite for the warm-up and the window, on this thread.
    pub fn run_sqlite(&self) -> Result<Report, BenchError> {
        let tmp;
        let path = match self.url.as_deref() {
            Some(url) => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                std::path::PathBuf::from(path)
            }
            None => {
                tmp = tempfile::Builder::new()
                    .prefix("reuse-chat-bare-")
                    .tempdir()?;
                tmp.path().join("bare.db")
            }
        };
        if path.exists() {
            return Err(BenchError::Storage(format!(
                "{} exists: the bare loop wants a new database file",
                path.display()
            )));
        }
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // reuse-chat's writer connection (crates/store/src/sqlite_writer.rs): WAL,
        // synchronous=NORMAL, foreign keys on, a 5 s busy timeout, an 8 MiB page cache and a
        // checkpoint every 4,000 WAL pages.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(BenchError::Storage(format!(
                "SQLite refused WAL (journal_mode={mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -SQLITE_CACHE_KIB)?;
        conn.pragma_update(None, "wal_autocheckpoint", SQLITE_WAL_AUTOCHECKPOINT)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(32);
        for p in &self.sqlite_pragmas {
            let (name, value) = p.split_once('=').ok_or_else(|| {
                BenchError::Storage(format!("--sqlite-pragma {p}: expected name=value"))
            })?;
            // Some pragmas answer with a row (journal_mode, …), some do not.
            let mut stmt = conn.prepare(&format!("PRAGMA {} = {}", name.trim(), value.trim()))?;
            let mut rows = stmt.raw_query();
            while rows.next()?.is_some() {}
        }
        for m in self.backend.migrations() {
            conn.execute_batch(m)?;
        }
        let mut fixture = Fixture::new(
            &Self::run_name(),
            self.rooms,
            self.per_room,
            self.client_ids,
        );
        let now = unix_ms();
        {
            let mut insert = conn.prepare(ROOM_INSERT)?;
            for r in &fixture.rooms {
                insert.execute(rusqlite::params![
                    r.uuid,
                    r.pair_key,
                    r.name,
                    r.product_id,
                    r.buyer,
                    r.seller,
                    now,
                    now
                ])?;
            }
        }

        let mut report = self.report();
        let mut window = Window::new(self.warmup, self.secs, None);
        while window.another() {
            let batch = fixture.batch(self.batch);
            let started = Instant::now();
            self.sqlite_batch(&conn, &mut fixture, &batch)?;
            window.stored(batch.len(), started.elapsed());
        }
        window.finish(&mut report);
        report.params.push_str(
            " journal_mode=wal synchronous=normal cache_size=8MiB wal_autocheckpoint=4000",
        );
        for p in &self.sqlite_pragmas {
            report.params.push(' ');
            report.params.push_str(p);
        }
        drop(conn);
        Ok(report)
    }

    /// One transaction of reuse-chat's group commit on SQLite, as its writer thread runs it
    /// (`crates/store/src/sqlite_writer.rs`): one prepared statement per step, bound and stepped
    /// per room, key or row, in one `BEGIN IMMEDIATE` transaction.
    fn sqlite_batch(
        &self,
        conn: &rusqlite::Connection,
        fixture: &mut Fixture,
        batch: &[Message],
    ) -> Result<(), BenchError> {
        let append = self.work == Work::Append;
        let rooms = batch_rooms(fixture, batch);
        conn.prepare_cached("BEGIN IMMEDIATE")?.raw_execute()?;
        if append {
            let mut select = conn.prepare_cached(SQLITE_SELECT_ROOM)?;
            for &room in &rooms {
                select.raw_bind_parameter(1, fixture.rooms[room].uuid.as_str())?;
                let mut rows = select.raw_query();
                let Some(row) = rows.next()? else {
                    return Err(BenchError::Storage("a room was not found".into()));
                };
                // What reuse-chat reads off the room: membership and its newest message.
                for col in 0..2 {
                    row.get_ref(col)?
                        .as_str()
                        .map_err(|e| BenchError::Storage(format!("rooms column {col}: {e}")))?;
                }
                let _: (i64, i64, Option<i64>) = (row.get(2)?, row.get(3)?, row.get(4)?);
                let _: (i64, i64, i64, i64, i64) = (
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                    row.get(8)?,
                    row.get(9)?,
                );
                let _: (String, Option<String>, i64) = (row.get(10)?, row.get(11)?, row.get(12)?);
            }
            let mut by_key = conn.prepare_cached(SQLITE_SELECT_BY_KEY)?;
            for m in batch.iter().filter(|m| m.client_id.is_some()) {
                let room = &fixture.rooms[m.room];
                by_key.raw_bind_parameter(1, room.uuid.as_str())?;
                by_key.raw_bind_parameter(2, room.buyer.as_str())?;
                by_key.raw_bind_parameter(3, m.client_id.as_deref())?;
                if by_key.raw_query().next()?.is_some() {
                    return Err(BenchError::Storage(
                        "a new clientMessageId was found stored".into(),
                    ));
                }
            }
        }
        let mut ids: Vec<i64> = Vec::with_capacity(batch.len());
        let seqs = fixture.sequence(batch);
        {
            let mut insert = conn.prepare_cached(SQLITE_INSERT_MESSAGE)?;
            for (m, seq) in batch.iter().zip(seqs) {
                let room = &fixture.rooms[m.room];
                insert.raw_bind_parameter(1, room.uuid.as_str())?;
                insert.raw_bind_parameter(2, room.buyer.as_str())?;
                insert.raw_bind_parameter(3, m.content.as_str())?;
                insert.raw_bind_parameter(4, "TEXT")?;
                insert.raw_bind_parameter(5, m.created_at)?;
                insert.raw_bind_parameter(6, m.client_id.as_deref())?;
                insert.raw_bind_parameter(7, None::<&str>)?;
                insert.raw_bind_parameter(8, seq)?;
                if insert.raw_execute()? != 1 {
                    return Err(BenchError::Storage("an insert stored no row".into()));
                }
                ids.push(conn.last_insert_rowid());
            }
        }
        if append {
            let mut touch = conn.prepare_cached(SQLITE_TOUCH_ROOM)?;
            for (room, id, at, count) in newest(fixture, &rooms, batch, &ids) {
                touch.raw_bind_parameter(1, fixture.rooms[room].uuid.as_str())?;
                touch.raw_bind_parameter(2, id)?;
                touch.raw_bind_parameter(3, at)?;
                touch.raw_bind_parameter(4, count)?;
                touch.raw_bind_parameter(5, id)?;
                touch.raw_bind_parameter(6, count)?;
                touch.raw_bind_parameter(7, 0)?;
                touch.raw_bind_parameter(8, 0)?;
                touch.raw_execute()?;
            }
        }
        conn.prepare_cached("COMMIT")?.raw_execute()?;
        Ok(())
    }

    /// Stores batches into MySQL/MariaDB or PostgreSQL for the warm-up and the window, on one
    /// connection, one transaction per batch.
    pub async fn run_server(&self) -> Result<Report, BenchError> {
        let url = self.url.as_deref().ok_or_else(|| {
            BenchError::Storage(format!("--url is required for {}", self.backend.name()))
        })?;
        let local = url_host(url).is_some_and(|h| {
            matches!(h, "127.0.0.1" | "localhost" | "::1" | "[::1]") || h.starts_with("127.")
        });
        match self.backend {
            StorageBackend::Mysql => {
                let opts =
                    MySqlConnectOptions::from_str(&url.replacen("mariadb://", "mysql://", 1))?
                        .charset("utf8mb4");
                let mut conn = MySqlConnection::connect_with(&opts).await?;
                let db_pid = self.db_pid.or_else(|| {
                    local
                        .then(|| procstat::find_process(&["mariadbd", "mysqld"]))
                        .flatten()
                });
                server_loop!(self, conn, db_pid)
            }
            StorageBackend::Postgres => {
                let opts = PgConnectOptions::from_str(url)?;
                let mut conn = PgConnection::connect_with(&opts).await?;
                let db_pid = match self.db_pid {
                    Some(pid) => Some(pid),
                    None if local => {
                        // The postmaster, parent of this connection's backend: the whole
                        // server is measured, as for reuse-chat's pool of connections.
                        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                            .fetch_one(&mut conn)
                            .await?;
                        u32::try_from(backend).ok().and_then(procstat::parent_pid)
                    }
                    None => None,
                };
                server_loop!(self, conn, db_pid)
            }
            StorageBackend::Sqlite => Err(BenchError::Storage(
                "SQLite runs on this thread: use run_sqlite".into(),
            )),
        }
    }

    /// Runs the bare loop on whichever backend `self.backend` names.
    pub async fn run(&self) -> Result<Report, BenchError> {
        match self.backend {
            StorageBackend::Sqlite => self.run_sqlite(),
            _ => self.run_server().await,
        }
    }
}

/// The SQLite writer's statements (`crates/store/src/sqlite_writer.rs`), word for word.
const SQLITE_SELECT_ROOM: &str = "SELECT buyer, seller, buyer_active, seller_active, \
     last_message_id, message_count, buyer_read_id, buyer_read_count, seller_read_id, \
     seller_read_count, name, product_id, created_at FROM rooms WHERE uuid = ?1";
const SQLITE_SELECT_BY_KEY: &str = "SELECT id AS m_id, room_uuid AS m_room, sender AS m_sender, \
     content AS m_content, kind AS m_kind, created_at AS m_created_at, \
     client_message_id AS m_cmid, notice AS m_notice FROM messages \
     WHERE room_uuid = ?1 AND sender = ?2 AND client_message_id = ?3";
const SQLITE_INSERT_MESSAGE: &str = "INSERT INTO messages \
     (room_uuid, sender, content, kind, created_at, client_message_id, notice, seq) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const SQLITE_TOUCH_ROOM: &str = "UPDATE rooms SET last_message_id = ?2, last_activity_at = ?3, \
     message_count = ?4, buyer_read_id = ?5, buyer_read_count = ?6, seller_read_id = ?7, \
     seller_read_count = ?8 WHERE uuid = ?1";

/// The SQLite writer's page cache (KiB) and WAL pages between checkpoints
/// (`WRITER_CACHE_KIB`, `WAL_AUTOCHECKPOINT_PAGES` in `crates/store/src/sqlite_writer.rs`).
const SQLITE_CACHE_KIB: i64 = 8 * 1024;
const SQLITE_WAL_AUTOCHECKPOINT: i64 = 4000;

/// reuse-chat's room insert (`crates/store/src/lib.rs`), in portable placeholders.
const ROOM_INSERT: &str = "INSERT INTO rooms (uuid, pair_key, name, product_id, buyer, seller, \
     buyer_active, seller_active, created_at, last_activity_at, last_message_id) \
     VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, NULL)";

/// The host part of a database URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port.split_inclusive(']').next();
    }
    host_port.split(':').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_follow_reuse_chats_append() {
        let s = Statements::new(StorageBackend::Postgres, Work::Append, 3, 2, 0);
        assert_eq!(s.lock.len(), 1);
        assert!(s.keys.is_empty(), "no client ids, no lookup");
        assert!(s.lock[0].ends_with("WHERE uuid IN ($1, $2) ORDER BY uuid FOR UPDATE"));
        assert!(s.insert[0].contains("($17, $18, $19, $20, $21, $22, $23, $24) RETURNING id"));
        assert!(
            s.update[0].ends_with("WHERE uuid IN ($29, $30)"),
            "{}",
            s.update[0]
        );
        let m = Statements::new(StorageBackend::Mysql, Work::Append, 1001, 64, 1001);
        assert_eq!(m.insert.len(), 3, "500 + 500 + 1 rows");
        assert_eq!(m.keys.len(), 3);
        assert!(!m.insert[0].contains("RETURNING"));
        let i = Statements::new(StorageBackend::Postgres, Work::Insert, 10, 4, 10);
        assert!(i.lock.is_empty() && i.keys.is_empty() && i.update.is_empty());
        assert!(!i.insert[0].contains("RETURNING"));
        assert_eq!(chunks(0), Vec::<usize>::new());
        assert_eq!(chunks(500), vec![500]);
    }

    #[test]
    fn rows_look_like_reuse_chats() {
        let mut f = Fixture::new("abc", 5, 4, true);
        assert!(f
            .rooms
            .iter()
            .all(|r| r.uuid.len() == 36 && r.pair_key.len() == 64));
        assert_eq!(f.rooms[2].uuid.as_bytes()[14], b'4');
        let b = f.batch(7);
        // Runs of up to 4 from a room, the next batch from the next rooms, wrapping around.
        let rooms_of = |b: &[Message]| b.iter().map(|m| m.room).collect::<Vec<_>>();
        assert_eq!(rooms_of(&b), vec![0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(
            rooms_of(&f.batch(12)),
            vec![2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4]
        );
        assert_eq!(rooms_of(&f.batch(3)), vec![0, 0, 0]);
        assert_eq!(
            rooms_of(&f.batch(30)).iter().max(),
            Some(&4),
            "no more rooms than exist"
        );
        // The persist scenario's content: `ts=<µs since the generator started> ` and the filler.
        assert!(b.iter().all(|m| m.content.starts_with("ts=")
            && m.content.ends_with(FILLER)
            && m.content.len() > FILLER.len() + 4));
        assert_eq!(b[6].client_id.as_deref(), Some("c-6"));
        let rooms = batch_rooms(&f, &b);
        assert_eq!(rooms.len(), 2);
        let ids: Vec<i64> = (10..17).collect();
        // Ordinals count on per room: four in room 0, three in room 1.
        assert_eq!(f.sequence(&b), vec![1, 2, 3, 4, 1, 2, 3]);
        let newest = newest(&f, &rooms, &b, &ids);
        let of = |room| newest.iter().find(|n| n.0 == room).map(|n| (n.1, n.3));
        assert_eq!((of(0), of(1), of(2)), (Some((13, 4)), Some((16, 3)), None));
    }

    #[test]
    fn the_sqlite_loop_stores_what_reuse_chat_would() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("bare.db");
        let bare = BareStorage {
            backend: StorageBackend::Sqlite,
            url: Some(format!("sqlite://{}", path.display())),
            rooms: 5,
            per_room: 4,
            batch: 12,
            secs: Duration::from_millis(200),
            warmup: Duration::from_millis(50),
            work: Work::Append,
            client_ids: true,
            sqlite_pragmas: Vec::new(),
            db_pid: None,
            label: String::new(),
        };
        let report = bare.run_sqlite().expect("the loop runs");
        assert_eq!(
            (report.target.as_str(), report.label.as_str()),
            ("bare-storage", "sqlite client-ids")
        );
        assert!(
            report.rate > 0.0 && report.receipts > 0,
            "{}",
            report.summary()
        );
        assert!(report.server_cpu_us_per_item.is_some() && report.db_cpu_s.is_none());
        assert_eq!(report.batch, Some(12.0));
        assert!(report.machine.is_some());
        // Every batch was committed whole, and every room points at its newest message.
        let conn = rusqlite::Connection::open(&path).expect("reopen");
        let (stored, batches): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(DISTINCT created_at) FROM messages",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count");
        assert!(
            stored as u64 >= report.receipts && stored % 12 == 0,
            "{stored}"
        );
        assert!(batches > 0);
        let stale: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM rooms r WHERE r.last_message_id IS NOT \
                 (SELECT MAX(id) FROM messages m WHERE m.room_uuid = r.uuid)",
                [],
                |r| r.get(0),
            )
            .expect("rooms");
        assert_eq!(stale, 0);
        // Counts, ordinals and the sender's mark as reuse-chat keeps them.
        let miscounted: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM rooms r WHERE r.message_count IS NOT \
                 (SELECT COUNT(*) FROM messages m WHERE m.room_uuid = r.uuid) \
                 OR r.message_count IS NOT \
                 (SELECT MAX(seq) FROM messages m WHERE m.room_uuid = r.uuid) \
                 OR r.buyer_read_count IS NOT r.message_count \
                 OR r.buyer_read_id IS NOT r.last_message_id",
                [],
                |r| r.get(0),
            )
            .expect("counts");
        assert_eq!(miscounted, 0);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
        // A second run refuses the used file rather than measure a different database.
        assert!(bare.run_sqlite().is_err());
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(
            url_host("mysql://root@127.0.0.1:3306/db"),
            Some("127.0.0.1")
        );
        assert_eq!(
            url_host("postgres://u:p@db.example/x?ssl=1"),
            Some("db.example")
        );
        assert_eq!(url_host("postgres://[::1]:5432/x"), Some("[::1]"));
        assert_eq!(url_host("nonsense"), None);
        assert_eq!(StorageBackend::Mysql.migrations().len(), 3);
        assert!(StorageBackend::Postgres.migrations()[0].contains("GENERATED BY DEFAULT"));
    }
}
