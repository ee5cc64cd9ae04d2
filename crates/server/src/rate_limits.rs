//! Rate limits (API-v2 "Safety"): per user (messages, room creation, uploads, reports, blocks)
//! and per client address (WebSocket connects, REST calls), each a GCRA bucket from the
//! `governor` crate kept on this node. Over a limit: `429 rate_limited` with `Retry-After`, or
//! STOMP `ERROR` `rate_limited`. docs/SAFETY.md says how they add up in a cluster.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use chat_core::ports::SharedBuckets;
use chat_core::{ChatError, UserId};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

/// What is limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A user's `SEND`s of chat messages.
    Messages,
    /// A user's `POST /room/create`.
    Rooms,
    /// A user's photo uploads.
    Uploads,
    /// A user's reports.
    Reports,
    /// A user's blocks and unblocks.
    Blocks,
    /// WebSocket upgrades from one client address.
    Connects,
    /// REST calls from one client address.
    Requests,
}

impl Kind {
    /// Every kind, in the order the settings hold them.
    pub const ALL: [Kind; 7] = [
        Kind::Messages,
        Kind::Rooms,
        Kind::Uploads,
        Kind::Reports,
        Kind::Blocks,
        Kind::Connects,
        Kind::Requests,
    ];

    /// The name in `--rate-limits`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Messages => "messages",
            Kind::Rooms => "rooms",
            Kind::Uploads => "uploads",
            Kind::Reports => "reports",
            Kind::Blocks => "blocks",
            Kind::Connects => "connects",
            Kind::Requests => "requests",
        }
    }

    /// The default: what one person on several devices (or a family behind one address)
    /// stays well under.
    fn default_limit(self) -> Limit {
        let (count, period, burst) = match self {
            Kind::Messages => (10, 1, 30),
            Kind::Rooms => (30, 60, 10),
            Kind::Uploads => (60, 60, 20),
            Kind::Reports => (20, 3600, 5),
            Kind::Blocks => (30, 60, 10),
            Kind::Connects => (60, 60, 30),
            Kind::Requests => (50, 1, 200),
        };
        Limit {
            count,
            period: Duration::from_secs(period),
            burst,
        }
    }

    fn per_address(self) -> bool {
        matches!(self, Kind::Connects | Kind::Requests)
    }

    /// Whether the limit holds across the cluster (in the shared buckets, when there are):
    /// the REST calls a load balancer spreads over the nodes. A user's messages go through
    /// their sessions' nodes and stay per node (docs/SAFETY.md).
    fn cluster_wide(self) -> bool {
        matches!(
            self,
            Kind::Rooms | Kind::Uploads | Kind::Reports | Kind::Blocks
        )
    }
}

/// `count` per `period` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Events per period.
    pub count: u32,
    /// The period.
    pub period: Duration,
    /// Events allowed at once after a quiet time.
    pub burst: u32,
}

impl Limit {
    fn quota(self) -> Option<Quota> {
        let each = self.period / self.count.max(1);
        Some(
            Quota::with_period(each.max(Duration::from_nanos(1)))?
                .allow_burst(NonZeroU32::new(self.burst)?),
        )
    }
}

/// Every kind's limit (`None`: off).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitSettings {
    limits: [Option<Limit>; 7],
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            limits: Kind::ALL.map(|k| Some(k.default_limit())),
        }
    }
}

impl LimitSettings {
    /// Reads `--rate-limits`: `off`, or `NAME=RATE/PERIOD[:BURST]|off` separated by commas,
    /// each changing one kind's default.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut settings = LimitSettings::default();
        if spec.trim() == "off" {
            settings.limits = [None; 7];
            return Ok(settings);
        }
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, limit) = part
                .split_once('=')
                .ok_or_else(|| format!("'{part}' is not NAME=RATE/PERIOD[:BURST]"))?;
            let index = Kind::ALL
                .iter()
                .position(|k| k.name() == name.trim())
                .ok_or_else(|| {
                    format!(
                        "'{name}' is not one of: {}",
                        Kind::ALL.map(Kind::name).join(", ")
                    )
                })?;
            settings.limits[index] = crate::safety_config::parse_limit(limit)?;
        }
        Ok(settings)
    }

    /// One kind's limit.
    pub fn get(&self, kind: Kind) -> Option<Limit> {
        self.limits[kind as usize]
    }
}

enum Bucket {
    User(DefaultKeyedRateLimiter<UserId>),
    Address(DefaultKeyedRateLimiter<IpAddr>),
}

/// This node's buckets.
pub struct RateLimits {
    buckets: Vec<Option<Bucket>>,
    limits: LimitSettings,
    clock: DefaultClock,
    /// The buckets every node shares (Redis), for the cluster-wide kinds.
    shared: Option<Arc<dyn SharedBuckets>>,
    /// Whether the shared buckets failed last time (logged once per outage).
    shared_down: AtomicBool,
}

/// The refusal of a request that may come again after `wait` (counted for operators).
fn rate_limited(wait: Duration) -> ChatError {
    metrics::counter!("reuse_chat_rate_limited_total").increment(1);
    // Whole seconds, rounded up: `Retry-After` has no fractions.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ChatError::RateLimited {
        retry_after_secs: secs.max(1),
    }
}

