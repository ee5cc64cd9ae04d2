//! The server's settings: command-line flags, `REUSE_CHAT_*` environment variables and an
//! optional TOML file, merged in that order of precedence and validated into [`Settings`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use thiserror::Error;

/// The `reuse-chat` command line.
#[derive(Debug, Parser)]
#[command(
    name = "reuse-chat",
    version,
    about = "Re:Use marketplace chat: STOMP over WebSocket and REST"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `reuse-chat`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chat server.
    Serve(RawSettings),
    /// Run the database migrations and exit.
    Migrate(RawSettings),
}

/// Settings as given on the command line or in the environment; every one is optional here so
/// that the TOML file and the defaults can fill what is missing.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawSettings {
    /// TOML file with any of these settings as keys (e.g. `listen = "0.0.0.0:8070"`).
    #[arg(long, env = "REUSE_CHAT_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:8070].
    #[arg(long, env = "REUSE_CHAT_LISTEN")]
    pub listen: Option<String>,
    /// Directory for the embedded database [default: ./data].
    #[arg(long, env = "REUSE_CHAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE, mysql://… or postgres://… [default: sqlite in --data-dir].
    #[arg(long, env = "REUSE_CHAT_DATABASE")]
    pub database: Option<String>,
    /// How long a request waits for a database connection before it fails as unavailable,
    /// in ms [default: 5000].
    #[arg(long, env = "REUSE_CHAT_DATABASE_TIMEOUT_MS")]
    pub database_timeout_ms: Option<u64>,
    /// Presence backend: `memory` (this node only) or `redis://host:port[/db]` (shared by every
    /// node) [default: memory].
    #[arg(long, env = "REUSE_CHAT_PRESENCE")]
    pub presence: Option<String>,
    /// Prefix of the presence keys in Redis [default: reuse-chat].
    #[arg(long, env = "REUSE_CHAT_PRESENCE_PREFIX")]
    pub presence_prefix: Option<String>,
    /// Bus between nodes: `local` (one node) or `kafka://host:port[,host:port]?topic=NAME`
    /// [default: local].
    #[arg(long, env = "REUSE_CHAT_BUS")]
    pub bus: Option<String>,
    /// SMTP server for inquiry mail: `smtp://[user:pass@]host:port` (`?tls=required` for
    /// STARTTLS) or `smtps://…` [default: none, inquiries are stored but not mailed].
    #[arg(long, env = "REUSE_CHAT_SMTP", hide_env_values = true)]
    pub smtp: Option<String>,
    /// Who receives inquiry mail (required with --smtp).
    #[arg(long, env = "REUSE_CHAT_INQUIRY_TO")]
    pub inquiry_to: Option<String>,
    /// Sender address of inquiry mail [default: reuse-chat@localhost].
    #[arg(long, env = "REUSE_CHAT_INQUIRY_FROM")]
    pub inquiry_from: Option<String>,
    /// How users are identified: `header` (X-Auth-User from a trusted gateway) or `jwt`.
    #[arg(long, env = "REUSE_CHAT_AUTH")]
    pub auth: Option<String>,
    /// HS256 secret for `--auth jwt`.
    #[arg(long, env = "REUSE_CHAT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// PEM public key file (RSA for RS256, EC P-256 for ES256) for `--auth jwt`.
    #[arg(long, env = "REUSE_CHAT_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// Heart-beat interval the server offers and asks for, in ms (0 disables) [default: 10000].
    #[arg(long, env = "REUSE_CHAT_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
    /// Largest STOMP frame in bytes [default: 65536].
    #[arg(long, env = "REUSE_CHAT_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Longest message content in characters [default: 4000].
    #[arg(long, env = "REUSE_CHAT_MAX_CONTENT_CHARS")]
    pub max_content_chars: Option<usize>,
    /// Largest history page [default: 200].
    #[arg(long, env = "REUSE_CHAT_HISTORY_MAX")]
    pub history_max: Option<u32>,
    /// Most subscriptions one STOMP session may hold [default: 64].
    #[arg(long, env = "REUSE_CHAT_MAX_SUBSCRIPTIONS")]
    pub max_subscriptions: Option<usize>,
    /// Frames queued for one session before it is closed as too slow [default: 1024].
    #[arg(long, env = "REUSE_CHAT_OUTBOUND_QUEUE")]
    pub outbound_queue: Option<usize>,
    /// Most concurrent WebSocket sessions; more are refused with 503 [default: 200000].
    #[arg(long, env = "REUSE_CHAT_MAX_SESSIONS")]
    pub max_sessions: Option<usize>,
    /// Time allowed for one write to a client before it is dropped, in ms [default: 10000].
    #[arg(long, env = "REUSE_CHAT_WRITE_TIMEOUT_MS")]
    pub write_timeout_ms: Option<u64>,
    /// Most open connections from one client address, WebSocket sessions included; 0 is no
    /// cap (behind a gateway every client has its address) [default: 256].
    #[arg(long, env = "REUSE_CHAT_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// Most open connections in all; when reached, the connection idle longest is closed for a
    /// new one [default: the open-descriptor limit less a tenth].
    #[arg(long, env = "REUSE_CHAT_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Time allowed for a request head, from the connection's start or the end of the
    /// previous response (so also the idle keep-alive time), in ms [default: 5000].
    #[arg(long, env = "REUSE_CHAT_HEADER_TIMEOUT_MS")]
    pub header_timeout_ms: Option<u64>,
    /// Log filter in `RUST_LOG` syntax [default: info].
    #[arg(long, env = "REUSE_CHAT_LOG")]
    pub log: Option<String>,
    /// Log line format: `text` or `json` (one JSON object a line) [default: text].
    #[arg(long, env = "REUSE_CHAT_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Where photos are stored: `file://DIR`, or an S3-compatible bucket
    /// `s3://BUCKET?endpoint=URL&region=R` (credentials from the AWS environment variables)
    /// that every node shares [default: file://DATA_DIR/blobs].
    #[arg(long, env = "REUSE_CHAT_BLOBS")]
    pub blobs: Option<String>,
    /// Largest photo upload in bytes [default: 10485760].
    #[arg(long, env = "REUSE_CHAT_MAX_ATTACHMENT_BYTES")]
    pub max_attachment_bytes: Option<u64>,
    /// Key that signs photo addresses (at least 16 bytes); every node of a cluster needs the
    /// same [default: derived from --jwt-secret, else random at each start].
    #[arg(long, env = "REUSE_CHAT_URL_SIGNING_KEY", hide_env_values = true)]
    pub url_signing_key: Option<String>,
    /// How long a signed photo address works, in seconds [default: 3600].
    #[arg(long, env = "REUSE_CHAT_ATTACHMENT_URL_TTL_SECS")]
    pub attachment_url_ttl_secs: Option<u64>,
    /// Prefix of photo addresses, e.g. `https://chat.example.com` when pages on another
    /// origin show them [default: none: same-origin paths].
    #[arg(long, env = "REUSE_CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Memory that decoding photos may take at once, in MiB: uploads wait for their share
    /// [default: 512].
    #[arg(long, env = "REUSE_CHAT_PHOTO_DECODE_MEMORY_MB")]
    pub photo_decode_memory_mb: Option<u64>,
    /// Bearer token of the operators' API (`GET /admin/reports`), at least 16 bytes
    /// [default: none: the operators' API refuses every call].
    #[arg(long, env = "REUSE_CHAT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A TOML file of scam-warning rules added to the shipped ones (docs/SAFETY.md).
    #[arg(long, env = "REUSE_CHAT_SAFETY_RULES")]
    pub safety_rules: Option<PathBuf>,
    /// Replace the digits of flagged phone and account numbers with ● before a message is
    /// stored.
    #[arg(long, env = "REUSE_CHAT_SAFETY_MASK", num_args = 0..=1, default_missing_value = "true")]
    pub safety_mask: Option<bool>,
    /// Rate limits, `NAME=RATE/PERIOD[:BURST]` separated by commas, e.g.
    /// `messages=10/s:30,rooms=30/m:10` (docs/SAFETY.md lists the names and defaults; `off`
    /// turns one off).
    #[arg(long, env = "REUSE_CHAT_RATE_LIMITS")]
    pub rate_limits: Option<String>,
    /// Bearer token of the marketplace backend's calls (`PUT /product/{id}/status`), at least
    /// 16 bytes [default: none: those calls are refused].
    #[arg(long, env = "REUSE_CHAT_SERVICE_TOKEN", hide_env_values = true)]
    pub service_token: Option<String>,
    /// PEM file of the P-256 private key that signs Web Push (VAPID, RFC 8292); turns Web Push
    /// on [default: none].
    #[arg(long, env = "REUSE_CHAT_VAPID_PRIVATE_KEY")]
    pub vapid_private_key: Option<PathBuf>,
    /// The contact push services see in the VAPID JWT (`mailto:` or `https:`)
    /// [default: mailto:ops@localhost].
    #[arg(long, env = "REUSE_CHAT_VAPID_SUBJECT")]
    pub vapid_subject: Option<String>,
    /// The marketplace's own push service: offline notifications are posted there as signed
    /// JSON [default: none].
    #[arg(long, env = "REUSE_CHAT_PUSH_WEBHOOK")]
    pub push_webhook: Option<String>,
    /// The HMAC-SHA256 key of the webhook's `X-Reuse-Signature`, at least 16 bytes.
    #[arg(long, env = "REUSE_CHAT_PUSH_WEBHOOK_SECRET", hide_env_values = true)]
    pub push_webhook_secret: Option<String>,
    /// Also take push endpoints at `http://127.0.0.1:…` (for tests; never in production).
    #[arg(long, env = "REUSE_CHAT_PUSH_ALLOW_HTTP_LOOPBACK", num_args = 0..=1, default_missing_value = "true")]
    pub push_allow_http_loopback: Option<bool>,
    /// How long before an appointment its reminder is posted, in seconds [default: 3600].
    #[arg(long, env = "REUSE_CHAT_REMINDER_LEAD_SECS")]
    pub reminder_lead_secs: Option<u64>,
    /// How long a new offline notification waits for the messages right after it to join it,
    /// in milliseconds [default: 2000].
    #[arg(long, env = "REUSE_CHAT_NOTIFY_GATHER_MS")]
    pub notify_gather_ms: Option<u64>,
    /// Quiet time that ends a burst: a message later than this after the previous one (or
    /// after the member read the room) notifies again, in seconds [default: 300].
    #[arg(long, env = "REUSE_CHAT_NOTIFY_BURST_GAP_SECS")]
    pub notify_burst_gap_secs: Option<u64>,
}

