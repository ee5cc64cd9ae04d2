//! Search at scale (issue 17): `GET /search` for a seller with 500 rooms, with 1,000,000
//! messages in 100,000 rooms stored, on each backend; and what the searchable form costs in
//! bytes per message. The history is written straight through the store (`chat_store`: the
//! server's own write path, `search_text` and all), far faster than sending it.

use std::sync::Arc;

use chat_core::ports::ChatStore;
use chat_core::{MessageKind, Millis, NewMessage, NewRoom, RoomId, UserId};
use chat_store::{Backend, SqlStore, StoreOptions};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::procstat::Snapshot;
use crate::report::Report;
use crate::scenario::{percentiles, record, shared_histogram, Bench};
use crate::target::Kind;
use crate::BenchError;

/// Messages per `append` while filling (one group commit of the server's size).
const FILL_BATCH: usize = 1_000;

/// What people write in a marketplace chat, combined into messages: the queries below hit
/// some of them often (`택배`), some rarely (`무료나눔`), and one never.
const OPENERS: [&str; 8] = [
    "안녕하세요",
    "혹시",
    "네",
    "아 그렇군요",
    "감사합니다",
    "죄송한데",
    "ㅎㅎ",
    "좋아요",
];
const ITEMS: [&str; 12] = [
    "자전거",
    "아이폰 15 Pro",
    "책상",
    "캠핑 의자",
    "유모차",
    "에어팟",
    "노트북",
    "전자레인지",
    "겨울 코트",
    "닌텐도 스위치",
    "원목 식탁",
    "카메라 렌즈",
];
const ASKS: [&str; 12] = [
    "아직 판매중인가요?",
    "택배거래 가능한가요?",
    "직거래 가능할까요?",
    "네고 가능한가요?",
    "강남역에서 3시에 볼 수 있을까요?",
    "사진 더 보내주실 수 있나요?",
    "상태는 어떤가요? 기스 있나요?",
    "반값택배로 보내주세요",
    "내일 오후에 가지러 갈게요",
    "15만원에 가능할까요?",
    "계좌로 먼저 보내드릴까요?",
    "혹시 무료나눔도 하시나요?",
];

/// The queries asked in turn: a common word, a word inside longer words, 초성, two words, a
/// rare word, Latin, and one that matches nothing (the whole history is read for it).
const QUERIES: [&str; 7] = [
    "택배",
    "강남역",
    "ㅌㅂ",
    "직거래 가능",
    "무료나눔",
    "PRO",
    "없는단어",
];

/// Message `n` of room `room`: an opener, the item of the room, and a question.
fn message_text(room: usize, n: usize) -> String {
    let h = room
        .wrapping_mul(2_654_435_761)
        .wrapping_add(n.wrapping_mul(40_503));
    // One message in 97 asks the rare question.
    let ask = if (room * 10 + n) % 97 == 13 {
        ASKS.len() - 1
    } else {
        (h >> 3) % (ASKS.len() - 1)
    };
    format!(
        "{} {} {} ({n})",
        OPENERS[h % OPENERS.len()],
        ITEMS[room % ITEMS.len()],
        ASKS[ask]
    )
}

fn user(name: String) -> Result<UserId, BenchError> {
    UserId::parse(&name).map_err(|e| BenchError::Protocol(format!("user {name}: {e}")))
}

fn store_error(e: chat_core::StoreError) -> BenchError {
    BenchError::Protocol(format!("store: {e}"))
}

