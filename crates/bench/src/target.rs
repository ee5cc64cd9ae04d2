//! The servers the generator can drive and how each names rooms and identities: reuse-chat
//! (rooms made over REST, members only), RabbitMQ Web-STOMP (`/topic/…`, guest login) and the
//! bare baseline (any destination, no login).

use std::net::SocketAddr;

use futures::{stream, StreamExt, TryStreamExt};
use reuse_stomp::Frame;

use crate::BenchError;

/// Which kind of server is under test.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// reuse-chat: `/ws-stomp`, `X-Auth-User`, rooms created over REST.
    ReuseChat,
    /// RabbitMQ's Web-STOMP plugin: `/ws`, `guest`/`guest`, `/topic/…` destinations.
    Rabbitmq,
    /// The bare tokio WebSocket broadcast server of this crate.
    Baseline,
}

impl Kind {
    /// The name used in reports and the table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ReuseChat => "reuse-chat",
            Kind::Rabbitmq => "rabbitmq",
            Kind::Baseline => "baseline",
        }
    }
}

/// A server to drive.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its kind.
    pub kind: Kind,
    /// Host and port of its WebSocket endpoint (also its REST API for reuse-chat).
    pub addr: SocketAddr,
    /// Path of the WebSocket endpoint.
    pub ws_path: String,
    /// RabbitMQ login (`login`/`passcode` headers).
    pub login: (String, String),
}

/// One conversation: who may talk in it and where to subscribe and send.
#[derive(Clone, Debug)]
pub struct Room {
    /// The two members (reuse-chat rooms are 1:1; for the others any name works).
    pub users: [String; 2],
    /// Where to `SUBSCRIBE`.
    pub subscribe: String,
    /// Where to `SEND`.
    pub send: String,
}

/// What a room is used for: live chat (topics) or storage throughput (RabbitMQ durable queues).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Messages are broadcast to live subscribers.
    Chat,
    /// Messages must be stored durably (RabbitMQ: persistent messages on a durable queue).
    Persist,
}

impl Target {
    /// A target of `kind` at `addr` with that kind's usual endpoint path.
    pub fn new(kind: Kind, addr: SocketAddr) -> Target {
        let ws_path = match kind {
            Kind::ReuseChat => "/ws-stomp",
            Kind::Rabbitmq => "/ws",
            Kind::Baseline => "/",
        };
        Target {
            kind,
            addr,
            ws_path: ws_path.to_owned(),
            login: ("guest".to_owned(), "guest".to_owned()),
        }
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.addr, self.ws_path)
    }

    /// Adds the identity headers this target expects to a `CONNECT` frame.
    pub fn identify(&self, connect: Frame, user: &str) -> Frame {
        match self.kind {
            Kind::ReuseChat => connect.with_header("X-Auth-User", user),
            Kind::Rabbitmq => connect
                .with_header("login", &self.login.0)
                .with_header("passcode", &self.login.1),
            Kind::Baseline => connect,
        }
    }

    /// Extra headers on every `SEND` (RabbitMQ: persistence for the storage scenario).
    pub fn send_headers(&self, purpose: Purpose) -> &'static [(&'static str, &'static str)] {
        match (self.kind, purpose) {
            // Persistent messages on a durable queue, confirmed before the RECEIPT; the queue
            // removes itself two minutes after the run.
            (Kind::Rabbitmq, Purpose::Persist) => {
                &[("persistent", "true"), ("x-expires", "120000")]
            }
            _ => &[],
        }
    }

    /// reuse-chat's group commits so far, from its `/metrics`: the sum of their sizes and
    /// their count (`reuse_chat_commit_batch_size`), so that two readings give the mean batch
    /// of a window. `None` for the other targets, or when metrics are off or unreadable.
    pub async fn commit_batches(&self) -> Option<(f64, f64)> {
        if self.kind != Kind::ReuseChat {
            return None;
        }
        let text = reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .ok()?
            .error_for_status()
            .ok()?
            .text()
            .await
            .ok()?;
        parse_batches(&text)
    }

    /// Makes `n` rooms named after `run` (unique per run): REST `POST /room/create` for
    /// reuse-chat, plain destination names for the others.
    pub async fn rooms(
        &self,
        run: &str,
        n: usize,
        purpose: Purpose,
    ) -> Result<Vec<Room>, BenchError> {
        let users = |i: usize| [format!("b{run}-{i}"), format!("s{run}-{i}")];
        match self.kind {
            Kind::ReuseChat => {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(32)
                    .build()
                    .map_err(|e| BenchError::Http(e.to_string()))?;
                let base = format!("http://{}", self.addr);
                stream::iter(0..n)
                    .map(|i| {
                        let (http, base) = (http.clone(), base.clone());
                        async move {
                            let [buyer, seller] = users(i);
                            let id = create_room(&http, &base, &buyer, &seller, i).await?;
                            Ok::<Room, BenchError>(Room {
                                users: [buyer, seller],
                                subscribe: format!("/sub/chat/room/{id}"),
                                send: format!("/pub/room/{id}/message"),
                            })
                        }
                    })
                    .buffered(32)
                    .try_collect()
                    .await
            }
            Kind::Rabbitmq | Kind::Baseline => Ok((0..n)
                .map(|i| {
                    let dest = match (self.kind, purpose) {
                        (Kind::Rabbitmq, Purpose::Persist) => {
                            format!("/queue/reuse-bench-{run}-{i}")
                        }
                        _ => format!("/topic/room-{run}-{i}"),
                    };
                    Room {
                        users: users(i),
                        subscribe: dest.clone(),
                        send: dest,
                    }
                })
                .collect()),
        }
    }

    /// `users` users of reuse-chat, each the buyer in `rooms_each` rooms with a seller of its
    /// own per room: a marketplace user's room list, for the page-resume scenario.
    pub async fn member_rooms(
        &self,
        run: &str,
        users: usize,
        rooms_each: usize,
    ) -> Result<Vec<(String, Vec<String>)>, BenchError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| BenchError::Http(e.to_string()))?;
        let base = format!("http://{}", self.addr);
        let ids: Vec<String> = stream::iter(0..users * rooms_each)
            .map(|i| {
                let (http, base) = (http.clone(), base.clone());
                async move {
                    let buyer = format!("p{run}-{}", i / rooms_each.max(1));
                    let seller = format!("q{run}-{i}");
                    create_room(&http, &base, &buyer, &seller, i).await
                }
            })
            .buffered(32)
            .try_collect()
            .await?;
        Ok(ids
            .chunks(rooms_each.max(1))
            .enumerate()
            .map(|(u, rooms)| (format!("p{run}-{u}"), rooms.to_vec()))
            .collect())
    }
}