/// A setting that cannot be used; the message names it so the operator knows what to fix.
#[derive(Debug, Error)]
#[error("invalid setting {name}: {reason}")]
pub struct ConfigError {
    /// The setting as a flag, e.g. `--listen`.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

pub(crate) fn bad(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// How users prove who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSetting {
    /// Trust `X-Auth-User` as set by a gateway.
    Header,
    /// Verify an HS256 token with a shared secret.
    JwtSecret(String),
    /// Verify an RS256/ES256 token with this PEM public key.
    JwtPublicKey(Vec<u8>),
}

/// Where presence (who is online, who is in a room) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceSetting {
    /// In this process: right for one node.
    Memory,
    /// In Redis, shared by every node.
    Redis {
        /// `redis://host:port[/db]`.
        url: String,
        /// Prefix of every key.
        prefix: String,
    },
}

fn presence_setting(
    presence: Option<String>,
    prefix: Option<String>,
) -> Result<PresenceSetting, ConfigError> {
    match presence.as_deref().unwrap_or("memory") {
        "memory" => match prefix {
            Some(_) => Err(bad(
                "--presence-prefix",
                "only applies to --presence redis://…",
            )),
            None => Ok(PresenceSetting::Memory),
        },
        url if url.starts_with("redis://") => {
            chat_presence_redis::check_url(url).map_err(|e| bad("--presence", e.to_string()))?;
            let prefix = prefix.unwrap_or_else(|| chat_presence_redis::DEFAULT_PREFIX.to_owned());
            chat_presence_redis::check_prefix(&prefix)
                .map_err(|e| bad("--presence-prefix", e.to_string()))?;
            Ok(PresenceSetting::Redis {
                url: url.to_owned(),
                prefix,
            })
        }
        _ => Err(bad(
            "--presence",
            "expected memory or a URL like redis://host:port[/db]",
        )),
    }
}

