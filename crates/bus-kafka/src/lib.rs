//! The Kafka bus: carries every room event from the node that stored it to every other node.
//!
//! - One topic; the key is the room id, so a room's events stay in one partition and in the
//!   order they were published.
//! - Every node reads every partition by *assignment* (no consumer group membership, which
//!   would hand each event to only one node), starting from the end: a node that starts does
//!   not replay old traffic.
//! - The publishing node hands the event to its own subscribers at once (so a sender sees its
//!   own message before its `RECEIPT`) and skips its own events when they come back.
//! - Events from different nodes about one room can still arrive out of id order, or not at
//!   all (a node killed with events in its send buffer, a broker that lost its log). The
//!   receiving side puts them in order and fills gaps from storage: the core's
//!   [`Sequencer`]. After the broker was unreachable, the bus asks it to resync.
//! - While the broker is unreachable, events wait in the producer's bounded buffer (retried
//!   without a time limit) and go out when it returns; a `RECEIPT` never waits for Kafka.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::envelope::{self, Envelope};
use chat_core::hops;
use chat_core::ports::{Bus, BusError, EventSink};
use chat_core::sequencer::Sequencer;
use chat_core::{Millis, RoomEvent};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the Kafka bus could not be set up.
#[derive(Debug, Error)]
pub enum KafkaBusError {
    /// The `--bus` URL is not usable.
    #[error("{0}")]
    Url(String),
    /// The client could not be created or the topic could not be reached.
    #[error("kafka: {0}")]
    Kafka(String),
}

/// Where and how to reach Kafka, from `kafka://host:port[,host:port]?topic=NAME[&…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// The topic all nodes share.
    pub topic: String,
    /// Partitions of the topic when this node creates it.
    pub partitions: i32,
    /// `fetch.wait.max.ms`: how long the broker may hold an idle fetch. It bounds cross-node
    /// latency when traffic is light (see docs/BENCHMARKS.md).
    pub fetch_wait_ms: u32,
}

impl KafkaConfig {
    /// Parses the `--bus` URL. Query keys: `topic` (required), `partitions` (default 16),
    /// `fetch-wait-ms` (default 5).
    pub fn from_url(url: &str) -> Result<KafkaConfig, KafkaBusError> {
        let bad = |m: &str| KafkaBusError::Url(m.to_owned());
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("expected kafka://host:port[,host:port]?topic=NAME"))?;
        let (hosts, query) = rest.split_once('?').unwrap_or((rest, ""));
        let hosts = hosts.trim_end_matches('/');
        if hosts.is_empty()
            || hosts.split(',').any(|h| {
                h.rsplit_once(':')
                    .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
            })
        {
            return Err(bad("expected kafka://host:port[,host:port]?topic=NAME"));
        }
        let mut config = KafkaConfig {
            brokers: hosts.to_owned(),
            topic: String::new(),
            partitions: 16,
            fetch_wait_ms: 5,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map_err(|_| bad("the query is not UTF-8"))?;
            match k {
                "topic" => config.topic = v.into_owned(),
                "partitions" => {
                    config.partitions = v
                        .parse()
                        .ok()
                        .filter(|p| (1..=1024).contains(p))
                        .ok_or_else(|| bad("partitions must be 1 to 1024"))?
                }
                "fetch-wait-ms" => {
                    config.fetch_wait_ms = v
                        .parse()
                        .ok()
                        .filter(|p| (1..=10_000).contains(p))
                        .ok_or_else(|| bad("fetch-wait-ms must be 1 to 10000"))?
                }
                other => return Err(KafkaBusError::Url(format!("unknown parameter '{other}'"))),
            }
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if config.topic.is_empty() || config.topic.len() > 249 || !config.topic.chars().all(legal) {
            return Err(bad(
                "topic=NAME is required: 1-249 characters of letters, digits, '.', '_', '-'",
            ));
        }
        Ok(config)
    }
}

/// Client callbacks: librdkafka reports broker trouble here rather than as call results.
struct Watch {
    disrupted: Arc<AtomicBool>,
    /// Registered once, recorded for sampled events only.
    produce_hop: metrics::Histogram,
    publish_lag: metrics::Histogram,
}