/// The `_sum` and `_count` of `reuse_chat_commit_batch_size` in a Prometheus text page.
fn parse_batches(text: &str) -> Option<(f64, f64)> {
    let value = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?;
            // The bare name or the name with labels, then the value.
            let rest = rest.strip_prefix(' ').or_else(|| {
                let (_, after) = rest.strip_prefix('{')?.split_once('}')?;
                after.strip_prefix(' ')
            })?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
    };
    Some((
        value("reuse_chat_commit_batch_size_sum")?,
        value("reuse_chat_commit_batch_size_count")?,
    ))
}

async fn create_room(
    http: &reqwest::Client,
    base: &str,
    buyer: &str,
    seller: &str,
    i: usize,
) -> Result<String, BenchError> {
    let url = format!("{base}/room/create?user={seller}&name=bench-item-{i}&productId=p-{i}");
    let resp = http
        .post(&url)
        .header("X-Auth-User", buyer)
        .send()
        .await
        .map_err(|e| BenchError::Http(format!("POST /room/create: {e}")))?;
    let status = resp.status();
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| BenchError::Http(format!("POST /room/create answered {status}: {e}")))?;
    body.get("roomUUID")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Http(format!("POST /room/create answered {status}: {body}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sums_are_read_from_metrics() {
        let page = "# TYPE reuse_chat_commit_batch_size summary\n\
                    reuse_chat_commit_batch_size{quantile=\"0.5\"} 256\n\
                    reuse_chat_commit_batch_size_sum 51200\n\
                    reuse_chat_commit_batch_size_count 200\n";
        assert_eq!(parse_batches(page), Some((51200.0, 200.0)));
        let labelled = "reuse_chat_commit_batch_size_sum{node=\"a\"} 10\n\
                        reuse_chat_commit_batch_size_count{node=\"a\"} 4\n";
        assert_eq!(parse_batches(labelled), Some((10.0, 4.0)));
        assert_eq!(parse_batches("reuse_chat_commit_batch_size_sum 3\n"), None);
    }
}