/// How room events reach the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusSetting {
    /// In this process: one node.
    Local,
    /// Through a Kafka topic shared by every node.
    Kafka(chat_bus_kafka::KafkaConfig),
}

fn bus_setting(bus: Option<String>) -> Result<BusSetting, ConfigError> {
    match bus.as_deref().unwrap_or("local") {
        "local" => Ok(BusSetting::Local),
        url => chat_bus_kafka::KafkaConfig::from_url(url)
            .map(BusSetting::Kafka)
            .map_err(|e| bad("--bus", format!("expected local or kafka://…: {e}"))),
    }
}

/// The inquiry mailer's settings, or `None` without `--smtp` (inquiries are then only stored).
fn mail_setting(
    smtp: Option<String>,
    to: Option<String>,
    from: Option<String>,
) -> Result<Option<chat_mail::MailConfig>, ConfigError> {
    let from = from.unwrap_or_else(|| "reuse-chat@localhost".to_owned());
    let from = chat_mail::parse_mailbox(&from).map_err(|e| bad("--inquiry-from", e.to_string()))?;
    let to = to
        .map(|to| chat_mail::parse_mailbox(&to).map_err(|e| bad("--inquiry-to", e.to_string())))
        .transpose()?;
    let Some(smtp) = smtp else {
        return Ok(None);
    };
    let smtp = chat_mail::SmtpUrl::parse(&smtp).map_err(|e| bad("--smtp", e.to_string()))?;
    let to = to.ok_or_else(|| bad("--smtp", "needs --inquiry-to, the address inquiries go to"))?;
    Ok(Some(chat_mail::MailConfig {
        smtp,
        to,
        from,
        tuning: chat_mail::SenderTuning::default(),
    }))
}

