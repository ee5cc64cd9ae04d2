//! Search in storage (API-v2 "Search"), the same cases on SQLite, MariaDB/MySQL and
//! PostgreSQL: the labelled Korean corpus (`fixtures/search-corpus.json`) found with exact
//! precision and recall, pages that neither repeat nor skip, a left room gone from the
//! leaver's results only, a room deleted with its messages, notices found like messages.

use std::collections::{BTreeSet, HashMap};

use chat_core::ports::ChatStore;
use chat_core::search::SearchQuery;
use chat_core::{AppendOutcome, LeaveOutcome, Millis, RoomId};
use chat_store::SqlStore;
use serde::Deserialize;

mod common;

use common::{new_room, text, u};

#[derive(Deserialize)]
struct Corpus {
    rooms: HashMap<String, CorpusRoom>,
    messages: Vec<CorpusMessage>,
    queries: Vec<CorpusQuery>,
}

#[derive(Deserialize)]
struct CorpusRoom {
    buyer: String,
    seller: String,
    name: String,
}

#[derive(Deserialize)]
struct CorpusMessage {
    key: String,
    room: String,
    sender: String,
    text: String,
}

#[derive(Deserialize)]
struct CorpusQuery {
    user: String,
    q: String,
    hits: Vec<String>,
}

fn corpus() -> Corpus {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/search-corpus.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every hit of `q` for `user`, page after page of `limit`, checking that each page is newest
/// first and continues where the last one stopped.
async fn all_hits(
    store: &SqlStore,
    user: &str,
    q: &str,
    room: Option<&RoomId>,
    limit: u32,
) -> Vec<i64> {
    let query = SearchQuery::parse(q).unwrap();
    let mut ids: Vec<i64> = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .search(&u(user), &query, room, before, limit)
            .await
            .unwrap();
        let page_ids: Vec<i64> = page.iter().map(|m| m.id).collect();
        assert!(
            page_ids.windows(2).all(|w| w[0] > w[1]),
            "{q}: not newest first: {page_ids:?}"
        );
        if let (Some(last), Some(first)) = (ids.last(), page_ids.first()) {
            assert!(
                first < last,
                "{q}: a page repeats or goes back: {ids:?} then {page_ids:?}"
            );
        }
        ids.extend(&page_ids);
        if page.len() < limit as usize {
            return ids;
        }
        before = page_ids.last().copied();
    }
}

/// Stores the corpus; the id of each message by its key.
async fn store_corpus(
    store: &SqlStore,
    corpus: &Corpus,
) -> (HashMap<String, RoomId>, HashMap<String, i64>) {
    let mut rooms = HashMap::new();
    let mut names: Vec<&String> = corpus.rooms.keys().collect();
    names.sort();
    for name in names {
        let r = &corpus.rooms[name];
        let (room, _) = store
            .open_room(&new_room(&r.buyer, &r.seller, None, &r.name))
            .await
            .unwrap();
        rooms.insert(name.clone(), room.id);
    }
    let mut ids = HashMap::new();
    for m in &corpus.messages {
        let out = store
            .append(&[text(&rooms[&m.room], &m.sender, &m.text, None)])
            .await
            .unwrap();
        match &out[0] {
            AppendOutcome::Stored(s) => ids.insert(m.key.clone(), s.message.id),
            other => panic!("{}: {other:?}", m.key),
        };
    }
    (rooms, ids)
}

