//! What search adds to every stored message (API-v2 "Search"): its searchable form, made in the
//! committer's task for each message of a batch; and what matching one form costs.
//!
//! `cargo bench -p reuse-chat-core --bench search`

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use chat_core::search::{index_text, SearchQuery};

fn search(c: &mut Criterion) {
    let mut g = c.benchmark_group("index_text");
    for (name, text) in [
        ("honest", "안녕하세요 아직 판매중인가요? 15만원에 가능할까요"),
        // What the persistence and marketplace benches send (scripts/bench.sh).
        (
            "bench-message",
            "ts=1765075200123456 안녕하세요, 아직 판매중인가요? bench filler text for a realistic size",
        ),
        ("latin", "Is the iPhone 15 Pro still available? Can you ship it today?"),
    ] {
        g.bench_function(name, |b| b.iter(|| index_text(black_box(text))));
    }
    let longest = "택배거래 가능한가요 ".repeat(400);
    g.bench_function("4000-chars", |b| b.iter(|| index_text(black_box(&longest))));
    g.finish();

    let form = index_text("안녕하세요 아직 판매중인가요? 택배거래 가능한가요? 15만원에 가능할까요");
    let mut g = c.benchmark_group("matches");
    for q in ["택배", "ㅌㅂ", "직거래 가능"] {
        let query = SearchQuery::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        g.bench_function(q, |b| b.iter(|| query.matches(black_box(&form))));
    }
    g.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