/// Validated settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database: String,
    /// Longest wait for a database connection: the bound on how long a request hangs while
    /// the database is down before it fails with "unavailable".
    pub database_timeout: Duration,
    /// Presence backend.
    pub presence: PresenceSetting,
    /// Bus between nodes.
    pub bus: BusSetting,
    /// Inquiry mail, if `--smtp` is set (its pacing is adjustable here, not by flags).
    pub mail: Option<chat_mail::MailConfig>,
    /// Identity mode.
    pub auth: AuthSetting,
    /// Heart-beat interval offered and requested (zero disables).
    pub heartbeat: Duration,
    /// Largest STOMP frame.
    pub max_frame_bytes: usize,
    /// Longest content, in characters.
    pub max_content_chars: usize,
    /// Largest history page.
    pub history_max: u32,
    /// Subscriptions per session.
    pub max_subscriptions: usize,
    /// Outbound frames queued per session.
    pub outbound_queue: usize,
    /// Concurrent sessions.
    pub max_sessions: usize,
    /// Time allowed for one write to a client.
    pub write_timeout: Duration,
    /// Most open connections from one client address (0: no cap).
    pub max_connections_per_ip: usize,
    /// Most open connections in all (`None`: from the descriptor limit).
    pub max_connections: Option<usize>,
    /// Time allowed for a request head, and the idle keep-alive time.
    pub header_timeout: Duration,
    /// Log filter.
    pub log: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Photos: where they live and their limits.
    pub photos: crate::photo_config::PhotoSettings,
    /// Safety: the operators' token, the warning rules, rate limits.
    pub safety: crate::safety_config::SafetySettings,
    /// The listing and notifications: the service token, push channels, reminders.
    pub notify: crate::notify_config::NotifySettings,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