/// Average bytes of `search_text` and of `content` per message (on PostgreSQL after `ANALYZE`).
async fn bytes_per_message(url: &str) -> Result<(f64, f64), BenchError> {
    use sqlx::Row;
    let backend =
        Backend::from_url(url).ok_or_else(|| BenchError::Protocol("database URL".into()))?;
    let (index, content) = match backend {
        Backend::Sqlite => (
            "LENGTH(CAST(search_text AS BLOB))",
            "LENGTH(CAST(content AS BLOB))",
        ),
        Backend::MySql => ("LENGTH(search_text)", "LENGTH(content)"),
        Backend::Postgres => ("OCTET_LENGTH(search_text)", "OCTET_LENGTH(content)"),
    };
    let sql = format!("SELECT CAST(AVG({index}) AS DOUBLE PRECISION) AS i, CAST(AVG({content}) AS DOUBLE PRECISION) AS c FROM messages");
    let sql = if backend == Backend::MySql {
        sql.replace("AS DOUBLE PRECISION", "AS DOUBLE")
    } else if backend == Backend::Sqlite {
        sql.replace("AS DOUBLE PRECISION", "AS REAL")
    } else {
        sql
    };
    let db = |e: sqlx::Error| BenchError::Protocol(format!("{url}: {e}"));
    let url = url.replacen("mariadb://", "mysql://", 1);
    let row_pair = |i: Option<f64>, c: Option<f64>| (i.unwrap_or_default(), c.unwrap_or_default());
    Ok(match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&url).await.map_err(db)?;
            let r = sqlx::query(&sql).fetch_one(&pool).await.map_err(db)?;
            row_pair(r.try_get("i").map_err(db)?, r.try_get("c").map_err(db)?)
        }
        Backend::MySql => {
            let pool = sqlx::MySqlPool::connect(&url).await.map_err(db)?;
            let r = sqlx::query(&sql).fetch_one(&pool).await.map_err(db)?;
            row_pair(r.try_get("i").map_err(db)?, r.try_get("c").map_err(db)?)
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&url).await.map_err(db)?;
            // What autovacuum does after a bulk load (it is off on some test machines): the
            // plans PostgreSQL makes without statistics are no service's (docs/BENCHMARKS.md).
            sqlx::query("ANALYZE rooms, messages")
                .execute(&pool)
                .await
                .map_err(db)?;
            let r = sqlx::query(&sql).fetch_one(&pool).await.map_err(db)?;
            row_pair(r.try_get("i").map_err(db)?, r.try_get("c").map_err(db)?)
        }
    })
}