async fn the_labelled_corpus_is_found_exactly(store: SqlStore) {
    let corpus = corpus();
    let (_, ids) = store_corpus(&store, &corpus).await;
    let key_of: HashMap<i64, &str> = ids.iter().map(|(k, id)| (*id, k.as_str())).collect();
    let mut wrong = Vec::new();
    let (mut expected_total, mut found_total, mut right_total) = (0usize, 0usize, 0usize);
    for query in &corpus.queries {
        let expected: BTreeSet<&str> = query.hits.iter().map(String::as_str).collect();
        // A page of 2 makes most queries take several pages.
        let found_ids = all_hits(&store, &query.user, &query.q, None, 2).await;
        let found: BTreeSet<&str> = found_ids.iter().map(|id| key_of[id]).collect();
        assert_eq!(found.len(), found_ids.len(), "{}: a hit twice", query.q);
        let right = found.intersection(&expected).count();
        expected_total += expected.len();
        found_total += found.len();
        right_total += right;
        if found != expected {
            wrong.push(format!(
                "{} as {}: expected {expected:?}, found {found:?}",
                query.q, query.user
            ));
        }
    }
    let precision = right_total as f64 / found_total.max(1) as f64;
    let recall = right_total as f64 / expected_total.max(1) as f64;
    assert!(
        wrong.is_empty(),
        "precision {precision:.3}, recall {recall:.3} over {} queries; wrong:\n{}",
        corpus.queries.len(),
        wrong.join("\n")
    );
    assert_eq!((right_total, found_total), (expected_total, expected_total));
}

async fn a_room_filter_and_cursor_narrow_the_search(store: SqlStore) {
    let corpus = corpus();
    let (rooms, ids) = store_corpus(&store, &corpus).await;
    let in_b = all_hits(&store, "jiyoung", "택배", Some(&rooms["B"]), 20).await;
    assert_eq!(in_b, [ids["b6"], ids["b5"]]);
    // A room the user is not in finds nothing, even named.
    assert!(all_hits(&store, "minsu", "택배", Some(&rooms["B"]), 20)
        .await
        .is_empty());
    let query = SearchQuery::parse("택배").unwrap();
    let older = store
        .search(&u("jiyoung"), &query, None, Some(ids["b5"]), 20)
        .await
        .unwrap();
    let older: Vec<i64> = older.iter().map(|m| m.id).collect();
    assert_eq!(older, [ids["a4"], ids["a3"]]);
}

async fn a_left_room_leaves_only_the_leavers_results(store: SqlStore) {
    let corpus = corpus();
    let (rooms, ids) = store_corpus(&store, &corpus).await;
    let left = store
        .leave(
            &rooms["C"],
            &u("minsu"),
            "minsu님이 채팅방을 나갔습니다.",
            Millis::now(),
        )
        .await
        .unwrap();
    let notice = match left {
        LeaveOutcome::Left(s) => s.message.id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        all_hits(&store, "minsu", "강남역", None, 20).await,
        [ids["a6"], ids["a5"]]
    );
    assert_eq!(
        all_hits(&store, "dahye", "강남역", None, 20).await,
        [ids["c3"]]
    );
    // The notice is a message like any other: the member who stays finds it.
    assert_eq!(
        all_hits(&store, "dahye", "나갔습니다", None, 20).await,
        [notice]
    );
    assert_eq!(
        all_hits(&store, "dahye", "ㅊㅌㅂ", None, 20).await,
        [notice]
    );
    // The last member leaving deletes the room and its messages: nobody finds them.
    let gone = store
        .leave(
            &rooms["C"],
            &u("dahye"),
            "dahye님이 채팅방을 나갔습니다.",
            Millis::now(),
        )
        .await
        .unwrap();
    assert!(matches!(gone, LeaveOutcome::Deleted(_)), "{gone:?}");
    assert!(all_hits(&store, "dahye", "강남역", None, 20)
        .await
        .is_empty());
    let rejoined = store
        .open_room(&new_room("minsu", "dahye", None, "책상"))
        .await
        .unwrap()
        .0;
    assert_ne!(rejoined.id, rooms["C"]);
    assert!(all_hits(&store, "minsu", "역삼역", None, 20)
        .await
        .is_empty());
}

backend_suite!(
    the_labelled_corpus_is_found_exactly,
    a_room_filter_and_cursor_narrow_the_search,
    a_left_room_leaves_only_the_leavers_results,
);