impl Settings {
    /// Settings for tests and embedding: the defaults with the given data directory.
    pub fn for_data_dir(dir: &Path) -> Self {
        let raw = RawSettings {
            data_dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        // The defaults are valid by construction.
        Self::resolve(raw).unwrap_or_else(|e| unreachable!("default settings invalid: {e}"))
    }

    /// Merges flags/environment (`cli`) over the TOML file named by `--config` over defaults,
    /// and validates the result.
    pub fn load(cli: RawSettings) -> Result<Self, ConfigError> {
        let file = match &cli.config {
            None => RawSettings::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| bad("--config", format!("cannot read {}: {e}", path.display())))?;
                toml::from_str::<RawSettings>(&text).map_err(|e| {
                    bad(
                        "--config",
                        format!("{}: {}", path.display(), e.message().replace('\n', " ")),
                    )
                })?
            }
        };
        Self::resolve(cli.or(file))
    }

    fn resolve(raw: RawSettings) -> Result<Self, ConfigError> {
        // The photo settings are read after the auth mode is known, from this copy.
        let photo_raw = raw.clone();
        let listen = raw.listen.as_deref().unwrap_or("0.0.0.0:8070");
        let listen: SocketAddr = listen.parse().map_err(|_| {
            bad(
                "--listen",
                format!("'{listen}' is not an address like 0.0.0.0:8070"),
            )
        })?;
        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        if data_dir.as_os_str().is_empty() {
            return Err(bad("--data-dir", "must not be empty"));
        }
        let database = match raw.database {
            Some(url) => url,
            None => format!("sqlite://{}", data_dir.join("reuse-chat.db").display()),
        };
        let scheme = database.split("://").next().unwrap_or("");
        if !database.contains("://")
            || !matches!(
                scheme,
                "sqlite" | "mysql" | "mariadb" | "postgres" | "postgresql"
            )
        {
            return Err(bad(
                "--database",
                "expected a URL starting with sqlite://, mysql:// or postgres://",
            ));
        }
        let auth = match raw.auth.as_deref().unwrap_or("header") {
            "header" => {
                if raw.jwt_secret.is_some() || raw.jwt_public_key.is_some() {
                    return Err(bad(
                        "--auth",
                        "--jwt-secret and --jwt-public-key need --auth jwt",
                    ));
                }
                AuthSetting::Header
            }
            "jwt" => match (raw.jwt_secret, raw.jwt_public_key) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        "--jwt-secret",
                        "give either --jwt-secret or --jwt-public-key, not both",
                    ))
                }
                (Some(secret), None) => {
                    if secret.len() < 16 {
                        return Err(bad("--jwt-secret", "must be at least 16 bytes"));
                    }
                    AuthSetting::JwtSecret(secret)
                }
                (None, Some(path)) => {
                    let pem = std::fs::read(&path).map_err(|e| {
                        bad(
                            "--jwt-public-key",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?;
                    crate::auth::check_public_key(&pem).map_err(|reason| {
                        bad("--jwt-public-key", format!("{}: {reason}", path.display()))
                    })?;
                    AuthSetting::JwtPublicKey(pem)
                }
                (None, None) => {
                    return Err(bad("--auth", "jwt needs --jwt-secret or --jwt-public-key"))
                }
            },
            other => {
                return Err(bad(
                    "--auth",
                    format!("'{other}' is not one of: header, jwt"),
                ))
            }
        };
        let heartbeat = Duration::from_millis(raw.heartbeat_ms.unwrap_or(10_000));
        if heartbeat > Duration::from_secs(3600) {
            return Err(bad("--heartbeat-ms", "must be at most 3600000"));
        }
        let max_frame_bytes = raw.max_frame_bytes.unwrap_or(64 * 1024);
        if !(1024..=16 * 1024 * 1024).contains(&max_frame_bytes) {
            return Err(bad(
                "--max-frame-bytes",
                "must be between 1024 and 16777216",
            ));
        }
        let max_content_chars = raw.max_content_chars.unwrap_or(4000);
        if max_content_chars == 0 || max_content_chars * 4 > max_frame_bytes {
            return Err(bad(
                "--max-content-chars",
                "must be at least 1 and fit in a frame (4 bytes a character)",
            ));
        }
        let history_max = raw.history_max.unwrap_or(200);
        if !(1..=10_000).contains(&history_max) {
            return Err(bad("--history-max", "must be between 1 and 10000"));
        }
        let max_subscriptions = raw.max_subscriptions.unwrap_or(64);
        if !(1..=10_000).contains(&max_subscriptions) {
            return Err(bad("--max-subscriptions", "must be between 1 and 10000"));
        }
        let outbound_queue = raw.outbound_queue.unwrap_or(1024);
        if !(8..=1_000_000).contains(&outbound_queue) {
            return Err(bad("--outbound-queue", "must be between 8 and 1000000"));
        }
        let max_sessions = raw.max_sessions.unwrap_or(200_000);
        if max_sessions == 0 {
            return Err(bad("--max-sessions", "must be at least 1"));
        }
        let write_timeout = Duration::from_millis(raw.write_timeout_ms.unwrap_or(10_000));
        if !(Duration::from_millis(10)..=Duration::from_secs(600)).contains(&write_timeout) {
            return Err(bad("--write-timeout-ms", "must be between 10 and 600000"));
        }
        let database_timeout = Duration::from_millis(raw.database_timeout_ms.unwrap_or(5_000));
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&database_timeout) {
            return Err(bad(
                "--database-timeout-ms",
                "must be between 100 and 600000",
            ));
        }
        let photos = crate::photo_config::PhotoSettings::resolve(&photo_raw, &data_dir, &auth)?;
        let safety = crate::safety_config::SafetySettings::resolve(&photo_raw)?;
        let notify = crate::notify_config::NotifySettings::resolve(&photo_raw)?;
        let presence = presence_setting(raw.presence, raw.presence_prefix)?;
        let bus = bus_setting(raw.bus)?;
        let mail = mail_setting(raw.smtp, raw.inquiry_to, raw.inquiry_from)?;
        let max_connections_per_ip = raw.max_connections_per_ip.unwrap_or(256);
        let max_connections = raw.max_connections;
        if max_connections == Some(0) {
            return Err(bad("--max-connections", "must be at least 1"));
        }
        let header_timeout = Duration::from_millis(raw.header_timeout_ms.unwrap_or(5_000));
        if !(Duration::from_millis(100)..=Duration::from_secs(600)).contains(&header_timeout) {
            return Err(bad("--header-timeout-ms", "must be between 100 and 600000"));
        }
        let log_format = match raw.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(bad(
                    "--log-format",
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };
        let log = raw.log.unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log).is_err() {
            return Err(bad("--log", format!("'{log}' is not a valid log filter")));
        }
        Ok(Settings {
            listen,
            data_dir,
            database,
            database_timeout,
            presence,
            bus,
            mail,
            auth,
            heartbeat,
            max_frame_bytes,
            max_content_chars,
            history_max,
            max_subscriptions,
            outbound_queue,
            max_sessions,
            write_timeout,
            max_connections_per_ip,
            max_connections,
            header_timeout,
            log,
            log_format,
            photos,
            safety,
            notify,
        })
    }
}