impl Bench {
    /// Search: `rooms` rooms, `user_rooms` to each seller, `messages` messages spread evenly
    /// (written through the store at `database`, the server's own database), then `requests`
    /// searches by one seller, [`QUERIES`] in turn, one after the other. Reports searches per
    /// second, the server's CPU per search, the latency (p50/p99), and the bytes of the
    /// searchable form per message against the text's. reuse-chat only.
    pub async fn search(
        &self,
        database: &str,
        rooms: usize,
        messages: usize,
        user_rooms: usize,
        requests: usize,
    ) -> Result<Report, BenchError> {
        let mut report = self.report(
            "search",
            format!(
                "rooms={rooms} messages={messages} user_rooms={user_rooms} requests={requests}"
            ),
        );
        if self.target.kind != Kind::ReuseChat {
            return Err(BenchError::Protocol(
                "search: only reuse-chat searches".into(),
            ));
        }
        let store = Arc::new(
            SqlStore::connect(database, StoreOptions::default())
                .await
                .map_err(store_error)?,
        );
        let run = &self.run;
        let filled = std::time::Instant::now();
        // Rooms: seller `s{run}-{k}` has rooms k*user_rooms.., each with its own buyer.
        let mut ids: Vec<RoomId> = Vec::with_capacity(rooms);
        let mut members: Vec<(UserId, UserId)> = Vec::with_capacity(rooms);
        for i in 0..rooms {
            let buyer = user(format!("b{run}-{i}"))?;
            let seller = user(format!("s{run}-{}", i / user_rooms.max(1)))?;
            ids.push(RoomId::new_random());
            members.push((buyer, seller));
        }
        let mut set = JoinSet::new();
        for part in 0..16usize {
            let (store, ids, members) = (store.clone(), ids.clone(), members.clone());
            set.spawn(async move {
                for i in (part..ids.len()).step_by(16) {
                    let (buyer, seller) = &members[i];
                    let name = ITEMS[i % ITEMS.len()];
                    let new = NewRoom {
                        id: ids[i],
                        pair_key: NewRoom::pair_key(buyer, seller, None, name),
                        name: name.into(),
                        product_id: None,
                        buyer: buyer.clone(),
                        seller: seller.clone(),
                        created_at: Millis::now(),
                    };
                    store.open_room(&new).await.map_err(store_error)?;
                }
                Ok::<(), BenchError>(())
            });
        }
        while let Some(done) = set.join_next().await {
            done.map_err(|e| BenchError::Protocol(e.to_string()))??;
        }
        // Messages: round after round over every room, so each room's messages are spread
        // over the whole id range, as in a service that has run for years.
        let per_room = messages / rooms.max(1);
        let mut batch = Vec::with_capacity(FILL_BATCH);
        let mut pending = JoinSet::new();
        for n in 0..per_room {
            for (i, room) in ids.iter().enumerate() {
                let (buyer, seller) = &members[i];
                batch.push(NewMessage {
                    room: *room,
                    sender: if n % 2 == 0 {
                        buyer.clone()
                    } else {
                        seller.clone()
                    },
                    content: message_text(i, n),
                    kind: MessageKind::Text,
                    created_at: Millis::now(),
                    client_message_id: None,
                    notice: None,
                    attachments: Vec::new(),
                    warnings: Default::default(),
                });
                if batch.len() == FILL_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(FILL_BATCH));
                    let store = store.clone();
                    if pending.len() >= 4 {
                        if let Some(done) = pending.join_next().await {
                            done.map_err(|e| BenchError::Protocol(e.to_string()))??;
                        }
                    }
                    pending.spawn(async move {
                        store.append(&full).await.map(|_| ()).map_err(store_error)
                    });
                }
            }
        }
        if !batch.is_empty() {
            store.append(&batch).await.map_err(store_error)?;
        }
        while let Some(done) = pending.join_next().await {
            done.map_err(|e| BenchError::Protocol(e.to_string()))??;
        }
        let fill_secs = filled.elapsed().as_secs_f64();
        store.close().await;
        let (index_bytes, content_bytes) = bytes_per_message(database).await?;

        let http = reqwest::Client::new();
        let searcher = format!("s{run}-0");
        let lat = shared_histogram();
        let s0 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        let started = Instant::now();
        for i in 0..requests {
            let q = QUERIES[i % QUERIES.len()];
            let t = Instant::now();
            let resp = http
                .get(format!("http://{}/search", self.target.addr))
                .query(&[("q", q), ("limit", "20")])
                .header("X-Auth-User", &searcher)
                .send()
                .await
                .map_err(|e| BenchError::Http(format!("GET /search: {e}")))?;
            let status = resp.status();
            let page: serde_json::Value = resp
                .json()
                .await
                .map_err(|e| BenchError::Http(format!("GET /search ({status}): {e}")))?;
            record(&lat, t.elapsed().as_micros() as u64);
            let hits = page["messages"].as_array().map_or(0, Vec::len);
            let expected_some = q != "없는단어";
            if !status.is_success() || (hits > 0) != expected_some {
                report.errors += 1;
                report
                    .first_error
                    .get_or_insert(format!("GET /search?q={q} ({status}): {hits} hits"));
            }
        }
        let s1 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        report.costs(&s0, &s1);
        report.seconds = started.elapsed().as_secs_f64();
        report.sessions = 1;
        report.sent = messages as u64;
        report.receipts = requests as u64;
        report.rate = requests as f64 / report.seconds.max(1e-9);
        report.per_item(requests as u64);
        report.latency = percentiles(&lat);
        report.params.push_str(&format!(
            " user_messages={} fill_secs={fill_secs:.1} index_bytes_per_msg={index_bytes:.0} content_bytes_per_msg={content_bytes:.0}",
            user_rooms * per_room
        ));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_hold_what_the_queries_look_for() {
        let texts: Vec<String> = (0..500)
            .flat_map(|r| (0..10).map(move |n| message_text(r, n)))
            .collect();
        for q in QUERIES {
            let query = chat_core::search::SearchQuery::parse(q).unwrap();
            let hits = texts
                .iter()
                .filter(|t| query.matches(&chat_core::search::index_text(t)))
                .count();
            if q == "없는단어" {
                assert_eq!(hits, 0);
            } else {
                assert!(hits > 0 && hits < texts.len(), "{q}: {hits}");
            }
        }
    }
}