impl Watch {
    fn new(disrupted: &Arc<AtomicBool>) -> Watch {
        Watch {
            disrupted: disrupted.clone(),
            produce_hop: metrics::histogram!(hops::PRODUCE_SECONDS),
            publish_lag: metrics::histogram!(PUBLISH_LAG_SECONDS),
        }
    }
}

impl ClientContext for Watch {
    fn error(&self, error: KafkaError, reason: &str) {
        self.disrupted.store(true, Ordering::Release);
        tracing::warn!(%error, reason, "kafka");
    }
}

impl ConsumerContext for Watch {}

impl ProducerContext for Watch {
    /// When a sampled event was published (wall-clock microseconds, see [`hops`]); 0 for the
    /// others, which are not timed.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, published_us: usize) {
        if let (Ok(m), true) = (result, published_us > 0) {
            let now = hops::now_us();
            let published_us = i64::try_from(published_us).unwrap_or(now);
            self.produce_hop
                .record(hops::seconds_between(published_us, now));
            if let Some(produced) = m.timestamp().to_millis() {
                let lag = Millis::now().0.saturating_sub(produced).max(0);
                self.publish_lag.record(lag as f64 / 1000.0);
            }
        }
        if let Err((e, _)) = result {
            // Stored already, so not lost: the other nodes read it from storage when they
            // notice the gap or resync.
            self.disrupted.store(true, Ordering::Release);
            tracing::warn!(error = %e, "kafka: an event could not be delivered to the bus");
        }
    }
}

/// Histogram: seconds from produce to the broker's acknowledgement (millisecond resolution;
/// sampled like the hops, see [`hops::PRODUCE_SECONDS`] for microseconds).
pub const PUBLISH_LAG_SECONDS: &str = "reuse_chat_kafka_publish_lag_seconds";
/// Histogram: seconds from a message's commit (on another node) to its consumption here
/// (sampled like the hops).
pub const CONSUME_LAG_SECONDS: &str = "reuse_chat_kafka_consume_lag_seconds";

/// Events waiting in the producer while the broker is away; beyond this, publishing fails
/// (the message is stored all the same, and other nodes fill the gap from storage).
const PRODUCER_BUFFER: &str = "100000";
const METADATA_TIMEOUT: Duration = Duration::from_secs(3);

/// The bus over Kafka. See the module documentation.
pub struct KafkaBus {
    producer: Arc<ThreadedProducer<Watch>>,
    config: KafkaConfig,
    node: String,
    sink: Arc<Sequencer>,
    commit_hop: metrics::Histogram,
}

