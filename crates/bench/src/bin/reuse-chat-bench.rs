//! `reuse-chat-bench`: runs one benchmark scenario against reuse-chat, RabbitMQ Web-STOMP or
//! the baseline, or the bare-storage loop against a database, and prints its report as one
//! JSON line (appended to `--out` too), or renders the table from such lines.
//! `scripts/bench.sh` drives it for the whole table.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chat_bench::bare::{BareStorage, StorageBackend, Work};
use chat_bench::report::Report;
use chat_bench::scenario::Bench;
use chat_bench::target::{Kind, Target};
use clap::{Parser, Subcommand};

/// Load generator for reuse-chat: STOMP over WebSocket, as the marketplace frontend speaks it.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Which server is under test.
    #[arg(long, value_enum, default_value = "reuse-chat", global = true)]
    target: Kind,
    /// Its address (WebSocket, and REST for reuse-chat); default per target: 8070, 15674, 8090.
    #[arg(long, global = true)]
    addr: Option<SocketAddr>,
    /// The server's pid, to read its RSS and CPU time from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// The database server's pid (mariadbd, PostgreSQL's postmaster), to read its CPU time
    /// and its children's from /proc (persist, bare-storage).
    #[arg(long, global = true)]
    db_pid: Option<u32>,
    /// Number of source addresses 127.0.0.1..=127.0.0.N used round-robin (each has ~28k
    /// ephemeral ports); 0 lets the kernel choose.
    #[arg(long, default_value_t = 4, global = true)]
    sources: u8,
    /// Heart-beat offered and asked in CONNECT (ms; 0 disables).
    #[arg(long, default_value_t = 10_000, global = true)]
    heartbeat_ms: u64,
    /// WebSocket + STOMP handshakes in flight at once.
    #[arg(long, default_value_t = 256, global = true)]
    connect_concurrency: usize,
    /// Label of this run in the table (room size and backend are set automatically).
    #[arg(long, default_value = "", global = true)]
    label: String,
    /// Also append the report to this file (JSON lines).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Open N sessions (CONNECT + SUBSCRIBE, heart-beats on), hold them, report RSS per session.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
        #[arg(long, default_value_t = 10)]
        hold_secs: u64,
    },
    /// K 1:1 rooms, both members sending at a steady rate (open loop); latency percentiles.
    Marketplace {
        #[arg(long, default_value_t = 1_000)]
        rooms: usize,
        /// Messages per second per sender (each room has two senders).
        #[arg(long, default_value_t = 5.0)]
        rate: f64,
        #[arg(long, default_value_t = 20)]
        secs: u64,
        #[arg(long, default_value_t = 3)]
        warmup_secs: u64,
        /// Share of the rooms whose buyer is away (no session; only the seller sends).
        #[arg(long, default_value_t = 0.0)]
        away_share: f64,
    },
    /// Rooms of --room-size subscribers, one publisher each, at saturation.
    Fanout {
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        #[arg(long, default_value_t = 1_000)]
        room_size: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long, default_value_t = 2)]
        warmup_secs: u64,
        /// SENDs awaiting their receipt per publisher.
        #[arg(long, default_value_t = 16)]
        window: usize,
    },
    /// N sessions drop at once and reconnect; sessions re-established per second.
    Reconnect {
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
    },
    /// Every open web page coming back at once (reuse-chat only): pages resumed per second.
    PageResume {
        #[arg(long, default_value_t = 500)]
        users: usize,
        /// Rooms each page follows (the page subscribes at most 63).
        #[arg(long, default_value_t = 63)]
        rooms_each: usize,
    },
    /// A user with many full rooms asks for the room list (reuse-chat only): lists per second
    /// and the latency of each.
    RoomList {
        #[arg(long, default_value_t = 1_000)]
        rooms: usize,
        /// Messages the other member sends into each room first (all unread for the user).
        #[arg(long, default_value_t = 1_000)]
        messages_each: usize,
        /// Lists asked for, one after the other.
        #[arg(long, default_value_t = 200)]
        requests: usize,
    },
    /// A seller with many rooms searches a large history (reuse-chat only): the history is
    /// written straight into the server's database first, then searches are asked one after
    /// the other; latency of each, and bytes of the searchable form per message.
    Search {
        /// The server's database (for SQLite, its file: `sqlite://DATA_DIR/reuse-chat.db`).
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 100_000)]
        rooms: usize,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        /// Rooms of each seller (the searcher is one of them).
        #[arg(long, default_value_t = 500)]
        user_rooms: usize,
        /// Searches asked, one after the other.
        #[arg(long, default_value_t = 700)]
        requests: usize,
    },
    /// Both members of each room follow their event stream while the buyer sends (reuse-chat
    /// only): events delivered per second on /user/queue/events.
    UserEvents {
        #[arg(long, default_value_t = 200)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long, default_value_t = 2)]
        warmup_secs: u64,
        /// SENDs awaiting their receipt per sender.
        #[arg(long, default_value_t = 8)]
        window: usize,
    },
    /// Every member of --rooms rooms types at once (reuse-chat only): relayed TYPING events
    /// per second against the 2 s throttle.
    TypingStorm {
        #[arg(long, default_value_t = 1_000)]
        rooms: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// How often each member sends `{"typing": true}`.
        #[arg(long, default_value_t = 100)]
        interval_ms: u64,
    },
    /// Clients uploading phone photos one after another (reuse-chat only): uploads/s and
    /// latency (the label names the blob store: file or s3).
    PhotoUpload {
        #[arg(long, default_value_t = 8)]
        clients: usize,
        #[arg(long, default_value_t = 12.0)]
        megapixels: f64,
        /// EXIF orientation of the photo (6: held upright, turned by the server; 1: as stored).
        #[arg(long, default_value_t = 6)]
        orientation: u16,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// Many large photos uploaded at once (reuse-chat only): the server's peak memory.
    PhotoMemory {
        #[arg(long, default_value_t = 50)]
        parallel: usize,
        #[arg(long, default_value_t = 40.0)]
        megapixels: f64,
    },
    /// Publishers sending with receipts as fast as storage confirms; stored messages per second.
    Persist {
        #[arg(long, default_value_t = 64)]
        publishers: usize,
        #[arg(long, default_value_t = 32)]
        window: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long, default_value_t = 2)]
        warmup_secs: u64,
    },
    /// The physical limit of storage: reuse-chat's rows, schema, statements and batches
    /// stored by a bare loop on one connection, without reuse-chat; rows/s and CPU per row.
    BareStorage {
        /// The database to store into.
        #[arg(long, value_enum)]
        backend: StorageBackend,
        /// mysql://… or postgres://… of an empty database; for SQLite sqlite://PATH of a new
        /// file (default: a new temporary directory).
        #[arg(long)]
        url: Option<String>,
        /// Rooms the messages go to (the persist scenario: one per publisher).
        #[arg(long, default_value_t = 64)]
        rooms: usize,
        /// Messages from one room in a row within a transaction (so a transaction spans
        /// batch / per-room rooms): reuse-chat's persist batches held ~27 per room; 1 models
        /// a marketplace where every message is in a different room.
        #[arg(long, default_value_t = 27)]
        per_room: usize,
        /// Messages per transaction: scripts/bench.sh passes the mean batch reuse-chat's
        /// committer reached in the persistence run just before (from its /metrics).
        #[arg(long, default_value_t = 1024)]
        batch: usize,
        /// The measured window.
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Batches stored before the window opens.
        #[arg(long, default_value_t = 2)]
        warmup_secs: u64,
        /// append: reuse-chat's statements per transaction; insert: the multi-row insert only.
        #[arg(long, value_enum, default_value = "append")]
        work: Work,
        /// Give each message a clientMessageId (the persist scenario sends none).
        #[arg(long)]
        client_ids: bool,
        /// An SQLite pragma `name=value` to try beside reuse-chat's (repeatable); the run is
        /// labelled with it.
        #[arg(long = "sqlite-pragma")]
        sqlite_pragmas: Vec<String>,
    },
    /// Print the Markdown tables from a file of JSON-line reports.
    Table {
        /// The reports.
        results: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Scenario::Table { results } = &cli.scenario {
        let text = std::fs::read_to_string(results)
            .with_context(|| format!("reading {}", results.display()))?;
        let reports = chat_bench::table::parse(&text)?;
        println!("{}", chat_bench::table::render(&reports));
        println!("{}", chat_bench::table::render_details(&reports));
        return Ok(());
    }
    if let Scenario::BareStorage {
        backend,
        url,
        rooms,
        per_room,
        batch,
        secs,
        warmup_secs,
        work,
        client_ids,
        sqlite_pragmas,
    } = &cli.scenario
    {
        let bare = BareStorage {
            backend: *backend,
            url: url.clone(),
            rooms: *rooms,
            per_room: *per_room,
            batch: (*batch).max(1),
            secs: Duration::from_secs(*secs),
            warmup: Duration::from_secs(*warmup_secs),
            work: *work,
            client_ids: *client_ids,
            sqlite_pragmas: sqlite_pragmas.clone(),
            db_pid: cli.db_pid,
            label: cli.label.clone(),
        };
        // One thread, as bare as the loop: SQLite never leaves it, the others wait on one
        // connection.
        let report = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(bare.run())?;
        return emit(&report, cli.out.as_deref());
    }
    let nofile = chat_bench::procstat::raise_nofile_limit();
    let port = match cli.target {
        Kind::ReuseChat => 8070,
        Kind::Rabbitmq => 15674,
        Kind::Baseline => 8090,
    };
    let addr = cli
        .addr
        .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    let run = format!(
        "{:x}{:x}",
        std::process::id(),
        chat_bench::client::now_us()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_micros() as u64)
                .unwrap_or(0))
    );
    let mut bench = Bench {
        target: Target::new(cli.target, addr),
        sources: (1..=cli.sources)
            .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
            .collect(),
        server_pid: cli.server_pid,
        db_pid: cli.db_pid,
        heartbeat_ms: cli.heartbeat_ms,
        connect_concurrency: cli.connect_concurrency,
        label: cli.label.clone(),
        run,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let secs = Duration::from_secs;
    let report = runtime.block_on(async {
        match cli.scenario {
            Scenario::Idle {
                sessions,
                hold_secs,
            } => {
                check_fds(sessions, nofile)?;
                bench.idle(sessions, secs(hold_secs)).await
            }
            Scenario::Marketplace {
                rooms,
                rate,
                secs: s,
                warmup_secs,
                away_share,
            } => {
                if bench.label.is_empty() {
                    bench.label = format!("{}", (rate * rooms as f64 * 2.0).round());
                }
                bench
                    .marketplace(rooms, rate, secs(s), secs(warmup_secs), away_share)
                    .await
            }
            Scenario::Fanout {
                subscribers,
                room_size,
                secs: s,
                warmup_secs,
                window,
            } => {
                if bench.label.is_empty() {
                    bench.label = room_size.to_string();
                }
                bench
                    .fanout(subscribers, room_size, secs(s), secs(warmup_secs), window)
                    .await
            }
            Scenario::Reconnect { sessions } => {
                check_fds(sessions, nofile)?;
                bench.reconnect(sessions).await
            }
            Scenario::PageResume { users, rooms_each } => {
                check_fds(users, nofile)?;
                bench.page_resume(users, rooms_each).await
            }
            Scenario::RoomList {
                rooms,
                messages_each,
                requests,
            } => bench.room_list(rooms, messages_each, requests).await,
            Scenario::Search {
                database,
                rooms,
                messages,
                user_rooms,
                requests,
            } => {
                bench
                    .search(&database, rooms, messages, user_rooms, requests)
                    .await
            }
            Scenario::UserEvents {
                rooms,
                secs: s,
                warmup_secs,
                window,
            } => {
                check_fds(rooms * 3, nofile)?;
                bench
                    .user_events(rooms, secs(s), secs(warmup_secs), window)
                    .await
            }
            Scenario::TypingStorm {
                rooms,
                secs: s,
                interval_ms,
            } => {
                check_fds(rooms * 2, nofile)?;
                bench
                    .typing_storm(rooms, secs(s), Duration::from_millis(interval_ms))
                    .await
            }
            Scenario::PhotoUpload {
                clients,
                megapixels,
                orientation,
                secs: s,
            } => {
                bench
                    .photo_upload(clients, megapixels, orientation, secs(s))
                    .await
            }
            Scenario::PhotoMemory {
                parallel,
                megapixels,
            } => bench.photo_memory(parallel, megapixels).await,
            Scenario::Persist {
                publishers,
                window,
                secs: s,
                warmup_secs,
            } => {
                bench
                    .persist(publishers, window, secs(s), secs(warmup_secs))
                    .await
            }
            Scenario::Table { .. } | Scenario::BareStorage { .. } => {
                unreachable!("handled above")
            }
        }
    })?;
    emit(&report, cli.out.as_deref())
}

/// Prints the summary (stderr) and the JSON line (stdout, and appended to `out`).
fn emit(report: &Report, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    eprintln!("{}", report.summary());
    let line = serde_json::to_string(report)?;
    println!("{line}");
    if let Some(path) = out {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{line}")?;
    }
    Ok(())
}

fn check_fds(sessions: usize, nofile: u64) -> Result<(), chat_bench::BenchError> {
    if sessions as u64 + 64 > nofile {
        return Err(chat_bench::BenchError::Protocol(format!(
            "{sessions} sessions need more open files than this process may have ({nofile}); \
             raise the hard limit (ulimit -Hn) first"
        )));
    }
    Ok(())
}