/// How often idle buckets are dropped (a bucket back to full is the same as none).
const UPKEEP: Duration = Duration::from_secs(60);

impl RateLimits {
    /// Buckets for the settings' limits.
    pub fn new(settings: &LimitSettings) -> Self {
        let buckets = Kind::ALL
            .iter()
            .map(|&kind| {
                let quota = settings.get(kind)?.quota()?;
                Some(if kind.per_address() {
                    Bucket::Address(RateLimiter::keyed(quota))
                } else {
                    Bucket::User(RateLimiter::keyed(quota))
                })
            })
            .collect();
        RateLimits {
            buckets,
            limits: settings.clone(),
            clock: DefaultClock::default(),
            shared: None,
            shared_down: AtomicBool::new(false),
        }
    }

    /// Also limits the cluster-wide kinds in `shared`, the buckets every node sees.
    pub fn with_shared(mut self, shared: Arc<dyn SharedBuckets>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// No limits at all (tests that measure something else).
    pub fn off() -> Self {
        RateLimits::new(&LimitSettings { limits: [None; 7] })
    }

    fn refuse(&self, not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> ChatError {
        rate_limited(not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one from `user`'s bucket of `kind`, or says how long to wait.
    pub fn check_user(&self, kind: Kind, user: &UserId) -> Result<(), ChatError> {
        match self.buckets.get(kind as usize) {
            Some(Some(Bucket::User(b))) => b.check_key(user).map_err(|n| self.refuse(n)),
            _ => Ok(()),
        }
    }

    /// Takes one from `user`'s bucket of `kind` on this node and, for the kinds that hold across
    /// the cluster, from the shared one. When the shared buckets cannot be reached, this
    /// node's limit is what holds (logged once per outage).
    pub async fn check_user_everywhere(&self, kind: Kind, user: &UserId) -> Result<(), ChatError> {
        self.check_user(kind, user)?;
        let (Some(shared), Some(limit), true) =
            (&self.shared, self.limits.get(kind), kind.cluster_wide())
        else {
            return Ok(());
        };
        let key = format!("{}:{user}", kind.name());
        let interval = limit.period / limit.count.max(1);
        match shared.take(&key, interval, limit.burst).await {
            Ok(None) => {
                if self.shared_down.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limits: the shared buckets answer again");
                }
                Ok(())
            }
            Ok(Some(wait)) => Err(rate_limited(wait)),
            Err(e) => {
                if !self.shared_down.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "rate limits: the shared buckets cannot be reached; each node limits on its own until they answer");
                }
                Ok(())
            }
        }
    }

    /// Takes one from `address`'s bucket of `kind`, or says how long to wait.
    pub fn check_address(&self, kind: Kind, address: IpAddr) -> Result<(), ChatError> {
        match self.buckets.get(kind as usize) {
            Some(Some(Bucket::Address(b))) => b.check_key(&address).map_err(|n| self.refuse(n)),
            _ => Ok(()),
        }
    }

    fn upkeep(&self) {
        for bucket in self.buckets.iter().flatten() {
            match bucket {
                Bucket::User(b) => {
                    b.retain_recent();
                    b.shrink_to_fit();
                }
                Bucket::Address(b) => {
                    b.retain_recent();
                    b.shrink_to_fit();
                }
            }
        }
    }

    /// Drops idle buckets every minute until `shutdown`, so memory follows the active users.
    pub fn spawn_upkeep(self: &Arc<Self>, shutdown: CancellationToken) {
        let limits = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => match limits.upgrade() {
                        Some(l) => l.upkeep(),
                        None => return,
                    },
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_name_what_is_wrong() {
        let s = LimitSettings::parse("messages=2/s:3, reports=off").unwrap();
        assert_eq!(
            s.get(Kind::Messages),
            Some(Limit {
                count: 2,
                period: Duration::from_secs(1),
                burst: 3
            })
        );
        assert_eq!(s.get(Kind::Reports), None);
        assert_eq!(s.get(Kind::Rooms), Some(Kind::Rooms.default_limit()));
        assert!(LimitSettings::parse("off")
            .unwrap()
            .get(Kind::Requests)
            .is_none());
        for bad in [
            "mesages=1/s",
            "messages=1",
            "messages=0/s",
            "messages=1/d",
            "messages=1/s:0",
            "x",
        ] {
            assert!(LimitSettings::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_burst_then_a_wait() {
        let limits = RateLimits::new(&LimitSettings::parse("messages=1/m:3").unwrap());
        let alice = UserId::parse("alice").unwrap();
        let bob = UserId::parse("bob").unwrap();
        for _ in 0..3 {
            limits.check_user(Kind::Messages, &alice).unwrap();
        }
        match limits.check_user(Kind::Messages, &alice) {
            Err(ChatError::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs), "{retry_after_secs}")
            }
            other => panic!("{other:?}"),
        }
        // Buckets are per user.
        limits.check_user(Kind::Messages, &bob).unwrap();
        // An address kind ignores user checks, and the reverse.
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        limits.check_address(Kind::Messages, ip).unwrap();
        assert!(RateLimits::off().check_user(Kind::Messages, &alice).is_ok());
    }
}