impl KafkaBus {
    /// Connects, makes sure the topic exists, and starts consuming from its end into `sink`.
    /// The returned task runs until `shutdown` is cancelled.
    pub async fn start(
        config: KafkaConfig,
        node: String,
        sink: Arc<Sequencer>,
        shutdown: CancellationToken,
    ) -> Result<(Arc<KafkaBus>, JoinHandle<()>), KafkaBusError> {
        let disrupted = Arc::new(AtomicBool::new(false));
        let kafka = |e: KafkaError| KafkaBusError::Kafka(e.to_string());
        let producer: ThreadedProducer<Watch> = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", format!("reuse-chat-{node}"))
            .set("linger.ms", "1")
            // One request at a time to the broker. Requests carry one partition each and a
            // broker serves a connection's requests one after another, so with many in flight
            // a burst of one-message requests queues at the broker, and once its service time
            // nears the gap between messages the queue, not the network, sets the latency
            // (seconds with tansu on a busy CPU, see docs/BENCHMARKS.md). With one in flight,
            // what arrives meanwhile waits here and leaves as one batch per partition: the
            // batch grows with the broker's delay instead of the queue. It also keeps a
            // partition's order through retries, so the sequencer has no gaps to wait for.
            .set("max.in.flight.requests.per.connection", "1")
            // Latency over bytes on the wire: no small write ever waits for the
            // acknowledgement of an earlier one (librdkafka's advice for low latency).
            .set("socket.nagle.disable", "true")
            .set("message.timeout.ms", "0")
            .set("queue.buffering.max.messages", PRODUCER_BUFFER)
            .create_with_context(Watch::new(&disrupted))
            .map_err(kafka)?;
        // Kept for the node's life: the topic is checked again after every disruption.
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .create()
            .map_err(kafka)?;
        ensure_topic(&admin, &config).await?;
        let consumer: StreamConsumer<Watch> = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", format!("reuse-chat-{node}"))
            // Never joined (partitions are assigned, not subscribed) and never committed: the
            // id only satisfies librdkafka.
            .set("group.id", format!("reuse-chat-{node}"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "latest")
            .set("fetch.wait.max.ms", config.fetch_wait_ms.to_string())
            .set("fetch.min.bytes", "1")
            // As for the producer.
            .set("socket.nagle.disable", "true")
            .create_with_context(Watch::new(&disrupted))
            .map_err(kafka)?;
        let consumer = Arc::new(consumer);
        assign_from_end(&consumer, &config.topic).await?;
        let bus = Arc::new(KafkaBus {
            producer: Arc::new(producer),
            config: config.clone(),
            node: node.clone(),
            sink: sink.clone(),
            commit_hop: metrics::histogram!(hops::COMMIT_SECONDS),
        });
        let task = tokio::spawn(consume(
            consumer, admin, config, node, sink, disrupted, shutdown,
        ));
        Ok((bus, task))
    }

    /// Waits up to `wait` for buffered events to reach the broker (on shutdown).
    pub fn flush(&self, wait: Duration) {
        if let Err(e) = self.producer.flush(wait) {
            tracing::warn!(error = %e, "kafka: events still buffered at shutdown");
        }
    }
}

#[async_trait]
impl Bus for KafkaBus {
    async fn publish(&self, event: RoomEvent) -> Result<(), BusError> {
        self.sink.deliver(&event);
        // A sampled message carries when it was published: the receivers time the bus hop
        // with it, the delivery report the produce hop.
        let stamp = match &event {
            RoomEvent::Message(s) | RoomEvent::MemberLeft(s) if hops::sampled(s.message.id) => {
                let now = hops::now_us();
                let committed = s.message.created_at.0.saturating_mul(1000);
                self.commit_hop
                    .record(hops::seconds_between(committed, now));
                Some(now)
            }
            _ => None,
        };
        let payload = envelope::encode(&self.node, &event, stamp);
        let key = event.bus_key();
        let opaque = stamp.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let record = BaseRecord::with_opaque_to(&self.config.topic, opaque)
            .key(&key)
            .payload(&payload);
        self.producer
            .send(record)
            .map_err(|(e, _)| BusError::Unavailable(e.to_string()))
    }

    async fn ping(&self) -> Result<(), BusError> {
        // Metadata requests block; keep them off the runtime's threads.
        let (producer, topic) = (self.producer.clone(), self.config.topic.clone());
        tokio::task::spawn_blocking(move || topic_partitions(producer.client(), &topic))
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?
            .map(|_| ())
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }
}

fn topic_partitions<C: ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<Vec<i32>, KafkaBusError> {
    let md = client
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .map_err(|e| KafkaBusError::Kafka(e.to_string()))?;
    let t = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| KafkaBusError::Kafka(format!("topic {topic} not found")))?;
    if let Some(e) = t.error() {
        return Err(KafkaBusError::Kafka(format!(
            "topic {topic}: {:?}",
            RDKafkaErrorCode::from(e)
        )));
    }
    let parts: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    if parts.is_empty() {
        return Err(KafkaBusError::Kafka(format!(
            "topic {topic} has no partitions"
        )));
    }
    Ok(parts)
}

/// Creates the topic unless it exists (a broker that keeps no log loses it on restart).
async fn ensure_topic(
    admin: &AdminClient<DefaultClientContext>,
    config: &KafkaConfig,
) -> Result<(), KafkaBusError> {
    let topic = NewTopic::new(&config.topic, config.partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|e| KafkaBusError::Kafka(e.to_string()))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaBusError::Kafka(format!(
                    "cannot create topic {name}: {code:?}"
                )))
            }
        }
    }
    Ok(())
}