impl RawSettings {
    /// Each setting from `self`, or from `other` where `self` has none.
    fn or(self, other: RawSettings) -> RawSettings {
        RawSettings {
            config: self.config.or(other.config),
            listen: self.listen.or(other.listen),
            data_dir: self.data_dir.or(other.data_dir),
            database: self.database.or(other.database),
            database_timeout_ms: self.database_timeout_ms.or(other.database_timeout_ms),
            presence: self.presence.or(other.presence),
            presence_prefix: self.presence_prefix.or(other.presence_prefix),
            bus: self.bus.or(other.bus),
            smtp: self.smtp.or(other.smtp),
            inquiry_to: self.inquiry_to.or(other.inquiry_to),
            inquiry_from: self.inquiry_from.or(other.inquiry_from),
            auth: self.auth.or(other.auth),
            jwt_secret: self.jwt_secret.or(other.jwt_secret),
            jwt_public_key: self.jwt_public_key.or(other.jwt_public_key),
            heartbeat_ms: self.heartbeat_ms.or(other.heartbeat_ms),
            max_frame_bytes: self.max_frame_bytes.or(other.max_frame_bytes),
            max_content_chars: self.max_content_chars.or(other.max_content_chars),
            history_max: self.history_max.or(other.history_max),
            max_subscriptions: self.max_subscriptions.or(other.max_subscriptions),
            outbound_queue: self.outbound_queue.or(other.outbound_queue),
            max_sessions: self.max_sessions.or(other.max_sessions),
            write_timeout_ms: self.write_timeout_ms.or(other.write_timeout_ms),
            max_connections_per_ip: self.max_connections_per_ip.or(other.max_connections_per_ip),
            max_connections: self.max_connections.or(other.max_connections),
            header_timeout_ms: self.header_timeout_ms.or(other.header_timeout_ms),
            log: self.log.or(other.log),
            log_format: self.log_format.or(other.log_format),
            blobs: self.blobs.or(other.blobs),
            max_attachment_bytes: self.max_attachment_bytes.or(other.max_attachment_bytes),
            url_signing_key: self.url_signing_key.or(other.url_signing_key),
            attachment_url_ttl_secs: self
                .attachment_url_ttl_secs
                .or(other.attachment_url_ttl_secs),
            public_url: self.public_url.or(other.public_url),
            photo_decode_memory_mb: self.photo_decode_memory_mb.or(other.photo_decode_memory_mb),
            admin_token: self.admin_token.or(other.admin_token),
            safety_rules: self.safety_rules.or(other.safety_rules),
            safety_mask: self.safety_mask.or(other.safety_mask),
            rate_limits: self.rate_limits.or(other.rate_limits),
            service_token: self.service_token.or(other.service_token),
            vapid_private_key: self.vapid_private_key.or(other.vapid_private_key),
            vapid_subject: self.vapid_subject.or(other.vapid_subject),
            push_webhook: self.push_webhook.or(other.push_webhook),
            push_webhook_secret: self.push_webhook_secret.or(other.push_webhook_secret),
            push_allow_http_loopback: self
                .push_allow_http_loopback
                .or(other.push_allow_http_loopback),
            reminder_lead_secs: self.reminder_lead_secs.or(other.reminder_lead_secs),
            notify_gather_ms: self.notify_gather_ms.or(other.notify_gather_ms),
            notify_burst_gap_secs: self.notify_burst_gap_secs.or(other.notify_burst_gap_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(raw: RawSettings) -> Result<Settings, ConfigError> {
        Settings::resolve(raw)
    }

    #[test]
    fn defaults() {
        let s = resolve(RawSettings::default()).unwrap();
        assert_eq!(s.listen, "0.0.0.0:8070".parse().unwrap());
        assert_eq!(s.database, "sqlite://./data/reuse-chat.db");
        assert_eq!(s.auth, AuthSetting::Header);
        assert_eq!(s.max_frame_bytes, 65536);
        assert_eq!(s.max_content_chars, 4000);
        assert_eq!(s.history_max, 200);
        assert_eq!(s.max_connections_per_ip, 256);
        assert_eq!(s.max_connections, None);
        assert_eq!(s.header_timeout, Duration::from_secs(5));
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let name = |raw: RawSettings| resolve(raw).unwrap_err().name;
        assert_eq!(
            name(RawSettings {
                listen: Some("nope".into()),
                ..Default::default()
            }),
            "--listen"
        );
        assert_eq!(
            name(RawSettings {
                auth: Some("basic".into()),
                ..Default::default()
            }),
            "--auth"
        );
        assert_eq!(
            name(RawSettings {
                auth: Some("jwt".into()),
                ..Default::default()
            }),
            "--auth"
        );
        assert_eq!(
            name(RawSettings {
                auth: Some("jwt".into()),
                jwt_secret: Some("short".into()),
                ..Default::default()
            }),
            "--jwt-secret"
        );
        assert_eq!(
            name(RawSettings {
                auth: Some("jwt".into()),
                jwt_public_key: Some("/nonexistent.pem".into()),
                ..Default::default()
            }),
            "--jwt-public-key"
        );
        assert_eq!(
            name(RawSettings {
                database: Some("redis://x".into()),
                ..Default::default()
            }),
            "--database"
        );
        assert_eq!(
            name(RawSettings {
                max_frame_bytes: Some(10),
                ..Default::default()
            }),
            "--max-frame-bytes"
        );
        assert_eq!(
            name(RawSettings {
                log_format: Some("xml".into()),
                ..Default::default()
            }),
            "--log-format"
        );
        assert_eq!(
            name(RawSettings {
                header_timeout_ms: Some(0),
                ..Default::default()
            }),
            "--header-timeout-ms"
        );
        assert_eq!(
            name(RawSettings {
                max_connections: Some(0),
                ..Default::default()
            }),
            "--max-connections"
        );
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nhistory-max = 100\n").unwrap();
        let cli = RawSettings {
            config: Some(path.clone()),
            history_max: Some(50),
            ..Default::default()
        };
        let s = Settings::load(cli).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.history_max, 50);

        std::fs::write(&path, "lissten = \"127.0.0.1:1\"\n").unwrap();
        let err = Settings::load(RawSettings {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(err.name, "--config");
        assert!(err.reason.contains("lissten"), "{}", err.reason);
    }

    #[test]
    fn presence_is_memory_or_a_redis_url() {
        let presence = |p: Option<&str>, prefix: Option<&str>| {
            resolve(RawSettings {
                presence: p.map(str::to_owned),
                presence_prefix: prefix.map(str::to_owned),
                ..Default::default()
            })
        };
        assert_eq!(
            presence(None, None).unwrap().presence,
            PresenceSetting::Memory
        );
        assert_eq!(
            presence(Some("redis://127.0.0.1:6379/1"), None)
                .unwrap()
                .presence,
            PresenceSetting::Redis {
                url: "redis://127.0.0.1:6379/1".into(),
                prefix: "reuse-chat".into()
            }
        );
        let name = |p, prefix| presence(p, prefix).unwrap_err().name;
        assert_eq!(name(Some("redis"), None), "--presence");
        assert_eq!(name(Some("memcached://x"), None), "--presence");
        assert_eq!(name(Some("redis://h:notaport"), None), "--presence");
        assert_eq!(name(Some("redis://h"), Some("a b")), "--presence-prefix");
        assert_eq!(name(Some("memory"), Some("p")), "--presence-prefix");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "presence = \"redis://cache:6380\"\npresence-prefix = \"chat1\"\n",
        )
        .unwrap();
        let s = Settings::load(RawSettings {
            config: Some(path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            s.presence,
            PresenceSetting::Redis {
                url: "redis://cache:6380".into(),
                prefix: "chat1".into()
            }
        );
    }

    #[test]
    fn mail_needs_a_recipient_and_valid_addresses() {
        let mail = |smtp: Option<&str>, to: Option<&str>, from: Option<&str>| {
            resolve(RawSettings {
                smtp: smtp.map(str::to_owned),
                inquiry_to: to.map(str::to_owned),
                inquiry_from: from.map(str::to_owned),
                ..Default::default()
            })
        };
        assert!(mail(None, None, None).unwrap().mail.is_none());
        let m = mail(
            Some("smtp://u:p@127.0.0.1:2525"),
            Some("Ops <ops@example.com>"),
            None,
        )
        .unwrap()
        .mail
        .unwrap();
        assert_eq!(m.to.email.to_string(), "ops@example.com");
        assert_eq!(m.from.email.to_string(), "reuse-chat@localhost");
        let name = |r: Result<Settings, ConfigError>| r.unwrap_err().name;
        assert_eq!(name(mail(Some("smtp://h:25"), None, None)), "--smtp");
        assert_eq!(name(mail(Some("http://h"), Some("a@b.c"), None)), "--smtp");
        assert_eq!(
            name(mail(Some("smtp://h:25"), Some("nope"), None)),
            "--inquiry-to"
        );
        assert_eq!(
            name(mail(Some("smtp://h:25"), Some("a@b.c"), Some("x y"))),
            "--inquiry-from"
        );
    }
}