async fn assign_from_end(
    consumer: &Arc<StreamConsumer<Watch>>,
    topic: &str,
) -> Result<(), KafkaBusError> {
    let c = consumer.clone();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let parts = topic_partitions(c.client(), &topic)?;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            tpl.add_partition_offset(&topic, p, Offset::End)
                .map_err(|e| KafkaBusError::Kafka(e.to_string()))?;
        }
        c.assign(&tpl)
            .map_err(|e| KafkaBusError::Kafka(e.to_string()))
    })
    .await
    .map_err(|e| KafkaBusError::Kafka(e.to_string()))?
}

/// How long after a recovery the second resync runs: it catches what was published while the
/// consumer was still finding the end of the log.
const SECOND_RESYNC: Duration = Duration::from_secs(3);

async fn consume(
    consumer: Arc<StreamConsumer<Watch>>,
    admin: AdminClient<DefaultClientContext>,
    config: KafkaConfig,
    node: String,
    sink: Arc<Sequencer>,
    disrupted: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let mut check = tokio::time::interval(Duration::from_secs(1));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut second_resync: Option<tokio::time::Instant> = None;
    let consume_lag = metrics::histogram!(CONSUME_LAG_SECONDS);
    let bus_hop = metrics::histogram!(hops::BUS_SECONDS);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            received = consumer.recv() => match received {
                Ok(m) => {
                    let Some(payload) = m.payload() else { continue };
                    match envelope::decode(payload) {
                        Ok(Envelope { node: from, .. }) if from == node => {}
                        Ok(Envelope { event, published_us, .. }) => {
                            // Only sampled messages carry a stamp (see `publish`).
                            if let (Some(published), RoomEvent::Message(s) | RoomEvent::MemberLeft(s)) = (published_us, &event) {
                                let now = hops::now_us();
                                bus_hop.record(hops::seconds_between(published, now));
                                let committed = s.message.created_at.0.saturating_mul(1000);
                                consume_lag.record(hops::seconds_between(committed, now));
                            }
                            sink.deliver(&event)
                        }
                        Err(e) => tracing::warn!(error = %e, offset = m.offset(), "kafka: skipping a bad event"),
                    }
                }
                Err(e) => {
                    disrupted.store(true, Ordering::Release);
                    tracing::warn!(error = %e, "kafka: consume failed");
                    // Do not spin on a persistent error.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            _ = check.tick() => {
                if second_resync.is_some_and(|t| t <= tokio::time::Instant::now()) {
                    second_resync = None;
                    sink.resync();
                }
                if !disrupted.load(Ordering::Acquire) {
                    continue;
                }
                // The broker was unreachable or lost events: once it answers again, make sure
                // the topic exists, read from its end, and let the sequencer read from storage
                // whatever this node missed meanwhile.
                if ensure_topic(&admin, &config).await.is_err() {
                    continue;
                }
                if assign_from_end(&consumer, &config.topic).await.is_err() {
                    continue;
                }
                disrupted.store(false, Ordering::Release);
                tracing::info!("kafka: reachable again; resyncing rooms from storage");
                sink.resync();
                second_resync = Some(tokio::time::Instant::now() + SECOND_RESYNC);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_urls_are_parsed_strictly() {
        let c = KafkaConfig::from_url("kafka://k1:9092,k2:9093?topic=chat.events&fetch-wait-ms=5")
            .unwrap();
        assert_eq!(c.brokers, "k1:9092,k2:9093");
        assert_eq!(c.topic, "chat.events");
        assert_eq!(c.fetch_wait_ms, 5);
        assert_eq!(c.partitions, 16);
        for bad in [
            "kafka://k1:9092",
            "kafka://?topic=x",
            "kafka://k1?topic=x",
            "kafka://k1:99999?topic=x",
            "redis://k1:9092?topic=x",
            "kafka://k1:9092?topic=a/b",
            "kafka://k1:9092?topic=x&partitions=0",
            "kafka://k1:9092?topic=x&color=red",
        ] {
            assert!(KafkaConfig::from_url(bad).is_err(), "{bad}");
        }
    }
}
